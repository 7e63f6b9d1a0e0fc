//! The parameters of `kind = "imagenet-demo"`: the fetched models, the
//! photos and their classes (with the photo each one's attack starts from),
//! and the FVO, attack and bend settings, with the validation that names
//! each field.

use serde::{Deserialize, Serialize};

use crate::data::{imagenet_classes, photos};
use crate::error::{Error, Result};
use crate::inputspace::attack::PaperAttackConfig;
use crate::inputspace::bypass::{BendMode, BypassConfig, RoundsConfig};
use crate::inputspace::fvo::FvoConfig;

/// One real photo used as a class-y mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoEntry {
    /// A fetched photo's name (`coffee`, `chelsea`, …; see
    /// [`photos::PHOTOS`]).
    pub name: String,
    /// Its ImageNet class y (e.g. 967 espresso for `coffee`, 285 Egyptian
    /// cat for `chelsea`): the target of every loss of its pairs.
    pub class: u32,
    /// The photo of another class that the paper's attack turns into a
    /// class-y input; default: the next entry of `photos` (cyclically).
    #[serde(default)]
    pub attack_source: Option<String>,
}

/// Parameters of `kind = "imagenet-demo"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagenetDemoParams {
    /// Fetched ImageNet models (`squeezenet-1.1`, `efficientnet-lite0`).
    pub models: Vec<String>,
    /// The real photos and their classes.
    pub photos: Vec<PhotoEntry>,
    /// Master seed; unit `i` derives its seed, and from it the two FVO starting noises,
    /// from `(seed, i)`.
    pub seed: u64,
    /// Feature visualisation of the synthetic modes (paper: N(0, 0.01²)
    /// start, Adam lr 0.05, stop at CE < 5e-4).
    #[serde(default)]
    pub fvo: FvoConfig,
    /// The paper's targeted attack (lr 0.005, ≤ 512 iterations, 0.1·MSE,
    /// 1e-8·TV).
    #[serde(default)]
    pub attack: PaperAttackConfig,
    /// The bend optimisation and path evaluation; must be projected (the
    /// paper's bypass for trained networks). `points` also sets the
    /// resolution of the stored curves.
    #[serde(default)]
    pub bypass: BypassConfig,
    /// Most rounds and the gap at which bending stops.
    #[serde(default = "default_rounds")]
    pub rounds: RoundsConfig,
}

pub(super) fn default_rounds() -> RoundsConfig {
    RoundsConfig {
        max_rounds: 2,
        gap_tolerance: 0.0,
    }
}

impl ImagenetDemoParams {
    /// Checks the fields, naming them as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        self.fvo
            .validate("params.fvo")
            .and(self.attack.validate("params.attack"))
            .and(self.bypass.validate("params.bypass"))?;
        if self.models.is_empty() {
            return Err(Error::invalid(
                "params.models",
                "[]",
                "expected at least one model, e.g. \"squeezenet-1.1\"",
            ));
        }
        if let Some(m) = self
            .models
            .iter()
            .find(|m| crate::nn::zoo::fetched_entry(m).is_none())
        {
            let known: Vec<&str> = crate::nn::zoo::FETCHED.iter().map(|e| e.name).collect();
            return Err(Error::invalid(
                "params.models",
                m,
                format!("expected a fetched ImageNet model, one of {known:?}"),
            ));
        }
        if self.photos.is_empty() {
            return Err(Error::invalid(
                "params.photos",
                "[]",
                "expected at least one photo, e.g. { name = \"coffee\", class = 967 }",
            ));
        }
        let known: Vec<&str> = photos::PHOTOS.iter().map(|p| p.name).collect();
        for (i, p) in self.photos.iter().enumerate() {
            if photos::photo(&p.name).is_none() {
                return Err(Error::invalid(
                    format!("params.photos[{i}].name"),
                    &p.name,
                    format!("expected one of {known:?}"),
                ));
            }
            if p.class as usize >= imagenet_classes::CLASSES {
                return Err(Error::invalid(
                    format!("params.photos[{i}].class"),
                    p.class,
                    "expected an ImageNet class, 0..=999",
                ));
            }
        }
        // Names first: a bad name is reported as itself, not as the default
        // attack source of the entry before it.
        for (i, p) in self.photos.iter().enumerate() {
            let source = self.attack_source(i);
            if photos::photo(&source).is_none() {
                return Err(Error::invalid(
                    format!("params.photos[{i}].attack_source"),
                    &source,
                    format!("expected one of {known:?}"),
                ));
            }
            if source == p.name {
                return Err(Error::invalid(
                    format!("params.photos[{i}].attack_source"),
                    &source,
                    "expected another photo than the entry's own (list a second photo or name one)",
                ));
            }
        }
        if self.bypass.mode != BendMode::Projected {
            return Err(Error::invalid(
                "params.bypass.mode",
                "free",
                "expected \"projected\": the pairs have real endpoints, bent as the paper bends them for trained networks",
            ));
        }
        if self.rounds.max_rounds == 0 {
            return Err(Error::invalid(
                "params.rounds.max_rounds",
                0,
                "expected at least one round of bending",
            ));
        }
        Ok(())
    }

    /// The attack source of photo entry `i`: its own, else the next entry.
    pub(super) fn attack_source(&self, i: usize) -> String {
        self.photos[i]
            .attack_source
            .clone()
            .unwrap_or_else(|| self.photos[(i + 1) % self.photos.len()].name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ImagenetDemoParams {
        ImagenetDemoParams {
            models: vec!["squeezenet-1.1".into()],
            photos: vec![
                PhotoEntry {
                    name: "coffee".into(),
                    class: 967,
                    attack_source: None,
                },
                PhotoEntry {
                    name: "chelsea".into(),
                    class: 285,
                    attack_source: None,
                },
            ],
            seed: 1,
            fvo: FvoConfig::default(),
            attack: PaperAttackConfig::default(),
            bypass: BypassConfig::default(),
            rounds: default_rounds(),
        }
    }

    fn message(p: &ImagenetDemoParams) -> String {
        p.validate().unwrap_err().to_string()
    }

    #[test]
    fn bad_params_name_the_field() {
        assert!(params().validate().is_ok());
        let mut p = params();
        p.models = vec!["lenet5-mnist".into()];
        assert!(message(&p).contains("params.models"), "{}", message(&p));
        let mut p = params();
        p.photos[1].name = "dog".into();
        assert!(message(&p).contains("params.photos[1].name"));
        let mut p = params();
        p.photos[0].class = 1000;
        assert!(message(&p).contains("params.photos[0].class"));
        // A single photo has no other photo to attack unless one is named.
        let mut p = params();
        p.photos.truncate(1);
        assert!(message(&p).contains("params.photos[0].attack_source"));
        p.photos[0].attack_source = Some("chelsea".into());
        assert!(p.validate().is_ok());
        let mut p = params();
        p.bypass = BypassConfig::free();
        assert!(message(&p).contains("params.bypass.mode"));
        let mut p = params();
        p.rounds.max_rounds = 0;
        assert!(message(&p).contains("params.rounds.max_rounds"));
    }

    #[test]
    fn attack_sources_default_to_the_next_photo() {
        let p = params();
        assert_eq!(p.attack_source(0), "chelsea");
        assert_eq!(p.attack_source(1), "coffee");
    }
}
