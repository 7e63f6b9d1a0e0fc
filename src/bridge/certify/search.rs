//! The goal-first search: admissible sites expanded nearest to C first,
//! either refuting the level once A's admissible component is exhausted
//! ([`certify`]) or raising it to the lowest boundary loss
//! ([`invade_goal_first`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use rustc_hash::FxHashMap;

use super::{l1, Certificate, CertifyResult, SearchOrder};
use crate::bridge::invasion::{
    check_endpoints, coords_of, index_of, push_undiscovered, strides_of, trace_path, SiteLoss,
};
use crate::bridge::minimax::loss_key;
use crate::error::{Error, Result};

/// Searches goal-first for a path from `a` to `c` (coordinates on the
/// oracle's grid) whose sites all have loss ≤ τ = `max(ℓ(a), ℓ(c), level)`
/// (`level` None: τ = τ₀, the certificate of `ℓ* = τ₀`), evaluating at most
/// `max_evaluations` sites before answering [`Certificate::Undecided`].
pub fn certify<S: SiteLoss + ?Sized>(
    oracle: &mut S,
    a: &[u32],
    c: &[u32],
    level: Option<f32>,
    max_evaluations: u64,
    order: SearchOrder,
) -> Result<CertifyResult> {
    search(
        oracle,
        a,
        c,
        level,
        max_evaluations,
        order,
        Exhausted::Refute,
    )
}

/// Goal-first invasion: the exact minimax barrier `ℓ*`, found by growing
/// A's cluster like invasion percolation but absorbing the sites below the
/// current invasion level in goal order.
///
/// The invasion level starts at τ₀ = max(ℓ(A), ℓ(C)). Admissible sites
/// (loss ≤ τ) are expanded as [`certify`] expands them, nearest to C first
/// (`order`); the others wait on a boundary heap keyed by loss. Only when
/// the admissible component of A is exhausted does the level rise, to the
/// lowest boundary loss. Each rise is proven: every path from A to C leaves
/// the exhausted component through a boundary site, so `ℓ* ≥` the new level.
/// When C is reached, the path found stays at or below the level, so
/// `ℓ* =` the level, bit-identical to loss-order invasion
/// ([`super::invasion::invade`](crate::bridge::invasion::invade)) and the dense sweep.
///
/// Loss-order invasion must absorb all of A's component below `ℓ*` before
/// it reaches C; this one must only exhaust the components below the
/// *levels it passes*, and at the last level — `ℓ*` itself — it heads for
/// C. Where `ℓ* = τ₀` on a grid whose sub-τ₀ set percolates (A's basin is a
/// finite fraction of the grid), that is the difference between a few
/// thousand evaluations and none that fit in memory.
///
/// The outcome is [`Certificate::Reached`] with `lower_bound = upper_bound =
/// ℓ*`, or [`Certificate::Undecided`] when `max_evaluations` ran out, with
/// the proven `lower_bound` (the level reached) and no upper bound.
pub fn invade_goal_first<S: SiteLoss + ?Sized>(
    oracle: &mut S,
    a: &[u32],
    c: &[u32],
    max_evaluations: u64,
    order: SearchOrder,
) -> Result<CertifyResult> {
    search(oracle, a, c, None, max_evaluations, order, Exhausted::Raise)
}

/// What [`search`] does once A's admissible component is exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exhausted {
    /// Stop: the level is refuted ([`certify`]).
    Refute,
    /// Raise the level to the lowest boundary loss and go on
    /// ([`invade_goal_first`]).
    Raise,
}

fn search<S: SiteLoss + ?Sized>(
    oracle: &mut S,
    a: &[u32],
    c: &[u32],
    level: Option<f32>,
    max_evaluations: u64,
    order: SearchOrder,
    exhausted: Exhausted,
) -> Result<CertifyResult> {
    let started = Instant::now();
    let sides = oracle.sides().to_vec();
    let k = sides.len();
    check_endpoints(&sides, a, c)?;
    let grid_sites: f64 = sides.iter().map(|&s| s as f64).product();
    let strides = strides_of(&sides);
    let a_idx = index_of(&sides, a);
    let c_idx = index_of(&sides, c);
    let mut ends = a.to_vec();
    ends.extend_from_slice(c);
    let end_losses = oracle.losses(&ends)?;
    let tau0 = if end_losses[0].total_cmp(&end_losses[1]).is_ge() {
        end_losses[0]
    } else {
        end_losses[1]
    };
    let mut tau = match level {
        Some(l) if l.is_nan() => {
            return Err(Error::invalid("level", l, "expected a loss level, not NaN"))
        }
        Some(l) if l > tau0 => l,
        _ => tau0,
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
    // Evaluated sites above the level, lowest loss first (only kept when
    // the level may rise).
    let mut boundary: BinaryHeap<Reverse<(u32, u128)>> = BinaryHeap::new();
    let mut batches = 0u64;
    let block = oracle.block().max(1);
    let mut expanded = 0u64;
    let mut coords = vec![0u32; k];
    let mut site_coords = vec![0u32; k];
    let mut outcome = if a_idx == c_idx {
        Certificate::Reached
    } else {
        Certificate::Refuted
    };
    let mut batch_idx: Vec<u128> = Vec::new();
    let mut batch_parent: Vec<u128> = Vec::new();
    let mut batch_coords: Vec<u32> = Vec::new();
    'search: while outcome != Certificate::Reached {
        if open.is_empty() {
            // A's component at level τ is exhausted: refuted, or the level
            // rises to the lowest boundary loss (and its ties join).
            let Some(Reverse((key, s))) = boundary.pop() else {
                break 'search;
            };
            debug_assert_eq!(exhausted, Exhausted::Raise);
            tau = seen[&s].0;
            let mut rising = vec![s];
            while boundary.peek().is_some_and(|e| e.0 .0 == key) {
                rising.push(boundary.pop().expect("peeked").0 .1);
            }
            batches += 1;
            let rank = match order {
                SearchOrder::Nearest => 0,
                SearchOrder::Deep => u64::MAX - batches,
            };
            for s in rising {
                coords_of(&sides, s, &mut site_coords);
                open.push(Reverse((rank, l1(&site_coords, c), key, s)));
            }
        }
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
                    outcome = Certificate::Reached;
                }
                site_coords.copy_from_slice(&batch_coords[j * k..(j + 1) * k]);
                open.push(Reverse((rank, l1(&site_coords, c), loss_key(l), nb)));
            } else if exhausted == Exhausted::Raise {
                boundary.push(Reverse((loss_key(l), nb)));
            }
        }
    }
    let mut path = Vec::new();
    let mut upper_bound = None;
    if outcome == Certificate::Reached {
        let (path_idx, coords) = trace_path(&sides, &seen, a_idx, c_idx);
        path = coords;
        upper_bound = path_idx
            .iter()
            .map(|p| seen.get(p).map_or(end_losses[1], |e| e.0))
            .max_by(|x, y| x.total_cmp(y));
    }
    // Distinct sites evaluated: those seen, and C if it never was.
    let evaluations = seen.len() as u64 + u64::from(!seen.contains_key(&c_idx));
    let lower_bound = match exhausted {
        Exhausted::Refute => tau0,
        Exhausted::Raise => tau,
    };
    Ok(CertifyResult {
        outcome,
        lower_bound,
        level: tau,
        upper_bound,
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
    use crate::bridge::invasion::{random_field, FieldSites};
    use crate::bridge::minimax::sweep_loss_order;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    /// `path` is a grid path from `ca` to `cc` in unit steps whose largest
    /// loss on `f` is `max`.
    fn check_grid_path(
        f: &LossField,
        path: &[u32],
        ca: &[u32],
        cc: &[u32],
        max: f32,
    ) -> Result<(), TestCaseError> {
        let sites: Vec<&[u32]> = path.chunks_exact(ca.len()).collect();
        prop_assert_eq!(sites[0], ca);
        prop_assert_eq!(*sites.last().unwrap(), cc);
        for w in sites.windows(2) {
            prop_assert_eq!(l1(w[0], w[1]), 1);
        }
        let pmax = sites
            .iter()
            .map(|s| f.values[f.index(s)])
            .fold(f32::MIN, f32::max);
        prop_assert_eq!(pmax, max);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// With no budget limit the search reaches C exactly when the dense
        /// barrier is at most the level searched, and refutes otherwise; the
        /// path found is a grid path from A to C whose maximum (the upper
        /// bound) lies between the dense barrier and the level, and the
        /// barrier is exact where that maximum is max(ℓ(A), ℓ(C)).
        #[test]
        fn reaches_c_exactly_when_the_dense_barrier_is_at_most_the_level(
            k in 1usize..=4, side in 2usize..=7, seed in any::<u64>(), levels in 2u64..40,
            ai in any::<u32>(), ci in any::<u32>(), block in prop_oneof![Just(1usize), Just(7), Just(32)],
            order in prop_oneof![Just(SearchOrder::Nearest), Just(SearchOrder::Deep)],
        ) {
            let (f, a, c, ca, cc) = random_field(k, side, seed, levels, ai, ci);
            let n = f.values.len();
            let dense = sweep_loss_order(&f, a as u32, c as u32, 4).unwrap().minimax_barrier;
            let tau0 = f.values[a].max(f.values[c]);
            // At τ₀ (the certificate) and at a level drawn between the
            // values of the field.
            for level in [None, Some((seed % levels) as f32 / 7.0 + 0.07)] {
                let r = certify(&mut FieldSites::with_block(&f, block), &ca, &cc, level, u64::MAX, order).unwrap();
                prop_assert_eq!(r.lower_bound, tau0);
                prop_assert_eq!(r.level, level.map_or(tau0, |l| l.max(tau0)));
                prop_assert!(r.evaluations as usize <= n);
                if dense <= r.level {
                    prop_assert_eq!(r.outcome, Certificate::Reached);
                    let upper = r.upper_bound.unwrap();
                    prop_assert!(dense <= upper && upper <= r.level);
                    prop_assert_eq!(r.minimax_barrier(), (upper == tau0).then_some(dense));
                    check_grid_path(&f, &r.path, &ca, &cc, upper)?;
                } else {
                    prop_assert_eq!(r.outcome, Certificate::Refuted);
                    prop_assert!(r.path.is_empty() && r.upper_bound.is_none());
                    prop_assert_eq!(r.minimax_barrier(), None);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Goal-first invasion gives exactly the dense (and loss-order
        /// invasion) barrier, along a grid path from A to C whose maximum is
        /// that barrier; with a small budget it answers undecided with a
        /// lower bound that still holds.
        #[test]
        fn goal_first_invasion_equals_dense_and_its_lower_bound_holds(
            k in 1usize..=4, side in 2usize..=7, seed in any::<u64>(), levels in 2u64..1000,
            ai in any::<u32>(), ci in any::<u32>(), block in prop_oneof![Just(1usize), Just(7), Just(32)],
            order in prop_oneof![Just(SearchOrder::Nearest), Just(SearchOrder::Deep)],
            budget in 1u64..60,
        ) {
            let (f, a, c, ca, cc) = random_field(k, side, seed, levels, ai, ci);
            let n = f.values.len();
            let dense = sweep_loss_order(&f, a as u32, c as u32, 4).unwrap().minimax_barrier;
            let r = invade_goal_first(&mut FieldSites::with_block(&f, block), &ca, &cc, u64::MAX, order).unwrap();
            prop_assert_eq!(r.outcome, Certificate::Reached);
            prop_assert_eq!(r.minimax_barrier(), Some(dense));
            prop_assert!(r.evaluations as usize <= n);
            check_grid_path(&f, &r.path, &ca, &cc, dense)?;
            let tight = invade_goal_first(&mut FieldSites::with_block(&f, block), &ca, &cc, budget, order).unwrap();
            prop_assert!(tight.lower_bound <= dense, "{} > {dense}", tight.lower_bound);
            prop_assert!(tight.lower_bound >= f.values[a].max(f.values[c]));
            match tight.outcome {
                Certificate::Reached => prop_assert_eq!(tight.minimax_barrier(), Some(dense)),
                Certificate::Undecided => prop_assert!(tight.upper_bound.is_none() && tight.path.is_empty()),
                Certificate::Refuted => prop_assert!(false, "a connected grid cannot refute"),
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
            let r = certify(&mut FieldSites::new(&f), &a, &c, None, u64::MAX, order).unwrap();
            assert_eq!(r.outcome, Certificate::Reached);
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
        let tight = certify(
            &mut FieldSites::new(&f),
            &a,
            &c,
            None,
            20,
            SearchOrder::Deep,
        )
        .unwrap();
        assert_eq!(tight.outcome, Certificate::Undecided);
        assert_eq!(tight.minimax_barrier(), None);
    }
}
