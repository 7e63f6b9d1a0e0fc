//! Barrier bounds tightened by nesting: slice `k` contains every slice of
//! smaller `k` of the same frame and side, so bounds carry across `k`.

use std::collections::BTreeMap;

use crate::bridge::measure::{gap_fraction, SliceRecord};

/// Tightens each pair's barrier bounds by nesting: slice `k` contains every
/// slice of smaller `k` of the same frame and side, so
/// `ℓ*(k) ≤ min_{k' ≤ k} upper(k')` and `ℓ*(k) ≥ max_{k'' ≥ k} lower(k'')`.
///
/// A lazy slice (goal-first search or certification) whose evaluation
/// budget runs out brackets `ℓ*` loosely; an exact dense slice of smaller
/// `k` can then bound it better from above. Returns copies of `records`
/// with `barrier_upper`, `barrier_lower`, `gap_fraction` and
/// `gap_fraction_lower` tightened; every other field is kept. The records of
/// one (model, pair kind, pair, side) must come from one frame, as in the
/// study (the frame is drawn once per pair, independent of `k`).
pub fn nested_bounds(records: &[SliceRecord]) -> Vec<SliceRecord> {
    type PairKey<'a> = (&'a str, &'a str, usize, usize);
    let mut by_pair: BTreeMap<PairKey, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        by_pair
            .entry((&r.model, &r.pair_kind, r.pair, r.side))
            .or_default()
            .push(i);
    }
    let mut out = records.to_vec();
    for idx in by_pair.values_mut() {
        idx.sort_by_key(|&i| records[i].k);
        let mut upper = f32::INFINITY;
        for &i in idx.iter() {
            if records[i].barrier_upper.is_finite() {
                upper = upper.min(records[i].barrier_upper);
            }
            if upper.is_finite() {
                out[i].barrier_upper = upper;
            }
        }
        let mut lower = f32::NEG_INFINITY;
        for &i in idx.iter().rev() {
            if records[i].barrier_lower.is_finite() {
                lower = lower.max(records[i].barrier_lower);
            }
            if lower.is_finite() {
                out[i].barrier_lower = lower;
            }
        }
        for &i in idx.iter() {
            let r = &mut out[i];
            r.gap_fraction = gap_fraction(r.barrier_upper, r.tau0, r.linear_barrier);
            r.gap_fraction_lower = gap_fraction(r.barrier_lower, r.tau0, r.linear_barrier);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bracket(k: usize, lower: f32, upper: f32) -> SliceRecord {
        SliceRecord {
            model: "m".into(),
            pair_kind: "real_real".into(),
            k,
            side: 5,
            tau0: 1.0,
            linear_barrier: 3.0,
            barrier_lower: lower,
            barrier_upper: upper,
            ..SliceRecord::default()
        }
    }

    #[test]
    fn nested_bounds_carry_the_exact_small_k_barrier_up_and_lazy_lower_bounds_down() {
        // k = 6 exact at 2.0; k = 16 bracketed loosely in [1.2, 2.6]; k = 8
        // bracketed in [1.5, 2.2]: ℓ*(16) ≤ ℓ*(8) ≤ ℓ*(6) = 2.0, and
        // ℓ*(6) ≥ ℓ*(8) ≥ 1.5.
        let recs = vec![
            bracket(16, 1.2, 2.6),
            bracket(6, 2.0, 2.0),
            bracket(8, 1.5, 2.2),
        ];
        let t = nested_bounds(&recs);
        let at = |k: usize| t.iter().find(|r| r.k == k).unwrap();
        assert_eq!((at(6).barrier_lower, at(6).barrier_upper), (2.0, 2.0));
        assert_eq!((at(8).barrier_lower, at(8).barrier_upper), (1.5, 2.0));
        assert_eq!((at(16).barrier_lower, at(16).barrier_upper), (1.2, 2.0));
        assert_eq!(at(16).gap_fraction, Some(0.5));
        assert_eq!(
            at(16).gap_fraction_lower,
            Some((f64::from(1.2f32) - 1.0) / 2.0)
        );
        // Another pair's records are not mixed in.
        let mut other = bracket(6, 0.5, 0.5);
        other.pair = 1;
        let t = nested_bounds(&[bracket(16, 1.2, 2.6), other]);
        assert_eq!(t[0].barrier_upper, 2.6);
    }
}
