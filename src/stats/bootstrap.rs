//! Percentile bootstrap intervals, seeded and thread-count independent.
//!
//! Resample the values with replacement `resamples` times, compute the
//! statistic on each resample, and take the `(1 ± level)/2` quantiles of
//! those replicates as the interval (Efron's percentile interval). All
//! randomness comes from one [`crate::rng::unit_rng`] stream, so the same
//! values and seed give the same interval everywhere.
//!
//! ```
//! use ismc::stats::bootstrap::{bootstrap_interval, median};
//! let v: Vec<f64> = (0..50).map(|i| i as f64).collect();
//! let ci = bootstrap_interval(&v, median, 1000, 0.95, 7);
//! assert_eq!(ci.estimate, 24.5);
//! assert!(ci.low < 24.5 && 24.5 < ci.high);
//! ```

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::quantile;
use crate::rng::{stream, unit_rng};

/// Resamples used by the studies' intervals.
pub const DEFAULT_RESAMPLES: usize = 2000;

/// A point estimate with a confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The statistic on the data.
    pub estimate: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// Number of values the statistic is computed from.
    pub n: usize,
}

/// The median (NaN for no values).
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// The arithmetic mean (NaN for no values).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// `resamples` bootstrap replicates of `stat` over `values` (resampled with
/// replacement), in resample order.
pub fn replicates(
    values: &[f64],
    stat: impl Fn(&[f64]) -> f64,
    resamples: usize,
    seed: u64,
) -> Vec<f64> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let mut rng = unit_rng(seed, &[stream::BOOTSTRAP]);
    let mut buf = vec![0.0; n];
    (0..resamples)
        .map(|_| {
            for b in buf.iter_mut() {
                *b = values[rng.random_range(0..n)];
            }
            stat(&buf)
        })
        .collect()
}

/// The percentile bootstrap interval of `stat` at confidence `level`
/// (e.g. 0.95). With no values every field is NaN; with one value the
/// interval is that value.
pub fn bootstrap_interval(
    values: &[f64],
    stat: impl Fn(&[f64]) -> f64,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Interval {
    let estimate = if values.is_empty() {
        f64::NAN
    } else {
        stat(values)
    };
    let reps: Vec<f64> = replicates(values, &stat, resamples.max(1), seed)
        .into_iter()
        .filter(|x| x.is_finite())
        .collect();
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    Interval {
        estimate,
        low: quantile(&reps, tail),
        high: quantile(&reps, 1.0 - tail),
        n: values.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    /// The 95 % interval of a normal sample's mean covers the true mean in
    /// about 95 % of repeated samples: over 200 samples the count is
    /// Binomial(200, 0.95), 190 ± 3.1, so fewer than 180 coverages (3σ)
    /// would mean a broken interval.
    #[test]
    fn mean_interval_covers_at_the_nominal_rate() {
        let normal = Normal::new(3.0, 2.0).unwrap();
        let mut covered = 0;
        for trial in 0..200u64 {
            let mut rng = unit_rng(99, &[trial]);
            let v: Vec<f64> = (0..40).map(|_| normal.sample(&mut rng)).collect();
            let ci = bootstrap_interval(&v, mean, 1000, 0.95, trial);
            if ci.low <= 3.0 && 3.0 <= ci.high {
                covered += 1;
            }
        }
        assert!(covered >= 180, "covered {covered} of 200");
        assert!(covered <= 200);
    }

    #[test]
    fn intervals_are_reproducible_and_degenerate_sensibly() {
        let v = [1.0, 5.0, 2.0, 8.0, 3.0];
        assert_eq!(
            bootstrap_interval(&v, median, 500, 0.95, 1),
            bootstrap_interval(&v, median, 500, 0.95, 1)
        );
        let one = bootstrap_interval(&[4.0], median, 100, 0.95, 1);
        assert_eq!((one.estimate, one.low, one.high), (4.0, 4.0, 4.0));
        assert!(bootstrap_interval(&[], median, 100, 0.95, 1)
            .estimate
            .is_nan());
    }
}
