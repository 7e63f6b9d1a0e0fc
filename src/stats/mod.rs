//! Statistics: means with standard errors, bootstrap resampling, weighted
//! least-squares fits with parameter covariances.

pub mod bootstrap;
pub mod decay;
mod fit;

pub use fit::{weighted_linear_fit, LinearFit};

/// A sample mean with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MeanError {
    /// Arithmetic mean of the values (NaN for none).
    pub mean: f64,
    /// Standard error of the mean, `s / √n` (0 for fewer than two values).
    pub stderr: f64,
    /// Number of values averaged.
    pub n: usize,
}

impl MeanError {
    /// Mean and standard error of `values` (two-pass, numerically stable).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return MeanError {
                mean: f64::NAN,
                stderr: f64::NAN,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return MeanError {
                mean,
                stderr: 0.0,
                n,
            };
        }
        let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        MeanError {
            mean,
            stderr: (var / n as f64).sqrt(),
            n,
        }
    }
}

/// The `q`-quantile (0 ≤ q ≤ 1) of `values` by linear interpolation between
/// order statistics (NumPy's default). NaN for an empty slice.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let i = pos.floor() as usize;
    let t = pos - i as f64;
    if i + 1 < v.len() {
        v[i] * (1.0 - t) + v[i + 1] * t
    } else {
        v[i]
    }
}

/// The Wilson score interval of a binomial proportion: `k` successes in
/// `n` trials, `z` standard normal quantiles wide (1.96 for 95 %). Unlike
/// `p ± z·√(p(1−p)/n)` it stays inside [0, 1] and does not collapse to a
/// point when `k` is 0 or `n`, as it does for accuracies near 100 %.
pub fn wilson_interval(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_error_of_known_values() {
        let m = MeanError::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.mean, 2.5);
        // sample variance 5/3, stderr sqrt(5/12)
        assert!((m.stderr - (5.0f64 / 12.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [3.0, 1.0, 2.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantile(&v, 0.5), 2.5);
    }

    #[test]
    fn wilson_interval_matches_published_values() {
        // Newcombe (1998), Table I: 81 of 263 → 0.2553–0.3662 (95 %); and
        // 0 of 10 → 0–0.2775.
        let (lo, hi) = wilson_interval(81, 263, 1.959964);
        assert!(
            (lo - 0.2553).abs() < 1e-4 && (hi - 0.3662).abs() < 1e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson_interval(0, 10, 1.959964);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-4, "{hi}");
        let (lo, hi) = wilson_interval(10, 10, 1.959964);
        assert!(
            (lo - 0.7225).abs() < 1e-4 && (hi - 1.0).abs() < 1e-12,
            "{lo} {hi}"
        );
    }
}
