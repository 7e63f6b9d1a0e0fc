//! The adversarial study as a runner experiment (`kind = "adversarial"`):
//! barriers of real–real, real–adversarial and cross-class pairs, the
//! barrier-based detector against the paper's attack, FGSM, PGD and an
//! adaptive attacker, with baselines (see [`crate::inputspace::study`]).
//!
//! One unit per class. Files of a finished run:
//!
//! * `summary.json` — [`AdversarialSummary`]: `auroc` and `auroc_ci` keyed
//!   by attack, `median_barrier_max` and `median_barrier_gap` keyed by pair
//!   kind, baselines, bypass medians;
//! * `pairs.csv` — one row per kept pair;
//! * `detection.csv` — the detector's view of every clean and attacked input
//!   (attack, class, split, features, baseline scores);
//! * `bypass.csv` — primary and bent gaps of the bypassed real–real pairs;
//! * `local.csv` — the local barriers of every detection sample, one row per
//!   radius (long format: attack, class, split, index, radius, max_mean,
//!   rise);
//! * `roc.csv` — the ROC curves of the test split, per detector (`barrier`,
//!   and `extended` when local barriers were measured) and attack;
//! * `figures/barrier_max.{png,svg}`, `figures/roc.{png,svg}` and, with
//!   local barriers, `figures/roc_extended.{png,svg}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{figure_links, prefix, read_csv, read_json, write_csv, write_json};
use crate::inputspace::attack::AttackKind;
use crate::inputspace::detector::roc_curve;
use crate::inputspace::detector::LogisticRegression;
use crate::inputspace::study::{
    check_class_unit, run_class_unit, summarise, AdversarialStudyConfig, AdversarialSummary,
    ClassUnitResult, DetectionSample, Row,
};
use crate::nn::{Classifier, Network};
use crate::plot::boxplot::{BoxFigure, BoxGroup};
use crate::plot::roc::{RocCurve, RocFigure};

/// Parameters of `kind = "adversarial"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversarialParams {
    /// The model: a bundled name (`lenet5-mnist`, `lenet5-mnist-adv`), an
    /// untrained `untrained:ARCH:INIT:SEED`, or a weights file of `ismc train`.
    pub model: String,
    /// Data set of the real inputs (`mnist`, `fashion-mnist`).
    #[serde(default = "default_data")]
    pub data: String,
    /// Master seed; each class's unit derives its seed from `(seed, class)`.
    pub seed: u64,
    /// Classes studied (default: all).
    #[serde(default)]
    pub classes: Vec<u32>,
    /// The study's parameters ([`AdversarialStudyConfig`]; every field has a
    /// default).
    #[serde(default)]
    pub study: AdversarialStudyConfig,
}

fn default_data() -> String {
    "mnist".into()
}

impl AdversarialParams {
    /// Checks the fields, naming them as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        self.study
            .validate()
            .map_err(|e| prefix(e, "params.study."))?;
        if self.model.trim().is_empty() {
            return Err(Error::invalid(
                "params.model",
                "\"\"",
                "expected a model name, untrained:ARCH:INIT:SEED or a weights file",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(c) = self.classes.iter().find(|c| !seen.insert(**c)) {
            return Err(Error::invalid(
                "params.classes",
                c,
                "expected distinct classes",
            ));
        }
        Ok(())
    }
}

/// The experiment: the model and data loaded once, one unit per class.
pub struct AdversarialStudy {
    params: AdversarialParams,
    model: Network,
    data: Dataset,
    classes: Vec<u32>,
}

impl AdversarialStudy {
    /// Loads the model and the data and checks the classes.
    pub fn new(params: AdversarialParams) -> Result<Self> {
        params.validate()?;
        let data = crate::data::load(&params.data).map_err(|e| prefix(e, "params."))?;
        let model = crate::nn::zoo::load_spec(&params.model, data.item_shape(), data.classes())
            .map_err(|e| prefix(e, "params."))?;
        if model.spec().item_shape != data.item_shape() {
            return Err(Error::invalid(
                "params.model",
                &params.model,
                format!(
                    "takes inputs of shape {:?} but {} has {:?}",
                    model.spec().item_shape,
                    params.data,
                    data.item_shape()
                ),
            ));
        }
        let n = model.spec().classes as u32;
        let classes = if params.classes.is_empty() {
            (0..n).collect()
        } else {
            params.classes.clone()
        };
        if let Some(c) = classes.iter().find(|&&c| c >= n) {
            return Err(Error::invalid(
                "params.classes",
                c,
                format!("expected class ids below {n}"),
            ));
        }
        for &class in &classes {
            check_class_unit(&model, &data, &params.study, class)
                .map_err(|e| prefix(e, "params.study."))?;
        }
        Ok(AdversarialStudy {
            params,
            model,
            data,
            classes,
        })
    }
}

/// One row of `detection.csv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DetectionRow {
    attack: String,
    class: u32,
    split: String,
    index: u64,
    loss: f64,
    predicted: u32,
    success: bool,
    max_softmax: f64,
    nearest_distance: f64,
    max_mean: f64,
    max_median: f64,
    max_min: f64,
    max_max: f64,
    gap_mean: f64,
    gap_median: f64,
    gap_q90: f64,
    area_mean: f64,
}

/// One row of `local.csv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LocalRow {
    attack: String,
    class: u32,
    split: String,
    index: u64,
    radius: f64,
    max_mean: f64,
    rise: f64,
}

/// One row of `roc.csv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RocRow {
    /// `barrier` or `extended` (files written before the extended detector
    /// have no column: `barrier`).
    #[serde(default = "barrier_name")]
    detector: String,
    attack: AttackKind,
    fpr: f64,
    tpr: f64,
}

fn barrier_name() -> String {
    "barrier".into()
}

impl Experiment for AdversarialStudy {
    type Output = ClassUnitResult;

    fn units(&self) -> Vec<String> {
        self.classes.iter().map(|c| format!("class-{c}")).collect()
    }

    fn run_unit(&self, index: usize, _files: &UnitFiles) -> Result<ClassUnitResult> {
        let class = self.classes[index];
        let seed = crate::rng::derive_seed(self.params.seed, &[0xAD, class as u64]);
        run_class_unit(&self.model, &self.data, &self.params.study, class, seed)
    }

    fn finish(&self, units: Vec<ClassUnitResult>, dir: &Path) -> Result<()> {
        let summary = summarise(&self.params.study, &units)?;
        let pairs: Vec<_> = units.iter().flat_map(|u| u.pairs.iter().cloned()).collect();
        write_csv(&dir.join("pairs.csv"), &pairs)?;
        let bypass: Vec<_> = units
            .iter()
            .flat_map(|u| u.bypass.iter().cloned())
            .collect();
        write_csv(&dir.join("bypass.csv"), &bypass)?;
        let mut rows = Vec::new();
        let mut local = Vec::new();
        let radii = &self.params.study.detector.local.radii;
        for u in &units {
            let mut push = |attack: &str, samples: &[DetectionSample]| {
                for (i, s) in samples.iter().enumerate() {
                    let split = if i % 2 == 0 { "train" } else { "test" };
                    for ((&radius, &max_mean), rise) in radii
                        .iter()
                        .zip(&s.local.max_mean)
                        .zip(s.local.rises(s.loss))
                    {
                        local.push(LocalRow {
                            attack: attack.into(),
                            class: u.class,
                            split: split.into(),
                            index: s.index,
                            radius,
                            max_mean,
                            rise,
                        });
                    }
                    let f = &s.features;
                    rows.push(DetectionRow {
                        attack: attack.into(),
                        class: u.class,
                        split: split.into(),
                        index: s.index,
                        loss: s.loss,
                        predicted: s.predicted,
                        success: s.success,
                        max_softmax: s.max_softmax,
                        nearest_distance: s.nearest_distance,
                        max_mean: f.max_mean,
                        max_median: f.max_median,
                        max_min: f.max_min,
                        max_max: f.max_max,
                        gap_mean: f.gap_mean,
                        gap_median: f.gap_median,
                        gap_q90: f.gap_q90,
                        area_mean: f.area_mean,
                    });
                }
            };
            push("clean", &u.clean);
            for (attack, samples) in &u.attacked {
                push(attack.name(), samples);
            }
        }
        write_csv(&dir.join("detection.csv"), &rows)?;
        write_csv(&dir.join("local.csv"), &local)?;
        let mut roc = Vec::new();
        let detectors: [(&str, Option<&LogisticRegression>, Row); 2] = [
            (
                "barrier",
                summary.detector.as_ref(),
                DetectionSample::barrier_row,
            ),
            (
                "extended",
                summary.detector_local.as_ref(),
                DetectionSample::extended_row,
            ),
        ];
        for (name, detector, row) in detectors {
            let Some(detector) = detector else { continue };
            for (attack, (neg, pos)) in test_scores(&units, detector, row) {
                for p in roc_curve(&neg, &pos) {
                    roc.push(RocRow {
                        detector: name.into(),
                        attack,
                        fpr: p.fpr,
                        tpr: p.tpr,
                    });
                }
            }
        }
        write_csv(&dir.join("roc.csv"), &roc)?;
        write_json(&dir.join("summary.json"), &summary)
    }

    fn draw_figures(&self, dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
        draw_figures(dir, out)
    }

    fn write_report(&self, dir: &Path) -> Result<PathBuf> {
        write_report(dir, &self.params)
    }
}

/// Detector scores of the test split (odd positions within each class, as
/// [`summarise`] splits them): clean inputs, and the successful attacks of
/// each attack, keyed by attack.
fn test_scores(
    units: &[ClassUnitResult],
    detector: &LogisticRegression,
    row: Row,
) -> BTreeMap<AttackKind, (Vec<f64>, Vec<f64>)> {
    let odd = |v: &[DetectionSample]| -> Vec<f64> {
        v.iter()
            .enumerate()
            .filter(|(i, s)| i % 2 == 1 && s.success)
            .map(|(_, s)| detector.score(&row(s)))
            .collect()
    };
    let clean: Vec<f64> = units
        .iter()
        .flat_map(|u| {
            u.clean
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 1)
                .map(|(_, s)| detector.score(&row(s)))
        })
        .collect();
    AttackKind::ALL
        .into_iter()
        .map(|a| {
            let pos = units
                .iter()
                .flat_map(|u| u.attacked.get(&a).map_or(vec![], |v| odd(v)))
                .collect();
            (a, (clean.clone(), pos))
        })
        .collect()
}

fn read_summary(dir: &Path) -> Result<AdversarialSummary> {
    read_json(&dir.join("summary.json"))
}

/// Draws `barrier_max` (box plot per pair kind) and `roc` (per attack) from
/// `pairs.csv`, `roc.csv` and `summary.json`.
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let pairs: Vec<crate::inputspace::pairs::PairRecord> = read_csv(&dir.join("pairs.csv"))?;
    let mut groups: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for p in &pairs {
        groups
            .entry(p.kind.name().to_string())
            .or_default()
            .push(p.barrier_max);
    }
    let boxes = BoxFigure {
        title: "Barrier max of linear paths, by pair kind".into(),
        y_label: "max cross-entropy on the path".into(),
        log_y: true,
        groups: groups
            .into_iter()
            .map(|(label, values)| BoxGroup { label, values })
            .collect(),
    };
    let mut written = Vec::new();
    let (a, b) = crate::plot::save(&boxes, &out.join("barrier_max"))?;
    written.extend([a, b]);
    let summary = read_summary(dir)?;
    let roc: Vec<RocRow> = read_csv(&dir.join("roc.csv"))?;
    for (detector, aurocs, title, file) in [
        (
            "barrier",
            &summary.auroc,
            "Barrier detector: ROC per attack (test split)",
            "roc",
        ),
        (
            "extended",
            &summary.auroc_local,
            "Barrier + local-barrier detector: ROC per attack (test split)",
            "roc_extended",
        ),
    ] {
        let curves: Vec<RocCurve> = AttackKind::ALL
            .into_iter()
            .filter_map(|attack| {
                let points: Vec<(f64, f64)> = roc
                    .iter()
                    .filter(|r| r.detector == detector && r.attack == attack)
                    .map(|r| (r.fpr, r.tpr))
                    .collect();
                (!points.is_empty()).then(|| RocCurve {
                    label: attack.to_string(),
                    auroc: aurocs.get(&attack).copied().unwrap_or(f64::NAN),
                    points,
                })
            })
            .collect();
        if detector == "extended" && curves.is_empty() {
            continue;
        }
        let fig = RocFigure {
            title: title.into(),
            curves,
        };
        let (a, b) = crate::plot::save(&fig, &out.join(file))?;
        written.extend([a, b]);
    }
    Ok(written)
}

fn fmt(v: Option<&f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

/// `[lo, hi]` of `attack`'s interval in `m`, or `–`.
fn interval(m: &BTreeMap<AttackKind, [f64; 2]>, attack: AttackKind) -> String {
    m.get(&attack)
        .map_or("–".into(), |c| format!("[{:.3}, {:.3}]", c[0], c[1]))
}

/// Writes `report.md` from `summary.json` and the figures.
pub fn write_report(dir: &Path, params: &AdversarialParams) -> Result<PathBuf> {
    let s = read_summary(dir)?;
    let mut md = format!(
        "# Adversarial study: {} on {}\n\n## Barriers by pair kind\n\n\
         | pair kind | pairs | median barrier max | median barrier gap | endpoint warnings |\n\
         |---|---|---|---|---|\n",
        params.model, params.data
    );
    for (kind, n) in &s.pair_counts {
        md.push_str(&format!(
            "| {kind} | {n} | {:.3e} | {:.3e} | {} |\n",
            s.median_barrier_max.get(kind).copied().unwrap_or(f64::NAN),
            s.median_barrier_gap.get(kind).copied().unwrap_or(f64::NAN),
            s.endpoint_warnings.get(kind).copied().unwrap_or(0)
        ));
    }
    md.push_str(
        "\n## Detection (test split; clean class-y inputs vs successful attacks)\n\n\
         Each detector is a logistic regression fitted three ways on the training split: \
         on clean vs paper-attack inputs and transferred to every attack (*transferred*), \
         refitted per attack (*known attack*, the defender's best case with the same \
         features), and once on all standard attacks — paper, FGSM, PGD — leaving the \
         adaptive attacks unseen (*pooled*).\n\n\
         ### Barrier detector (barriers to real class-y references)\n\n\
         | attack | success rate | positives | transferred AUROC | 95 % CI | known-attack AUROC | 95 % CI | pooled AUROC | 95 % CI | threshold rule | max-softmax baseline | nearest-reference baseline |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let baseline = |name: &str, attack: AttackKind| {
        fmt(s.baseline_auroc.get(name).and_then(|m| m.get(&attack)))
    };
    for attack in AttackKind::ALL {
        let interval = |m: &BTreeMap<AttackKind, [f64; 2]>| interval(m, attack);
        md.push_str(&format!(
            "| {attack} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            fmt(s.attack_success_rate.get(&attack)),
            s.test_positives.get(&attack).copied().unwrap_or(0),
            fmt(s.auroc.get(&attack)),
            interval(&s.auroc_ci),
            fmt(s.auroc_known_attack.get(&attack)),
            interval(&s.auroc_known_attack_ci),
            fmt(s.auroc_pooled.get(&attack)),
            interval(&s.auroc_pooled_ci),
            fmt(s.threshold_auroc.get(&attack)),
            baseline("max_softmax", attack),
            baseline("nearest_reference", attack),
        ));
    }
    md.push_str(&format!("\nClean test inputs: {}.\n", s.test_negatives));
    if !s.auroc_local.is_empty() {
        md.push_str(
            "\n### Extended detector: reference barriers + local barriers\n\n\
             The barrier features above plus the local rises: how far the loss climbs along \
             short random sign paths out of the input (radii `params.study.detector.local.radii` \
             of the input range). `adaptive` does not target the local barriers; \
             `adaptive_local` (PGD on the loss averaged over random sign noise) does. \
             `local rise` is the mean rise alone (no fitting).\n\n\
             | attack | transferred AUROC | 95 % CI | known-attack AUROC | 95 % CI | pooled AUROC | 95 % CI | local rise alone |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for attack in AttackKind::ALL {
            let interval = |m: &BTreeMap<AttackKind, [f64; 2]>| interval(m, attack);
            md.push_str(&format!(
                "| {attack} | {} | {} | {} | {} | {} | {} | {} |\n",
                fmt(s.auroc_local.get(&attack)),
                interval(&s.auroc_local_ci),
                fmt(s.auroc_local_known_attack.get(&attack)),
                interval(&s.auroc_local_known_attack_ci),
                fmt(s.auroc_local_pooled.get(&attack)),
                interval(&s.auroc_local_pooled_ci),
                baseline("local_rise", attack),
            ));
        }
    }
    if let (Some(r), Some(b)) = (s.bypass_gap_ratio_median, s.bypass_relative_bend_median) {
        md.push_str(&format!(
            "\n## Bypass (one bend, real–real pairs)\n\nMedian gap after / before: {r:.3}; median relative bend max|B′−B| / range: {b:.4}.\n"
        ));
    }
    md.push_str(&figure_links(dir));
    let path = dir.join("report.md");
    crate::atomic::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}
