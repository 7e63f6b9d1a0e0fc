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

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{figure_links, prefix, read_csv, read_json, write_csv, write_json};
use crate::inputspace::bypass::{bypass_many, free_defaults, BypassConfig, RoundsConfig};
use crate::inputspace::fvo::{synthesize, FvoConfig};
use crate::inputspace::pairs::linear_barriers;
use crate::nn::arch::Arch;
use crate::nn::eval::evaluate;
use crate::nn::init::Init;
use crate::nn::train::{
    fit, NoObserver, OptimizerKind, Snapshot, TrainConfig, TrainObserver, MODEL_FILE,
};
use crate::plot::k_series::{KSeries, KSeriesFigure};
use crate::progress::NoProgress;
use crate::rng::{derive_seed, unit_rng};
use crate::stats::quantile;

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

/// Optional overrides of [`TrainConfig::for_arch`]'s recipe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeOverrides {
    /// Passes over the training set.
    pub epochs: Option<usize>,
    /// Mini-batch size.
    pub batch: Option<usize>,
    /// Peak learning rate.
    pub lr: Option<f64>,
    /// Weight decay.
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

/// One epoch of one run (`epochs.csv`; no wall-clock time, so that the
/// file is a pure function of the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    /// Run id, e.g. `cnn-s1`.
    pub run: String,
    /// Architecture name.
    pub arch: String,
    /// Training seed.
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
    /// Run id.
    pub run: String,
    /// Optimiser steps taken (0: initialisation).
    pub step: usize,
    /// `step` in epochs.
    pub epoch: f64,
    /// Test accuracy.
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
    /// Run id.
    pub run: String,
    /// Architecture name.
    pub arch: String,
    /// Training seed.
    pub seed: u64,
    /// The recipe used.
    pub config: TrainConfig,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Per epoch.
    pub epochs: Vec<EpochRow>,
    /// Per measured step (empty without `[params.barriers]`).
    pub measurements: Vec<StepRow>,
    /// The weights, relative to the run directory.
    pub model_file: String,
}

/// Per run in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Architecture name.
    pub arch: String,
    /// Training seed.
    pub seed: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// Test accuracy after the last epoch.
    pub test_accuracy: f64,
    /// Test loss after the last epoch.
    pub test_loss: f64,
    /// The weights, relative to the run directory.
    pub model_file: String,
    /// Measured steps.
    pub steps: Vec<usize>,
    /// Median same-class real barrier max per measured step.
    pub real_barrier_max: Vec<Option<f64>>,
    /// Median cross-class real barrier max per measured step.
    pub cross_barrier_max: Vec<Option<f64>>,
    /// Median straight-path barrier max between FVO inputs per step.
    pub fvo_linear_barrier_max: Vec<Option<f64>>,
    /// Median bent-path barrier max between FVO inputs per step.
    pub fvo_bent_barrier_max: Vec<Option<f64>>,
}

/// Per architecture in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchSummary {
    /// Runs (seeds).
    pub runs: usize,
    /// Mean final test accuracy.
    pub mean_test_accuracy: f64,
    /// Lowest final test accuracy.
    pub min_test_accuracy: f64,
    /// Highest final test accuracy.
    pub max_test_accuracy: f64,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Data set.
    pub data: String,
    /// Per run id.
    pub runs: BTreeMap<String, RunSummary>,
    /// Per architecture name.
    pub archs: BTreeMap<String, ArchSummary>,
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
        .map_err(|e| prefix(e.into(), "params.data: "))?;
        let (item_shape, classes) = (probe.item_shape().to_vec(), probe.classes());
        let mut archs = Vec::new();
        for a in &params.archs {
            let arch = if a.trim_start().starts_with('{') {
                let arch: Arch = serde_json::from_str(a)
                    .map_err(|e| Error::invalid("params.archs", a, e.to_string()))?;
                arch.validate()
                    .map_err(|e| prefix(e.into(), "params.archs: "))?;
                arch
            } else {
                Arch::from_name(a, &item_shape, classes)
                    .map_err(|e| prefix(e.into(), "params.archs: "))?
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

/// The fixed real pairs of a run and what has been measured so far.
struct BarrierWatcher<'a> {
    exp: &'a Training,
    schedule: &'a BarrierSchedule,
    test_set: &'a Dataset,
    seed: u64,
    run: String,
    steps_per_epoch: usize,
    /// Same-class pairs: (A, C, class) flattened.
    real: (Vec<f32>, Vec<f32>, Vec<u32>),
    /// Cross-class pairs: A, C and A's class.
    cross: (Vec<f32>, Vec<f32>, Vec<u32>),
    rows: Vec<StepRow>,
    error: Option<Error>,
}

impl<'a> BarrierWatcher<'a> {
    fn new(
        exp: &'a Training,
        schedule: &'a BarrierSchedule,
        test_set: &'a Dataset,
        seed: u64,
        run: &str,
        steps_per_epoch: usize,
    ) -> Result<Self> {
        let classes = exp.classes;
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
        for (i, &l) in test_set.labels().iter().enumerate() {
            by_class[l as usize].push(i);
        }
        let mut rng = unit_rng(seed, &[1]);
        let mut pick = |class: usize| -> Result<usize> {
            let v = &by_class[class];
            if v.is_empty() {
                return Err(Error::invalid(
                    "params.data",
                    test_set.name(),
                    format!("its test split has no image of class {class}"),
                ));
            }
            Ok(v[rand::Rng::random_range(&mut rng, 0..v.len())])
        };
        let mut real = (Vec::new(), Vec::new(), Vec::new());
        for j in 0..schedule.real_pairs {
            let class = j % classes;
            let i = pick(class)?;
            let mut k = pick(class)?;
            // A second draw of the same image would make a zero-length path.
            for _ in 0..16 {
                if k != i {
                    break;
                }
                k = pick(class)?;
            }
            real.0.extend(test_set.item(i));
            real.1.extend(test_set.item(k));
            real.2.push(class as u32);
        }
        let mut cross = (Vec::new(), Vec::new(), Vec::new());
        for j in 0..schedule.cross_pairs {
            let class = j % classes;
            let other = (class + 1 + j / classes % (classes - 1)) % classes;
            cross.0.extend(test_set.item(pick(class)?));
            cross.1.extend(test_set.item(pick(other)?));
            cross.2.push(class as u32);
        }
        Ok(BarrierWatcher {
            exp,
            schedule,
            test_set,
            seed,
            run: run.to_string(),
            steps_per_epoch,
            real,
            cross,
            rows: Vec::new(),
            error: None,
        })
    }

    fn measure(&self, model: &Snapshot<'_>) -> Result<StepRow> {
        let net = model.network()?;
        let b = self.schedule;
        let eval = evaluate(&net, self.test_set, 500, &NoProgress)?;
        let median = |v: Vec<f64>| (!v.is_empty()).then(|| quantile(&v, 0.5));
        let batch = 256;
        let (mut real_max, mut real_gap, mut real_end) = (Vec::new(), Vec::new(), Vec::new());
        if b.real_pairs > 0 {
            let (a, c, t) = &self.real;
            for m in linear_barriers(&net, a, c, t, b.points, batch)? {
                real_max.push(m.max);
                real_gap.push(m.gap);
                real_end.extend(m.endpoint_losses);
            }
        }
        let mut cross_max = Vec::new();
        if b.cross_pairs > 0 {
            let (a, c, t) = &self.cross;
            cross_max = linear_barriers(&net, a, c, t, b.points, batch)?
                .iter()
                .map(|m| m.max)
                .collect();
        }
        let (mut fvo_loss, mut fvo_conv, mut fvo_lin, mut fvo_bent) =
            (None, None, Vec::new(), Vec::new());
        if b.fvo_pairs > 0 {
            let classes = self.exp.classes;
            let targets: Vec<u32> = (0..b.fvo_pairs)
                .flat_map(|j| [(j % classes) as u32; 2])
                .collect();
            // The same noise at every step: only the weights change.
            let seeds: Vec<u64> = (0..2 * b.fvo_pairs)
                .map(|i| derive_seed(self.seed, &[2, i as u64]))
                .collect();
            let fvo = synthesize(&net, &targets, &seeds, &self.exp.params.fvo)?;
            fvo_loss = Some(fvo.losses.iter().map(|&l| l as f64).fold(0.0, f64::max));
            fvo_conv = Some(
                fvo.converged.iter().filter(|&&c| c).count() as f64 / fvo.converged.len() as f64,
            );
            let len = self.exp.item_shape.iter().product::<usize>();
            let (mut starts, mut ends) = (Vec::new(), Vec::new());
            for j in 0..b.fvo_pairs {
                starts.extend_from_slice(&fvo.inputs[2 * j * len..(2 * j + 1) * len]);
                ends.extend_from_slice(&fvo.inputs[(2 * j + 1) * len..(2 * j + 2) * len]);
            }
            let pair_targets: Vec<u32> = targets.iter().step_by(2).copied().collect();
            let reports = bypass_many(
                &net,
                &starts,
                &ends,
                &pair_targets,
                &self.exp.params.bypass,
                &self.exp.params.rounds,
            )?;
            for r in &reports {
                fvo_lin.push(r.rounds[0].barrier.max);
                fvo_bent.push(r.rounds.last().expect("round 0").barrier.max);
            }
        }
        Ok(StepRow {
            run: self.run.clone(),
            step: model.step(),
            epoch: model.step() as f64 / self.steps_per_epoch as f64,
            test_accuracy: eval.accuracy,
            test_loss: eval.mean_loss,
            real_barrier_max: median(real_max),
            real_barrier_gap: median(real_gap),
            real_endpoint_loss: median(real_end),
            cross_barrier_max: median(cross_max),
            fvo_max_loss: fvo_loss,
            fvo_converged: fvo_conv,
            fvo_linear_barrier_max: median(fvo_lin),
            fvo_bent_barrier_max: median(fvo_bent),
        })
    }

    fn finish(self) -> Result<Vec<StepRow>> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.rows),
        }
    }
}

impl TrainObserver for BarrierWatcher<'_> {
    fn after_step(&mut self, model: &Snapshot<'_>) -> ControlFlow<()> {
        if self.schedule.steps.binary_search(&model.step()).is_err() {
            return ControlFlow::Continue(());
        }
        match self.measure(model) {
            Ok(row) => {
                self.rows.push(row);
                ControlFlow::Continue(())
            }
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

/// Per-run and per-architecture summaries.
pub fn summarise(params: &TrainingParams, units: &[TrainingUnit]) -> TrainingSummary {
    let mut runs = BTreeMap::new();
    let mut by_arch: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for u in units {
        let last = u.epochs.last();
        let acc = last.map_or(f64::NAN, |e| e.test_accuracy);
        by_arch.entry(u.arch.clone()).or_default().push(acc);
        let col = |f: fn(&StepRow) -> Option<f64>| u.measurements.iter().map(f).collect();
        runs.insert(
            u.run.clone(),
            RunSummary {
                arch: u.arch.clone(),
                seed: u.seed,
                epochs: u.epochs.len(),
                test_accuracy: acc,
                test_loss: last.map_or(f64::NAN, |e| e.test_loss),
                model_file: u.model_file.clone(),
                steps: u.measurements.iter().map(|r| r.step).collect(),
                real_barrier_max: col(|r| r.real_barrier_max),
                cross_barrier_max: col(|r| r.cross_barrier_max),
                fvo_linear_barrier_max: col(|r| r.fvo_linear_barrier_max),
                fvo_bent_barrier_max: col(|r| r.fvo_bent_barrier_max),
            },
        );
    }
    let archs = by_arch
        .into_iter()
        .map(|(a, v)| {
            let s = ArchSummary {
                runs: v.len(),
                mean_test_accuracy: v.iter().sum::<f64>() / v.len() as f64,
                min_test_accuracy: v.iter().copied().fold(f64::INFINITY, f64::min),
                max_test_accuracy: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            };
            (a, s)
        })
        .collect();
    TrainingSummary {
        data: params.data.clone(),
        runs,
        archs,
    }
}

/// Draws the figures from `epochs.csv` and `barriers.csv`.
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let epochs: Vec<EpochRow> = read_csv(&dir.join("epochs.csv"))?;
    let steps: Vec<StepRow> = read_csv(&dir.join("barriers.csv"))?;
    let mut runs: Vec<String> = epochs.iter().map(|e| e.run.clone()).collect();
    runs.dedup();
    let series_of = |label: String, pts: Vec<(f64, f64)>| KSeries {
        label,
        points: pts.into_iter().map(|(x, y)| (x, y, 0.0)).collect(),
        intervals: None,
    };
    let mut written = Vec::new();
    let accuracy = KSeriesFigure {
        title: "Test accuracy during training".into(),
        x_label: "epoch".into(),
        y_label: "test error (1 − accuracy)".into(),
        log_y: true,
        series: runs
            .iter()
            .map(|r| {
                series_of(
                    r.clone(),
                    epochs
                        .iter()
                        .filter(|e| &e.run == r)
                        .map(|e| (e.epoch as f64, 1.0 - e.test_accuracy))
                        .collect(),
                )
            })
            .collect(),
        references: Vec::new(),
    };
    let (a, b) = crate::plot::save(&accuracy, &out.join("accuracy"))?;
    written.extend([a, b]);
    if steps.is_empty() {
        return Ok(written);
    }
    // The first batches change the barriers most: every figure is drawn for
    // the whole schedule and, as `*-early`, for the first EARLY_STEPS steps.
    const EARLY_STEPS: usize = 100;
    let column = |run: &str, f: fn(&StepRow) -> Option<f64>, last: usize| -> Vec<(f64, f64)> {
        steps
            .iter()
            .filter(|s| s.run == run && s.step <= last)
            .filter_map(|s| f(s).map(|v| (s.step as f64, v)))
            .collect()
    };
    type Column = (&'static str, fn(&StepRow) -> Option<f64>);
    let draw = |name: &str, title: &str, cols: &[Column], last: usize| {
        let series = runs
            .iter()
            .flat_map(|r| {
                cols.iter()
                    .map(|(what, f)| series_of(format!("{r}: {what}"), column(r, *f, last)))
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        let fig = KSeriesFigure {
            title: title.into(),
            x_label: "optimiser steps (batches) trained".into(),
            y_label: "median max cross-entropy on the path".into(),
            log_y: true,
            series,
            references: Vec::new(),
        };
        crate::plot::save(&fig, &out.join(name))
    };
    let real: [Column; 2] = [
        ("same class", |s| s.real_barrier_max),
        ("across classes", |s| s.cross_barrier_max),
    ];
    let fvo: [Column; 2] = [
        ("straight", |s| s.fvo_linear_barrier_max),
        ("bent", |s| s.fvo_bent_barrier_max),
    ];
    let real_title = "Straight-path barriers between real test images during training";
    let fvo_title = "Barriers between synthetic (FVO) inputs during training";
    let mut figures = vec![("barrier-evolution", real_title, &real)];
    if steps.iter().any(|s| s.fvo_linear_barrier_max.is_some()) {
        figures.push(("fvo-barrier-evolution", fvo_title, &fvo));
    }
    for (name, title, cols) in figures {
        let (a, b) = draw(name, title, cols, usize::MAX)?;
        written.extend([a, b]);
        if steps.iter().any(|s| s.step > EARLY_STEPS) {
            let early_title = format!("{title} (first {EARLY_STEPS} steps)");
            let (a, b) = draw(&format!("{name}-early"), &early_title, cols, EARLY_STEPS)?;
            written.extend([a, b]);
        }
    }
    Ok(written)
}

fn cell(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3e}"))
}

/// Writes `report.md` from `summary.json`, `barriers.csv` and the figures.
pub fn write_report(dir: &Path, params: &TrainingParams) -> Result<PathBuf> {
    let s: TrainingSummary = read_json(&dir.join("summary.json"))?;
    let steps: Vec<StepRow> = read_csv(&dir.join("barriers.csv"))?;
    let mut md = format!(
        "# Training on {}\n\n\
         Architectures {:?}, training seeds {:?}.\n\n\
         ## Final test accuracy\n\n\
         | run | epochs | test accuracy | test loss | weights |\n|---|---|---|---|---|\n",
        s.data, params.archs, params.seeds
    );
    for (id, r) in &s.runs {
        md.push_str(&format!(
            "| {id} | {} | {:.2} % | {:.4} | `{}` |\n",
            r.epochs,
            100.0 * r.test_accuracy,
            r.test_loss,
            r.model_file
        ));
    }
    if !steps.is_empty() {
        md.push_str(
            "\n## Barriers during training\n\n\
             Medians over the pairs; real pairs are fixed for the run, FVO \
             inputs are made again on the weights of each step from the same noise.\n\n\
             | run | step | epoch | test acc. | same-class max | same-class gap | \
             across-class max | FVO max CE | FVO straight | FVO bent |\n\
             |---|---|---|---|---|---|---|---|---|---|\n",
        );
        for r in &steps {
            md.push_str(&format!(
                "| {} | {} | {:.2} | {:.2} % | {} | {} | {} | {} | {} | {} |\n",
                r.run,
                r.step,
                r.epoch,
                100.0 * r.test_accuracy,
                cell(r.real_barrier_max),
                cell(r.real_barrier_gap),
                cell(r.cross_barrier_max),
                cell(r.fvo_max_loss),
                cell(r.fvo_linear_barrier_max),
                cell(r.fvo_bent_barrier_max),
            ));
        }
    }
    md.push_str(&figure_links(dir));
    let path = dir.join("report.md");
    crate::atomic::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

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
