//! The study's configuration: pool, pair selection, attacks, bypass and
//! detector parameters, with their defaults, the quick variant and the
//! validation that names every field.

use serde::{Deserialize, Serialize};

use crate::inputspace::attack::{
    AdaptiveConfig, LocalAdaptiveConfig, PaperAttackConfig, PgdConfig,
};
use crate::inputspace::bypass::BypassConfig;
use crate::inputspace::check_non_negative;
use crate::inputspace::detector::DetectorFeatures;
use crate::inputspace::local::LocalConfig;
use crate::inputspace::pairs::SelectionRule;
use crate::{Error, Result};

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
    /// off; see [`super::local`](crate::inputspace::local)).
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
    /// The detector's settings: L2 strength, bootstrap, threshold feature and local
    /// barriers.
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
        if self.clean_inputs == 0 {
            return Err(Error::invalid(
                "clean_inputs",
                0,
                "expected at least 1 (the detector's clean inputs are its negatives)",
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
        check_non_negative("low_loss_threshold", self.low_loss_threshold)?;
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
        if self.pgd.iterations == 0 {
            return Err(Error::invalid(
                "pgd.iterations",
                0,
                "expected at least 1 (with none, PGD returns its start and every rate is 0/0)",
            ));
        }
        if self.detector.bootstrap == 0 {
            return Err(Error::invalid(
                "detector.bootstrap",
                0,
                "expected at least 1 resample (the AUROC interval is a bootstrap percentile)",
            ));
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
