//! A certified shortcut to the minimax barrier on grids too large to invade.
//!
//! Every grid path from A to C contains A and C, so
//!
//! ```text
//! ℓ* ≥ τ₀ = max(ℓ(A), ℓ(C)),
//! ```
//!
//! and one path whose sites all have loss ≤ τ₀ proves `ℓ* = τ₀` exactly.
//! Invasion ([`super::invasion`]) cannot find such a path cheaply on a large
//! slice: it invades in loss order, so it must absorb every site of A's
//! component below ℓ* before C — and for a ReLU network the loss falls on
//! one side of A along almost every off-axis direction, so that component
//! holds a fixed fraction of a `L^(k−1)` grid (theory/slice-percolation.md
//! §5). This search looks for the path goal-first instead, over the sites
//! of loss ≤ τ₀ connected to A, evaluating only the face neighbours of the
//! sites it expands: depth-first by default (the newest admissible sites
//! first, and among them the nearest to C in grid L1 distance; ties: lower
//! loss, then lower index), or best-first by that distance
//! ([`SearchOrder`]).
//!
//! The outcome is one of three, and never a guess:
//! * [`Certificate::Certified`]: C was reached; `ℓ* = τ₀`, with the path.
//! * [`Certificate::Refuted`]: A's admissible component was exhausted without
//!   C, which proves `ℓ* > τ₀` (use invasion or the dense sweep).
//! * [`Certificate::Undecided`]: the evaluation budget ran out first.
//!
//! The search is complete: with an unlimited budget it is certified exactly
//! when the dense sweep's barrier equals τ₀ (a test checks this on random
//! fields). It compares the same f32 values as the dense sweep, so a
//! certified barrier is bit-identical to the dense one. Its order depends
//! only on the losses, so the result does not depend on the thread count.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::invasion::{coords_of, index_of, push_undiscovered, SiteLoss};
use super::minimax::loss_key;
use crate::error::{Error, Result};

/// What the search proved about `ℓ*` against its lower bound τ₀.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certificate {
    /// A path with every site ≤ τ₀ was found: `ℓ* = τ₀`.
    Certified,
    /// No such path exists: `ℓ* > τ₀`.
    Refuted,
    /// The budget ran out before either was shown.
    Undecided,
}

/// Which admissible site [`certify`] expands next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// Best-first: the open site nearest to C (ties: lower loss). Finds
    /// short detours with few evaluations, but explores a whole ball
    /// around an obstacle before going wide.
    Nearest,
    /// Depth-first: the newest sites first, nearest to C among them. Commits
    /// to one way round an obstacle and follows it far, so it can pass
    /// walls whose gaps lie many steps off the axis.
    #[default]
    Deep,
}

/// The outcome of [`certify`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertifyResult {
    /// What was shown.
    pub outcome: Certificate,
    /// `τ₀ = max(ℓ(A), ℓ(C))`: a lower bound of `ℓ*`, and `ℓ*` itself when
    /// certified.
    pub lower_bound: f32,
    /// Admissible sites expanded (their neighbours evaluated).
    pub expanded: u64,
    /// Sites evaluated.
    pub evaluations: u64,
    /// Sites of the whole (virtual) grid, as f64 (may exceed 2⁶⁴).
    pub grid_sites: f64,
    /// `evaluations / grid_sites`.
    pub fraction_evaluated: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// When certified, a path from A to C with every site ≤ τ₀ (grid
    /// coordinates, `k` per site); empty otherwise.
    pub path: Vec<u32>,
}

impl CertifyResult {
    /// `ℓ*` when certified.
    pub fn minimax_barrier(&self) -> Option<f32> {
        (self.outcome == Certificate::Certified).then_some(self.lower_bound)
    }

    /// Evaluations per second.
    pub fn evaluations_per_sec(&self) -> f64 {
        self.evaluations as f64 / self.seconds.max(1e-12)
    }
}

fn l1(a: &[u32], b: &[u32]) -> u32 {
    a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y)).sum()
}

/// Searches goal-first for a path from `a` to `c` (coordinates on the
/// oracle's grid) whose sites all have loss ≤ `max(ℓ(a), ℓ(c))`, evaluating
/// at most `max_evaluations` sites before answering
/// [`Certificate::Undecided`].
pub fn certify<S: SiteLoss + ?Sized>(
    oracle: &mut S,
    a: &[u32],
    c: &[u32],
    max_evaluations: u64,
    order: SearchOrder,
) -> Result<CertifyResult> {
    let started = Instant::now();
    let sides = oracle.sides().to_vec();
    let k = sides.len();
    for (name, p) in [("endpoint A", a), ("endpoint C", c)] {
        if p.len() != k || p.iter().zip(&sides).any(|(&x, &s)| x as usize >= s) {
            return Err(Error::invalid(
                name,
                format!("{p:?}"),
                format!("expected coordinates inside sides {sides:?}"),
            ));
        }
    }
    let grid_sites: f64 = sides.iter().map(|&s| s as f64).product();
    let strides: Vec<u128> = (0..k)
        .map(|i| sides[i + 1..].iter().map(|&s| s as u128).product())
        .collect();
    let a_idx = index_of(&sides, a);
    let c_idx = index_of(&sides, c);
    let mut ends = a.to_vec();
    ends.extend_from_slice(c);
    let end_losses = oracle.losses(&ends)?;
    let tau = if end_losses[0].total_cmp(&end_losses[1]).is_ge() {
        end_losses[0]
    } else {
        end_losses[1]
    };
    // site → (loss, discovering site), for every evaluated site.
    let mut seen: FxHashMap<u128, (f32, u128)> = FxHashMap::default();
    seen.insert(a_idx, (end_losses[0], a_idx));
    // Admissible sites not yet expanded: (rank, distance to C, loss, index),
    // smallest first. The rank is 0 for best-first and falls with every
    // batch for depth-first, so the newest sites come first.
    let mut open: BinaryHeap<Reverse<(u64, u32, u32, u128)>> = BinaryHeap::new();
    open.push(Reverse((
        u64::MAX,
        l1(a, c),
        loss_key(end_losses[0]),
        a_idx,
    )));
    let mut batches = 0u64;
    let block = oracle.block().max(1);
    let mut expanded = 0u64;
    let mut coords = vec![0u32; k];
    let mut site_coords = vec![0u32; k];
    let mut outcome = if a_idx == c_idx {
        Certificate::Certified
    } else {
        Certificate::Refuted
    };
    let mut batch_idx: Vec<u128> = Vec::new();
    let mut batch_parent: Vec<u128> = Vec::new();
    let mut batch_coords: Vec<u32> = Vec::new();
    'search: while outcome != Certificate::Certified {
        // Expand the nearest open sites until a block of new neighbours.
        batch_idx.clear();
        batch_parent.clear();
        batch_coords.clear();
        while batch_idx.len() < block {
            let Some(Reverse((_, _, _, s))) = open.pop() else {
                break;
            };
            expanded += 1;
            let before = batch_idx.len();
            push_undiscovered(
                &sides,
                &strides,
                s,
                &mut coords,
                &mut batch_idx,
                &mut batch_coords,
                |nb| !seen.contains_key(&nb),
            );
            // Two expanded sites of one batch may share a neighbour.
            let mut j = before;
            while j < batch_idx.len() {
                if batch_idx[..j].contains(&batch_idx[j]) {
                    batch_idx.swap_remove(j);
                    let last = batch_coords.len() - k;
                    batch_coords.copy_within(last.., j * k);
                    batch_coords.truncate(last);
                } else {
                    j += 1;
                }
            }
            batch_parent.resize(batch_idx.len(), s);
        }
        if batch_idx.is_empty() {
            if open.is_empty() {
                break 'search;
            }
            continue;
        }
        if (seen.len() + batch_idx.len()) as u64 > max_evaluations {
            outcome = Certificate::Undecided;
            break 'search;
        }
        let losses = oracle.losses(&batch_coords)?;
        batches += 1;
        let rank = match order {
            SearchOrder::Nearest => 0,
            SearchOrder::Deep => u64::MAX - batches,
        };
        for (j, (&nb, &l)) in batch_idx.iter().zip(&losses).enumerate() {
            // C keeps the value τ₀ was taken from (a batch of other
            // sites must not move it by an ulp).
            let l = if nb == c_idx { end_losses[1] } else { l };
            seen.insert(nb, (l, batch_parent[j]));
            if l.total_cmp(&tau).is_le() {
                if nb == c_idx {
                    outcome = Certificate::Certified;
                }
                site_coords.copy_from_slice(&batch_coords[j * k..(j + 1) * k]);
                open.push(Reverse((rank, l1(&site_coords, c), loss_key(l), nb)));
            }
        }
    }
    let mut path = Vec::new();
    if outcome == Certificate::Certified {
        let mut path_idx = vec![c_idx];
        let mut x = c_idx;
        while x != a_idx {
            x = seen[&x].1;
            path_idx.push(x);
        }
        path_idx.reverse();
        path = vec![0u32; path_idx.len() * k];
        for (i, &p) in path_idx.iter().enumerate() {
            coords_of(&sides, p, &mut path[i * k..(i + 1) * k]);
        }
    }
    // Distinct sites evaluated: those seen, and C if it never was.
    let evaluations = seen.len() as u64 + u64::from(!seen.contains_key(&c_idx));
    Ok(CertifyResult {
        outcome,
        lower_bound: tau,
        expanded,
        evaluations,
        grid_sites,
        fraction_evaluated: evaluations as f64 / grid_sites,
        seconds: started.elapsed().as_secs_f64(),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::field::LossField;
    use crate::bridge::invasion::FieldSites;
    use crate::bridge::minimax::sweep_loss_order;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// With no budget limit the search is certified exactly when the
        /// dense barrier equals max(ℓ(A), ℓ(C)), and refuted otherwise; a
        /// certified path is a grid path from A to C at or below the bound.
        #[test]
        fn certified_exactly_when_the_dense_barrier_is_the_lower_bound(
            k in 1usize..=4, side in 2usize..=7, seed in any::<u64>(), levels in 2u64..40,
            ai in any::<u32>(), ci in any::<u32>(), block in prop_oneof![Just(1usize), Just(7), Just(32)],
            order in prop_oneof![Just(SearchOrder::Nearest), Just(SearchOrder::Deep)],
        ) {
            let n = side.pow(k as u32);
            let values: Vec<f32> = (0..n as u64)
                .map(|i| (crate::rng::mix64(seed ^ i) % levels) as f32 / 7.0)
                .collect();
            let f = LossField::new(vec![side; k], values).unwrap();
            let (a, c) = (ai as usize % n, ci as usize % n);
            let mut ca = vec![0u32; k];
            let mut cc = vec![0u32; k];
            coords_of(&f.sides, a as u128, &mut ca);
            coords_of(&f.sides, c as u128, &mut cc);
            let r = certify(&mut FieldSites::with_block(&f, block), &ca, &cc, u64::MAX, order).unwrap();
            let dense = sweep_loss_order(&f, a as u32, c as u32, 4).unwrap().minimax_barrier;
            prop_assert_eq!(r.lower_bound, f.values[a].max(f.values[c]));
            prop_assert!(r.evaluations as usize <= n);
            if dense == r.lower_bound {
                prop_assert_eq!(r.outcome, Certificate::Certified);
                prop_assert_eq!(r.minimax_barrier(), Some(dense));
                let sites: Vec<&[u32]> = r.path.chunks_exact(k).collect();
                prop_assert_eq!(sites[0], &ca[..]);
                prop_assert_eq!(*sites.last().unwrap(), &cc[..]);
                for w in sites.windows(2) {
                    prop_assert_eq!(l1(w[0], w[1]), 1);
                }
                for s in sites {
                    prop_assert!(f.values[f.index(s)] <= r.lower_bound);
                }
            } else {
                prop_assert_eq!(r.outcome, Certificate::Refuted);
                prop_assert!(r.path.is_empty());
            }
        }
    }

    /// On a smooth bowl between A and C with a ridge that has one gap, the
    /// goal-first search passes the gap while evaluating a small part of
    /// the grid, and a tight budget answers undecided rather than guessing.
    #[test]
    fn goal_first_search_finds_the_gap_and_respects_the_budget() {
        let side = 41usize;
        let mut values = vec![0.0f32; side * side];
        for y in 0..side {
            for x in 0..side {
                let ridge = x == 20 && y != 3;
                values[y * side + x] = if ridge { 5.0 } else { 0.5 };
            }
        }
        let f = LossField::new(vec![side, side], values).unwrap();
        let (a, c) = ([20u32, 0], [20u32, 40]);
        // Axis 0 is y, axis 1 is x: A = (y 20, x 0), C = (y 20, x 40).
        for order in [SearchOrder::Nearest, SearchOrder::Deep] {
            let r = certify(&mut FieldSites::new(&f), &a, &c, u64::MAX, order).unwrap();
            assert_eq!(r.outcome, Certificate::Certified);
            assert_eq!(r.minimax_barrier(), Some(0.5));
            assert!(
                r.path.chunks_exact(2).any(|p| p == [3, 20]),
                "through the gap"
            );
            assert!(
                r.evaluations < (side * side) as u64,
                "{order:?}: {}",
                r.evaluations
            );
        }
        let tight = certify(&mut FieldSites::new(&f), &a, &c, 20, SearchOrder::Deep).unwrap();
        assert_eq!(tight.outcome, Certificate::Undecided);
        assert_eq!(tight.minimax_barrier(), None);
    }
}
