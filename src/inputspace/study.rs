//! The MNIST adversarial study as library functions: one unit of work per
//! class, and a summary over units. An experiment runner calls
//! [`run_class_unit`] for every class (in any order, on any thread) and then
//! [`summarise`]; both are deterministic functions of the config, the data,
//! the model and the unit's seed.
//!
//! ## One class unit (class y)
//!
//! 1. The **pool**: `pool_size` class-y images drawn with the unit's seed
//!    among those with `CE(·, y) ≤ low_loss_threshold` (the real modes; the
//!    paper's "lowest-loss images" of a trained MNIST LeNet5 are far more
//!    confident than typical digits, and would set the paper's attack stop
//!    losses that only the most confident adversarials reach), split into the
//!    detector's `references`, the `clean_inputs` (class-y inputs the
//!    detector must accept) and the remaining endpoints.
//! 2. **Pairs** ([`crate::inputspace::pairs`]): `selection.candidates`
//!    candidates per kind — real–real (two endpoints), real–adversarial (an
//!    endpoint and the paper's attack on a random image of another class,
//!    stopped at that endpoint's CE), cross-class (an endpoint and a random
//!    image of another class; target y) — of which the selection rule keeps
//!    the ones with comparable endpoint losses.
//! 3. **Attacks**, all targeted at y, on `attacked_inputs` random images of
//!    other classes: `paper`, `fgsm`, `pgd`, `adaptive` (whose path
//!    penalty uses `adaptive_references` pool images that are *not* the
//!    detector's references) and `adaptive_local` (PGD against the local
//!    barriers, [`attack::adaptive_local`]). Each attacked input (and each clean input)
//!    gets its detector features against the references, its local
//!    barriers ([`super::local`], `detector.local`), its maximum softmax
//!    probability and its distance to the nearest reference; `success` says
//!    whether the model predicts y for it.
//! 4. Optional **bypass** (one projected bend) of the kept real–real pairs.
//!
//! ## Summary
//!
//! Medians of barrier max and gap per pair kind; the detector — a logistic
//! regression on the features, trained on the even-numbered samples of every
//! class (clean vs successful `paper` adversarials) and evaluated on the
//! odd-numbered ones of each attack (successful adversarials vs clean), with
//! a bootstrap 95 % interval, refitted per attack (`known_attack`), and
//! fitted once on all standard attacks (`pooled`: paper, FGSM, PGD); the
//! same three for the *extended* detector, whose rows append the local rises
//! to the barrier features (`auroc_local…`); a threshold rule on one
//! feature; the baselines (`max_softmax`: score 1 − MSP;
//! `nearest_reference`: distance; `local_rise`: the mean local rise alone);
//! and the bypass medians. Units are combined in class order, so the summary does not
//! depend on the order in which units were run.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::attack::{
    self, AdaptiveConfig, Goal, LocalAdaptiveConfig, PaperAttackConfig, PgdConfig,
};
use super::bypass::{bypass_many, BendMode, BypassConfig, RoundsConfig};
use super::detector::{
    auroc, auroc_interval, features_many, max_softmax, nearest_distance, DetectorFeatures,
    LogisticRegression,
};
use super::local::{local_barriers, random_signs, LocalBarriers, LocalConfig};
use super::pairs::{linear_barriers, PairKind, PairRecord, SelectionRule};
use crate::data::Dataset;
use crate::nn::Classifier;
use crate::rng::{stream, unit_rng};
use crate::stats::quantile;
use crate::{Error, Result};

/// Names of the attacks, in summary order.
pub const ATTACKS: [&str; 5] = ["paper", "fgsm", "pgd", "adaptive", "adaptive_local"];

/// The standard (non-adaptive) attacks a *pooled* detector is trained on;
/// the adaptive attacks stay unseen.
pub const POOLED_ATTACKS: [&str; 3] = ["paper", "fgsm", "pgd"];

/// Detector training and evaluation parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// L2 strength of the logistic regression (on standardised features).
    pub l2: f64,
    /// Bootstrap resamples for the AUROC interval.
    pub bootstrap: usize,
    /// Confidence level of the interval.
    pub level: f64,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Feature used by the threshold rule (a [`DetectorFeatures::NAMES`] entry).
    pub threshold_feature: String,
    /// The local barriers of the extended detector (`radii = []` turns them
    /// off; see [`super::local`]).
    pub local: LocalConfig,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            l2: 1e-2,
            bootstrap: 1000,
            level: 0.95,
            seed: 0,
            threshold_feature: "gap_median".into(),
            local: LocalConfig::default(),
        }
    }
}

/// Configuration of the adversarial study (as written in TOML; every field
/// has a default, unknown fields are rejected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdversarialStudyConfig {
    /// Real low-loss images of each class forming the pool.
    pub pool_size: usize,
    /// Candidates per class and kind, and how many are dropped.
    pub selection: SelectionRule,
    /// Real class-y references of the detector (k).
    pub references: usize,
    /// Clean class-y inputs scored by the detector per class.
    pub clean_inputs: usize,
    /// Images of other classes attacked per class and attack.
    pub attacked_inputs: usize,
    /// Samples along each linear path.
    pub points: usize,
    /// Batch size of every forward pass.
    pub batch: usize,
    /// Pool images have CE at most this; endpoint losses above it are
    /// flagged in the pair records.
    pub low_loss_threshold: f64,
    /// The paper's attack.
    pub attack: PaperAttackConfig,
    /// ε of targeted FGSM.
    pub fgsm_eps: f64,
    /// Targeted PGD-L∞.
    pub pgd: PgdConfig,
    /// The adaptive attack.
    pub adaptive: AdaptiveConfig,
    /// Real class-y images in the adaptive attacker's path penalty (r).
    pub adaptive_references: usize,
    /// The adaptive attack against the local barriers (PGD with `pgd`'s
    /// ε, step and steps; radii from `detector.local`, or 0.1 without).
    pub adaptive_local: LocalAdaptiveConfig,
    /// Whether the kept real–real pairs are bypassed (one projected bend).
    pub bypass_enabled: bool,
    /// The bend optimisation of the bypass.
    pub bypass: BypassConfig,
    /// The detector.
    pub detector: DetectorConfig,
}

impl Default for AdversarialStudyConfig {
    fn default() -> Self {
        AdversarialStudyConfig {
            pool_size: 200,
            selection: SelectionRule {
                candidates: 70,
                drop: 20,
            },
            references: 5,
            clean_inputs: 40,
            attacked_inputs: 70,
            points: 100,
            batch: 256,
            low_loss_threshold: 0.1,
            attack: PaperAttackConfig::default(),
            fgsm_eps: 0.3,
            pgd: PgdConfig::default(),
            adaptive: AdaptiveConfig::default(),
            adaptive_references: 2,
            adaptive_local: LocalAdaptiveConfig::default(),
            bypass_enabled: true,
            bypass: BypassConfig::default(),
            detector: DetectorConfig::default(),
        }
    }
}

impl AdversarialStudyConfig {
    /// A small variant for tests and quick runs (a few pairs and iterations
    /// per class; seconds for all ten MNIST classes in release mode).
    pub fn quick() -> Self {
        AdversarialStudyConfig {
            pool_size: 16,
            selection: SelectionRule {
                candidates: 3,
                drop: 1,
            },
            references: 2,
            clean_inputs: 4,
            attacked_inputs: 4,
            points: 16,
            attack: PaperAttackConfig {
                iterations: 64,
                ..PaperAttackConfig::default()
            },
            pgd: PgdConfig {
                iterations: 10,
                step: 0.04,
                ..PgdConfig::default()
            },
            adaptive: AdaptiveConfig {
                base: PaperAttackConfig {
                    iterations: 32,
                    ..PaperAttackConfig::default()
                },
                path_points: 2,
                ..AdaptiveConfig::default()
            },
            adaptive_references: 1,
            bypass: BypassConfig {
                iterations: 32,
                points: 16,
                ..BypassConfig::default()
            },
            detector: DetectorConfig {
                bootstrap: 200,
                ..DetectorConfig::default()
            },
            ..AdversarialStudyConfig::default()
        }
    }

    /// Checks every field, naming the field and the expected form.
    pub fn validate(&self) -> Result<()> {
        self.selection.validate("selection")?;
        let need = self.references + self.clean_inputs + 2;
        if self.pool_size < need {
            return Err(Error::invalid(
                "pool_size",
                self.pool_size,
                format!("expected at least references + clean_inputs + 2 = {need}"),
            ));
        }
        if self.references == 0 {
            return Err(Error::invalid("references", 0, "expected at least 1"));
        }
        if self.attacked_inputs < self.selection.candidates {
            return Err(Error::invalid(
                "attacked_inputs",
                self.attacked_inputs,
                format!(
                    "expected at least selection.candidates = {} (the real–adversarial candidates are the first attacked inputs)",
                    self.selection.candidates
                ),
            ));
        }
        if self.points < 2 {
            return Err(Error::invalid("points", self.points, "expected at least 2"));
        }
        if self.batch == 0 {
            return Err(Error::invalid("batch", 0, "expected at least 1"));
        }
        super::check_non_negative("low_loss_threshold", self.low_loss_threshold)?;
        self.attack.validate("attack")?;
        if !(self.fgsm_eps.is_finite() && self.fgsm_eps > 0.0) {
            return Err(Error::invalid(
                "fgsm_eps",
                self.fgsm_eps,
                "expected 0 < ε ≤ the input range width",
            ));
        }
        for (name, v) in [("pgd.eps", self.pgd.eps), ("pgd.step", self.pgd.step)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(
                    name,
                    v,
                    "expected 0 < value ≤ the input range width",
                ));
            }
        }
        self.adaptive.validate("adaptive")?;
        self.adaptive_local.validate("adaptive_local")?;
        if self.adaptive_references == 0 || self.adaptive_references > self.pool_size - need + 2 {
            return Err(Error::invalid(
                "adaptive_references",
                self.adaptive_references,
                "expected between 1 and the number of pool images left after references and clean inputs",
            ));
        }
        self.bypass.validate("bypass")?;
        if !(self.detector.l2.is_finite() && self.detector.l2 > 0.0) {
            return Err(Error::invalid(
                "detector.l2",
                self.detector.l2,
                "expected a positive number",
            ));
        }
        self.detector.local.validate("detector.local")?;
        if !(self.detector.level > 0.0 && self.detector.level < 1.0) {
            return Err(Error::invalid(
                "detector.level",
                self.detector.level,
                "expected a number in (0, 1)",
            ));
        }
        DetectorFeatures::NAMES
            .iter()
            .find(|n| **n == self.detector.threshold_feature)
            .map(|_| ())
            .ok_or_else(|| {
                Error::invalid(
                    "detector.threshold_feature",
                    &self.detector.threshold_feature,
                    format!("expected one of {:?}", DetectorFeatures::NAMES),
                )
            })
    }
}

/// The detector's view of one input claimed as the unit's class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionSample {
    /// Data-set index of the input (for an attacked input: of its source).
    pub index: u64,
    /// CE against the unit's class.
    pub loss: f64,
    /// The model's predicted class.
    pub predicted: u32,
    /// Whether the model predicts the unit's class.
    pub success: bool,
    /// Maximum softmax probability.
    pub max_softmax: f64,
    /// Euclidean distance to the nearest detector reference.
    pub nearest_distance: f64,
    /// Barrier features against the references.
    pub features: DetectorFeatures,
    /// Local barriers (short random paths out of the input); empty in units
    /// written before they existed, or with `detector.local.radii = []`.
    #[serde(default)]
    pub local: LocalBarriers,
}

impl DetectionSample {
    /// What the reference-barrier detector sees: the barrier features on a
    /// log scale ([`DetectorFeatures::to_log_vec`]).
    pub fn barrier_row(&self) -> Vec<f64> {
        self.features.to_log_vec()
    }

    /// What the extended detector sees: [`DetectionSample::barrier_row`]
    /// followed by the local rises ([`LocalBarriers::rises`]).
    pub fn extended_row(&self) -> Vec<f64> {
        let mut row = self.barrier_row();
        row.extend(self.local.rises(self.loss));
        row
    }
}

/// One bypassed real–real pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BypassRecord {
    /// Data-set index of A.
    pub index_a: u64,
    /// Data-set index of C.
    pub index_c: u64,
    /// Gap of the linear path.
    pub primary_gap: f64,
    /// Gap of the bent path A → B' → C.
    pub bypass_gap: f64,
    /// `max|B' − B|` over the input range width.
    pub relative_bend: f64,
}

/// Everything measured for one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassUnitResult {
    /// The class y.
    pub class: u32,
    /// The unit's seed.
    pub seed: u64,
    /// Kept pairs of every kind.
    pub pairs: Vec<PairRecord>,
    /// Detector view of the clean class-y inputs.
    pub clean: Vec<DetectionSample>,
    /// Detector view of the attacked inputs, keyed by attack name.
    pub attacked: BTreeMap<String, Vec<DetectionSample>>,
    /// Bypassed real–real pairs (empty when the bypass is off).
    pub bypass: Vec<BypassRecord>,
}

/// The study's named results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdversarialSummary {
    /// Detector (logistic regression) AUROC on the test split, per attack.
    pub auroc: BTreeMap<String, f64>,
    /// Its bootstrap interval.
    pub auroc_ci: BTreeMap<String, [f64; 2]>,
    /// The *known-attack* setting, the defender's best case with the same
    /// features: a logistic regression fitted per attack on the training
    /// split's clean inputs and that attack's adversarials, AUROC on the
    /// test split. (`auroc` transfers the paper-attack detector instead.)
    #[serde(default)]
    pub auroc_known_attack: BTreeMap<String, f64>,
    /// Bootstrap interval of `auroc_known_attack`.
    #[serde(default)]
    pub auroc_known_attack_ci: BTreeMap<String, [f64; 2]>,
    /// The *pooled* setting: one logistic regression fitted on the training
    /// split's clean inputs and the adversarials of all of
    /// [`POOLED_ATTACKS`] (a defender who trains on the standard attacks;
    /// the adaptive attacks are unseen), AUROC on the test split.
    #[serde(default)]
    pub auroc_pooled: BTreeMap<String, f64>,
    /// Bootstrap interval of `auroc_pooled`.
    #[serde(default)]
    pub auroc_pooled_ci: BTreeMap<String, [f64; 2]>,
    /// The *extended* detector: the barrier features followed by the local
    /// rises ([`super::local`]), trained like `auroc`'s (clean vs the
    /// paper's attack), AUROC on the test split per attack. Empty when the
    /// units hold no local barriers.
    #[serde(default)]
    pub auroc_local: BTreeMap<String, f64>,
    /// Bootstrap interval of `auroc_local`.
    #[serde(default)]
    pub auroc_local_ci: BTreeMap<String, [f64; 2]>,
    /// The extended detector refitted per attack (known-attack setting).
    #[serde(default)]
    pub auroc_local_known_attack: BTreeMap<String, f64>,
    /// Bootstrap interval of `auroc_local_known_attack`.
    #[serde(default)]
    pub auroc_local_known_attack_ci: BTreeMap<String, [f64; 2]>,
    /// The extended detector in the pooled setting.
    #[serde(default)]
    pub auroc_local_pooled: BTreeMap<String, f64>,
    /// Bootstrap interval of `auroc_local_pooled`.
    #[serde(default)]
    pub auroc_local_pooled_ci: BTreeMap<String, [f64; 2]>,
    /// AUROC of the threshold rule's feature on the test split, per attack.
    pub threshold_auroc: BTreeMap<String, f64>,
    /// Baseline AUROCs: baseline name → attack → AUROC (test split).
    pub baseline_auroc: BTreeMap<String, BTreeMap<String, f64>>,
    /// Test positives (successful adversarials) per attack.
    pub test_positives: BTreeMap<String, usize>,
    /// Clean test inputs.
    pub test_negatives: usize,
    /// Fraction of attacked inputs the model assigns to the target, per attack.
    pub attack_success_rate: BTreeMap<String, f64>,
    /// Median barrier max per pair kind.
    pub median_barrier_max: BTreeMap<String, f64>,
    /// Median barrier gap per pair kind.
    pub median_barrier_gap: BTreeMap<String, f64>,
    /// Pairs per kind.
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

/// Runs the unit of class `class` with seed `seed` (see the module docs).
pub fn run_class_unit<C: Classifier + ?Sized>(
    model: &C,
    data: &Dataset,
    cfg: &AdversarialStudyConfig,
    class: u32,
    seed: u64,
) -> Result<ClassUnitResult> {
    cfg.validate()?;
    let spec = model.spec();
    super::check_class(spec, class, "class")?;
    if data.item_shape() != spec.item_shape.as_slice() {
        return Err(Error::invalid(
            "data",
            format!("items of shape {:?}", data.item_shape()),
            format!("the model needs shape {:?}", spec.item_shape),
        ));
    }
    attack::check_eps(model, "fgsm_eps", cfg.fgsm_eps)?;
    attack::check_eps(model, "pgd.eps", cfg.pgd.eps)?;
    let len = spec.item_len();
    let labels = data.labels();
    let own: Vec<usize> = (0..data.len())
        .filter(|&i| labels[i] as u32 == class)
        .collect();
    let others: Vec<usize> = (0..data.len())
        .filter(|&i| labels[i] as u32 != class)
        .collect();
    if own.len() < cfg.pool_size || others.is_empty() {
        return Err(Error::invalid(
            "pool_size",
            cfg.pool_size,
            format!(
                "class {class} has only {} images in {}",
                own.len(),
                data.name()
            ),
        ));
    }
    // 1. Pool: random class images whose loss is below the low-loss
    //    threshold (real modes, not only the most confident ones, so the
    //    paper's stop losses are those of typical real digits).
    // Shuffle the class, then evaluate it a batch at a time until the pool
    // is full (most of a class is never evaluated).
    let mut rng = unit_rng(
        seed,
        &[stream::INPUT_SPACE, super::stream::STUDY, class as u64],
    );
    let mut own = own;
    own.shuffle(&mut rng);
    let mut pool: Vec<(usize, f32)> = Vec::with_capacity(cfg.pool_size);
    for chunk in own.chunks(cfg.batch) {
        let loss = model.loss_flat(&data.values(chunk), &[class], cfg.batch)?;
        pool.extend(
            chunk
                .iter()
                .zip(&loss)
                .filter(|(_, &l)| (l as f64) <= cfg.low_loss_threshold)
                .map(|(&i, &l)| (i, l)),
        );
        if pool.len() >= cfg.pool_size {
            break;
        }
    }
    if pool.len() < cfg.pool_size {
        return Err(Error::invalid(
            "pool_size",
            cfg.pool_size,
            format!(
                "class {class} has only {} images with CE ≤ low_loss_threshold = {}",
                pool.len(),
                cfg.low_loss_threshold
            ),
        ));
    }
    pool.truncate(cfg.pool_size);
    let refs_idx: Vec<usize> = pool[..cfg.references].iter().map(|p| p.0).collect();
    let clean_idx: Vec<usize> = pool[cfg.references..cfg.references + cfg.clean_inputs]
        .iter()
        .map(|p| p.0)
        .collect();
    let rest: Vec<(usize, f32)> = pool[cfg.references + cfg.clean_inputs..].to_vec();
    let refs = data.values(&refs_idx);
    let pick_other = |rng: &mut crate::rng::UnitRng| others[rng.random_range(0..others.len())];

    // 2a. Real–real candidates.
    let cands = cfg.selection.candidates;
    let rr: Vec<(usize, usize)> = (0..cands)
        .map(|_| {
            let a = rng.random_range(0..rest.len());
            let mut c = rng.random_range(0..rest.len() - 1);
            if c >= a {
                c += 1;
            }
            (rest[a].0, rest[c].0)
        })
        .collect();
    // 2b. Cross-class candidates.
    let cc: Vec<(usize, usize)> = (0..cands)
        .map(|_| {
            (
                rest[rng.random_range(0..rest.len())].0,
                pick_other(&mut rng),
            )
        })
        .collect();
    // 3. Attack sources and the real endpoints that set the paper's stop loss.
    let sources: Vec<usize> = (0..cfg.attacked_inputs)
        .map(|_| pick_other(&mut rng))
        .collect();
    let anchors: Vec<(usize, f32)> = (0..cfg.attacked_inputs)
        .map(|i| rest[i % rest.len()])
        .collect();
    let src = data.values(&sources);
    let stop: Vec<f32> = anchors.iter().map(|a| a.1).collect();
    let target = [class];
    let mut adversarial: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let paper = attack::paper_attack(model, &src, &target, &stop, &cfg.attack)?;
    adversarial.insert("paper".into(), paper.inputs.clone());
    adversarial.insert(
        "fgsm".into(),
        attack::fgsm(
            model,
            &src,
            &target,
            Goal::Targeted,
            cfg.fgsm_eps,
            cfg.batch,
        )?,
    );
    adversarial.insert(
        "pgd".into(),
        attack::pgd(
            model,
            &src,
            &target,
            Goal::Targeted,
            &cfg.pgd,
            seed,
            cfg.batch,
        )?,
    );
    let r = cfg.adaptive_references;
    let mut adaptive_refs = Vec::with_capacity(cfg.attacked_inputs * r * len);
    for i in 0..cfg.attacked_inputs {
        let idx: Vec<usize> = (0..r).map(|j| rest[(i + j + 1) % rest.len()].0).collect();
        adaptive_refs.extend(data.values(&idx));
    }
    adversarial.insert(
        "adaptive".into(),
        attack::adaptive_attack(model, &src, &target, &stop, &adaptive_refs, &cfg.adaptive)?.inputs,
    );
    let radii = if cfg.detector.local.enabled() {
        cfg.detector.local.radii.clone()
    } else {
        vec![0.1]
    };
    adversarial.insert(
        "adaptive_local".into(),
        attack::adaptive_local(
            model,
            &src,
            &target,
            &cfg.pgd,
            &radii,
            &cfg.adaptive_local,
            seed,
            cfg.batch,
        )?,
    );

    // 2c. Measure the candidates of each kind and select.
    let mut pairs = Vec::new();
    let mut kept_rr = Vec::new();
    let ra: Vec<(usize, usize)> = (0..cands).map(|i| (anchors[i].0, sources[i])).collect();
    for (kind, cand) in [
        (PairKind::RealReal, &rr),
        (PairKind::RealAdversarial, &ra),
        (PairKind::CrossClass, &cc),
    ] {
        let a = data.values(&cand.iter().map(|p| p.0).collect::<Vec<_>>());
        let c = if kind == PairKind::RealAdversarial {
            paper.inputs[..cands * len].to_vec()
        } else {
            data.values(&cand.iter().map(|p| p.1).collect::<Vec<_>>())
        };
        let b = linear_barriers(model, &a, &c, &target, cfg.points, cfg.batch)?;
        let ends: Vec<(f64, f64)> = b
            .iter()
            .map(|m| (m.endpoint_losses[0], m.endpoint_losses[1]))
            .collect();
        for k in cfg.selection.select(&ends) {
            pairs.push(PairRecord::new(
                kind,
                class,
                (cand[k].0 as u64, cand[k].1 as u64),
                &b[k],
                cfg.low_loss_threshold,
            ));
            if kind == PairKind::RealReal {
                kept_rr.push((cand[k], b[k].gap));
            }
        }
    }

    // 3b. Detector views. The local barriers' sign directions come from
    //     their own stream, shared by every input of the unit.
    let local_cfg = &cfg.detector.local;
    let signs = random_signs(
        &mut unit_rng(
            seed,
            &[stream::INPUT_SPACE, super::stream::LOCAL, class as u64],
        ),
        local_cfg.directions,
        len,
    );
    let view = |xs: &[f32], idx: &[usize]| -> Result<Vec<DetectionSample>> {
        let soft = max_softmax(model, xs, cfg.batch)?;
        let loss = model.loss_flat(xs, &target, cfg.batch)?;
        let feats = features_many(model, xs, class, &refs, cfg.points, cfg.batch)?;
        let mut local = local_barriers(model, xs, class, &signs, local_cfg, cfg.batch)?;
        idx.iter()
            .enumerate()
            .map(|(i, &index)| {
                let x = &xs[i * len..(i + 1) * len];
                Ok(DetectionSample {
                    index: index as u64,
                    loss: loss[i] as f64,
                    predicted: soft[i].1,
                    success: soft[i].1 == class,
                    max_softmax: soft[i].0,
                    nearest_distance: nearest_distance(x, &refs),
                    features: feats[i],
                    local: std::mem::take(&mut local[i]),
                })
            })
            .collect()
    };
    let clean = view(&data.values(&clean_idx), &clean_idx)?;
    let mut attacked = BTreeMap::new();
    for (name, xs) in &adversarial {
        attacked.insert(name.clone(), view(xs, &sources)?);
    }

    // 4. Bypass of the kept real–real pairs.
    let mut bypass = Vec::new();
    if cfg.bypass_enabled && !kept_rr.is_empty() {
        let a = data.values(&kept_rr.iter().map(|p| p.0 .0).collect::<Vec<_>>());
        let c = data.values(&kept_rr.iter().map(|p| p.0 .1).collect::<Vec<_>>());
        let bcfg = BypassConfig {
            mode: BendMode::Projected,
            ..cfg.bypass
        };
        let rounds = RoundsConfig {
            max_rounds: 1,
            gap_tolerance: 0.0,
        };
        let reports = bypass_many(model, &a, &c, &target, &bcfg, &rounds)?;
        for ((pair, _), rep) in kept_rr.iter().zip(&reports) {
            let first = &rep.rounds[0];
            let last = rep.rounds.last().expect("round 0 exists");
            bypass.push(BypassRecord {
                index_a: pair.0 as u64,
                index_c: pair.1 as u64,
                primary_gap: first.barrier.gap,
                bypass_gap: last.barrier.gap,
                relative_bend: last.relative_bend,
            });
        }
    }
    Ok(ClassUnitResult {
        class,
        seed,
        pairs,
        clean,
        attacked,
        bypass,
    })
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
    let gather = |train: bool, attack: Option<&str>| -> Vec<DetectionSample> {
        units
            .iter()
            .flat_map(|u| match attack {
                None => split(&u.clean, train),
                Some(a) => split(u.attacked.get(a).map_or(&[][..], |v| v), train)
                    .into_iter()
                    .filter(|s| s.success)
                    .collect(),
            })
            .collect()
    };
    let clean_train = gather(true, None);
    // The detector reading `row` of clean vs `attacks` inputs of the
    // training split (none when either side is empty).
    let fit = |attacks: &[&str], row: Row| -> Result<Option<LogisticRegression>> {
        let adversarial: Vec<DetectionSample> =
            attacks.iter().flat_map(|a| gather(true, Some(a))).collect();
        if clean_train.is_empty() || adversarial.is_empty() {
            return Ok(None);
        }
        let x: Vec<Vec<f64>> = clean_train.iter().chain(&adversarial).map(row).collect();
        let y: Vec<bool> = (0..x.len()).map(|i| i >= clean_train.len()).collect();
        Ok(Some(LogisticRegression::fit(&x, &y, cfg.detector.l2)?))
    };
    let barrier: Row = DetectionSample::barrier_row;
    let extended: Row = DetectionSample::extended_row;
    let detector = fit(&["paper"], barrier)?;
    let pooled = fit(&POOLED_ATTACKS, barrier)?;
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
        (fit(&["paper"], extended)?, fit(&POOLED_ATTACKS, extended)?)
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
    for (k, name) in ATTACKS.iter().enumerate() {
        let all: Vec<&DetectionSample> = units
            .iter()
            .flat_map(|u| u.attacked.get(*name).into_iter().flatten())
            .collect();
        let rate = all.iter().filter(|s| s.success).count() as f64 / all.len().max(1) as f64;
        out.attack_success_rate.insert(name.to_string(), rate);
        let pos = gather(false, Some(name));
        out.test_positives.insert(name.to_string(), pos.len());
        // AUROC and interval of one detector, the bootstrap seeded by `tag`.
        let score = |d: Option<&LogisticRegression>, row: Row, tag: &[u64]| {
            let seed = crate::rng::derive_seed(cfg.detector.seed, tag);
            detector_auroc(d, row, &clean_test, &pos, cfg, seed)
        };
        let put = |a: &mut BTreeMap<String, f64>,
                   c: &mut BTreeMap<String, [f64; 2]>,
                   (v, ci): (f64, [f64; 2])| {
            a.insert(name.to_string(), v);
            c.insert(name.to_string(), ci);
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
        out.threshold_auroc.insert(
            name.to_string(),
            by(&|s| s.features.get(feature).unwrap_or(f64::NAN)),
        );
        out.baseline_auroc
            .entry("max_softmax".into())
            .or_default()
            .insert(name.to_string(), by(&|s| 1.0 - s.max_softmax));
        out.baseline_auroc
            .entry("nearest_reference".into())
            .or_default()
            .insert(name.to_string(), by(&|s| s.nearest_distance));
        if has_local {
            out.baseline_auroc
                .entry("local_rise".into())
                .or_default()
                .insert(
                    name.to_string(),
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
