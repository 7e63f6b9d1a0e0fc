//! ROC curves and AUROC: the Mann–Whitney statistic from mid-ranks, its
//! stratified percentile-bootstrap interval, and Youden's threshold.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::rng::{stream, unit_rng};
use crate::stats::quantile;

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
    let mut rng = unit_rng(
        seed,
        &[stream::BOOTSTRAP, crate::inputspace::stream::BOOTSTRAP],
    );
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
