//! The parameters of `kind = "untrained-connectivity"`: the models, the
//! input shape or data set that gives it, the pairs, FVO and free-bend
//! settings, and the loss below which a pair counts as connected, with the
//! validation that names each field.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::inputspace::bypass::{free_defaults, BypassConfig, RoundsConfig};
use crate::inputspace::fvo::FvoConfig;

/// Parameters of `kind = "untrained-connectivity"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UntrainedParams {
    /// Models: `untrained:ARCH:INIT:SEED` specs (or any other model spec).
    pub models: Vec<String>,
    /// Shape of one input, e.g. `[3, 32, 32]`; default: the items of `data`.
    #[serde(default)]
    pub input_shape: Option<Vec<usize>>,
    /// Number of classes; default: the classes of `data`.
    #[serde(default)]
    pub classes: Option<usize>,
    /// Data set fixing shape and classes when they are not given.
    #[serde(default = "default_data")]
    pub data: String,
    /// Master seed; unit `i` derives its seed, and from it the two FVO starting noises,
    /// from `(seed, i)`.
    pub seed: u64,
    /// Pairs per model; pair j has class `j mod classes`.
    pub pairs: usize,
    /// Feature visualisation of the endpoints (paper: N(0, 0.01²) start,
    /// Adam lr 0.05, stop at CE < 5e-4).
    #[serde(default)]
    pub fvo: FvoConfig,
    /// The bend optimisation: free, as the paper did for untrained
    /// networks, in every field a `[params.bypass]` table leaves out
    /// ([`BypassConfig::free`]); set `mode = "projected"` (and the λs) to
    /// bend as for trained ones.
    #[serde(default = "BypassConfig::free", deserialize_with = "free_defaults")]
    pub bypass: BypassConfig,
    /// Most rounds and the gap at which bending stops.
    #[serde(default = "default_rounds")]
    pub rounds: RoundsConfig,
    /// A pair counts as connected once its chain's max loss is at most this.
    #[serde(default = "default_target")]
    pub max_loss_target: f64,
}

fn default_data() -> String {
    "mnist".into()
}
fn default_rounds() -> RoundsConfig {
    RoundsConfig {
        max_rounds: 3,
        gap_tolerance: 0.0,
    }
}
fn default_target() -> f64 {
    1e-2
}

impl UntrainedParams {
    /// Checks the fields, naming them as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        self.fvo
            .validate("params.fvo")
            .and(self.bypass.validate("params.bypass"))?;
        if self.models.is_empty() {
            return Err(Error::invalid(
                "params.models",
                "[]",
                "expected at least one model, e.g. \"untrained:mlp:pytorch:1\"",
            ));
        }
        if self.pairs == 0 {
            return Err(Error::invalid("params.pairs", 0, "expected at least 1"));
        }
        crate::experiment::limits::check_units_product(
            "params.pairs",
            self.pairs,
            &[self.models.len()],
        )?;
        if let Some(s) = &self.input_shape {
            if s.is_empty() || s.contains(&0) {
                return Err(Error::invalid(
                    "params.input_shape",
                    format!("{s:?}"),
                    "expected positive sides, e.g. [3, 32, 32]",
                ));
            }
        }
        if self.classes == Some(0) || self.classes == Some(1) {
            return Err(Error::invalid(
                "params.classes",
                self.classes.unwrap_or(0),
                "expected at least 2 classes",
            ));
        }
        if self.rounds.max_rounds == 0 {
            return Err(Error::invalid(
                "params.rounds.max_rounds",
                0,
                "expected at least one round of bending",
            ));
        }
        if !(self.max_loss_target.is_finite() && self.max_loss_target > 0.0) {
            return Err(Error::invalid(
                "params.max_loss_target",
                self.max_loss_target,
                "expected a loss > 0",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_params_name_the_field() {
        let p = UntrainedParams {
            models: vec!["untrained:mlp:pytorch:1".into()],
            input_shape: Some(vec![1, 0, 4]),
            classes: Some(10),
            data: "mnist".into(),
            seed: 1,
            pairs: 1,
            fvo: FvoConfig::default(),
            bypass: BypassConfig::free(),
            rounds: default_rounds(),
            max_loss_target: 1e-2,
        };
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("params.input_shape"), "{e}");
        let p = UntrainedParams {
            input_shape: None,
            pairs: 0,
            ..p
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("params.pairs"));
    }
}
