//! The registry of studies: the one place that names every experiment kind.
//!
//! It parses the declarative TOML files of `experiments/` into a
//! [`RunConfig`] (the kind, its typed parameters, the stored text and the
//! hash), builds the study of a configuration, and hands it to the runner:
//! [`run`], [`merge`], [`figures`] and [`report`] are the entry points the
//! command line calls. Adding a study means one variant of
//! [`ExperimentKind`] and of [`ExperimentConfig`], and their arms here.
//!
//! Every configuration has the same frame:
//!
//! ```toml
//! kind = "lattice"                 # which experiment (see ExperimentKind)
//! description = "one line"         # optional, not part of the hash
//!
//! [params]                         # the experiment's own fields
//! dims = [2, 3]
//! ```
//!
//! Parsing is strict: an unknown key anywhere is refused with the list of
//! valid keys, a value of the wrong type names the key and the expected type
//! (with line and column), and each experiment's `validate` names the field
//! and the valid range. The configuration's **hash** (SHA-256 of its
//! canonical JSON form, `kind` and `params` only) identifies a run: a run
//! directory can only be resumed or merged with the same hash.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::estimate::ResourceEstimate;
use super::limits;
use super::runner::{self, Experiment, RunIdentity, RunOptions, RunOutcome};
use super::studies::adversarial::AdversarialParams;
use super::studies::evaluation::EvaluationParams;
use super::studies::imagenet_demo::ImagenetDemoParams;
use super::studies::lattice::LatticeStudyConfig;
use super::studies::slice_percolation::SliceParams;
use super::studies::training::TrainingParams;
use super::studies::untrained_connectivity::UntrainedParams;
use super::studies::{
    adversarial, evaluation, imagenet_demo, lattice, slice_percolation, training,
    untrained_connectivity,
};
use crate::error::{Error, Result};

/// The experiments `ismc run` can execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExperimentKind {
    /// Thresholds `p_c(d)` and crossing curves `R_L(p)` on Z^d
    /// ([`LatticeStudyConfig`]).
    Lattice,
    /// Barriers, bypasses, attacks and the barrier detector on one model
    /// ([`AdversarialParams`]).
    Adversarial,
    /// Percolation of low-loss sets on k-dimensional slices of input space
    /// ([`SliceParams`]).
    SlicePercolation,
    /// Free-bend connectivity of synthetic (FVO) modes, for untrained
    /// networks ([`UntrainedParams`]).
    UntrainedConnectivity,
    /// Training runs, with barriers measured during training
    /// ([`TrainingParams`]).
    Training,
    /// Accuracy, intervals and confusion of models on data sets
    /// ([`EvaluationParams`]).
    Evaluation,
    /// Real, synthetic and adversarial modes of ImageNet classifiers on
    /// real photos ([`ImagenetDemoParams`]).
    ImagenetDemo,
}

impl ExperimentKind {
    /// Every kind, for error messages and help.
    pub const ALL: [ExperimentKind; 7] = [
        ExperimentKind::Lattice,
        ExperimentKind::Adversarial,
        ExperimentKind::SlicePercolation,
        ExperimentKind::UntrainedConnectivity,
        ExperimentKind::Training,
        ExperimentKind::Evaluation,
        ExperimentKind::ImagenetDemo,
    ];

    /// The name used in `kind = "…"`.
    pub fn name(self) -> &'static str {
        match self {
            ExperimentKind::Lattice => "lattice",
            ExperimentKind::Adversarial => "adversarial",
            ExperimentKind::SlicePercolation => "slice-percolation",
            ExperimentKind::UntrainedConnectivity => "untrained-connectivity",
            ExperimentKind::Training => "training",
            ExperimentKind::Evaluation => "evaluation",
            ExperimentKind::ImagenetDemo => "imagenet-demo",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl fmt::Display for ExperimentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The parameters of one experiment, by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ExperimentConfig {
    /// `kind = "lattice"`.
    Lattice(LatticeStudyConfig),
    /// `kind = "adversarial"`.
    Adversarial(AdversarialParams),
    /// `kind = "slice-percolation"`.
    SlicePercolation(SliceParams),
    /// `kind = "untrained-connectivity"`.
    UntrainedConnectivity(UntrainedParams),
    /// `kind = "training"`.
    Training(TrainingParams),
    /// `kind = "evaluation"`.
    Evaluation(EvaluationParams),
    /// `kind = "imagenet-demo"`.
    ImagenetDemo(ImagenetDemoParams),
}

impl ExperimentConfig {
    /// The master seed.
    pub fn seed(&self) -> u64 {
        match self {
            ExperimentConfig::Lattice(c) => c.seed,
            ExperimentConfig::Adversarial(c) => c.seed,
            ExperimentConfig::SlicePercolation(c) => c.seed,
            ExperimentConfig::UntrainedConnectivity(c) => c.seed,
            ExperimentConfig::Training(c) => c.seed,
            ExperimentConfig::Evaluation(c) => c.seed,
            ExperimentConfig::ImagenetDemo(c) => c.seed,
        }
    }

    /// Checks every field's range, naming the field as `params.NAME`: first
    /// the rules every study obeys ([`limits::check`]: bounded counts,
    /// distinct list entries), then the study's own.
    pub fn validate(&self) -> Result<()> {
        let canonical = serde_json::to_value(self).map_err(|e| Error::Numerical {
            context: "configuration".into(),
            reason: format!("cannot serialise the parameters: {e}"),
        })?;
        limits::check("params", &canonical)?;
        match self {
            ExperimentConfig::Lattice(c) => c.validate(),
            ExperimentConfig::Adversarial(c) => c.validate(),
            ExperimentConfig::SlicePercolation(c) => c.validate(),
            ExperimentConfig::UntrainedConnectivity(c) => c.validate(),
            ExperimentConfig::Training(c) => c.validate(),
            ExperimentConfig::Evaluation(c) => c.validate(),
            ExperimentConfig::ImagenetDemo(c) => c.validate(),
        }
    }
}

/// A parsed, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// Experiment kind, from the top-level `kind = "…"` key.
    pub kind: ExperimentKind,
    /// The optional one-line `description` of the configuration (not part of the hash).
    pub description: Option<String>,
    /// The experiment's parameters, parsed from the `[params]` table.
    pub experiment: ExperimentConfig,
    /// The text stored as `config.toml` in the run directory.
    pub text: String,
    /// SHA-256 (hex) of the canonical form of `kind` and `params`.
    pub hash: String,
}

/// The frame, read first to learn the kind.
#[derive(Deserialize)]
struct Frame {
    kind: Option<toml::Value>,
}

/// The frame with typed parameters.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Typed<P> {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    params: P,
}

impl RunConfig {
    /// Reads and validates a configuration file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text).map_err(|e| match e {
            Error::InvalidFile { reason, .. } => Error::InvalidFile {
                path: path.to_path_buf(),
                reason,
            },
            Error::InvalidParameter {
                name,
                value,
                reason,
            } => Error::InvalidFile {
                path: path.to_path_buf(),
                reason: format!("invalid {name} = {value}: {reason}"),
            },
            other => other,
        })
    }

    /// Parses and validates configuration text. Never panics, whatever the
    /// input; errors name the key and the expected form.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: String| Error::InvalidFile {
            path: "<config>".into(),
            reason,
        };
        let frame: Frame = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let valid = ExperimentKind::ALL.map(|k| format!("\"{k}\"")).join(", ");
        let kind = match frame.kind {
            None => return Err(bad(format!("missing key `kind`; expected one of {valid}"))),
            Some(toml::Value::String(s)) => ExperimentKind::from_name(&s)
                .ok_or_else(|| bad(format!("unknown kind = \"{s}\"; expected one of {valid}")))?,
            Some(other) => {
                return Err(bad(format!(
                    "`kind` must be a string, one of {valid}; found {other}"
                )))
            }
        };
        let (description, experiment) = match kind {
            ExperimentKind::Lattice => {
                let t: Typed<LatticeStudyConfig> = typed(text)?;
                (t.description, ExperimentConfig::Lattice(t.params))
            }
            ExperimentKind::Adversarial => {
                let t: Typed<AdversarialParams> = typed(text)?;
                (t.description, ExperimentConfig::Adversarial(t.params))
            }
            ExperimentKind::SlicePercolation => {
                let t: Typed<SliceParams> = typed(text)?;
                (t.description, ExperimentConfig::SlicePercolation(t.params))
            }
            ExperimentKind::UntrainedConnectivity => {
                let t: Typed<UntrainedParams> = typed(text)?;
                (
                    t.description,
                    ExperimentConfig::UntrainedConnectivity(t.params),
                )
            }
            ExperimentKind::Training => {
                let t: Typed<TrainingParams> = typed(text)?;
                (t.description, ExperimentConfig::Training(t.params))
            }
            ExperimentKind::Evaluation => {
                let t: Typed<EvaluationParams> = typed(text)?;
                (t.description, ExperimentConfig::Evaluation(t.params))
            }
            ExperimentKind::ImagenetDemo => {
                let t: Typed<ImagenetDemoParams> = typed(text)?;
                (t.description, ExperimentConfig::ImagenetDemo(t.params))
            }
        };
        experiment.validate()?;
        Ok(Self::assemble(kind, description, experiment, Some(text)))
    }

    /// A configuration built in code (e.g. by `ismc demo`).
    pub fn from_experiment(
        kind: ExperimentKind,
        description: Option<String>,
        experiment: ExperimentConfig,
    ) -> Result<Self> {
        experiment.validate()?;
        Ok(Self::assemble(kind, description, experiment, None))
    }

    fn assemble(
        kind: ExperimentKind,
        description: Option<String>,
        experiment: ExperimentConfig,
        text: Option<&str>,
    ) -> Self {
        let frame = Typed {
            kind: kind.to_string(),
            description: None,
            params: &experiment,
        };
        let canonical = serde_json::to_vec(&frame).expect("configs are serialisable");
        let hash = crate::assets::sha256_hex(&canonical);
        let text = match text {
            Some(t) => t.to_string(),
            None => toml::to_string(&Typed {
                kind: kind.to_string(),
                description: description.clone(),
                params: &experiment,
            })
            .expect("configs are serialisable as TOML"),
        };
        RunConfig {
            kind,
            description,
            experiment,
            text,
            hash,
        }
    }

    /// The master seed.
    pub fn seed(&self) -> u64 {
        self.experiment.seed()
    }

    /// What the runner needs of this configuration: kind, stored text, hash
    /// and seed, and how to hash the `config.toml` of an existing run.
    pub fn identity(&self) -> RunIdentity {
        RunIdentity {
            kind: self.kind.to_string(),
            text: self.text.clone(),
            hash: self.hash.clone(),
            seed: self.seed(),
            rehash: |path| RunConfig::from_file(path).map(|c| c.hash),
        }
    }
}

/// Calls `$body` with `$exp` bound to the experiment of `$cfg`.
macro_rules! with_experiment {
    ($cfg:expr, $exp:ident => $body:expr) => {
        match &$cfg.experiment {
            ExperimentConfig::Lattice(c) => {
                let $exp = lattice::LatticeStudy::new(c.clone())?;
                $body
            }
            ExperimentConfig::Adversarial(c) => {
                let $exp = adversarial::AdversarialStudy::new(c.clone())?;
                $body
            }
            ExperimentConfig::SlicePercolation(c) => {
                let $exp = slice_percolation::SlicePercolation::new(c.clone())?;
                $body
            }
            ExperimentConfig::UntrainedConnectivity(c) => {
                let $exp = untrained_connectivity::UntrainedConnectivity::new(c.clone())?;
                $body
            }
            ExperimentConfig::Training(c) => {
                let $exp = training::Training::new(c.clone())?;
                $body
            }
            ExperimentConfig::Evaluation(c) => {
                let $exp = evaluation::Evaluation::new(c.clone())?;
                $body
            }
            ExperimentConfig::ImagenetDemo(c) => {
                let $exp = imagenet_demo::ImagenetDemo::new(c.clone())?;
                $body
            }
        }
    };
}

/// Runs (or resumes) the experiment of `cfg`; see [`runner::run`].
pub fn run(cfg: &RunConfig, opts: &RunOptions) -> Result<RunOutcome> {
    with_experiment!(cfg, exp => runner::run(&exp, &cfg.identity(), opts))
}

/// What a run of `cfg` would do, computed without doing any of it: the
/// experiment is built (its models and data loaded and every parameter
/// checked, as `ismc run` does before writing anything) and its units
/// listed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunPlan {
    /// The experiment kind, as in the file's `kind`.
    pub kind: String,
    /// SHA-256 of the canonical `kind` and `params`: a run directory holds
    /// one configuration hash.
    pub config_hash: String,
    /// The master seed every unit's seed derives from.
    pub seed: u64,
    /// Number of independent units (the granularity of resuming and of
    /// `--shard I/N`).
    pub units: usize,
    /// The first unit ids, in run order (at most ten).
    pub first_units: Vec<String>,
    /// Worker threads the estimate assumes (`--threads`, or every core).
    pub threads: usize,
    /// Peak memory and wall time of the run, as far as the study can tell.
    pub estimate: ResourceEstimate,
}

/// Builds the experiment of `cfg` and lists its units without running any;
/// refuses what `ismc run` would refuse, before anything is written.
pub fn plan(cfg: &RunConfig) -> Result<RunPlan> {
    let (ids, estimate) = with_experiment!(cfg, exp => {
        let ids = exp.units();
        runner::check_ids(&ids)?;
        exp.preflight()?;
        (ids, exp.estimate())
    });
    Ok(RunPlan {
        kind: cfg.kind.to_string(),
        config_hash: cfg.hash.clone(),
        seed: cfg.seed(),
        units: ids.len(),
        first_units: ids.into_iter().take(10).collect(),
        threads: rayon::current_num_threads(),
        estimate,
    })
}

/// Merges shard directories into `out`; see [`runner::merge`].
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<()> {
    let first = dirs
        .first()
        .ok_or_else(|| Error::invalid("DIR", "(none)", "expected at least one shard directory"))?;
    let cfg = RunConfig::from_file(&first.join("config.toml"))?;
    with_experiment!(cfg, exp => runner::merge(&exp, &cfg.identity(), dirs, out))
}

/// Redraws the figures of run directory `dir` into `out` from its stored
/// files, without recomputing anything.
pub fn figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let cfg = RunConfig::from_file(&dir.join("config.toml"))?;
    with_experiment!(cfg, exp => exp.draw_figures(dir, out))
}

/// Writes `dir/report.md` of a finished run directory.
pub fn report(dir: &Path) -> Result<PathBuf> {
    let cfg = RunConfig::from_file(&dir.join("config.toml"))?;
    with_experiment!(cfg, exp => exp.write_report(dir))
}

fn typed<P: DeserializeOwned>(text: &str) -> Result<Typed<P>> {
    toml::from_str(text).map_err(|e| Error::InvalidFile {
        path: "<config>".into(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
kind = "lattice"
description = "test"
[params]
dims = [2]
kinds = ["site"]
budget_secs = 1.0
crossing_dim = 2
crossing_sides = [8]
crossing_samples = 10
seed = 3
"#;

    #[test]
    fn a_valid_config_parses_and_its_hash_ignores_formatting() {
        let a = RunConfig::parse(GOOD).unwrap();
        assert_eq!(a.kind, ExperimentKind::Lattice);
        assert_eq!(a.seed(), 3);
        let reformatted = GOOD.replace("dims = [2]", "dims = [ 2 ]   # comment");
        let b = RunConfig::parse(&reformatted).unwrap();
        assert_eq!(a.hash, b.hash);
        let other = RunConfig::parse(&GOOD.replace("seed = 3", "seed = 4")).unwrap();
        assert_ne!(a.hash, other.hash);
        // A config built in code round-trips through its stored text.
        let c = RunConfig::from_experiment(a.kind, None, a.experiment.clone()).unwrap();
        assert_eq!(RunConfig::parse(&c.text).unwrap().hash, a.hash);
    }

    fn message(text: &str) -> String {
        RunConfig::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key_and_the_expected_form() {
        let m = message(&GOOD.replace("seed = 3", "seed = 3\nsede = 4"));
        assert!(m.contains("sede") && m.contains("seed"), "{m}");
        let m = message(&GOOD.replace("crossing_samples = 10", "crossing_samples = \"ten\""));
        assert!(m.contains("crossing_samples") || m.contains("line"), "{m}");
        assert!(m.contains("expected u64"), "{m}");
        let m = message(&GOOD.replace("kind = \"lattice\"", "kind = \"latice\""));
        assert!(m.contains("latice") && m.contains("\"lattice\""), "{m}");
        let m = message(&GOOD.replace("kind = \"lattice\"", ""));
        assert!(m.contains("kind"), "{m}");
        let m = message(&GOOD.replace("description", "descripton"));
        assert!(m.contains("descripton"), "{m}");
        let m = message(&GOOD.replace("dims = [2]", "dims = [1]"));
        assert!(m.contains("params.dims"), "{m}");
    }

    #[test]
    fn shipped_imagenet_demo_configs_parse_and_round_trip_through_their_stored_text() {
        use crate::experiment::studies::imagenet_demo::{ImagenetDemoParams, PhotoEntry};
        use crate::inputspace::attack::PaperAttackConfig;
        use crate::inputspace::bypass::{BypassConfig, RoundsConfig};
        use crate::inputspace::fvo::FvoConfig;
        for text in [
            include_str!("../../experiments/imagenet-demo.toml"),
            include_str!("../../experiments/imagenet-demo-quick.toml"),
        ] {
            let cfg = RunConfig::parse(text).unwrap();
            assert_eq!(cfg.kind, ExperimentKind::ImagenetDemo);
            // A config built in code (attack sources left to default
            // included) is stored as TOML that parses to the same hash.
            let built = RunConfig::from_experiment(cfg.kind, None, cfg.experiment.clone()).unwrap();
            assert_eq!(RunConfig::parse(&built.text).unwrap().hash, cfg.hash);
        }
        let photo = |name: &str, class| PhotoEntry {
            name: name.into(),
            class,
            attack_source: None,
        };
        let params = ImagenetDemoParams {
            models: vec!["squeezenet-1.1".into()],
            photos: vec![photo("coffee", 967), photo("chelsea", 285)],
            seed: 1,
            fvo: FvoConfig::default(),
            attack: PaperAttackConfig::default(),
            bypass: BypassConfig::default(),
            rounds: RoundsConfig {
                max_rounds: 2,
                gap_tolerance: 0.0,
            },
        };
        let c = ExperimentConfig::ImagenetDemo(params);
        let built = RunConfig::from_experiment(ExperimentKind::ImagenetDemo, None, c).unwrap();
        let again = RunConfig::parse(&built.text).unwrap();
        assert_eq!(again.hash, built.hash);
        // Unknown keys in a photo entry are refused by name.
        let bad = include_str!("../../experiments/imagenet-demo-quick.toml")
            .replace("class = 967,", "class = 967, clas = 1,");
        let e = RunConfig::parse(&bad).unwrap_err().to_string();
        assert!(e.contains("clas"), "{e}");
    }
}
