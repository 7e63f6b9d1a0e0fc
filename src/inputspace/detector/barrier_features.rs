//! The detector's features: summaries of the barriers along the linear
//! paths from k real references to an input, and their log scale.

use serde::{Deserialize, Serialize};

use crate::inputspace::barrier::BarrierMetrics;
use crate::inputspace::count_inputs;
use crate::inputspace::pairs::linear_barriers;
use crate::nn::Classifier;
use crate::stats::quantile;
use crate::{Error, Result};

/// Added to every feature before its logarithm in
/// [`DetectorFeatures::to_log_vec`] (and to both losses of a local rise), so
/// zero gaps stay finite and losses far below a typical real input's
/// (1e-5 … 1e-4 on the bundled LeNet5) do not dominate the fit.
pub const LOG_FLOOR: f64 = 1e-7;

/// Summaries of the barriers from k references to one input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectorFeatures {
    /// Mean barrier max over references.
    pub max_mean: f64,
    /// Median barrier max.
    pub max_median: f64,
    /// Smallest barrier max.
    pub max_min: f64,
    /// Largest barrier max.
    pub max_max: f64,
    /// Mean barrier gap.
    pub gap_mean: f64,
    /// Median barrier gap.
    pub gap_median: f64,
    /// 90 % quantile of the barrier gap.
    pub gap_q90: f64,
    /// Mean area above the higher endpoint.
    pub area_mean: f64,
}

impl DetectorFeatures {
    /// Names of the features, in [`DetectorFeatures::to_vec`] order.
    pub const NAMES: [&'static str; 8] = [
        "max_mean",
        "max_median",
        "max_min",
        "max_max",
        "gap_mean",
        "gap_median",
        "gap_q90",
        "area_mean",
    ];

    /// Summaries of the barriers to the references.
    pub fn from_barriers(b: &[BarrierMetrics]) -> Self {
        let maxes: Vec<f64> = b.iter().map(|m| m.max).collect();
        let gaps: Vec<f64> = b.iter().map(|m| m.gap).collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        DetectorFeatures {
            max_mean: mean(&maxes),
            max_median: quantile(&maxes, 0.5),
            max_min: maxes.iter().copied().fold(f64::INFINITY, f64::min),
            max_max: maxes.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            gap_mean: mean(&gaps),
            gap_median: quantile(&gaps, 0.5),
            gap_q90: quantile(&gaps, 0.9),
            area_mean: mean(&b.iter().map(|m| m.area).collect::<Vec<_>>()),
        }
    }

    /// The features as a vector, in [`DetectorFeatures::NAMES`] order.
    pub fn to_vec(&self) -> Vec<f64> {
        vec![
            self.max_mean,
            self.max_median,
            self.max_min,
            self.max_max,
            self.gap_mean,
            self.gap_median,
            self.gap_q90,
            self.area_mean,
        ]
    }

    /// The features on a log scale, `ln(v + LOG_FLOOR)`, in
    /// [`DetectorFeatures::NAMES`] order: what the logistic regression sees.
    /// Barrier losses span six orders of magnitude (1e-7 … 10); on the raw
    /// scale a standardised linear model is dominated by a few large
    /// values, on the log scale ratios such as "barrier ten times the
    /// endpoint loss" become linear. [`LOG_FLOOR`] keeps zero gaps finite.
    pub fn to_log_vec(&self) -> Vec<f64> {
        self.to_vec()
            .into_iter()
            .map(|v| (v.max(0.0) + LOG_FLOOR).ln())
            .collect()
    }

    /// The feature called `name` (one of [`DetectorFeatures::NAMES`]).
    pub fn get(&self, name: &str) -> Result<f64> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| self.to_vec()[i])
            .ok_or_else(|| {
                Error::invalid(
                    "feature",
                    name,
                    format!("expected one of {:?}", Self::NAMES),
                )
            })
    }
}

/// Detector features of input `x` claimed as `class`, from the linear paths
/// from each of the `references` (k inputs) to x, `points` samples each.
pub fn features<C: Classifier + ?Sized>(
    model: &C,
    x: &[f32],
    class: u32,
    references: &[f32],
    points: usize,
    batch: usize,
) -> Result<DetectorFeatures> {
    Ok(features_many(model, x, class, references, points, batch)?.remove(0))
}

/// [`features`] of many inputs `xs` (n inputs) claimed as one class against
/// the same references, with all paths evaluated together in batches.
pub fn features_many<C: Classifier + ?Sized>(
    model: &C,
    xs: &[f32],
    class: u32,
    references: &[f32],
    points: usize,
    batch: usize,
) -> Result<Vec<DetectorFeatures>> {
    let spec = model.spec();
    let n = count_inputs(spec, xs, "inputs")?;
    let k = count_inputs(spec, references, "references")?;
    let len = spec.item_len();
    let mut a = Vec::with_capacity(n * k * len);
    let mut c = Vec::with_capacity(n * k * len);
    for i in 0..n {
        a.extend_from_slice(references);
        for _ in 0..k {
            c.extend_from_slice(&xs[i * len..(i + 1) * len]);
        }
    }
    let b = linear_barriers(model, &a, &c, &[class], points, batch)?;
    Ok(b.chunks(k).map(DetectorFeatures::from_barriers).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_features_are_monotone_and_finite_at_zero() {
        let f = DetectorFeatures {
            max_mean: 1e-3,
            max_median: 1e-2,
            max_min: 0.0,
            max_max: 10.0,
            gap_mean: 0.0,
            gap_median: 1e-7,
            gap_q90: 2.0,
            area_mean: 5e-5,
        };
        let l = f.to_log_vec();
        assert_eq!(l.len(), DetectorFeatures::NAMES.len());
        assert_eq!(l[2], LOG_FLOOR.ln());
        assert!((l[5] - (2.0 * LOG_FLOOR).ln()).abs() < 1e-12);
        // Order is kept: the threshold rule's AUROC is the same on either scale.
        let raw = f.to_vec();
        for i in 0..raw.len() {
            for j in 0..raw.len() {
                assert_eq!(raw[i] < raw[j], l[i] < l[j], "{i} {j}");
            }
        }
    }
}
