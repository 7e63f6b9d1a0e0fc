//! One slice measured: the domain function behind `ismc slice` and every
//! unit of the slice-percolation study.
//!
//! [`measure_slice`] takes a validated [`SlicePlan`] (k, side, search method,
//! nulls), the pair's [`Frame`] of off-axis directions and the two endpoints,
//! and returns a [`SliceRecord`]: the minimax barrier `ℓ*` (exact, or
//! bracketed on grids too large to evaluate), the normalised gap fraction
//! `g = (ℓ* − τ₀)/(ℓ_lin − τ₀)` with `τ₀ = max(ℓ(A), ℓ(C))`, and — on dense
//! grids — the percolation observables of the loss excursion sets beside
//! both fair nulls:
//!
//! * `p_span`: the occupied fraction at which a cluster of `{ℓ ≤ τ}` first
//!   spans the box along axis 0 (the C − A axis) — a genuine percolation
//!   observable, compared with lattice site percolation;
//! * `p_star`: the fraction occupied when A and C join in loss order (the
//!   volume below `ℓ*`), and `p_star_pinned`: the same with A and C occupied
//!   first, the like-for-like comparison with the nulls;
//! * the **i.i.d. pinned null** (A and C first, every other site in uniform
//!   random order: depends only on the grid and the endpoints' positions);
//! * the **IAAFT surrogate** (the slice's own histogram and power spectrum,
//!   random phases; A and C pinned first), which separates "percolation of
//!   high dimension" from "a smooth correlated valley".
//!
//! The frame is drawn once per pair (its seed does not involve `k`), and the
//! slice of dimension `k` uses its first `k − 1` directions with the same
//! side `L` and A, C on the middle layer of every off-axis: slice `k` is a
//! sub-grid of slice `k + 1`, evaluated bit for bit alike
//! ([`super::field::EVAL_BLOCK`]), so `ℓ*(k)` cannot increase with `k`.
//!
//! Seeds: `measure_slice` derives every stream from the pair's `seed` through
//! [`crate::rng::slice_stream`], so the CLI and the study give identical
//! records for the same pair, plan and seed.

mod frame;
mod nulls;
mod plan;
mod record;

pub use frame::Frame;
pub use plan::{Method, SlicePlan};
pub use record::{LargestCurves, PairLabel, SliceMeasurement, SliceRecord};

use super::certify::{bracket, invade_goal_first};
use super::excursion::excursion_sweep;
use super::field::{evaluate_dense, loss_blocked, DenseOptions};
use super::invasion::ModelSites;
use super::minimax::{loss_order, minimax_path_coords, reevaluate_path, sweep_loss_order};
use super::null::pinned_order;
use super::sampled::fractions_below;
use super::surrogate::iaaft;
use crate::error::Result;
use crate::nn::Classifier;
use crate::rng::{derive_seed, slice_stream, stream};
use nulls::{curve_at, null_observables, pinned_loss_order};

/// Points of the largest-cluster curve `P∞(p)` kept per dense slice:
/// `p = 1/n, 2/n, …, 1`.
pub const CURVE_POINTS: usize = 20;

/// Max loss on `points` evenly spaced points of the segment A–C.
pub fn linear_barrier<C: Classifier + ?Sized>(
    model: &C,
    a: &[f32],
    c: &[f32],
    class: u32,
    points: usize,
) -> Result<f32> {
    let points = points.max(2);
    let mut xs = Vec::with_capacity(points * a.len());
    for i in 0..points {
        let t = i as f32 / (points - 1) as f32;
        xs.extend(a.iter().zip(c).map(|(&x, &y)| (1.0 - t) * x + t * y));
    }
    let losses = loss_blocked(model, &xs, class)?;
    Ok(losses.into_iter().fold(f32::NEG_INFINITY, f32::max))
}

/// `(barrier − τ₀)/(ℓ_lin − τ₀)`, or None when the straight path has no gap.
pub fn gap_fraction(barrier: f32, tau0: f32, linear: f32) -> Option<f64> {
    let gap = f64::from(linear) - f64::from(tau0);
    (gap > 0.0).then(|| (f64::from(barrier) - f64::from(tau0)) / gap)
}

/// Measures one slice of the pair (A, C) with target `class`: see the
/// module docs. `seed` is the pair's seed; the frame must come from the
/// same seed ([`Frame::for_pair`]) for the record to be reproducible from
/// it alone.
#[allow(clippy::too_many_arguments)]
pub fn measure_slice<C: Classifier + ?Sized>(
    model: &C,
    label: &PairLabel<'_>,
    a: &[f32],
    c: &[f32],
    class: u32,
    frame: &Frame,
    plan: &SlicePlan,
    seed: u64,
) -> Result<SliceMeasurement> {
    plan.validate("")?;
    let k = plan.k;
    let slice = frame.slice(a, c, &plan.grid())?;
    let sites = slice.n_sites() as f64;
    let ends = loss_blocked(model, &[a, c].concat(), class)?;
    let tau0 = ends[0].max(ends[1]);
    let linear = linear_barrier(model, a, c, class, plan.linear_points)?;
    let sub = |tag: u64| derive_seed(seed, &[stream::SLICE, tag, k as u64]);
    let mut rec = SliceRecord {
        model: label.model.to_string(),
        pair_kind: label.pair_kind.to_string(),
        pair: label.pair,
        class,
        k,
        side: plan.side,
        sites,
        method: String::new(),
        directions: frame.kind.to_string(),
        seed,
        loss_a: ends[0],
        loss_c: ends[1],
        tau0,
        linear_barrier: linear,
        minimax_barrier: None,
        barrier_lower: f32::NAN,
        barrier_upper: f32::NAN,
        gap_fraction: None,
        gap_fraction_lower: None,
        path_max: f32::NAN,
        path_steps: 0,
        evaluations: 0,
        fraction_evaluated: 0.0,
        p_star: None,
        p_star_stderr: None,
        p_star_pinned: None,
        p_star_null: None,
        p_star_null_stderr: None,
        p_star_surrogate: None,
        p_star_surrogate_stderr: None,
        p_span: None,
        p_span_any: None,
        p_span_null_iid: None,
        p_span_null_iid_stderr: None,
        p_span_surrogate: None,
        p_span_surrogate_stderr: None,
        surrogate_spectrum_error: None,
    };
    let mut field_eval = None;
    let mut curves = None;
    let path = if plan.is_dense() {
        let eval = evaluate_dense(model, &slice, class, &DenseOptions::default())?;
        let field = &eval.field;
        let ia = field.index(slice.a_coords()) as u32;
        let ic = field.index(slice.c_coords()) as u32;
        let sweep = sweep_loss_order(field, ia, ic, 1)?;
        let path = minimax_path_coords(field, &slice, ia, ic, sweep.minimax_barrier)?;
        let real = excursion_sweep(&field.sides, &loss_order(&field.values), None, CURVE_POINTS)?;
        let pinned = excursion_sweep(
            &field.sides,
            &pinned_loss_order(&field.values, ia, ic),
            Some((ia, ic)),
            0,
        )?;
        let n = field.n_sites();
        let null_seed = sub(slice_stream::NULL);
        let iid = null_observables(&field.sides, ia, ic, plan.null_shuffles, &|i| {
            Ok(pinned_order(n, ia, ic, derive_seed(null_seed, &[i as u64])))
        })?;
        let sur_seed = sub(slice_stream::SURROGATE);
        let spectrum_errors = std::sync::Mutex::new(Vec::new());
        let sur = null_observables(&field.sides, ia, ic, plan.surrogates, &|i| {
            let s = iaaft(field, derive_seed(sur_seed, &[i as u64]), &plan.surrogate)?;
            spectrum_errors
                .lock()
                .expect("no panics while holding the lock")
                .push(s.spectrum_error);
            Ok(pinned_loss_order(&s.field.values, ia, ic))
        })?;
        let spectrum = spectrum_errors.into_inner().expect("lock released");
        rec.method = "dense".into();
        rec.minimax_barrier = Some(sweep.minimax_barrier);
        rec.barrier_lower = sweep.minimax_barrier;
        rec.barrier_upper = sweep.minimax_barrier;
        rec.evaluations = eval.evaluations;
        rec.p_star = Some(sweep.p_star);
        rec.p_star_pinned = pinned.join_fraction();
        rec.p_span = Some(real.span_fraction(Some(0)));
        rec.p_span_any = Some(real.span_fraction(None));
        rec.p_star_null = iid.p_star.map(|m| m.mean);
        rec.p_star_null_stderr = iid.p_star.map(|m| m.stderr);
        rec.p_span_null_iid = iid.p_span.map(|m| m.mean);
        rec.p_span_null_iid_stderr = iid.p_span.map(|m| m.stderr);
        rec.p_star_surrogate = sur.p_star.map(|m| m.mean);
        rec.p_star_surrogate_stderr = sur.p_star.map(|m| m.stderr);
        rec.p_span_surrogate = sur.p_span.map(|m| m.mean);
        rec.p_span_surrogate_stderr = sur.p_span.map(|m| m.stderr);
        rec.surrogate_spectrum_error = spectrum.into_iter().reduce(f64::max);
        curves = Some(LargestCurves {
            k,
            field: curve_at(&real.largest),
            null_iid: iid.curve,
            surrogate: sur.curve,
        });
        field_eval = Some(eval);
        path
    } else {
        let mut oracle = ModelSites::new(model, &slice, class)?;
        let (ca, cc) = (slice.a_coords(), slice.c_coords());
        let (lower, upper, path, evaluations) = if plan.method == Method::Invasion {
            rec.method = "invasion".into();
            let (b, r) =
                invade_goal_first(&mut oracle, ca, cc, plan.max_evaluations, plan.search_order)?
                    .into_exact(plan.max_evaluations)?;
            (b, b, r.path, r.evaluations)
        } else {
            rec.method = "certify".into();
            let per_search = (plan.max_evaluations / (plan.bisect_steps as u64 + 1)).max(1);
            let r = bracket(
                &mut oracle,
                ca,
                cc,
                plan.bisect_steps,
                per_search,
                plan.search_order,
            )?;
            (r.lower_bound, r.upper_bound, r.path, r.evaluations)
        };
        rec.barrier_lower = lower;
        rec.barrier_upper = upper;
        rec.minimax_barrier = (lower == upper).then_some(lower);
        rec.evaluations = evaluations;
        if plan.p_star_samples > 0 && rec.minimax_barrier.is_some() {
            let p = fractions_below(
                &mut oracle,
                &[upper],
                plan.p_star_samples,
                sub(slice_stream::SAMPLES),
            )?;
            rec.p_star = Some(p[0].fraction);
            rec.p_star_stderr = Some(p[0].stderr);
        }
        path
    };
    let profile = reevaluate_path(model, &slice, &path, class, plan.path_points_per_edge)?;
    rec.path_max = profile.max_loss;
    rec.path_steps = path.len() / k - 1;
    rec.fraction_evaluated = rec.evaluations as f64 / sites;
    rec.gap_fraction = gap_fraction(rec.barrier_upper, tau0, linear);
    rec.gap_fraction_lower = gap_fraction(rec.barrier_lower, tau0, linear);
    Ok(SliceMeasurement {
        record: rec,
        slice,
        field: field_eval,
        path,
        curves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_fraction_is_none_without_a_straight_gap() {
        assert_eq!(gap_fraction(1.0, 1.0, 1.0), None);
        assert_eq!(gap_fraction(1.5, 1.0, 3.0), Some(0.25));
        assert_eq!(gap_fraction(1.0, 1.0, 3.0), Some(0.0));
    }
}
