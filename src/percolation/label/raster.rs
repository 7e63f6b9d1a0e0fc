//! The open-boundary clusters: one raster pass that joins each occupied
//! site to its backward neighbours, and the spanning test on the resulting
//! forest.

use super::geometry::Geometry;
use crate::lattice::MAX_DIM;
use crate::unionfind::UnionFind;

/// The union-find forest of the open-boundary clusters: one raster pass that
/// joins each occupied site to its occupied backward neighbours.
pub(super) fn open_forest(occupied: &[bool], geom: &Geometry) -> UnionFind {
    debug_assert_eq!(occupied.len(), geom.n);
    let d = geom.dim();
    let row_len = geom.shape[d - 1];
    let mut forest = UnionFind::new_empty(geom.n);
    // Coordinates of the current row on axes 0..d-1, and the strides of the
    // backward neighbours that exist for every site of the row.
    let mut coords = [0usize; MAX_DIM];
    let mut back = Vec::with_capacity(d);
    for (row_index, row) in occupied.chunks_exact(row_len).enumerate() {
        back.clear();
        back.extend(
            (0..d - 1)
                .filter(|&axis| coords[axis] > 0)
                .map(|axis| geom.strides[axis]),
        );
        label_row(&mut forest, occupied, row, row_index * row_len, &back);
        for axis in (0..d - 1).rev() {
            coords[axis] += 1;
            if coords[axis] < geom.shape[axis] {
                break;
            }
            coords[axis] = 0;
        }
    }
    forest
}

/// Joins the occupied sites of one row (`row = occupied[base..base + len]`) to
/// their backward neighbours: the previous site of the row and, for each
/// stride in `back`, the site `stride` earlier.
#[inline]
fn label_row(forest: &mut UnionFind, occupied: &[bool], row: &[bool], base: usize, back: &[usize]) {
    // Root of the previous site of the row when it is occupied. No union
    // happens between two consecutive sites, so it is still a root.
    let mut prev_root: Option<u32> = None;
    for (x, &here) in row.iter().enumerate() {
        if !here {
            prev_root = None;
            continue;
        }
        let site = base + x;
        forest.occupy(site as u32);
        let mut root = match prev_root {
            // `r` holds at least one site, so it stays the root.
            Some(r) => forest.union_roots(r, site as u32).unwrap_or(r),
            None => site as u32,
        };
        for &stride in back {
            let j = site - stride;
            if !occupied[j] {
                continue;
            }
            // j ~ j−1 ~ i−1 ~ i already: j−1 was joined to j, and i−1 to j−1.
            if prev_root.is_some() && occupied[j - 1] {
                continue;
            }
            let rj = forest.find(j as u32);
            if let Some(r) = forest.union_roots(root, rj) {
                root = r;
            }
        }
        prev_root = Some(root);
    }
}

/// Per axis, whether one open-boundary cluster touches both end layers.
pub(super) fn spans(forest: &mut UnionFind, occupied: &[bool], geom: &Geometry) -> Vec<bool> {
    let mut marks = vec![0u64; geom.n.div_ceil(64)];
    (0..geom.dim())
        .map(|axis| {
            marks.fill(0);
            geom.for_each_in_layer(axis, 0, |site| {
                if occupied[site] {
                    let r = forest.find(site as u32) as usize;
                    marks[r / 64] |= 1 << (r % 64);
                }
                true
            });
            let mut spans = false;
            geom.for_each_in_layer(axis, geom.shape[axis] - 1, |site| {
                if occupied[site] {
                    let r = forest.find(site as u32) as usize;
                    spans = marks[r / 64] >> (r % 64) & 1 == 1;
                }
                !spans
            });
            spans
        })
        .collect()
}
