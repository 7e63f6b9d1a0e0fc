//! Connected-component labelling of a user's d-dimensional boolean grid.
//!
//! Given an occupancy grid of any dimension `d` in `1..=16`, stored in C
//! (row-major) order like a NumPy array, [`label`] finds the clusters: maximal
//! sets of occupied sites joined by *face* neighbours (the `2d` sites at
//! distance 1, the connectivity of `scipy.ndimage.label` with its default
//! structure and of `cc3d` with 6-connectivity in 3-D). It reports the number
//! of clusters, the size distribution, and per axis whether a cluster *spans*
//! the box or — on the torus — *wraps* around it. [`cluster_labels`] returns
//! the per-site labels instead, and [`npy::read_grid`] reads a grid from a
//! NumPy `.npy` file with errors that say what was expected.
//!
//! # Algorithm
//!
//! One raster pass over the sites with the crate's [`UnionFind`](crate::unionfind::UnionFind) (Hoshen–
//! Kopelman style): each occupied site is joined only to its *backward*
//! neighbours (`−1` along each axis), which have already been visited. The
//! pass walks the grid row by row along the last axis, so coordinates come
//! from a row counter instead of per-site division, and:
//!
//! * the backward neighbour along the last axis is tried first: when the run
//!   continues, the root of the previous site is still in a register and the
//!   new site joins it without a `find`;
//! * a backward neighbour `j = i − stride` along another axis is skipped when
//!   both `i − 1` and `j − 1` are occupied, because then `j ~ j − 1 ~ i − 1 ~ i`
//!   are already in one set.
//!
//! Cluster sizes are read from the roots afterwards.
//!
//! # Periodic boundaries and wrapping
//!
//! With `periodic = true`, opposite faces are identified. The grid is first
//! labelled with open boundaries; every *seam* bond (from the last layer of an
//! axis to the first) then becomes an edge between two open-boundary clusters
//! carrying the winding `+e_axis`. A small union-find over those clusters
//! stores, for each one, the integer displacement of its frame relative to its
//! parent's, in units of the box. An edge that closes a cycle whose
//! displacements disagree (the difference `δ ≠ 0`) is a loop that winds
//! `δ_axis` times around each axis: the cluster *wraps* along every axis
//! where `δ_axis ≠ 0`. The cost is proportional to the number of occupied seam
//! bonds, not to the volume.
//!
//! Small sides follow the multigraph of the torus: with side 2, the `+1` and
//! `−1` neighbours are the same site but reached through two distinct bonds,
//! so two occupied neighbours along that axis already form a wrapping loop;
//! with side 1 (accepted, periodic or not), a site is its own neighbour
//! across the seam, so every occupied site wraps along that axis. With side 1
//! the first and last layers coincide, so any occupied site also spans it.
//!
//! # Spanning
//!
//! `spans[axis]` is always computed with *open* boundaries, whether or not
//! `periodic` is set: some open-boundary cluster contains a site in the
//! first layer (`x_axis = 0`) and one in the last (`x_axis = L_axis − 1`).
//!
//! # Example
//!
//! ```
//! use ismc::percolation::label::{cluster_labels, label};
//!
//! // A 3 × 4 grid in C order:
//! // 1 1 0 1
//! // 0 1 0 1
//! // 1 0 0 1
//! let grid: Vec<bool> = [1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1].iter().map(|&v| v == 1).collect();
//! let r = label(&grid, &[3, 4], false).unwrap();
//! assert_eq!((r.n_clusters, r.largest), (3, 3));
//! assert_eq!(r.spans, vec![true, false]); // the right column spans axis 0
//! assert_eq!(cluster_labels(&grid, &[3, 4], false).unwrap(),
//!            vec![1, 1, 0, 2, 0, 1, 0, 2, 3, 0, 0, 2]);
//!
//! // On the torus the left and right columns touch across the seam:
//! let r = label(&grid, &[3, 4], true).unwrap();
//! assert_eq!((r.n_clusters, r.largest), (1, 7));
//! assert_eq!(r.wraps, Some(vec![true, false]));
//! ```

pub mod npy;

mod geometry;
mod histogram;
mod raster;
mod seam;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::memory::ensure_fits;

use geometry::Geometry;
use histogram::SizeHistogram;
use raster::{open_forest, spans};
use seam::SeamForest;

/// The clusters of one grid: counts, sizes, spanning and wrapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelResult {
    /// Sides of the grid, one per axis (C order: the last axis varies fastest).
    pub shape: Vec<usize>,
    /// Whether opposite faces were identified (a torus).
    pub periodic: bool,
    /// Number of sites, occupied or not.
    pub n_sites: u64,
    /// Number of occupied sites.
    pub n_occupied: u64,
    /// Number of clusters (connected components of occupied sites).
    pub n_clusters: u64,
    /// Size of the largest cluster in sites (0 when nothing is occupied).
    pub largest: u64,
    /// Cluster-size distribution: size in sites → number of clusters.
    pub sizes: BTreeMap<u64, u64>,
    /// Per axis: some open-boundary cluster touches both the first and the
    /// last layer (computed with open boundaries even when `periodic`).
    pub spans: Vec<bool>,
    /// Per axis, only when `periodic`: some cluster contains a loop that winds
    /// around the torus along that axis.
    pub wraps: Option<Vec<bool>>,
}

/// Bytes [`label`] allocates for a grid of `n_sites` sites (union-find forest
/// and span marks), excluding the grid itself.
pub fn label_memory_bytes(n_sites: u64) -> u64 {
    n_sites * 4 + n_sites.div_ceil(8)
}

/// Labels the clusters of `occupied` (C order, `shape.iter().product()`
/// entries, `true` = occupied) and summarises them.
///
/// Every side must be at least 1, `shape` must have 1 to [`MAX_DIM`](crate::lattice::MAX_DIM) axes and
/// at most [`MAX_ELEMENTS`](crate::unionfind::MAX_ELEMENTS) sites; the memory needed is checked with
/// [`ensure_fits`] before anything is allocated. See the [module
/// docs](self) for the definitions of spanning and wrapping.
pub fn label(occupied: &[bool], shape: &[usize], periodic: bool) -> Result<LabelResult> {
    let geom = Geometry::new(shape, occupied.len())?;
    ensure_fits(
        format!("labelling a grid of {} sites", geom.n),
        label_memory_bytes(geom.n as u64),
        "use a smaller grid",
    )?;
    let mut forest = open_forest(occupied, &geom);
    let spans = spans(&mut forest, occupied, &geom);

    let mut histogram = SizeHistogram::default();
    for size in forest.set_sizes() {
        histogram.add(u64::from(size));
    }
    let wraps = if periodic {
        let seams = SeamForest::build(&mut forest, occupied, &geom);
        // Replace the open clusters that touch a seam by their merged clusters.
        for &open_size in &seams.open_size {
            histogram.remove(open_size);
        }
        let mut wraps = 0u16;
        for node in 0..seams.parent.len() {
            if seams.parent[node] as usize == node {
                histogram.add(seams.size[node]);
                wraps |= seams.wraps[node];
            }
        }
        Some((0..geom.dim()).map(|axis| wraps >> axis & 1 == 1).collect())
    } else {
        None
    };

    let sizes = histogram.into_map();
    Ok(LabelResult {
        shape: shape.to_vec(),
        periodic,
        n_sites: geom.n as u64,
        n_occupied: sizes.iter().map(|(s, c)| s * c).sum(),
        n_clusters: sizes.values().sum(),
        largest: sizes.keys().next_back().copied().unwrap_or(0),
        sizes,
        spans,
        wraps,
    })
}

/// Per-site cluster labels of `occupied` (same conventions as [`label`]):
/// 0 for an empty site, and `1..=n_clusters` numbered in order of each
/// cluster's first site in C order — the numbering of `scipy.ndimage.label`.
///
/// Needs 4 bytes per site beyond [`label_memory_bytes`].
pub fn cluster_labels(occupied: &[bool], shape: &[usize], periodic: bool) -> Result<Vec<u32>> {
    let geom = Geometry::new(shape, occupied.len())?;
    ensure_fits(
        format!("labelling a grid of {} sites", geom.n),
        label_memory_bytes(geom.n as u64) + 4 * geom.n as u64,
        "use a smaller grid",
    )?;
    let mut forest = open_forest(occupied, &geom);
    let seams = periodic.then(|| SeamForest::build(&mut forest, occupied, &geom));

    // The representative of each cluster is an occupied site `r`; its label is
    // stored at `labels[r]` the first time the cluster is met. `r` may lie
    // ahead of the scan, but then `labels[r]` already holds `r`'s own label.
    let mut labels = vec![0u32; geom.n];
    let mut next = 0u32;
    for (site, &occ) in occupied.iter().enumerate() {
        if !occ {
            continue;
        }
        let open_root = forest.find(site as u32);
        let rep = match &seams {
            Some(seams) => seams.representative(open_root),
            None => open_root,
        } as usize;
        if labels[rep] == 0 {
            next += 1;
            labels[rep] = next;
        }
        labels[site] = labels[rep];
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use proptest::prelude::*;
    use rand::Rng;

    /// Master seed of the random grids in these tests.
    const SEED: u64 = 0x1abe1;

    fn grid(bits: &[u8]) -> Vec<bool> {
        bits.iter().map(|&b| b == 1).collect()
    }

    fn random_grid(shape: &[usize], density: f64, seed: u64) -> Vec<bool> {
        let mut rng = crate::rng::unit_rng(SEED, &[seed]);
        let n: usize = shape.iter().product();
        (0..n).map(|_| rng.random::<f64>() < density).collect()
    }

    /// What an independent breadth-first flood fill finds.
    #[derive(Debug)]
    struct Oracle {
        labels: Vec<u32>,
        sizes: BTreeMap<u64, u64>,
        spans: Vec<bool>,
        wraps: Vec<bool>,
    }

    /// BFS labelling with explicit coordinates. Each visited site records its
    /// unwrapped position (its coordinates in the copy of the box reached by
    /// the search); reaching a visited site at a different unwrapped position
    /// is a loop that winds around every axis where the two differ.
    fn oracle(occ: &[bool], shape: &[usize], periodic: bool) -> Oracle {
        let d = shape.len();
        let n = occ.len();
        let decode = |mut site: usize| {
            let mut c = vec![0i64; d];
            for axis in (0..d).rev() {
                c[axis] = (site % shape[axis]) as i64;
                site /= shape[axis];
            }
            c
        };
        let encode = |c: &[i64]| {
            c.iter().zip(shape).fold(0usize, |acc, (&x, &s)| {
                acc * s + x.rem_euclid(s as i64) as usize
            })
        };
        let mut labels = vec![0u32; n];
        let mut unwrapped: Vec<Vec<i64>> = vec![Vec::new(); n];
        let mut sizes = BTreeMap::new();
        let mut spans = vec![false; d];
        let mut wraps = vec![false; d];
        let mut next = 0;
        for start in 0..n {
            if !occ[start] || labels[start] != 0 {
                continue;
            }
            next += 1;
            labels[start] = next;
            unwrapped[start] = decode(start);
            let (mut lo, mut hi) = (unwrapped[start].clone(), unwrapped[start].clone());
            let mut queue = std::collections::VecDeque::from([start]);
            let mut size = 0u64;
            while let Some(u) = queue.pop_front() {
                size += 1;
                for axis in 0..d {
                    lo[axis] = lo[axis].min(unwrapped[u][axis]);
                    hi[axis] = hi[axis].max(unwrapped[u][axis]);
                    for step in [-1i64, 1] {
                        let mut w = unwrapped[u].clone();
                        w[axis] += step;
                        let x = w[axis].rem_euclid(shape[axis] as i64);
                        if !periodic && x != w[axis] {
                            continue;
                        }
                        let v = encode(&w);
                        if !occ[v] {
                            continue;
                        }
                        if labels[v] == 0 {
                            labels[v] = next;
                            unwrapped[v] = w;
                            queue.push_back(v);
                        } else {
                            for k in 0..d {
                                wraps[k] |= unwrapped[v][k] != w[k];
                            }
                        }
                    }
                }
            }
            *sizes.entry(size).or_insert(0) += 1;
            if !periodic {
                for axis in 0..d {
                    spans[axis] |= lo[axis] == 0 && hi[axis] == shape[axis] as i64 - 1;
                }
            }
        }
        if periodic {
            spans = oracle(occ, shape, false).spans;
        }
        Oracle {
            labels,
            sizes,
            spans,
            wraps,
        }
    }

    fn check_against_oracle(
        occ: &[bool],
        shape: &[usize],
        periodic: bool,
    ) -> std::result::Result<(), TestCaseError> {
        let expected = oracle(occ, shape, periodic);
        let result = label(occ, shape, periodic).unwrap();
        prop_assert_eq!(
            cluster_labels(occ, shape, periodic).unwrap(),
            expected.labels
        );
        prop_assert_eq!(&result.sizes, &expected.sizes);
        prop_assert_eq!(result.n_clusters, expected.sizes.values().sum::<u64>());
        prop_assert_eq!(
            result.largest,
            expected.sizes.keys().max().copied().unwrap_or(0)
        );
        prop_assert_eq!(result.n_occupied, occ.iter().filter(|&&o| o).count() as u64);
        prop_assert_eq!(result.n_sites, occ.len() as u64);
        prop_assert_eq!(&result.spans, &expected.spans);
        prop_assert_eq!(result.wraps, periodic.then_some(expected.wraps));
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// Partition, sizes, spans and wraps agree with BFS on random grids
        /// of dimension 1 to 5, sides 1 to 6, any density, both boundaries.
        #[test]
        fn agrees_with_bfs_oracle(
            shape in prop::collection::vec(1usize..=6, 1..=5).prop_filter("at most 1000 sites", |s| s.iter().product::<usize>() <= 1000),
            density in 0.0f64..=1.0,
            seed in any::<u64>(),
            periodic in any::<bool>(),
        ) {
            let occ = random_grid(&shape, density, seed);
            check_against_oracle(&occ, &shape, periodic)?;
        }
    }

    /// Larger grids at the site thresholds, where union-find trees get deep.
    #[test]
    fn agrees_with_bfs_oracle_at_threshold() {
        let cases: [(&[usize], f64); 4] = [
            (&[96, 96], 0.5927),
            (&[20, 20, 20], 0.3116),
            (&[8, 8, 8, 8], 0.1969),
            (&[7, 60], 0.7),
        ];
        for (i, (shape, p)) in cases.into_iter().enumerate() {
            for periodic in [false, true] {
                let occ = random_grid(shape, p, 1000 + i as u64);
                check_against_oracle(&occ, shape, periodic).unwrap();
            }
        }
    }

    /// All 16 grids of the 2 × 2 box, against counts derived by hand: the
    /// sites form a 4-cycle, so clusters = occupied − occupied edges (+1 when
    /// all four, which closes the cycle). A cluster reaches both layers of
    /// axis 0 exactly when a column is full; with side 2 the torus doubles
    /// every bond, so a full column is also a loop around axis 0.
    #[test]
    fn two_by_two_enumerated() {
        for mask in 0u8..16 {
            let occ: Vec<bool> = (0..4).map(|b| mask >> b & 1 == 1).collect();
            let n_occ = occ.iter().filter(|&&o| o).count() as u64;
            let full_col = [(0, 2), (1, 3)].iter().any(|&(a, b)| occ[a] && occ[b]);
            let full_row = [(0, 1), (2, 3)].iter().any(|&(a, b)| occ[a] && occ[b]);
            let edges = [(0, 1), (2, 3), (0, 2), (1, 3)]
                .iter()
                .filter(|&&(a, b)| occ[a] && occ[b])
                .count() as u64;
            let clusters = n_occ - edges + u64::from(n_occ == 4);
            for periodic in [false, true] {
                let r = label(&occ, &[2, 2], periodic).unwrap();
                assert_eq!(r.n_occupied, n_occ, "mask {mask:04b}");
                assert_eq!(r.n_clusters, clusters, "mask {mask:04b}");
                assert_eq!(r.spans, vec![full_col, full_row], "mask {mask:04b}");
                assert_eq!(
                    r.wraps,
                    periodic.then(|| vec![full_col, full_row]),
                    "mask {mask:04b}"
                );
                let largest = match (n_occ, edges) {
                    (0, _) => 0,
                    (_, 0) => 1,
                    (n, _) if n == 4 || edges == 2 => n,
                    _ => 2,
                };
                assert_eq!(r.largest, largest, "mask {mask:04b}");
            }
        }
    }

    #[test]
    fn one_dimensional_exact() {
        let occ = grid(&[1, 1, 0, 1]);
        let open = label(&occ, &[4], false).unwrap();
        assert_eq!(open.sizes, BTreeMap::from([(1, 1), (2, 1)]));
        assert_eq!(open.spans, vec![false]);
        assert_eq!(open.wraps, None);
        let torus = label(&occ, &[4], true).unwrap();
        assert_eq!(torus.sizes, BTreeMap::from([(3, 1)]));
        assert_eq!(
            (torus.spans.clone(), torus.wraps.clone()),
            (vec![false], Some(vec![false]))
        );
        assert_eq!(cluster_labels(&occ, &[4], true).unwrap(), vec![1, 1, 0, 1]);
        let full = label(&grid(&[1, 1, 1, 1]), &[4], true).unwrap();
        assert_eq!(
            (full.spans, full.wraps, full.largest),
            (vec![true], Some(vec![true]), 4)
        );
    }

    /// Side 1: a site is its own neighbour across the seam, so it wraps.
    #[test]
    fn side_one_axes() {
        let r = label(&[true], &[1], true).unwrap();
        assert_eq!(
            (r.n_clusters, r.spans, r.wraps),
            (1, vec![true], Some(vec![true]))
        );
        let r = label(&[false], &[1], true).unwrap();
        assert_eq!(
            (r.n_clusters, r.spans, r.wraps),
            (0, vec![false], Some(vec![false]))
        );
        // A 1 × 3 row: axis 0 has side 1.
        let r = label(&grid(&[1, 0, 1]), &[1, 3], true).unwrap();
        assert_eq!((r.n_clusters, r.largest), (1, 2));
        assert_eq!(
            (r.spans, r.wraps),
            (vec![true, false], Some(vec![true, false]))
        );
    }

    #[test]
    fn wraps_diagonally_on_the_torus() {
        // A staircase whose only loop crosses both seams winds (1, 1), so it
        // wraps along both axes.
        let occ = grid(&[1, 1, 0, 0, 1, 1, 1, 0, 1]);
        let r = label(&occ, &[3, 3], true).unwrap();
        assert_eq!(r.wraps, Some(vec![true, true]));
        let r = label(&grid(&[1, 1, 0, 0, 1, 0, 0, 0, 0]), &[3, 3], true).unwrap();
        assert_eq!(r.wraps, Some(vec![false, false]));
    }

    #[test]
    fn all_empty_and_all_full() {
        for shape in [&[5][..], &[3, 4], &[2, 3, 2, 2]] {
            let n: usize = shape.iter().product();
            let empty = label(&vec![false; n], shape, true).unwrap();
            assert_eq!((empty.n_clusters, empty.largest), (0, 0));
            assert!(empty.sizes.is_empty());
            let full = label(&vec![true; n], shape, true).unwrap();
            assert_eq!((full.n_clusters, full.largest), (1, n as u64));
            assert!(full.spans.iter().all(|&s| s));
            assert!(full.wraps.unwrap().iter().all(|&w| w));
        }
    }

    #[test]
    fn sixteen_dimensions() {
        let shape = [2; 16];
        let occ = random_grid(&shape, 0.3, 7);
        check_against_oracle(&occ, &shape, true).unwrap();
        check_against_oracle(&occ, &shape, false).unwrap();
    }

    #[test]
    fn sizes_above_the_dense_histogram() {
        let occ = vec![true; 5000];
        let r = label(&occ, &[5000], false).unwrap();
        assert_eq!(r.sizes, BTreeMap::from([(5000, 1)]));
        let mut occ = vec![true; 10_001];
        occ[5000] = false;
        let r = label(&occ, &[10_001], true).unwrap();
        assert_eq!(r.sizes, BTreeMap::from([(10_000, 1)]));
    }

    #[test]
    fn bad_shapes_are_refused() {
        let msg = |r: Result<LabelResult>| r.unwrap_err().to_string();
        assert!(msg(label(&[], &[], false)).contains("expected 1 to 16 axes"));
        assert!(msg(label(&[true; 4], &[1; 17][..2], false)).contains("has 1 sites"));
        assert!(msg(label(&[], &[0, 3], false)).contains("side of axis 0 is 0"));
        assert!(msg(label(&[true], &[1; 17], false)).contains("got 17"));
        let too_big = label(&[], &[1 << 16, 1 << 16], false).unwrap_err();
        assert!(matches!(too_big, Error::TooLarge { .. }), "{too_big}");
    }
}
