//! The parameters of `kind = "training"`: the data, architectures and
//! seeds, the recipe overrides, and when and what to measure during
//! training, with the validation that names each field.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::inputspace::bypass::{free_defaults, BypassConfig, RoundsConfig};
use crate::inputspace::fvo::FvoConfig;
use crate::nn::init::Init;
use crate::nn::train::OptimizerKind;

/// Parameters of `kind = "training"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingParams {
    /// `mnist` (the bundled digits, 2,000 held out by a split seeded with
    /// the training seed) or `fashion-mnist` (its own splits).
    #[serde(default = "default_data")]
    pub data: String,
    /// Architectures: `mlp`, `cnn`, `lenet5`, or JSON architectures as
    /// `ismc eval --arch` takes them.
    pub archs: Vec<String>,
    /// Training seeds: one run per architecture and seed.
    pub seeds: Vec<u64>,
    /// Master seed of the measurements (pair choice, FVO noise).
    pub seed: u64,
    /// Fields that override every architecture's recipe.
    #[serde(default)]
    pub recipe: RecipeOverrides,
    /// Barrier measurements during training (none without the table).
    #[serde(default)]
    pub barriers: Option<BarrierSchedule>,
    /// Feature visualisation of the synthetic endpoints.
    #[serde(default)]
    pub fvo: FvoConfig,
    /// Bends of the synthetic pairs: free (as for untrained networks) in
    /// every field a table leaves out ([`BypassConfig::free`]).
    #[serde(default = "BypassConfig::free", deserialize_with = "free_defaults")]
    pub bypass: BypassConfig,
    /// Rounds of bending of the synthetic pairs.
    #[serde(default)]
    pub rounds: RoundsConfig,
}

fn default_data() -> String {
    "mnist".into()
}

/// Optional overrides of
/// [`TrainConfig::for_arch`](crate::nn::train::TrainConfig::for_arch)'s recipe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeOverrides {
    /// Passes over the training set.
    pub epochs: Option<usize>,
    /// Mini-batch size (recipe default 64).
    pub batch: Option<usize>,
    /// Peak learning rate, cosine-decayed to zero (recipe default 1e-3).
    pub lr: Option<f64>,
    /// Weight decay, decoupled for AdamW (recipe default 1e-4).
    pub weight_decay: Option<f64>,
    /// `adamw` or `sgd`.
    pub optimizer: Option<OptimizerKind>,
    /// `pytorch`, `kaiming-normal`, `xavier-uniform`, `torchvision` or
    /// `gaussian:STD`.
    pub init: Option<String>,
    /// Random translations, pixels.
    pub shift: Option<usize>,
    /// Random rotations, degrees.
    pub rotate_degrees: Option<f64>,
    /// Random rescaling, fraction.
    pub scale: Option<f64>,
}

/// When and what to measure during training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarrierSchedule {
    /// Optimiser steps after which to measure (0: the initialisation);
    /// steps beyond the end of training are skipped.
    pub steps: Vec<usize>,
    /// Pairs of real test images of the same class (class `j mod classes`).
    #[serde(default = "default_real_pairs")]
    pub real_pairs: usize,
    /// Pairs of real test images of different classes.
    #[serde(default = "default_real_pairs")]
    pub cross_pairs: usize,
    /// Pairs of FVO inputs of the same class, made at every measured step.
    #[serde(default = "default_fvo_pairs")]
    pub fvo_pairs: usize,
    /// Points per straight path.
    #[serde(default = "default_points")]
    pub points: usize,
}

fn default_real_pairs() -> usize {
    30
}
fn default_fvo_pairs() -> usize {
    5
}
fn default_points() -> usize {
    100
}

impl TrainingParams {
    /// Checks the fields, naming them as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        self.fvo
            .validate("params.fvo")
            .and(self.bypass.validate("params.bypass"))?;
        if self.archs.is_empty() {
            return Err(Error::invalid(
                "params.archs",
                "[]",
                "expected at least one architecture, e.g. [\"cnn\"]",
            ));
        }
        if self.seeds.is_empty() {
            return Err(Error::invalid(
                "params.seeds",
                "[]",
                "expected at least one training seed, e.g. [1]",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = self.seeds.iter().find(|s| !seen.insert(**s)) {
            return Err(Error::invalid(
                "params.seeds",
                dup,
                "appears twice; every training seed once",
            ));
        }
        if let Some(b) = &self.barriers {
            if b.steps.is_empty() {
                return Err(Error::invalid(
                    "params.barriers.steps",
                    "[]",
                    "expected the optimiser steps to measure after, e.g. [0, 10, 100]",
                ));
            }
            if !b.steps.windows(2).all(|w| w[0] < w[1]) {
                return Err(Error::invalid(
                    "params.barriers.steps",
                    format!("{:?}", b.steps),
                    "expected strictly increasing steps",
                ));
            }
            if b.points < 2 {
                return Err(Error::invalid(
                    "params.barriers.points",
                    b.points,
                    "expected at least 2",
                ));
            }
            if b.real_pairs + b.cross_pairs + b.fvo_pairs == 0 {
                return Err(Error::invalid(
                    "params.barriers",
                    "no pairs",
                    "expected real_pairs, cross_pairs or fvo_pairs above 0",
                ));
            }
        }
        if let Some(init) = &self.recipe.init {
            if init.parse::<Init>().is_err() {
                return Err(Error::invalid(
                    "params.recipe.init",
                    init,
                    "expected pytorch, kaiming-normal, xavier-uniform, torchvision or gaussian:STD",
                ));
            }
        }
        Ok(())
    }
}
