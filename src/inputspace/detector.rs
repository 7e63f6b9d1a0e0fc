//! A barrier-based adversarial detector and its evaluation (science.md §2).
//!
//! An input x that the model assigns to class y is compared with k real
//! class-y references `r_1 … r_k`: the loss `CE(·, y)` along each linear path
//! `r_j → x` gives barrier metrics, summarised over references into
//! [`DetectorFeatures`]. Real inputs of class y sit in the references'
//! connected low-loss region, adversarial ones tend to lie behind a barrier.
//!
//! * **Threshold rule**: score = one feature (e.g. the median gap); an input
//!   is flagged when its score exceeds a threshold.
//! * **Logistic regression** ([`LogisticRegression`]): the features on a
//!   log scale ([`DetectorFeatures::to_log_vec`]), standardised with the
//!   training split's mean and standard deviation, then
//!   `P(adv | z) = σ(w·z + b)`, fitted by Newton's method (IRLS) on the
//!   L2-penalised negative log-likelihood
//!   `Σ −log p(yᵢ|zᵢ) + (λ/2)|w|²` (the intercept is not penalised).
//! * **ROC / AUROC**: the ROC curve sweeps the threshold over all scores;
//!   AUROC is the Mann–Whitney statistic
//!   `P(score_pos > score_neg) + ½ P(score_pos = score_neg)`, computed from
//!   mid-ranks in O(n log n). Its 95 % interval is the percentile bootstrap
//!   resampling positives and negatives separately (seeded).
//! * **Baselines**: the model's maximum softmax probability (score
//!   `1 − MSP`: low confidence is suspicious) and the input-space distance to
//!   the nearest reference.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::barrier::BarrierMetrics;
use super::pairs::linear_barriers;
use crate::nn::Classifier;
use crate::rng::{stream, unit_rng};
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
    let n = super::count_inputs(spec, xs, "inputs")?;
    let k = super::count_inputs(spec, references, "references")?;
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

/// Maximum softmax probability and predicted class of each input (n inputs
/// back to back).
pub fn max_softmax<C: Classifier + ?Sized>(
    model: &C,
    xs: &[f32],
    batch: usize,
) -> Result<Vec<(f64, u32)>> {
    let spec = model.spec();
    let n = super::count_inputs(spec, xs, "inputs")?;
    let len = spec.item_len();
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(batch.max(1)) {
        let end = (start + batch.max(1)).min(n);
        let mut shape = vec![end - start];
        shape.extend_from_slice(&spec.item_shape);
        let t = candle_core::Tensor::from_slice(
            &xs[start * len..end * len],
            shape,
            &candle_core::Device::Cpu,
        )
        .map_err(crate::Error::from)?;
        let logits: Vec<Vec<f32>> = model.logits(&t)?.to_vec2().map_err(crate::Error::from)?;
        for z in logits {
            let mut arg = 0;
            for (k, &v) in z.iter().enumerate() {
                if v > z[arg] {
                    arg = k;
                }
            }
            let top = z[arg] as f64;
            let s: f64 = z.iter().map(|&v| (v as f64 - top).exp()).sum();
            out.push((1.0 / s, arg as u32));
        }
    }
    Ok(out)
}

/// Euclidean distance from `x` to the nearest of `references`.
pub fn nearest_distance(x: &[f32], references: &[f32]) -> f64 {
    references
        .chunks(x.len().max(1))
        .map(|r| {
            r.iter()
                .zip(x)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Area under the ROC curve: the Mann–Whitney probability that a positive
/// scores above a negative, ties counting ½. NaN if a class is empty.
pub fn auroc(negatives: &[f64], positives: &[f64]) -> f64 {
    let (n0, n1) = (negatives.len(), positives.len());
    if n0 == 0 || n1 == 0 {
        return f64::NAN;
    }
    let mut all: Vec<(f64, bool)> = negatives
        .iter()
        .map(|&s| (s, false))
        .chain(positives.iter().map(|&s| (s, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of mid-ranks (1-based) of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid * all[i..=j].iter().filter(|e| e.1).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - (n1 * (n1 + 1)) as f64 / 2.0;
    u / (n0 as f64 * n1 as f64)
}

/// Percentile-bootstrap interval of the AUROC at `level` (e.g. 0.95) from
/// `resamples` stratified resamples seeded by `seed`.
pub fn auroc_interval(
    negatives: &[f64],
    positives: &[f64],
    resamples: usize,
    level: f64,
    seed: u64,
) -> [f64; 2] {
    if negatives.is_empty() || positives.is_empty() || resamples == 0 {
        return [f64::NAN, f64::NAN];
    }
    let mut rng = unit_rng(seed, &[stream::BOOTSTRAP, super::stream::BOOTSTRAP]);
    let mut values = Vec::with_capacity(resamples);
    let mut neg = vec![0.0; negatives.len()];
    let mut pos = vec![0.0; positives.len()];
    for _ in 0..resamples {
        for v in &mut neg {
            *v = negatives[rng.random_range(0..negatives.len())];
        }
        for v in &mut pos {
            *v = positives[rng.random_range(0..positives.len())];
        }
        values.push(auroc(&neg, &pos));
    }
    let tail = (1.0 - level) / 2.0;
    [quantile(&values, tail), quantile(&values, 1.0 - tail)]
}

/// One point of a ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    /// Inputs with score ≥ threshold are flagged.
    pub threshold: f64,
    /// False-positive rate.
    pub fpr: f64,
    /// True-positive rate.
    pub tpr: f64,
}

/// The ROC curve, from (0, 0) (threshold +∞) to (1, 1), one point per
/// distinct score.
pub fn roc_curve(negatives: &[f64], positives: &[f64]) -> Vec<RocPoint> {
    let mut thresholds: Vec<f64> = negatives.iter().chain(positives).copied().collect();
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    let rate =
        |v: &[f64], t: f64| v.iter().filter(|&&s| s >= t).count() as f64 / v.len().max(1) as f64;
    std::iter::once(RocPoint {
        threshold: f64::INFINITY,
        fpr: 0.0,
        tpr: 0.0,
    })
    .chain(thresholds.into_iter().map(|t| RocPoint {
        threshold: t,
        fpr: rate(negatives, t),
        tpr: rate(positives, t),
    }))
    .collect()
}

/// The threshold that maximises Youden's J = TPR − FPR on the given scores.
pub fn youden_threshold(negatives: &[f64], positives: &[f64]) -> f64 {
    roc_curve(negatives, positives)
        .into_iter()
        .max_by(|a, b| (a.tpr - a.fpr).total_cmp(&(b.tpr - b.fpr)))
        .map_or(f64::INFINITY, |p| p.threshold)
}

/// An L2-regularised logistic regression on standardised features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Per-feature mean of the training data.
    pub mean: Vec<f64>,
    /// Per-feature standard deviation of the training data (1 where 0).
    pub scale: Vec<f64>,
    /// Weights on the standardised features.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Solves the symmetric positive-definite system `a x = b` by Cholesky.
fn solve_spd(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

impl LogisticRegression {
    /// Fits rows `x` (all of one length) with labels `y` (true = positive)
    /// and L2 strength `l2 > 0` by Newton's method until the step is below
    /// 1e-10 or 100 iterations.
    pub fn fit(x: &[Vec<f64>], y: &[bool], l2: f64) -> Result<Self> {
        let n = x.len();
        if n == 0 || y.len() != n {
            return Err(Error::invalid(
                "training data",
                format!("{n} rows, {} labels", y.len()),
                "expected at least one row and one label per row",
            ));
        }
        super::check_positive("l2", l2)?;
        let d = x[0].len();
        if x.iter()
            .any(|r| r.len() != d || r.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::invalid(
                "training data",
                "ragged or non-finite rows",
                format!("expected {d} finite features in every row"),
            ));
        }
        let mean: Vec<f64> = (0..d)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64)
            .collect();
        let scale: Vec<f64> = (0..d)
            .map(|j| {
                let v = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64;
                if v > 0.0 {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        // Design rows [1, z_1 … z_d]; parameter θ = [b, w].
        let z: Vec<Vec<f64>> = x
            .iter()
            .map(|r| {
                std::iter::once(1.0)
                    .chain((0..d).map(|j| (r[j] - mean[j]) / scale[j]))
                    .collect()
            })
            .collect();
        let p = d + 1;
        let mut theta = vec![0.0; p];
        for _ in 0..100 {
            let mut grad = vec![0.0; p];
            let mut hess = vec![vec![0.0; p]; p];
            for (zi, &yi) in z.iter().zip(y) {
                let s = sigmoid(zi.iter().zip(&theta).map(|(a, b)| a * b).sum());
                let r = s - if yi { 1.0 } else { 0.0 };
                let w = s * (1.0 - s);
                for a in 0..p {
                    grad[a] += r * zi[a];
                    for b in 0..=a {
                        hess[a][b] += w * zi[a] * zi[b];
                    }
                }
            }
            for a in 1..p {
                grad[a] += l2 * theta[a];
                hess[a][a] += l2;
            }
            // Tiny ridge on the intercept keeps one-class data solvable.
            hess[0][0] += 1e-12;
            #[allow(clippy::needless_range_loop)]
            for a in 0..p {
                for b in 0..a {
                    hess[b][a] = hess[a][b];
                }
            }
            let step = solve_spd(&hess, &grad).ok_or_else(|| Error::Numerical {
                context: "logistic regression".into(),
                reason: "Hessian is not positive definite".into(),
            })?;
            let mut size: f64 = 0.0;
            for a in 0..p {
                theta[a] -= step[a];
                size = size.max(step[a].abs());
            }
            if size < 1e-10 {
                break;
            }
        }
        Ok(LogisticRegression {
            mean,
            scale,
            weights: theta[1..].to_vec(),
            bias: theta[0],
        })
    }

    /// The linear score `w·z + b` of a raw feature row (monotone in P(adv)).
    pub fn score(&self, row: &[f64]) -> f64 {
        self.bias
            + row
                .iter()
                .zip(&self.mean)
                .zip(&self.scale)
                .zip(&self.weights)
                .map(|(((v, m), s), w)| w * (v - m) / s)
                .sum::<f64>()
    }

    /// P(positive | row).
    pub fn probability(&self, row: &[f64]) -> f64 {
        sigmoid(self.score(row))
    }
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
    use rand::SeedableRng;

    fn brute_auroc(neg: &[f64], pos: &[f64]) -> f64 {
        let mut s = 0.0;
        for &p in pos {
            for &n in neg {
                s += if p > n {
                    1.0
                } else if p == n {
                    0.5
                } else {
                    0.0
                };
            }
        }
        s / (neg.len() * pos.len()) as f64
    }

    #[test]
    fn auroc_matches_the_pairwise_count_with_ties() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for trial in 0..20 {
            // Scores on a coarse grid force many ties.
            let neg: Vec<f64> = (0..30 + trial)
                .map(|_| rng.random_range(0..8) as f64)
                .collect();
            let pos: Vec<f64> = (0..17 + 2 * trial)
                .map(|_| rng.random_range(2..10) as f64)
                .collect();
            let a = auroc(&neg, &pos);
            assert!((a - brute_auroc(&neg, &pos)).abs() < 1e-12);
            let ci = auroc_interval(&neg, &pos, 400, 0.95, trial as u64);
            assert!(ci[0] <= a && a <= ci[1], "{ci:?} vs {a}");
        }
        assert_eq!(auroc(&[0.0, 1.0], &[2.0, 3.0]), 1.0);
        assert_eq!(auroc(&[1.0], &[1.0]), 0.5);
    }

    #[test]
    fn roc_curve_area_equals_auroc() {
        let neg = [0.1, 0.4, 0.35, 0.8, 0.4];
        let pos = [0.9, 0.4, 0.6, 0.75];
        let roc = roc_curve(&neg, &pos);
        let area: f64 = roc
            .windows(2)
            .map(|w| (w[1].fpr - w[0].fpr) * (w[1].tpr + w[0].tpr) / 2.0)
            .sum();
        assert!((area - auroc(&neg, &pos)).abs() < 1e-12);
        assert_eq!(roc.last().map(|p| (p.fpr, p.tpr)), Some((1.0, 1.0)));
    }

    #[test]
    fn logistic_regression_separates_and_hits_a_known_optimum() {
        // Separable 2-D data: positives have x0 + x1 > 1.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut x = Vec::new();
        let mut y = Vec::new();
        while x.len() < 200 {
            let p = [rng.random_range(-1.0..2.0), rng.random_range(-1.0..2.0)];
            let s: f64 = p[0] + p[1] - 1.0;
            if s.abs() < 0.1 {
                continue;
            }
            x.push(p.to_vec());
            y.push(s > 0.0);
        }
        let m = LogisticRegression::fit(&x, &y, 1e-3).unwrap();
        let correct = x
            .iter()
            .zip(&y)
            .filter(|(r, &l)| (m.probability(r) > 0.5) == l)
            .count();
        assert_eq!(correct, x.len());

        // One feature, values ±1 with labels (+1: 3 pos, 1 neg; −1: 1 pos,
        // 3 neg). Standardised z = x; symmetry gives b = 0 and the optimum
        // solves 4·(σ(w) − ¾)·2 + λw = 0 ⇔ 8σ(w) − 6 + λw = 0. For λ = 1
        // the root is found by bisection and compared.
        let x: Vec<Vec<f64>> = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0]
            .iter()
            .map(|&v| vec![v])
            .collect();
        let y = [true, true, true, false, true, false, false, false];
        let m = LogisticRegression::fit(&x, &y, 1.0).unwrap();
        let f = |w: f64| 8.0 * sigmoid(w) - 6.0 + w;
        let (mut lo, mut hi) = (0.0, 5.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if f(mid) > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        assert!(m.bias.abs() < 1e-9);
        assert!((m.weights[0] - lo).abs() < 1e-9, "{} vs {lo}", m.weights[0]);
    }
}
