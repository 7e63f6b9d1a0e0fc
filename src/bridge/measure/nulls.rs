//! The observables of a dense slice's nulls: many orders (the i.i.d.
//! pinned null's or the surrogates') run through the excursion sweep and
//! averaged, and the pinned loss order that puts A and C first.

use rayon::prelude::*;

use super::CURVE_POINTS;
use crate::bridge::excursion::excursion_sweep;
use crate::bridge::minimax::loss_order;
use crate::error::Result;
use crate::stats::MeanError;

/// The null and surrogate observables of one dense field.
pub(super) struct Nulls {
    pub(super) p_star: Option<MeanError>,
    pub(super) p_span: Option<MeanError>,
    pub(super) curve: Vec<f64>,
}

/// Runs `orders` (one per seed, made by `make`) through the excursion sweep
/// in parallel and averages `p*`, the axis-0 first span and `P∞(p)`.
pub(super) fn null_observables(
    sides: &[usize],
    a: u32,
    c: u32,
    count: usize,
    make: &(dyn Fn(usize) -> Result<Vec<u32>> + Sync),
) -> Result<Nulls> {
    if count == 0 {
        return Ok(Nulls {
            p_star: None,
            p_span: None,
            curve: Vec::new(),
        });
    }
    let sweeps: Vec<_> = (0..count)
        .into_par_iter()
        .map(|i| excursion_sweep(sides, &make(i)?, Some((a, c)), CURVE_POINTS))
        .collect::<Result<_>>()?;
    let joins: Vec<f64> = sweeps.iter().filter_map(|s| s.join_fraction()).collect();
    let spans: Vec<f64> = sweeps.iter().map(|s| s.span_fraction(Some(0))).collect();
    let mut curve = vec![0.0; CURVE_POINTS];
    for s in &sweeps {
        for (acc, v) in curve.iter_mut().zip(curve_at(&s.largest)) {
            *acc += v / count as f64;
        }
    }
    Ok(Nulls {
        p_star: Some(MeanError::of(&joins)),
        p_span: Some(MeanError::of(&spans)),
        curve,
    })
}

/// `P∞` at `p = j/CURVE_POINTS` from a sweep's `(p, P∞)` points (the last
/// point at or below each `p`).
pub(super) fn curve_at(points: &[(f64, f64)]) -> Vec<f64> {
    (1..=CURVE_POINTS)
        .map(|j| {
            let p = j as f64 / CURVE_POINTS as f64 + 1e-12;
            points
                .iter()
                .take_while(|(q, _)| *q <= p)
                .last()
                .map_or(0.0, |&(_, v)| v)
        })
        .collect()
}

/// `[a, c]` followed by the other sites in the loss order of `values`.
pub(super) fn pinned_loss_order(values: &[f32], a: u32, c: u32) -> Vec<u32> {
    let mut order = Vec::with_capacity(values.len());
    order.push(a);
    if c != a {
        order.push(c);
    }
    order.extend(loss_order(values).into_iter().filter(|&s| s != a && s != c));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_loss_order_puts_the_endpoints_first() {
        let v = [0.5, 0.1, 0.9, 0.0];
        assert_eq!(pinned_loss_order(&v, 2, 0), vec![2, 0, 3, 1]);
    }
}
