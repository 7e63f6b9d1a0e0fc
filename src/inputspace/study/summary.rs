//! The study's summary over its class units: pair barriers per kind, the
//! detectors (paper-attack, known-attack and pooled, each with and without
//! the local rises) with their bootstrap intervals, the threshold rule, the
//! baselines and the bypass medians.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AdversarialStudyConfig, BypassRecord, ClassUnitResult, DetectionSample};
use crate::inputspace::attack::AttackKind;
use crate::inputspace::detector::{auroc, auroc_interval, LogisticRegression};
use crate::inputspace::pairs::{PairKind, PairRecord};
use crate::stats::quantile;
use crate::Result;

/// The study's named results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdversarialSummary {
    /// Detector (logistic regression) AUROC on the test split, per attack.
    pub auroc: BTreeMap<AttackKind, f64>,
    /// Its bootstrap interval.
    pub auroc_ci: BTreeMap<AttackKind, [f64; 2]>,
    /// The *known-attack* setting, the defender's best case with the same
    /// features: a logistic regression fitted per attack on the training
    /// split's clean inputs and that attack's adversarials, AUROC on the
    /// test split. (`auroc` transfers the paper-attack detector instead.)
    #[serde(default)]
    pub auroc_known_attack: BTreeMap<AttackKind, f64>,
    /// Bootstrap interval of `auroc_known_attack`.
    #[serde(default)]
    pub auroc_known_attack_ci: BTreeMap<AttackKind, [f64; 2]>,
    /// The *pooled* setting: one logistic regression fitted on the training
    /// split's clean inputs and the adversarials of all of
    /// [`AttackKind::STANDARD`] (a defender who trains on the standard attacks;
    /// the adaptive attacks are unseen), AUROC on the test split.
    #[serde(default)]
    pub auroc_pooled: BTreeMap<AttackKind, f64>,
    /// Bootstrap interval of `auroc_pooled`.
    #[serde(default)]
    pub auroc_pooled_ci: BTreeMap<AttackKind, [f64; 2]>,
    /// The *extended* detector: the barrier features followed by the local
    /// rises ([`super::local`](crate::inputspace::local)), trained like `auroc`'s (clean vs the
    /// paper's attack), AUROC on the test split per attack. Empty when the
    /// units hold no local barriers.
    #[serde(default)]
    pub auroc_local: BTreeMap<AttackKind, f64>,
    /// Bootstrap interval of `auroc_local`.
    #[serde(default)]
    pub auroc_local_ci: BTreeMap<AttackKind, [f64; 2]>,
    /// The extended detector refitted per attack (known-attack setting).
    #[serde(default)]
    pub auroc_local_known_attack: BTreeMap<AttackKind, f64>,
    /// Bootstrap interval of `auroc_local_known_attack`.
    #[serde(default)]
    pub auroc_local_known_attack_ci: BTreeMap<AttackKind, [f64; 2]>,
    /// The extended detector in the pooled setting.
    #[serde(default)]
    pub auroc_local_pooled: BTreeMap<AttackKind, f64>,
    /// Bootstrap interval of `auroc_local_pooled`.
    #[serde(default)]
    pub auroc_local_pooled_ci: BTreeMap<AttackKind, [f64; 2]>,
    /// AUROC of the threshold rule's feature on the test split, per attack.
    pub threshold_auroc: BTreeMap<AttackKind, f64>,
    /// Baseline AUROCs: baseline name → attack → AUROC (test split).
    pub baseline_auroc: BTreeMap<String, BTreeMap<AttackKind, f64>>,
    /// Test positives (successful adversarials) per attack.
    pub test_positives: BTreeMap<AttackKind, usize>,
    /// Number of clean inputs in the detector's test split (the negatives).
    pub test_negatives: usize,
    /// Fraction of attacked inputs the model assigns to the target, per attack.
    pub attack_success_rate: BTreeMap<AttackKind, f64>,
    /// Median barrier max per pair kind.
    pub median_barrier_max: BTreeMap<String, f64>,
    /// Median barrier gap per pair kind.
    pub median_barrier_gap: BTreeMap<String, f64>,
    /// Number of kept pairs of each kind, keyed by pair kind.
    pub pair_counts: BTreeMap<String, usize>,
    /// Pairs whose endpoint check warned, per kind.
    pub endpoint_warnings: BTreeMap<String, usize>,
    /// Median of bypass gap / primary gap over pairs with a primary gap > 0.
    pub bypass_gap_ratio_median: Option<f64>,
    /// Median relative bend size.
    pub bypass_relative_bend_median: Option<f64>,
    /// The fitted detector (absent if a training class was empty).
    pub detector: Option<LogisticRegression>,
    /// The fitted extended detector (absent without local barriers).
    #[serde(default)]
    pub detector_local: Option<LogisticRegression>,
}

/// The detector's input row of a sample: [`DetectionSample::barrier_row`]
/// or [`DetectionSample::extended_row`].
pub type Row = fn(&DetectionSample) -> Vec<f64>;

/// AUROC of `detector` (reading rows with `row`) on clean (negative) and
/// adversarial (positive) test samples, with its bootstrap interval (NaN
/// without a detector).
fn detector_auroc(
    detector: Option<&LogisticRegression>,
    row: Row,
    clean: &[DetectionSample],
    adversarial: &[DetectionSample],
    cfg: &AdversarialStudyConfig,
    seed: u64,
) -> (f64, [f64; 2]) {
    let scores = |v: &[DetectionSample]| -> Vec<f64> {
        detector.map_or(vec![], |d| v.iter().map(|s| d.score(&row(s))).collect())
    };
    let (neg, pos) = (scores(clean), scores(adversarial));
    let level = cfg.detector.level;
    (
        auroc(&neg, &pos),
        auroc_interval(&neg, &pos, cfg.detector.bootstrap, level, seed),
    )
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

/// Combines the units (in class order, whatever order they come in).
pub fn summarise(
    cfg: &AdversarialStudyConfig,
    units: &[ClassUnitResult],
) -> Result<AdversarialSummary> {
    cfg.validate()?;
    let mut units: Vec<&ClassUnitResult> = units.iter().collect();
    units.sort_by_key(|u| (u.class, u.seed));
    let mut median_barrier_max = BTreeMap::new();
    let mut median_barrier_gap = BTreeMap::new();
    let mut pair_counts = BTreeMap::new();
    let mut endpoint_warnings = BTreeMap::new();
    for kind in PairKind::ALL {
        let recs: Vec<&PairRecord> = units
            .iter()
            .flat_map(|u| &u.pairs)
            .filter(|p| p.kind == kind)
            .collect();
        let name = kind.name().to_string();
        median_barrier_max.insert(
            name.clone(),
            median(&recs.iter().map(|p| p.barrier_max).collect::<Vec<_>>()),
        );
        median_barrier_gap.insert(
            name.clone(),
            median(&recs.iter().map(|p| p.barrier_gap).collect::<Vec<_>>()),
        );
        pair_counts.insert(name.clone(), recs.len());
        endpoint_warnings.insert(name, recs.iter().filter(|p| p.endpoint_warning).count());
    }
    // Splits: even positions within a unit train, odd ones test.
    let split = |v: &[DetectionSample], train: bool| -> Vec<DetectionSample> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| (i % 2 == 0) == train)
            .map(|(_, s)| s.clone())
            .collect()
    };
    let gather = |train: bool, attack: Option<AttackKind>| -> Vec<DetectionSample> {
        units
            .iter()
            .flat_map(|u| match attack {
                None => split(&u.clean, train),
                Some(a) => split(u.attacked.get(&a).map_or(&[][..], |v| v), train)
                    .into_iter()
                    .filter(|s| s.success)
                    .collect(),
            })
            .collect()
    };
    let clean_train = gather(true, None);
    // The detector reading `row` of clean vs `attacks` inputs of the
    // training split (none when either side is empty).
    let fit = |attacks: &[AttackKind], row: Row| -> Result<Option<LogisticRegression>> {
        let adversarial: Vec<DetectionSample> = attacks
            .iter()
            .flat_map(|&a| gather(true, Some(a)))
            .collect();
        if clean_train.is_empty() || adversarial.is_empty() {
            return Ok(None);
        }
        let x: Vec<Vec<f64>> = clean_train.iter().chain(&adversarial).map(row).collect();
        let y: Vec<bool> = (0..x.len()).map(|i| i >= clean_train.len()).collect();
        Ok(Some(LogisticRegression::fit(&x, &y, cfg.detector.l2)?))
    };
    let barrier: Row = DetectionSample::barrier_row;
    let extended: Row = DetectionSample::extended_row;
    let detector = fit(&[AttackKind::Paper], barrier)?;
    let pooled = fit(&AttackKind::STANDARD, barrier)?;
    // The extended detector needs every sample's local barriers at the
    // configured radii (units written before they existed have none).
    let radii = cfg.detector.local.radii.len();
    let has_local = radii > 0
        && units.iter().all(|u| {
            u.clean
                .iter()
                .chain(u.attacked.values().flatten())
                .all(|s| s.local.max_mean.len() == radii)
        });
    let (detector_local, pooled_local) = if has_local {
        (
            fit(&[AttackKind::Paper], extended)?,
            fit(&AttackKind::STANDARD, extended)?,
        )
    } else {
        (None, None)
    };
    let clean_test = gather(false, None);
    let mut out = AdversarialSummary {
        auroc: BTreeMap::new(),
        auroc_ci: BTreeMap::new(),
        auroc_known_attack: BTreeMap::new(),
        auroc_known_attack_ci: BTreeMap::new(),
        auroc_pooled: BTreeMap::new(),
        auroc_pooled_ci: BTreeMap::new(),
        auroc_local: BTreeMap::new(),
        auroc_local_ci: BTreeMap::new(),
        auroc_local_known_attack: BTreeMap::new(),
        auroc_local_known_attack_ci: BTreeMap::new(),
        auroc_local_pooled: BTreeMap::new(),
        auroc_local_pooled_ci: BTreeMap::new(),
        threshold_auroc: BTreeMap::new(),
        baseline_auroc: BTreeMap::new(),
        test_positives: BTreeMap::new(),
        test_negatives: clean_test.len(),
        attack_success_rate: BTreeMap::new(),
        median_barrier_max,
        median_barrier_gap,
        pair_counts,
        endpoint_warnings,
        bypass_gap_ratio_median: None,
        bypass_relative_bend_median: None,
        detector: None,
        detector_local: None,
    };
    let feature = &cfg.detector.threshold_feature;
    for (k, name) in AttackKind::ALL.into_iter().enumerate() {
        let all: Vec<&DetectionSample> = units
            .iter()
            .flat_map(|u| u.attacked.get(&name).into_iter().flatten())
            .collect();
        let rate = all.iter().filter(|s| s.success).count() as f64 / all.len().max(1) as f64;
        out.attack_success_rate.insert(name, rate);
        let pos = gather(false, Some(name));
        out.test_positives.insert(name, pos.len());
        // AUROC and interval of one detector, the bootstrap seeded by `tag`.
        let score = |d: Option<&LogisticRegression>, row: Row, tag: &[u64]| {
            let seed = crate::rng::derive_seed(cfg.detector.seed, tag);
            detector_auroc(d, row, &clean_test, &pos, cfg, seed)
        };
        let put = |a: &mut BTreeMap<AttackKind, f64>,
                   c: &mut BTreeMap<AttackKind, [f64; 2]>,
                   (v, ci): (f64, [f64; 2])| {
            a.insert(name, v);
            c.insert(name, ci);
        };
        let k = k as u64;
        put(
            &mut out.auroc,
            &mut out.auroc_ci,
            score(detector.as_ref(), barrier, &[k]),
        );
        let known = fit(&[name], barrier)?;
        put(
            &mut out.auroc_known_attack,
            &mut out.auroc_known_attack_ci,
            score(known.as_ref(), barrier, &[0x4B, k]),
        );
        put(
            &mut out.auroc_pooled,
            &mut out.auroc_pooled_ci,
            score(pooled.as_ref(), barrier, &[0x50, k]),
        );
        if has_local {
            put(
                &mut out.auroc_local,
                &mut out.auroc_local_ci,
                score(detector_local.as_ref(), extended, &[0x4C, k]),
            );
            let known = fit(&[name], extended)?;
            put(
                &mut out.auroc_local_known_attack,
                &mut out.auroc_local_known_attack_ci,
                score(known.as_ref(), extended, &[0x4C, 0x4B, k]),
            );
            put(
                &mut out.auroc_local_pooled,
                &mut out.auroc_local_pooled_ci,
                score(pooled_local.as_ref(), extended, &[0x4C, 0x50, k]),
            );
        }
        let by = |f: &dyn Fn(&DetectionSample) -> f64| -> f64 {
            auroc(
                &clean_test.iter().map(f).collect::<Vec<_>>(),
                &pos.iter().map(f).collect::<Vec<_>>(),
            )
        };
        out.threshold_auroc
            .insert(name, by(&|s| s.features.get(feature).unwrap_or(f64::NAN)));
        out.baseline_auroc
            .entry("max_softmax".into())
            .or_default()
            .insert(name, by(&|s| 1.0 - s.max_softmax));
        out.baseline_auroc
            .entry("nearest_reference".into())
            .or_default()
            .insert(name, by(&|s| s.nearest_distance));
        if has_local {
            out.baseline_auroc
                .entry("local_rise".into())
                .or_default()
                .insert(
                    name,
                    by(&|s| s.local.rises(s.loss).iter().sum::<f64>() / radii as f64),
                );
        }
    }
    let byp: Vec<&BypassRecord> = units.iter().flat_map(|u| &u.bypass).collect();
    if !byp.is_empty() {
        let ratios: Vec<f64> = byp
            .iter()
            .filter(|b| b.primary_gap > 0.0)
            .map(|b| b.bypass_gap / b.primary_gap)
            .collect();
        if !ratios.is_empty() {
            out.bypass_gap_ratio_median = Some(median(&ratios));
        }
        out.bypass_relative_bend_median = Some(median(
            &byp.iter().map(|b| b.relative_bend).collect::<Vec<_>>(),
        ));
    }
    out.detector = detector;
    out.detector_local = detector_local;
    Ok(out)
}
