//! Training as a runner experiment (`kind = "training"`), with the
//! evolution of input-space barriers over the first training batches.
//!
//! One unit per (architecture, training seed): the network is trained with
//! [`crate::nn::train::fit`] (each architecture's recipe, any field
//! overridden by `[params.recipe]`), and its final weights are written as the
//! unit's artefact `artifacts/<id>/model.safetensors` — a weights file every
//! other command and experiment accepts as a model. Training is seeded and
//! does not depend on the thread count, so reruns, resumed runs and merged
//! shards hold byte-identical weights.
//!
//! With a `[params.barriers]` table the unit also watches the training (a
//! [`TrainObserver`]): after each listed optimiser step (0 = the
//! initialisation) it measures, on the weights as they stand,
//!
//! * the test accuracy and mean test loss;
//! * the median barrier max and gap of straight paths between real test
//!   images of the same class, and the median barrier max between real test
//!   images of different classes (the pairs are fixed for the whole run);
//! * for synthetic modes (science.md §3, "over the first training batches
//!   the barriers between FVO inputs change"): two FVO inputs per pair made
//!   on the current weights, the barrier of the straight path between them,
//!   and that of the path after free bend rounds.
//!
//! Files of a finished run:
//!
//! * `epochs.csv` — per run and epoch: training and test loss and accuracy;
//! * `barriers.csv` — per run and observed step: the measurements above;
//! * `summary.json` — per run: final test accuracy, the model file and the
//!   barrier series; per architecture: mean and spread of the final accuracy
//!   over seeds;
//! * `figures/accuracy`, `figures/barrier-evolution` and
//!   `figures/fvo-barrier-evolution` (PNG + SVG).
//!
//! This module holds the units and their rows; the parameters are in
//! `params.rs`, the observer that measures during training in `watcher.rs`,
//! `summary.json` in `summary.rs`, the figures in `figures.rs` and the
//! report in `report.rs`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{prefix, write_csv, write_json};
use crate::nn::arch::Arch;
use crate::nn::train::{fit, NoObserver, TrainConfig, TrainObserver, MODEL_FILE};
use crate::progress::NoProgress;
use crate::rng::derive_seed;

mod figures;
mod params;
mod report;
mod summary;
mod watcher;

pub use figures::draw_figures;
pub use params::{BarrierSchedule, RecipeOverrides, TrainingParams};
pub use report::write_report;
pub use summary::{summarise, ArchSummary, RunSummary, TrainingSummary};
use watcher::BarrierWatcher;

/// One epoch of one run (`epochs.csv`; no wall-clock time, so that the
/// file is a pure function of the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    /// Run id, e.g. `cnn-s1`.
    pub run: String,
    /// Architecture name (`mlp`, `cnn`, `lenet5`, …) of the run.
    pub arch: String,
    /// Training seed of the run, an entry of `params.seeds`.
    pub seed: u64,
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean training loss (augmented batches, as seen).
    pub train_loss: f64,
    /// Training accuracy (augmented batches, as seen).
    pub train_accuracy: f64,
    /// Test loss after the epoch.
    pub test_loss: f64,
    /// Test accuracy after the epoch.
    pub test_accuracy: f64,
}

/// The measurements after one optimiser step (`barriers.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    /// Run id, e.g. `cnn-s1`.
    pub run: String,
    /// Optimiser steps taken (0: initialisation).
    pub step: usize,
    /// `step` in epochs.
    pub epoch: f64,
    /// Accuracy on the held-out test set after `step` steps.
    pub test_accuracy: f64,
    /// Mean test cross-entropy.
    pub test_loss: f64,
    /// Median barrier max of same-class real pairs.
    pub real_barrier_max: Option<f64>,
    /// Median barrier gap of same-class real pairs.
    pub real_barrier_gap: Option<f64>,
    /// Median endpoint CE of same-class real pairs.
    pub real_endpoint_loss: Option<f64>,
    /// Median barrier max of cross-class real pairs.
    pub cross_barrier_max: Option<f64>,
    /// Largest CE of the FVO endpoints.
    pub fvo_max_loss: Option<f64>,
    /// Fraction of FVO endpoints below the FVO loss threshold.
    pub fvo_converged: Option<f64>,
    /// Median barrier max of the straight paths between FVO inputs.
    pub fvo_linear_barrier_max: Option<f64>,
    /// Median barrier max after the bend rounds.
    pub fvo_bent_barrier_max: Option<f64>,
}

/// One unit: a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingUnit {
    /// Run id, `ARCH-sSEED` (e.g. `cnn-s1`), also the unit's name.
    pub run: String,
    /// Architecture name (`mlp`, `cnn`, `lenet5`, …) of the run.
    pub arch: String,
    /// Training seed of the run, an entry of `params.seeds`; for `mnist` it
    /// also seeds the hold-out split.
    pub seed: u64,
    /// The recipe used: the architecture's default with `params.recipe` applied.
    pub config: TrainConfig,
    /// Optimiser steps taken.
    pub steps: usize,
    /// One row per finished epoch, as in `epochs.csv`.
    pub epochs: Vec<EpochRow>,
    /// Per measured step (empty without `[params.barriers]`).
    pub measurements: Vec<StepRow>,
    /// The weights, relative to the run directory.
    pub model_file: String,
}

/// The experiment with its architectures resolved.
pub struct Training {
    params: TrainingParams,
    archs: Vec<Arch>,
    item_shape: Vec<usize>,
    classes: usize,
}

impl Training {
    /// Resolves the architectures for the data's shape (the data are loaded
    /// once here to check them; each unit loads its own split).
    pub fn new(params: TrainingParams) -> Result<Self> {
        params.validate()?;
        // The shape and classes only: the test split is enough (and small).
        let probe = match params.data.as_str() {
            "mnist" | "fashion-mnist" => crate::data::load(&params.data),
            _ => crate::data::train_test(&params.data, params.seeds[0]).map(|t| t.1),
        }
        .map_err(|e| prefix(e, "params.data: "))?;
        let (item_shape, classes) = (probe.item_shape().to_vec(), probe.classes());
        let mut archs = Vec::new();
        for a in &params.archs {
            let arch = if a.trim_start().starts_with('{') {
                let arch: Arch = serde_json::from_str(a)
                    .map_err(|e| Error::invalid("params.archs", a, e.to_string()))?;
                arch.validate().map_err(|e| prefix(e, "params.archs: "))?;
                arch
            } else {
                Arch::from_name(a, &item_shape, classes).map_err(|e| prefix(e, "params.archs: "))?
            };
            archs.push(arch);
        }
        Ok(Training {
            params,
            archs,
            item_shape,
            classes,
        })
    }

    /// Checks each architecture's recipe (the defaults with the overrides
    /// applied), and that every run reaches at least one of the measured
    /// steps, before anything is trained or written.
    fn check_recipes(&self) -> Result<()> {
        let seed = self.params.seeds[0];
        for a in 0..self.archs.len() {
            self.recipe(a, seed)
                .validate()
                .map_err(|e| prefix(e, "params.recipe."))?;
        }
        let Some(b) = &self.params.barriers else {
            return Ok(());
        };
        let train_len = crate::data::train_test(&self.params.data, seed)?.0.len();
        for a in 0..self.archs.len() {
            let cfg = self.recipe(a, seed);
            let last = train_len.div_ceil(cfg.batch).saturating_mul(cfg.epochs);
            if b.steps.iter().all(|&s| s > last) {
                return Err(Error::invalid(
                    "params.barriers.steps",
                    format!("{:?}", b.steps),
                    format!(
                        "{} trains for {last} steps ({} epochs of {} batches), so no listed step is ever reached",
                        self.archs[a].name(),
                        cfg.epochs,
                        train_len.div_ceil(cfg.batch)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn unit(&self, index: usize) -> (usize, u64) {
        let n = self.params.seeds.len();
        (index / n, self.params.seeds[index % n])
    }

    fn run_id(&self, index: usize) -> String {
        let (a, seed) = self.unit(index);
        let name = self.archs[a].name();
        // Two JSON architectures of one kind need the position to differ.
        let dup = self.archs.iter().filter(|x| x.name() == name).count() > 1;
        if dup {
            format!("{name}{a}-s{seed}")
        } else {
            format!("{name}-s{seed}")
        }
    }

    /// The recipe of architecture `a` with training seed `seed`.
    fn recipe(&self, a: usize, seed: u64) -> TrainConfig {
        let r = &self.params.recipe;
        let base = TrainConfig::for_arch(self.archs[a].clone(), seed);
        TrainConfig {
            init: r
                .init
                .as_deref()
                .map(|s| s.parse().expect("validated"))
                .unwrap_or(base.init),
            epochs: r.epochs.unwrap_or(base.epochs),
            batch: r.batch.unwrap_or(base.batch),
            lr: r.lr.unwrap_or(base.lr),
            weight_decay: r.weight_decay.unwrap_or(base.weight_decay),
            optimizer: r.optimizer.unwrap_or(base.optimizer),
            shift: r.shift.unwrap_or(base.shift),
            rotate_degrees: r.rotate_degrees.unwrap_or(base.rotate_degrees),
            scale: r.scale.unwrap_or(base.scale),
            ..base
        }
    }
}

impl Experiment for Training {
    type Output = TrainingUnit;

    fn preflight(&self) -> Result<()> {
        self.check_recipes()
    }

    fn units(&self) -> Vec<String> {
        (0..self.archs.len() * self.params.seeds.len())
            .map(|i| self.run_id(i))
            .collect()
    }

    fn run_unit(&self, index: usize, files: &UnitFiles) -> Result<TrainingUnit> {
        let (a, seed) = self.unit(index);
        let run = self.run_id(index);
        let cfg = self.recipe(a, seed);
        let (train_set, test_set) = crate::data::train_test(&self.params.data, seed)?;
        let steps_per_epoch = train_set.len().div_ceil(cfg.batch);
        let mut watcher = match &self.params.barriers {
            Some(b) => Some(BarrierWatcher::new(
                self,
                b,
                &test_set,
                derive_seed(self.params.seed, &[0x7A, index as u64]),
                &run,
                steps_per_epoch,
            )?),
            None => None,
        };
        let mut unwatched = NoObserver;
        let observer: &mut dyn TrainObserver = match watcher.as_mut() {
            Some(w) => w,
            None => &mut unwatched,
        };
        let trained = fit(&cfg, &train_set, &test_set, &NoProgress, observer)?;
        let measurements = match watcher {
            Some(w) => w.finish()?,
            None => Vec::new(),
        };
        let model_path = files.path(MODEL_FILE)?;
        trained.save(&model_path)?;
        let arch = self.archs[a].name().to_string();
        let epochs = trained
            .log
            .epochs
            .iter()
            .map(|e| EpochRow {
                run: run.clone(),
                arch: arch.clone(),
                seed,
                epoch: e.epoch,
                train_loss: e.train_loss,
                train_accuracy: e.train_accuracy,
                test_loss: e.test_loss,
                test_accuracy: e.test_accuracy,
            })
            .collect();
        Ok(TrainingUnit {
            model_file: format!("artifacts/{run}/{MODEL_FILE}"),
            run,
            arch,
            seed,
            config: cfg,
            steps: trained.steps,
            epochs,
            measurements,
        })
    }

    fn finish(&self, units: Vec<TrainingUnit>, dir: &Path) -> Result<()> {
        let epochs: Vec<EpochRow> = units.iter().flat_map(|u| u.epochs.clone()).collect();
        write_csv(&dir.join("epochs.csv"), &epochs)?;
        let steps: Vec<StepRow> = units.iter().flat_map(|u| u.measurements.clone()).collect();
        write_csv(&dir.join("barriers.csv"), &steps)?;
        write_json(&dir.join("summary.json"), &summarise(&self.params, &units))
    }

    fn draw_figures(&self, dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
        draw_figures(dir, out)
    }

    fn write_report(&self, dir: &Path) -> Result<PathBuf> {
        write_report(dir, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputspace::bypass::{BypassConfig, RoundsConfig};
    use crate::inputspace::fvo::FvoConfig;
    use crate::nn::init::Init;

    fn params() -> TrainingParams {
        TrainingParams {
            data: "mnist".into(),
            archs: vec!["mlp".into()],
            seeds: vec![1],
            seed: 1,
            recipe: RecipeOverrides::default(),
            barriers: Some(BarrierSchedule {
                steps: vec![0, 10],
                real_pairs: 2,
                cross_pairs: 2,
                fvo_pairs: 1,
                points: 10,
            }),
            fvo: FvoConfig::default(),
            bypass: BypassConfig::free(),
            rounds: RoundsConfig::default(),
        }
    }

    #[test]
    fn bad_params_name_the_field() {
        assert!(params().validate().is_ok());
        let mut p = params();
        p.seeds = vec![1, 1];
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("params.seeds"));
        let mut p = params();
        p.barriers.as_mut().unwrap().steps = vec![10, 5];
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("params.barriers.steps"), "{e}");
        let mut p = params();
        p.recipe.init = Some("orthogonal".into());
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("params.recipe.init"), "{e}");
        let mut p = params();
        p.archs.clear();
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("params.archs"));
    }

    #[test]
    fn recipe_overrides_only_what_is_given() {
        let mut p = params();
        p.archs = vec!["cnn".into()];
        p.recipe.epochs = Some(2);
        p.recipe.init = Some("kaiming-normal".into());
        let t = Training::new(p).unwrap();
        let r = t.recipe(0, 7);
        let base = TrainConfig::for_arch(t.archs[0].clone(), 7);
        assert_eq!(r.epochs, 2);
        assert_eq!(r.init, Init::KaimingNormal);
        assert_eq!((r.lr, r.batch, r.shift), (base.lr, base.batch, base.shift));
        assert_eq!(r.seed, 7);
    }
}
