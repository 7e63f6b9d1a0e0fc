//! Decay laws of a positive quantity against an integer-like parameter:
//! exponential `g(k) = A·e^{−λk}` against power law `g(k) = A·k^{−α}`.
//!
//! Both are straight lines after taking logarithms (`ln g` against `k`, or
//! against `ln k`), fitted by ordinary least squares on the points with
//! `g > 0`. Both laws have two parameters, so their residual sums of squares
//! in `ln g` compare directly; the Akaike weights `w = e^{−AIC/2}/Σ` with
//! `AIC = n·ln(RSS/n) + 2·2` say how strongly the data prefer one law.
//! [`fit_decays`] adds percentile-bootstrap intervals of the rate and the
//! exponent by resampling the units (e.g. input pairs) behind the curve.
//!
//! ```
//! use ismc::stats::decay::{fit_law, DecayLaw};
//! let ks = [1.0, 2.0, 3.0, 4.0];
//! let g: Vec<f64> = ks.iter().map(|k: &f64| 0.8 * (-0.5 * k).exp()).collect();
//! let fit = fit_law(&ks, &g, DecayLaw::Exponential).unwrap();
//! assert!((fit.rate - 0.5).abs() < 1e-12 && (fit.amplitude - 0.8).abs() < 1e-12);
//! ```

use serde::{Deserialize, Serialize};

use super::bootstrap::{median, Interval};
use super::quantile;
use crate::rng::{stream, unit_rng};

/// Which decay law of `g(k)` to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecayLaw {
    /// `A·e^{−λk}`.
    Exponential,
    /// `A·k^{−α}`.
    PowerLaw,
}

/// One law fitted to `(k, g)` points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LawFit {
    /// Which law was fitted: exponential or power law.
    pub law: DecayLaw,
    /// Fitted amplitude A: the value of g at k = 0 (exponential) or k = 1 (power law).
    pub amplitude: f64,
    /// `λ` (exponential) or `α` (power law).
    pub rate: f64,
    /// Residual sum of squares in `ln g`.
    pub rss: f64,
    /// Akaike information criterion `n·ln(RSS/n) + 4`.
    pub aic: f64,
    /// Points used (`g > 0`).
    pub points: usize,
}

/// Fits one law to the points with finite `g > 0` (and `k > 0`); None with
/// fewer than 3 such points or no spread in `k`.
pub fn fit_law(ks: &[f64], g: &[f64], law: DecayLaw) -> Option<LawFit> {
    let pts: Vec<(f64, f64)> = ks
        .iter()
        .zip(g)
        .filter(|(k, g)| k.is_finite() && **k > 0.0 && g.is_finite() && **g > 0.0)
        .map(|(&k, &g)| {
            let x = match law {
                DecayLaw::Exponential => k,
                DecayLaw::PowerLaw => k.ln(),
            };
            (x, g.ln())
        })
        .collect();
    let n = pts.len();
    if n < 3 {
        return None;
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let rss: f64 = pts
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let aic = n as f64 * (rss.max(1e-300) / n as f64).ln() + 4.0;
    Some(LawFit {
        law,
        amplitude: intercept.exp(),
        rate: -slope,
        rss,
        aic,
        points: n,
    })
}

/// Both laws fitted to the median curve, with bootstrap intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapDecay {
    /// The exponential fit to the medians.
    pub exponential: Option<LawFit>,
    /// Its rate `λ` with a 95 % interval over resampled units.
    pub exponential_rate: Option<Interval>,
    /// The power-law fit to the medians.
    pub power_law: Option<LawFit>,
    /// Its exponent `α` with a 95 % interval over resampled units.
    pub power_law_exponent: Option<Interval>,
    /// The law with the lower AIC (None without both fits).
    pub preferred: Option<DecayLaw>,
    /// Akaike weight of the exponential law (the power law has `1 − w`).
    pub exponential_weight: Option<f64>,
}

/// Fits both laws to the per-`k` medians of `rows` (one row per unit, one
/// value per entry of `ks`, None where the unit has none), and bootstraps
/// the fits by resampling rows `resamples` times with `seed`.
pub fn fit_decays(ks: &[f64], rows: &[Vec<Option<f64>>], resamples: usize, seed: u64) -> GapDecay {
    let medians = |rows: &[&Vec<Option<f64>>]| -> Vec<f64> {
        (0..ks.len())
            .map(|j| {
                let v: Vec<f64> = rows
                    .iter()
                    .filter_map(|r| r.get(j).copied().flatten())
                    .collect();
                median(&v)
            })
            .collect()
    };
    let all: Vec<&Vec<Option<f64>>> = rows.iter().collect();
    let m = medians(&all);
    let exponential = fit_law(ks, &m, DecayLaw::Exponential);
    let power_law = fit_law(ks, &m, DecayLaw::PowerLaw);
    let mut rng = unit_rng(seed, &[stream::BOOTSTRAP, 0xdeca]);
    let (mut lam, mut alpha) = (Vec::new(), Vec::new());
    if !rows.is_empty() {
        use rand::Rng;
        for _ in 0..resamples {
            let pick: Vec<&Vec<Option<f64>>> = (0..rows.len())
                .map(|_| &rows[rng.random_range(0..rows.len())])
                .collect();
            let mm = medians(&pick);
            if let Some(f) = fit_law(ks, &mm, DecayLaw::Exponential) {
                lam.push(f.rate);
            }
            if let Some(f) = fit_law(ks, &mm, DecayLaw::PowerLaw) {
                alpha.push(f.rate);
            }
        }
    }
    let interval = |fit: &Option<LawFit>, reps: &[f64]| {
        fit.map(|f| Interval {
            estimate: f.rate,
            low: quantile(reps, 0.025),
            high: quantile(reps, 0.975),
            n: rows.len(),
        })
    };
    let (preferred, exponential_weight) = match (exponential, power_law) {
        (Some(e), Some(p)) => {
            let d = (e.aic - p.aic) / 2.0;
            let w = 1.0 / (1.0 + d.exp());
            let law = if e.aic <= p.aic {
                DecayLaw::Exponential
            } else {
                DecayLaw::PowerLaw
            };
            (Some(law), Some(w))
        }
        _ => (None, None),
    };
    GapDecay {
        exponential_rate: interval(&exponential, &lam),
        power_law_exponent: interval(&power_law, &alpha),
        exponential,
        power_law,
        preferred,
        exponential_weight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    /// Units whose curves follow one law with log-normal scatter: the fit to
    /// the medians recovers the rate within its bootstrap interval and the
    /// AIC prefers the true law.
    #[test]
    fn recovers_the_generating_law_and_rate() {
        let ks: Vec<f64> = (1..=10).map(f64::from).collect();
        let noise = Normal::new(0.0, 0.3).unwrap();
        for (law, rate) in [(DecayLaw::Exponential, 0.4f64), (DecayLaw::PowerLaw, 1.5)] {
            let mut rng = unit_rng(5, &[rate.to_bits()]);
            let rows: Vec<Vec<Option<f64>>> = (0..40)
                .map(|_| {
                    ks.iter()
                        .map(|&k| {
                            let g = match law {
                                DecayLaw::Exponential => (-rate * k).exp(),
                                DecayLaw::PowerLaw => k.powf(-rate),
                            };
                            Some(g * f64::exp(noise.sample(&mut rng)))
                        })
                        .collect()
                })
                .collect();
            let d = fit_decays(&ks, &rows, 400, 1);
            assert_eq!(d.preferred, Some(law), "{d:?}");
            let ci = match law {
                DecayLaw::Exponential => d.exponential_rate.unwrap(),
                DecayLaw::PowerLaw => d.power_law_exponent.unwrap(),
            };
            assert!(ci.low <= rate && rate <= ci.high, "{law:?}: {ci:?}");
        }
    }

    #[test]
    fn too_few_positive_points_give_no_fit() {
        assert!(fit_law(&[1.0, 2.0, 3.0], &[0.5, 0.0, 0.1], DecayLaw::Exponential).is_none());
        let d = fit_decays(&[1.0, 2.0], &[vec![Some(1.0), Some(0.5)]], 10, 1);
        assert!(d.exponential.is_none() && d.preferred.is_none());
    }
}
