//! Union-find in loss order: the Newman–Ziff sweep driven by a loss field.
//!
//! Sort the `N` sites by `(ℓ, index)` and occupy them one at a time, merging
//! each new site with its occupied face neighbours (open boundaries) in a
//! [`UnionFind`]. After `n` additions the occupied set is the sublevel set
//! `{ℓ ≤ ℓ_n}` (up to ties), so its clusters at step `n` are the connected
//! low-loss regions at level `ℓ_n`, with occupied fraction `p = n/N`.
//!
//! The step at which A and C first share a cluster defines the slice's
//! **minimax barrier** `ℓ* = min_{paths A→C} max_{sites on path} ℓ` (the last
//! site added completes the first A–C path, and no path with a lower maximum
//! exists since all lower sites were already in) and **p* = n*/N**. Along the
//! way the sweep records the largest cluster and the first spanning of axis 0
//! (a cluster touching both faces `x₀ = 0` and `x₀ = L₀ − 1`), tracked with
//! per-root flags merged on union.
//!
//! A path realising `ℓ*` is found by breadth-first search inside
//! `{ℓ ≤ ℓ*}` (fewest grid steps), and [`reevaluate_path`] maps it back to
//! input space and evaluates the model between grid points.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::field::LossField;
use super::slice::Slice;
use crate::error::{Error, Result};
use crate::lattice::{Boundary, Lattice};
use crate::nn::Classifier;
use crate::unionfind::UnionFind;

/// One point of the down-sampled sweep curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Occupied sites `n`.
    pub occupied: u64,
    /// Occupied fraction `p = n/N`.
    pub fraction: f64,
    /// Loss level `ℓ_n` of the last site added.
    pub level: f32,
    /// Largest cluster, in sites.
    pub largest: u64,
    /// Whether some cluster spans axis 0.
    pub spanning: bool,
    /// Whether A and C are connected.
    pub connected: bool,
}

/// The outcome of a loss-order sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossOrderSweep {
    /// The minimax barrier `ℓ*`: level at which A and C join.
    pub minimax_barrier: f32,
    /// Occupied fraction `p*` when A and C join.
    pub p_star: f64,
    /// Sites occupied when A and C join.
    pub join_occupied: u64,
    /// Occupied fraction at which a cluster first spans axis 0.
    pub spanning_fraction: f64,
    /// Level at which a cluster first spans axis 0.
    pub spanning_level: f32,
    /// Down-sampled curve (evenly spaced in `n`, plus the spanning and
    /// joining steps), in increasing `n`.
    pub curve: Vec<SweepPoint>,
}

/// Sites sorted by `(loss, index)` (total order on f32: NaN last).
pub fn loss_order(values: &[f32]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    order.sort_unstable_by(|&i, &j| {
        values[i as usize]
            .total_cmp(&values[j as usize])
            .then(i.cmp(&j))
    });
    order
}

/// The open lattice of a field (validating its size).
pub fn lattice_of(field: &LossField) -> Result<Lattice> {
    Lattice::new(&field.sides, Boundary::Open)
}

/// An order-preserving map of f32 to u32 (`a < b ⇔ key(a) < key(b)` for
/// non-NaN values; agrees with `f32::total_cmp`).
#[inline]
pub fn loss_key(v: f32) -> u32 {
    let b = v.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 1 << 31
    }
}

const LOW: u8 = 1;
const HIGH: u8 = 2;
const HAS_A: u8 = 4;
const HAS_C: u8 = 8;

/// Runs the loss-order sweep on `field` and returns the minimax barrier
/// between sites `a` and `c` (C-order indices), `p*`, the first spanning and
/// a curve of about `curve_points` points. The sweep continues to the end
/// (all sites) so that the curve covers `p ∈ (0, 1]`.
pub fn sweep_loss_order(
    field: &LossField,
    a: u32,
    c: u32,
    curve_points: usize,
) -> Result<LossOrderSweep> {
    let order = loss_order(&field.values);
    sweep_in_order(field, &order, a, c, curve_points, false)
}

/// The sweep for a given occupation order (`order[n]` = site added at step
/// `n`); with `stop_at_join` the sweep ends when A and C join.
pub fn sweep_in_order(
    field: &LossField,
    order: &[u32],
    a: u32,
    c: u32,
    curve_points: usize,
    stop_at_join: bool,
) -> Result<LossOrderSweep> {
    let lattice = lattice_of(field)?;
    let n_sites = lattice.n_sites();
    for (name, s) in [("endpoint A", a), ("endpoint C", c)] {
        if s >= n_sites {
            return Err(Error::invalid(
                name,
                s,
                format!("expected a site below {n_sites}"),
            ));
        }
    }
    let mut uf = UnionFind::new_empty(n_sites as usize);
    let mut flags = vec![0u8; n_sites as usize];
    let last0 = lattice.side(0) - 1;
    let stride = (n_sites as usize / curve_points.max(1)).max(1);
    let mut largest = 0u64;
    let mut spanning_at: Option<(u64, f32)> = None;
    let mut join_at: Option<(u64, f32)> = None;
    let mut curve = Vec::with_capacity(curve_points + 3);
    for (step, &site) in order.iter().enumerate() {
        let n = step as u64 + 1;
        uf.occupy(site);
        let x0 = lattice.coord(site, 0);
        let mut f = 0u8;
        if x0 == 0 {
            f |= LOW;
        }
        if x0 == last0 {
            f |= HIGH;
        }
        if site == a {
            f |= HAS_A;
        }
        if site == c {
            f |= HAS_C;
        }
        flags[site as usize] = f;
        let mut root = site;
        lattice.for_each_neighbor(site, |_, _, nb| {
            if uf.is_occupied(nb) {
                let rn = uf.find(nb);
                let r = uf.find(root);
                if let Some(new_root) = uf.union_roots(r, rn) {
                    flags[new_root as usize] = flags[r as usize] | flags[rn as usize];
                    root = new_root;
                }
            }
        });
        let root = uf.find(root);
        let fr = flags[root as usize];
        largest = largest.max(uf.root_size(root) as u64);
        let level = field.values[site as usize];
        let mut event = false;
        if spanning_at.is_none() && fr & (LOW | HIGH) == LOW | HIGH {
            spanning_at = Some((n, level));
            event = true;
        }
        if join_at.is_none() && fr & (HAS_A | HAS_C) == HAS_A | HAS_C {
            join_at = Some((n, level));
            event = true;
        }
        if event || n % stride as u64 == 0 || n == n_sites as u64 {
            curve.push(SweepPoint {
                occupied: n,
                fraction: n as f64 / n_sites as f64,
                level,
                largest,
                spanning: spanning_at.is_some(),
                connected: join_at.is_some(),
            });
        }
        if stop_at_join && join_at.is_some() {
            break;
        }
    }
    let (jn, jl) = join_at.ok_or_else(|| Error::Numerical {
        context: "loss-order sweep".into(),
        reason: "the occupation order does not cover the endpoints".into(),
    })?;
    let (sn, sl) = spanning_at.unwrap_or((u64::MAX, f32::NAN));
    Ok(LossOrderSweep {
        minimax_barrier: jl,
        p_star: jn as f64 / n_sites as f64,
        join_occupied: jn,
        spanning_fraction: if sn == u64::MAX {
            f64::NAN
        } else {
            sn as f64 / n_sites as f64
        },
        spanning_level: sl,
        curve,
    })
}

/// A minimal-maximum grid path from site `a` to site `c` of `field` (the
/// field of `slice`) at its minimax barrier `level`, as slice coordinates,
/// `k` per site from A to C — ready for [`reevaluate_path`]. An error if no
/// path stays at or below `level` (it was not the barrier).
pub fn minimax_path_coords(
    field: &LossField,
    slice: &Slice,
    a: u32,
    c: u32,
    level: f32,
) -> Result<Vec<u32>> {
    let sites = path_below(field, a, c, level)?.ok_or_else(|| Error::Numerical {
        context: "minimax path".into(),
        reason: format!("no grid path from A to C stays at or below {level}"),
    })?;
    let k = slice.dim();
    let mut path = Vec::with_capacity(sites.len() * k);
    let mut coords = vec![0u32; k];
    for &s in &sites {
        slice.coords_of(s as u128, &mut coords);
        path.extend_from_slice(&coords);
    }
    Ok(path)
}

/// The cluster of `site` among the sites with loss `≤ level` (face
/// neighbours, breadth-first search): one flag per site, all false when
/// `site` itself is above the level.
pub fn cluster_below(field: &LossField, site: u32, level: f32) -> Result<Vec<bool>> {
    let lattice = lattice_of(field)?;
    let mut member = vec![false; field.n_sites()];
    if field.values[site as usize] > level {
        return Ok(member);
    }
    member[site as usize] = true;
    let mut queue = VecDeque::from([site]);
    while let Some(s) = queue.pop_front() {
        lattice.for_each_neighbor(s, |_, _, nb| {
            if !member[nb as usize] && field.values[nb as usize] <= level {
                member[nb as usize] = true;
                queue.push_back(nb);
            }
        });
    }
    Ok(member)
}

/// A path from `a` to `c` with the fewest grid steps among those whose sites
/// all have loss `≤ level` (breadth-first search); `None` if there is none.
/// With `level` = the minimax barrier it is a minimal-maximum path.
pub fn path_below(field: &LossField, a: u32, c: u32, level: f32) -> Result<Option<Vec<u32>>> {
    let lattice = lattice_of(field)?;
    let ok = |s: u32| field.values[s as usize] <= level;
    if !ok(a) || !ok(c) {
        return Ok(None);
    }
    let mut parent = vec![u32::MAX; field.n_sites()];
    parent[a as usize] = a;
    let mut queue = VecDeque::from([a]);
    while let Some(s) = queue.pop_front() {
        if s == c {
            let mut path = vec![c];
            let mut x = c;
            while x != a {
                x = parent[x as usize];
                path.push(x);
            }
            path.reverse();
            return Ok(Some(path));
        }
        lattice.for_each_neighbor(s, |_, _, nb| {
            if parent[nb as usize] == u32::MAX && ok(nb) {
                parent[nb as usize] = s;
                queue.push_back(nb);
            }
        });
    }
    Ok(None)
}

/// A grid path re-evaluated at full resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathProfile {
    /// Loss at `points_per_edge` points per grid edge (both ends included
    /// once), in order from A to C.
    pub losses: Vec<f32>,
    /// The largest of them.
    pub max_loss: f32,
}

/// Maps a grid path (sites given by their coordinates, `k` per site) to input
/// space and evaluates the loss at `points_per_edge` evenly spaced points on
/// each edge (the straight segment between neighbouring sites), so
/// `max_loss ≥` the path's grid maximum (grid points are evaluated bit for
/// bit as in the field, see [`super::field::EVAL_BLOCK`]).
pub fn reevaluate_path<C: Classifier + ?Sized>(
    model: &C,
    slice: &Slice,
    path_coords: &[u32],
    class: u32,
    points_per_edge: usize,
) -> Result<PathProfile> {
    let k = slice.dim();
    if path_coords.is_empty() || path_coords.len() % k != 0 {
        return Err(Error::invalid(
            "path",
            path_coords.len(),
            format!("expected whole sites of {k} coordinates"),
        ));
    }
    let m = points_per_edge.max(1);
    let sites: Vec<&[u32]> = path_coords.chunks_exact(k).collect();
    let mut real = Vec::new();
    for w in sites.windows(2) {
        for j in 0..m {
            let t = j as f64 / m as f64;
            real.extend(
                w[0].iter()
                    .zip(w[1])
                    .map(|(&x, &y)| (1.0 - t) * x as f64 + t * y as f64),
            );
        }
    }
    real.extend(sites[sites.len() - 1].iter().map(|&x| x as f64));
    let n = slice.item_len();
    let mut xs = vec![0f32; real.len() / k * n];
    for (r, out) in real.chunks_exact(k).zip(xs.chunks_exact_mut(n)) {
        slice.point_at_into(r, out);
    }
    let losses = super::field::loss_blocked(model, &xs, class)?;
    let max_loss = losses.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    Ok(PathProfile { losses, max_loss })
}

/// The minimax barrier by brute force: Dijkstra with `max` in place of `+`
/// (the bottleneck shortest path). `O(N log N)`; the oracle for tests.
pub fn minimax_bruteforce(field: &LossField, a: u32, c: u32) -> Result<f32> {
    use std::cmp::Reverse;
    let lattice = lattice_of(field)?;
    let key = loss_key;
    let mut best = vec![u32::MAX; field.n_sites()];
    let mut heap = std::collections::BinaryHeap::new();
    best[a as usize] = key(field.values[a as usize]);
    heap.push(Reverse((best[a as usize], a)));
    while let Some(Reverse((d, s))) = heap.pop() {
        if s == c {
            return Ok(field
                .values
                .iter()
                .copied()
                .find(|&v| key(v) == d)
                .unwrap_or(f32::NAN));
        }
        if d > best[s as usize] {
            continue;
        }
        lattice.for_each_neighbor(s, |_, _, nb| {
            let nd = d.max(key(field.values[nb as usize]));
            if nd < best[nb as usize] {
                best[nb as usize] = nd;
                heap.push(Reverse((nd, nb)));
            }
        });
    }
    Err(Error::Numerical {
        context: "minimax brute force".into(),
        reason: "C unreachable".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_below_is_the_connected_part_under_the_level() {
        // 1 × 5 line: 0.1 0.2 0.9 0.1 0.1 — at level 0.5 the first two sites
        // form A's cluster; the last two are low but cut off by the 0.9.
        let f = LossField::new(vec![5], vec![0.1, 0.2, 0.9, 0.1, 0.1]).unwrap();
        assert_eq!(
            cluster_below(&f, 0, 0.5).unwrap(),
            vec![true, true, false, false, false]
        );
        assert_eq!(cluster_below(&f, 0, 1.0).unwrap(), vec![true; 5]);
        assert_eq!(cluster_below(&f, 2, 0.5).unwrap(), vec![false; 5]);
    }
    use proptest::prelude::*;

    fn field_of(sides: Vec<usize>, seed: u64, levels: u32) -> LossField {
        let n: usize = sides.iter().product();
        let values = (0..n as u64)
            .map(|i| {
                (crate::rng::mix64(seed ^ i.wrapping_mul(0x9E37)) % levels as u64) as f32 * 0.5
            })
            .collect();
        LossField::new(sides, values).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The union-find barrier equals the bottleneck (max-plus Dijkstra)
        /// barrier, and the BFS path below it attains it; with few distinct
        /// levels, ties are common and exercised.
        #[test]
        fn union_find_barrier_equals_bruteforce(
            k in 1usize..=4, side in 2usize..=6, seed in any::<u64>(), levels in 2u32..50,
            ai in any::<u32>(), ci in any::<u32>(),
        ) {
            let f = field_of(vec![side; k], seed, levels);
            let n = f.n_sites() as u32;
            let (a, c) = (ai % n, ci % n);
            let sweep = sweep_loss_order(&f, a, c, 16).unwrap();
            let brute = minimax_bruteforce(&f, a, c).unwrap();
            prop_assert_eq!(sweep.minimax_barrier, brute);
            let path = path_below(&f, a, c, brute).unwrap().expect("a path exists at the barrier");
            let pmax = path.iter().map(|&s| f.values[s as usize]).fold(f32::MIN, f32::max);
            prop_assert_eq!(pmax, brute);
            prop_assert_eq!(path[0], a);
            prop_assert_eq!(*path.last().unwrap(), c);
            // p* counts exactly the sites strictly below the barrier plus
            // the ties added before the joining one, so it is bracketed.
            let below = f.values.iter().filter(|&&v| v < brute).count() as f64 / n as f64;
            let at_most = f.values.iter().filter(|&&v| v <= brute).count() as f64 / n as f64;
            prop_assert!(sweep.p_star > below && sweep.p_star <= at_most);
        }
    }

    #[test]
    fn one_dimensional_barrier_is_the_max_between_the_endpoints() {
        let f = LossField::new(vec![7], vec![7.0, 1.0, 3.0, 2.0, 6.0, 0.5, 4.0]).unwrap();
        let s = sweep_loss_order(&f, 1, 5, 7).unwrap();
        // Sites 1..=5 must all be in: the maximum among them is 6, reached
        // at step 6 of 7 (only the 7 at site 0 is still missing).
        assert_eq!(s.minimax_barrier, 6.0);
        assert_eq!(s.p_star, 6.0 / 7.0);
        // The line spans axis 0 only when both end sites are in: at 7.
        assert_eq!(s.spanning_level, 7.0);
        assert_eq!(s.spanning_fraction, 1.0);
    }
}
