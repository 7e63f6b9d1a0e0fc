//! Orchestration: experiments that combine domain computations, run as
//! resumable units by the [`runner`], store their results as CSV/JSON/.npy,
//! and draw figures from the stored results.
//!
//! [`config`] parses the declarative TOML files of `experiments/`; the
//! functions here dispatch a parsed configuration to its experiment.

pub mod adversarial;
pub mod config;
pub mod evaluation;
pub mod imagenet_demo;
pub mod lattice_study;
pub mod manifest;
pub mod runner;
pub mod slice_percolation;
pub mod store;
pub mod training;
pub mod untrained_connectivity;

use std::path::{Path, PathBuf};

pub use config::{ExperimentConfig, ExperimentKind, RunConfig};
pub use runner::{Experiment, RunOptions, RunOutcome, Shard, UnitFiles};

use crate::error::Result;

/// Calls `$body` with `$exp` bound to the experiment of `$cfg`.
macro_rules! with_experiment {
    ($cfg:expr, $exp:ident => $body:expr) => {
        match &$cfg.experiment {
            ExperimentConfig::Lattice(c) => {
                let $exp = lattice_study::LatticeStudy::new(c.clone())?;
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
    with_experiment!(cfg, exp => runner::run(&exp, cfg, opts))
}

/// Merges shard directories into `out`; see [`runner::merge`].
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<()> {
    let first = dirs.first().ok_or_else(|| {
        crate::error::Error::invalid("DIR", "(none)", "expected at least one shard directory")
    })?;
    let cfg = RunConfig::from_file(&first.join("config.toml"))?;
    with_experiment!(cfg, exp => runner::merge(&exp, &cfg, dirs, out))
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
