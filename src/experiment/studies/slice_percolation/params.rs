//! The parameters of `kind = "slice-percolation"`: the models and pair
//! kinds, how real endpoints are chosen, the slices, and the attack, FVO
//! and bend settings, with the validation that names each field.

use serde::{Deserialize, Serialize};

use crate::bridge::SliceStudyConfig;
use crate::error::{Error, Result};
use crate::inputspace::attack::PaperAttackConfig;
use crate::inputspace::bypass::{BypassConfig, RoundsConfig};
use crate::inputspace::fvo::FvoConfig;

/// Pair kinds of the study.
pub const PAIR_KINDS: [&str; 3] = ["real_real", "real_adversarial", "synthetic"];

/// Parameters of `kind = "slice-percolation"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceParams {
    /// Models: bundled names, `untrained:ARCH:INIT:SEED`, weights files.
    pub models: Vec<String>,
    /// Data set of the real inputs.
    #[serde(default = "default_data")]
    pub data: String,
    /// Shape of one input, e.g. `[3, 32, 32]`, for networks without a data
    /// set (untrained CIFAR-shaped ResNet-18): then `classes` is needed too,
    /// `data` is not loaded, and only `synthetic` pairs are possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_shape: Option<Vec<usize>>,
    /// Number of classes, with `input_shape`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    /// Master seed; unit `i`'s pair seed is [`pair_seed`](super::pair_seed)`(seed, i)`.
    pub seed: u64,
    /// Pair kinds (`real_real`, `real_adversarial`, `synthetic`).
    pub pair_kinds: Vec<String>,
    /// Pairs per model and pair kind; pair j has class `j mod classes`.
    pub pairs: usize,
    /// Real endpoints have CE at most this (trained models).
    #[serde(default = "default_low_loss")]
    pub low_loss: f64,
    /// Real images examined when looking for low-loss endpoints.
    #[serde(default = "default_candidates")]
    pub candidates: usize,
    /// The slices ([`SliceStudyConfig`]).
    #[serde(default)]
    pub slice: SliceStudyConfig,
    /// The paper's attack for real–adversarial pairs.
    #[serde(default)]
    pub attack: PaperAttackConfig,
    /// FVO for synthetic pairs.
    #[serde(default)]
    pub fvo: FvoConfig,
    /// The bend optimisation compared with the slices (`mode = "free"` for
    /// untrained networks, as the paper did).
    #[serde(default)]
    pub bypass: BypassConfig,
    /// Bend-round limits of the bypass: most bends per pair and the gap tolerance.
    #[serde(default)]
    pub rounds: RoundsConfig,
}

fn default_data() -> String {
    "mnist".into()
}
fn default_low_loss() -> f64 {
    0.05
}
fn default_candidates() -> usize {
    200
}

impl SliceParams {
    /// Checks the fields, naming them as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        self.slice.validate_as("params.slice.")?;
        self.attack
            .validate("params.attack")
            .and(self.fvo.validate("params.fvo"))
            .and(self.bypass.validate("params.bypass"))?;
        if self.models.is_empty() {
            return Err(Error::invalid(
                "params.models",
                "[]",
                "expected at least one model",
            ));
        }
        if self.pairs == 0 || self.pairs > 100_000 {
            return Err(Error::invalid(
                "params.pairs",
                self.pairs,
                "expected 1..=100000",
            ));
        }
        if self
            .models
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            != self.models.len()
        {
            return Err(Error::invalid(
                "params.models",
                format!("{:?}", self.models),
                "expected each model once",
            ));
        }
        if self
            .pair_kinds
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            != self.pair_kinds.len()
        {
            return Err(Error::invalid(
                "params.pair_kinds",
                format!("{:?}", self.pair_kinds),
                "expected each pair kind once",
            ));
        }
        match (&self.input_shape, self.classes) {
            (None, None) => {}
            (Some(shape), Some(classes)) => {
                if shape.is_empty() || shape.contains(&0) {
                    return Err(Error::invalid(
                        "params.input_shape",
                        format!("{shape:?}"),
                        "expected positive sides, e.g. [3, 32, 32]",
                    ));
                }
                if classes < 2 {
                    return Err(Error::invalid(
                        "params.classes",
                        classes,
                        "expected at least 2 classes",
                    ));
                }
                if let Some(k) = self.pair_kinds.iter().find(|k| k.as_str() != "synthetic") {
                    return Err(Error::invalid(
                        "params.pair_kinds",
                        k,
                        "with input_shape there is no data set: only \"synthetic\" pairs",
                    ));
                }
            }
            _ => {
                return Err(Error::invalid(
                    "params.input_shape",
                    format!("{:?} with classes = {:?}", self.input_shape, self.classes),
                    "give both input_shape and classes, or neither",
                ))
            }
        }
        if self.pair_kinds.is_empty() {
            return Err(Error::invalid(
                "params.pair_kinds",
                "[]",
                format!("expected some of {PAIR_KINDS:?}"),
            ));
        }
        if let Some(k) = self
            .pair_kinds
            .iter()
            .find(|k| !PAIR_KINDS.contains(&k.as_str()))
        {
            return Err(Error::invalid(
                "params.pair_kinds",
                k,
                format!("expected some of {PAIR_KINDS:?}"),
            ));
        }
        if !(self.low_loss.is_finite() && self.low_loss > 0.0) {
            return Err(Error::invalid(
                "params.low_loss",
                self.low_loss,
                "expected a loss > 0",
            ));
        }
        if self.candidates < 2 {
            return Err(Error::invalid(
                "params.candidates",
                self.candidates,
                "expected at least 2",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(text: &str) -> SliceParams {
        toml::from_str(text).unwrap()
    }

    const BASE: &str = r#"
        models = ["untrained:mlp:pytorch:1"]
        seed = 1
        pairs = 1
    "#;

    #[test]
    fn input_shape_needs_classes_and_synthetic_pairs_only() {
        let ok = params(&format!(
            "{BASE}pair_kinds = [\"synthetic\"]\ninput_shape = [1, 8, 8]\nclasses = 3\n"
        ));
        assert!(ok.validate().is_ok());
        // Without the optional fields the canonical form is unchanged, so
        // the hashes of existing runs stay valid.
        let plain = params(&format!("{BASE}pair_kinds = [\"synthetic\"]\n"));
        let json = serde_json::to_string(&plain).unwrap();
        assert!(
            !json.contains("input_shape") && !json.contains("classes"),
            "{json}"
        );

        let real = params(&format!(
            "{BASE}pair_kinds = [\"real_real\"]\ninput_shape = [1, 8, 8]\nclasses = 3\n"
        ));
        let e = real.validate().unwrap_err().to_string();
        assert!(
            e.contains("params.pair_kinds") && e.contains("synthetic"),
            "{e}"
        );
        let half = params(&format!(
            "{BASE}pair_kinds = [\"synthetic\"]\ninput_shape = [1, 8, 8]\n"
        ));
        let e = half.validate().unwrap_err().to_string();
        assert!(
            e.contains("params.input_shape") && e.contains("classes"),
            "{e}"
        );
        let zero = params(&format!(
            "{BASE}pair_kinds = [\"synthetic\"]\ninput_shape = [1, 0, 8]\nclasses = 3\n"
        ));
        assert!(zero
            .validate()
            .unwrap_err()
            .to_string()
            .contains("params.input_shape"));
    }
}
