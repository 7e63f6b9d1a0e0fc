//! Barrier metrics of a loss curve (science.md §1).
//!
//! For losses `ℓ₀, …, ℓ_N` at path parameters `α₀ = 0 < … < α_N = 1`:
//!
//! * **max** `= maxₖ ℓₖ`, attained first at sample `index`, path parameter
//!   `location = α_index` (the barrier point B);
//! * **gap** `= max − max(ℓ₀, ℓ_N)`: how far the path climbs above its
//!   higher endpoint (0 when the path never does);
//! * **area** `= ∫₀¹ (ℓ(α) − max(ℓ₀, ℓ_N))₊ dα` of the piecewise-linear
//!   interpolant of the samples (the trapezoid rule applied to the positive
//!   part, splitting a segment exactly where it crosses the endpoint level).
//!
//! An endpoint whose loss is above a chosen threshold is not a mode; a
//! measurement on it is still made, and [`BarrierMetrics::endpoint_warning`]
//! says so.

use serde::{Deserialize, Serialize};

use super::path::LossCurve;
use crate::{Error, Result};

/// Barrier metrics of one loss curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BarrierMetrics {
    /// Largest loss on the curve.
    pub max: f64,
    /// `max − max(endpoint losses)`, ≥ 0.
    pub gap: f64,
    /// Path parameter α of the (first) maximum.
    pub location: f64,
    /// Sample index of the (first) maximum.
    pub index: usize,
    /// Area of the curve above the higher endpoint loss.
    pub area: f64,
    /// Loss at α = 0 and α = 1.
    pub endpoint_losses: [f64; 2],
}

/// An endpoint that is not low-loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EndpointWarning {
    /// 0 for the start (α = 0), 1 for the end.
    pub endpoint: usize,
    /// Loss at that endpoint.
    pub loss: f64,
    /// The threshold it exceeds.
    pub threshold: f64,
}

impl std::fmt::Display for EndpointWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "endpoint {} has loss {:.4} > {} (not a low-loss mode)",
            ["A (α = 0)", "C (α = 1)"][self.endpoint.min(1)],
            self.loss,
            self.threshold
        )
    }
}

impl BarrierMetrics {
    /// Metrics of `curve` (at least two samples, α increasing, finite losses).
    pub fn of(curve: &LossCurve) -> Result<Self> {
        let (a, l) = (&curve.alpha, &curve.loss);
        if l.len() < 2 || a.len() != l.len() {
            return Err(Error::invalid(
                "loss curve",
                format!("{} losses at {} positions", l.len(), a.len()),
                "expected at least two samples, one position per loss",
            ));
        }
        if let Some(i) = l.iter().position(|v| !v.is_finite()) {
            return Err(Error::Numerical {
                context: "barrier metrics".into(),
                reason: format!("loss at sample {i} is {}", l[i]),
            });
        }
        let mut index = 0;
        for (k, &v) in l.iter().enumerate() {
            if v > l[index] {
                index = k;
            }
        }
        let endpoint_losses = [l[0], l[l.len() - 1]];
        let level = endpoint_losses[0].max(endpoint_losses[1]);
        let mut area = 0.0;
        for k in 0..l.len() - 1 {
            let (y0, y1) = (l[k] - level, l[k + 1] - level);
            let w = a[k + 1] - a[k];
            area += if y0 >= 0.0 && y1 >= 0.0 {
                0.5 * (y0 + y1) * w
            } else if y0 > 0.0 {
                // crosses down at fraction y0 / (y0 − y1)
                0.5 * y0 * w * y0 / (y0 - y1)
            } else if y1 > 0.0 {
                0.5 * y1 * w * y1 / (y1 - y0)
            } else {
                0.0
            };
        }
        Ok(BarrierMetrics {
            max: l[index],
            gap: (l[index] - level).max(0.0),
            location: a[index],
            index,
            area,
            endpoint_losses,
        })
    }

    /// The first endpoint whose loss exceeds `threshold`, if any.
    pub fn endpoint_warning(&self, threshold: f64) -> Option<EndpointWarning> {
        self.endpoint_warnings(threshold).into_iter().next()
    }

    /// Every endpoint whose loss exceeds `threshold` (start first).
    pub fn endpoint_warnings(&self, threshold: f64) -> Vec<EndpointWarning> {
        (0..2)
            .filter(|&e| self.endpoint_losses[e] > threshold)
            .map(|endpoint| EndpointWarning {
                endpoint,
                loss: self.endpoint_losses[endpoint],
                threshold,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(f: impl Fn(f64) -> f64, n: usize) -> LossCurve {
        let alpha: Vec<f64> = (0..n).map(|k| k as f64 / (n - 1) as f64).collect();
        LossCurve {
            loss: alpha.iter().map(|&a| f(a)).collect(),
            arc: alpha.clone(),
            alpha,
        }
    }

    #[test]
    fn tent_has_known_metrics() {
        // ℓ = 0.1 + (1 − |2α − 1|): endpoints 0.1, peak 1.1 at α = 1/2,
        // area above 0.1 is the triangle ½·1·1 (exact for a piecewise-linear
        // curve sampled at its kink).
        let c = curve(|a| 0.1 + 1.0 - (2.0 * a - 1.0).abs(), 101);
        let b = BarrierMetrics::of(&c).unwrap();
        assert!((b.max - 1.1).abs() < 1e-12);
        assert!((b.gap - 1.0).abs() < 1e-12);
        assert_eq!(b.index, 50);
        assert!((b.location - 0.5).abs() < 1e-12);
        assert!((b.area - 0.5).abs() < 1e-12);
        assert!(b.endpoint_losses.iter().all(|l| (l - 0.1).abs() < 1e-12));
        assert!(b.endpoint_warning(0.2).is_none());
        let w = b.endpoint_warning(0.05).unwrap();
        assert_eq!(w.endpoint, 0);
        // Both endpoints (loss 0.1) are above 0.05; none is above 0.2.
        let all = b.endpoint_warnings(0.05);
        assert_eq!(all.iter().map(|w| w.endpoint).collect::<Vec<_>>(), [0, 1]);
        assert!(all[1].to_string().starts_with("endpoint C"), "{}", all[1]);
        assert!(b.endpoint_warnings(0.2).is_empty());
    }

    #[test]
    fn monotone_curve_has_no_gap_and_crossings_are_exact() {
        // Increasing line: the max is the end point, gap and area 0.
        let b = BarrierMetrics::of(&curve(|a| a, 11)).unwrap();
        assert_eq!((b.gap, b.area, b.index), (0.0, 0.0, 10));
        // Three samples: endpoints 0 and 0.5, middle 1. Above the level 0.5
        // the first segment contributes the triangle from its crossing at
        // α = 1/4 to α = 1/2 of height 1/2, the second the triangle from
        // α = 1/2 to 1 of height 1/2: ½·¼·½ + ½·½·½ = 1/16 + 1/8 = 3/16.
        let c = LossCurve {
            alpha: vec![0.0, 0.5, 1.0],
            arc: vec![0.0, 0.5, 1.0],
            loss: vec![0.0, 1.0, 0.5],
        };
        let b = BarrierMetrics::of(&c).unwrap();
        assert!((b.area - 3.0 / 16.0).abs() < 1e-15);
        assert!((b.gap - 0.5).abs() < 1e-15);
        assert_eq!(b.endpoint_warning(0.4).unwrap().endpoint, 1);
    }

    #[test]
    fn parabola_area_converges_to_the_integral() {
        // ℓ = 4α(1 − α): ∫ = 2/3; trapezoid error h²/12·|ℓ''|·1 = 8h²/12.
        let n = 201;
        let b = BarrierMetrics::of(&curve(|a| 4.0 * a * (1.0 - a), n)).unwrap();
        let h = 1.0 / (n - 1) as f64;
        assert!((b.area - 2.0 / 3.0).abs() <= 8.0 * h * h / 12.0 + 1e-12);
        assert!((b.max - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_curves_are_rejected() {
        let c = LossCurve {
            alpha: vec![0.0],
            arc: vec![0.0],
            loss: vec![1.0],
        };
        assert!(BarrierMetrics::of(&c).unwrap_err().is_user_error());
    }
}
