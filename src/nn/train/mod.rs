//! Training with candle-nn: seeded initialisation, seeded shuffling, AdamW
//! or plain SGD with a cosine learning-rate schedule, optional random
//! translations, rotations and rescalings of the training images, a JSON log
//! per epoch and weight snapshots every N batches.
//!
//! [`TrainConfig::for_arch`] holds each architecture's default recipe; the
//! small CNN's is tuned for the bundled MNIST digits (see its docs).
//!
//! The algorithm is [`TrainConfig`]; [`fit`] owns the loop and reports to a
//! [`TrainObserver`] before the first step, after every step and after every
//! epoch, handing it a [`Snapshot`] of the weights as they stand. [`train`]
//! is `fit` with the observer that writes snapshots and the log, every file
//! atomically, so an interrupted run leaves only complete files; experiments
//! use other observers (barriers measured during training).

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarMap};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::arch::Arch;
use super::cross_entropy;
use super::eval::{evaluate, EvalReport};
use super::init::{self, Init};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::progress::{NoProgress, Progress};
use crate::rng::{stream, unit_rng};

mod augment;
mod observer;

#[cfg(test)]
use augment::warp;
use augment::{affine_batch, shift_batch};
use observer::{FileObserver, Live};
pub use observer::{NoObserver, Snapshot, TrainObserver, Trained};

/// Optimiser that updates the weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// AdamW (β = 0.9, 0.999; ε = 1e-8).
    Adamw,
    /// Plain stochastic gradient descent.
    Sgd,
}

/// What to train and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Architecture and widths.
    pub arch: Arch,
    /// Initialisation of the weights.
    pub init: Init,
    /// Passes over the training set.
    pub epochs: usize,
    /// Training images per optimiser step (an epoch's last batch may be smaller).
    pub batch: usize,
    /// Peak learning rate (cosine decay to zero over all steps).
    pub lr: f64,
    /// Decoupled weight decay (AdamW) or L2 (SGD; ignored).
    pub weight_decay: f64,
    /// Optimiser: AdamW or plain SGD.
    pub optimizer: OptimizerKind,
    /// Random translation of each training image by up to this many pixels
    /// in each direction (0: none). Whole pixels when there is no rotation
    /// or rescaling, else any offset in ±shift.
    pub shift: usize,
    /// Random rotation of each training image about its centre by an angle
    /// uniform in ±this many degrees (0: none).
    #[serde(default)]
    pub rotate_degrees: f64,
    /// Random rescaling of each training image about its centre by a factor
    /// uniform in 1 ± this (0: none).
    #[serde(default)]
    pub scale: f64,
    /// Master seed: initialisation, shuffling and augmentation.
    pub seed: u64,
    /// Save a snapshot of the weights every this many batches (0: never).
    pub snapshot_every: usize,
}

impl TrainConfig {
    /// The default recipe of an architecture: AdamW, batch 64, peak
    /// learning rate 1e-3 with cosine decay, weight decay 1e-4, and
    ///
    /// * for the small CNN ([`Arch::Cnn`]): 30 epochs with random
    ///   translations (±2 px), rotations (±10°) and rescalings (±10 %):
    ///   98.85 % on the seed-1 MNIST hold-out (`ismc train --arch cnn --data
    ///   mnist --seed 1`) and 98.60 % on seed 2's, against 98.50 % / 98.65 %
    ///   for 30 epochs of translations only and 98.00–98.15 % for the former
    ///   15 (seed 1): the longer schedule does most of it;
    /// * for the MLP ([`Arch::Mlp`]): 30 epochs with random translations
    ///   (±2 px): 97.70 % on the seed-1 hold-out, against 94.10 % for 10
    ///   epochs without augmentation (`results/training-mnist` before the
    ///   change) — 8,000 digits are few for 270k weights;
    /// * for the others: 10 epochs without augmentation.
    pub fn for_arch(arch: Arch, seed: u64) -> Self {
        let cnn = matches!(arch, Arch::Cnn(_));
        let mlp = matches!(arch, Arch::Mlp(_));
        TrainConfig {
            arch,
            init: Init::PytorchDefault,
            epochs: if cnn || mlp { 30 } else { 10 },
            batch: 64,
            lr: 1e-3,
            weight_decay: 1e-4,
            optimizer: OptimizerKind::Adamw,
            shift: if cnn || mlp { 2 } else { 0 },
            rotate_degrees: if cnn { 10.0 } else { 0.0 },
            scale: if cnn { 0.1 } else { 0.0 },
            seed,
            snapshot_every: 0,
        }
    }

    /// Checks the recipe (architecture, epochs, batch, rates, augmentation),
    /// naming the field; [`train`] calls it first.
    pub fn validate(&self) -> Result<()> {
        self.arch.validate()?;
        if let Arch::Resnet(_) = self.arch {
            return Err(Error::invalid(
                "arch",
                self.arch.name(),
                "ResNet's BatchNorm is implemented in inference form only; it cannot be trained",
            ));
        }
        if self.epochs == 0 {
            return Err(Error::invalid("epochs", 0, "expected at least 1"));
        }
        if self.batch == 0 {
            return Err(Error::invalid("batch", 0, "expected at least 1"));
        }
        if !(0.0..=180.0).contains(&self.rotate_degrees) {
            return Err(Error::invalid(
                "rotate",
                self.rotate_degrees,
                "expected degrees in [0, 180]",
            ));
        }
        if !(0.0..1.0).contains(&self.scale) {
            return Err(Error::invalid(
                "scale",
                self.scale,
                "expected a fraction in [0, 1)",
            ));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::invalid("lr", self.lr, "expected a positive number"));
        }
        Ok(())
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Training accuracy over the epoch (on augmented batches, as seen).
    pub train_accuracy: f64,
    /// Test loss at the end of the epoch.
    pub test_loss: f64,
    /// Test accuracy at the end of the epoch.
    pub test_accuracy: f64,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
}

/// The JSON log written to `out/log.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainLog {
    /// Version of `ismc` that trained the network.
    pub crate_version: String,
    /// The training configuration the run used.
    pub config: TrainConfig,
    /// Training set name and size.
    pub train_data: (String, usize),
    /// Test set name and size.
    pub test_data: (String, usize),
    /// One record per finished epoch.
    pub epochs: Vec<EpochRecord>,
    /// Snapshot files (relative to the output directory) with their step.
    pub snapshots: Vec<(usize, String)>,
    /// The final weights, relative to the output directory.
    pub model_file: String,
}

/// Trains `cfg.arch` on `train_set`, evaluating on `test_set` after each
/// epoch, and reports to `observer` (see [`TrainObserver`]). Writes no file.
///
/// Deterministic: the weights and the log (all but `seconds`) depend only on
/// `cfg` and the data, not on the thread count.
pub fn fit(
    cfg: &TrainConfig,
    train_set: &Dataset,
    test_set: &Dataset,
    progress: &dyn Progress,
    observer: &mut dyn TrainObserver,
) -> Result<Trained> {
    cfg.validate()?;
    let spec = cfg.arch.spec();
    for d in [train_set, test_set] {
        if d.item_shape() != spec.item_shape.as_slice() || d.classes() != spec.classes {
            return Err(Error::InputShape {
                what: format!("data set `{}`", d.name()),
                expected: spec.item_shape.clone(),
                found: d.item_shape().to_vec(),
            });
        }
    }
    if train_set.is_empty() {
        return Err(Error::invalid("training set", 0, "is empty"));
    }
    let vm = VarMap::new();
    let vb = candle_nn::VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    let module = cfg.arch.build(vb)?;
    init::apply(&vm, cfg.init, cfg.seed)?;

    let steps_per_epoch = train_set.len().div_ceil(cfg.batch);
    let total_steps = steps_per_epoch * cfg.epochs;
    let mut adamw;
    let mut sgd;
    let opt: &mut dyn FnMut(&Tensor, f64) -> candle_core::Result<()> = match cfg.optimizer {
        OptimizerKind::Adamw => {
            let mut o = candle_nn::AdamW::new(
                vm.all_vars(),
                candle_nn::ParamsAdamW {
                    lr: cfg.lr,
                    weight_decay: cfg.weight_decay,
                    ..Default::default()
                },
            )?;
            adamw = move |loss: &Tensor, lr: f64| {
                o.set_learning_rate(lr);
                o.backward_step(loss)
            };
            &mut adamw
        }
        OptimizerKind::Sgd => {
            let mut o = candle_nn::SGD::new(vm.all_vars(), cfg.lr)?;
            sgd = move |loss: &Tensor, lr: f64| {
                o.set_learning_rate(lr);
                o.backward_step(loss)
            };
            &mut sgd
        }
    };

    let mut log = TrainLog {
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        config: cfg.clone(),
        train_data: (train_set.name().to_string(), train_set.len()),
        test_data: (test_set.name().to_string(), test_set.len()),
        epochs: Vec::new(),
        snapshots: Vec::new(),
        model_file: MODEL_FILE.to_string(),
    };
    let snapshot = |step| Snapshot {
        vm: &vm,
        arch: &cfg.arch,
        step,
    };
    let done = |log: TrainLog, steps| -> Result<Trained> {
        Ok(Trained {
            log,
            tensors: snapshot(steps).tensors()?,
            steps,
        })
    };
    progress.set_total(total_steps as u64);
    let mut step = 0usize;
    if observer.after_step(&snapshot(0)).is_break() {
        return done(log, 0);
    }
    for epoch in 1..=cfg.epochs {
        let t0 = std::time::Instant::now();
        let mut order: Vec<usize> = (0..train_set.len()).collect();
        let mut rng = unit_rng(cfg.seed, &[stream::TRAIN, 1, epoch as u64]);
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0f64, 0usize);
        for chunk in order.chunks(cfg.batch) {
            let mut values = train_set.values(chunk);
            if cfg.rotate_degrees > 0.0 || cfg.scale > 0.0 {
                affine_batch(
                    &mut values,
                    &spec.item_shape,
                    cfg.shift,
                    cfg.rotate_degrees,
                    cfg.scale,
                    &mut rng,
                );
            } else if cfg.shift > 0 {
                shift_batch(&mut values, &spec.item_shape, cfg.shift, &mut rng);
            }
            let mut shape = vec![chunk.len()];
            shape.extend_from_slice(&spec.item_shape);
            let x = Tensor::from_vec(values, shape, &Device::Cpu)?;
            let targets: Vec<u32> = chunk
                .iter()
                .map(|&i| train_set.labels()[i] as u32)
                .collect();
            let logits = module.forward(&x)?;
            let per = cross_entropy(&logits, &targets)?;
            let loss = per.mean_all()?;
            let lr = cfg.lr
                * 0.5
                * (1.0 + (std::f64::consts::PI * step as f64 / total_steps as f64).cos());
            opt(&loss, lr)?;
            let l = loss.to_scalar::<f32>()? as f64;
            if !l.is_finite() {
                return Err(Error::invalid(
                    "lr",
                    cfg.lr,
                    format!("training diverged (loss {l}) at step {step}"),
                ));
            }
            loss_sum += l * chunk.len() as f64;
            let pred: Vec<u32> = logits.argmax(1)?.to_vec1()?;
            correct += pred.iter().zip(&targets).filter(|(p, t)| p == t).count();
            step += 1;
            progress.advance(1);
            if observer.after_step(&snapshot(step)).is_break() {
                return done(log, step);
            }
        }
        let live = Live {
            module: &module,
            spec: spec.clone(),
        };
        let EvalReport {
            accuracy,
            mean_loss,
            ..
        } = evaluate(&live, test_set, 500, &NoProgress)?;
        log.epochs.push(EpochRecord {
            epoch,
            train_loss: loss_sum / train_set.len() as f64,
            train_accuracy: correct as f64 / train_set.len() as f64,
            test_loss: mean_loss,
            test_accuracy: accuracy,
            seconds: t0.elapsed().as_secs_f64(),
        });
        progress.set_message(format!("epoch {epoch}: test {:.2}%", 100.0 * accuracy));
        if observer.after_epoch(&log, &snapshot(step)).is_break() {
            return done(log, step);
        }
    }
    done(log, step)
}

/// File name of the final weights written by [`train`].
pub const MODEL_FILE: &str = "model.safetensors";

/// Trains `cfg.arch` on `train_set`, evaluating on `test_set` after each
/// epoch; writes `out/model.safetensors`, `out/log.json` (after every epoch)
/// and, every `cfg.snapshot_every` steps,
/// `out/snapshots/step-NNNNNNN.safetensors`.
pub fn train(
    cfg: &TrainConfig,
    train_set: &Dataset,
    test_set: &Dataset,
    out: &Path,
    progress: &dyn Progress,
) -> Result<TrainLog> {
    let mut files = FileObserver {
        out,
        every: cfg.snapshot_every,
        snapshots: Vec::new(),
        error: None,
    };
    let trained = fit(cfg, train_set, test_set, progress, &mut files)?;
    if let Some(e) = files.error {
        return Err(e);
    }
    trained.save(&out.join(MODEL_FILE))?;
    // `log.json` is already written, snapshots included, after the last epoch.
    let mut log = trained.log;
    log.snapshots = files.snapshots;
    Ok(log)
}

pub(super) fn write_log(path: &Path, log: &TrainLog) -> Result<()> {
    let text = serde_json::to_string_pretty(log).expect("log serialises");
    crate::assets::write_file(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn shift_moves_pixels_and_zero_fills() {
        let mut v: Vec<f32> = (0..9).map(|i| i as f32).collect();
        // Force a known shift by trying seeds until dy = 1, dx = 0.
        for seed in 0..200u64 {
            let mut r = unit_rng(seed, &[0]);
            let dy = r.random_range(-1i64..=1);
            let dx = r.random_range(-1i64..=1);
            if dy == 1 && dx == 0 {
                let mut r = unit_rng(seed, &[0]);
                shift_batch(&mut v, &[1, 3, 3], 1, &mut r);
                assert_eq!(v, vec![0., 0., 0., 0., 1., 2., 3., 4., 5.]);
                return;
            }
        }
        panic!("no seed gave the shift");
    }

    /// The warp is exact on the pixel grid: a whole-pixel translation equals
    /// [`shift_batch`]'s, a quarter turn permutes the pixels, doubling the
    /// scale reads the centre at half the distance (bilinear midpoints), and
    /// the random batch version changes images yet keeps them in [0, 1].
    #[test]
    fn warp_translates_rotates_and_scales() {
        let v: Vec<f32> = (0..9).map(|i| i as f32).collect();
        let mut out = vec![0f32; 9];
        warp(&v, &mut out, &[1, 3, 3], 0.0, 1.0, (1.0, 0.0));
        assert_eq!(out, vec![0., 0., 0., 0., 1., 2., 3., 4., 5.]);
        warp(
            &v,
            &mut out,
            &[1, 3, 3],
            std::f64::consts::FRAC_PI_2,
            1.0,
            (0.0, 0.0),
        );
        let want = [6., 3., 0., 7., 4., 1., 8., 5., 2.];
        for (a, b) in out.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{out:?}");
        }
        warp(&v, &mut out, &[1, 3, 3], 0.0, 2.0, (0.0, 0.0));
        // Output (0, 0) reads input (0.5, 0.5): the mean of 0, 1, 3, 4.
        assert!((out[0] - 2.0).abs() < 1e-6 && out[4] == 4.0, "{out:?}");
        // Two channels move together.
        let two: Vec<f32> = (0..18).map(|i| (i % 9) as f32).collect();
        let mut out2 = vec![0f32; 18];
        warp(&two, &mut out2, &[2, 3, 3], 0.3, 0.9, (0.4, -0.7));
        assert_eq!(out2[..9], out2[9..]);

        let data = crate::data::load("mnist").unwrap();
        let mut x = data.values(&[0, 1, 2, 3]);
        let orig = x.clone();
        let mut rng = unit_rng(1, &[0]);
        affine_batch(&mut x, &[1, 28, 28], 2, 10.0, 0.1, &mut rng);
        assert_ne!(x, orig);
        assert!(x.iter().all(|&p| (-1e-6..=1.0 + 1e-6).contains(&p)));
        let moved = |i: usize| x[i * 784..(i + 1) * 784] != orig[i * 784..(i + 1) * 784];
        assert!((0..4).all(moved));
    }
}
