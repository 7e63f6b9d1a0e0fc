//! What a training loop reports to: the [`TrainObserver`] trait, the
//! [`Snapshot`] of the weights it is handed, and the observer of
//! [`super::train`] that writes snapshots and the log as files.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;

use candle_core::Tensor;
use candle_nn::VarMap;

use super::{write_log, TrainLog};
use crate::error::{Error, Result};
use crate::nn::arch::{Arch, BoxedModule, ARCH_METADATA_KEY};
use crate::nn::{Classifier, InputSpec, Network};

pub(super) struct Live<'a> {
    pub(super) module: &'a BoxedModule,
    pub(super) spec: InputSpec,
}

impl Classifier for Live<'_> {
    fn spec(&self) -> &InputSpec {
        &self.spec
    }
    fn forward_unchecked(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.module.forward(x)
    }
}

pub(super) fn var_tensors(vm: &VarMap) -> Vec<(String, Tensor)> {
    let data = vm.data().lock().expect("var map lock");
    let mut v: Vec<(String, Tensor)> = data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

pub(super) fn save_tensors(
    tensors: &[(String, Tensor)],
    arch: &Arch,
    path: &Path,
    step: usize,
) -> Result<()> {
    let meta = HashMap::from([
        (ARCH_METADATA_KEY.to_string(), arch.to_json()),
        ("ismc.step".to_string(), step.to_string()),
    ]);
    crate::nn::weights::write_safetensors(path, tensors, &meta)
}

/// The weights of a network in training, as they stand after `step`
/// optimiser steps; handed to a [`TrainObserver`], valid during the call.
pub struct Snapshot<'a> {
    pub(super) vm: &'a VarMap,
    pub(super) arch: &'a Arch,
    pub(super) step: usize,
}

impl Snapshot<'_> {
    /// Optimiser steps taken so far (0: the initialisation).
    pub fn step(&self) -> usize {
        self.step
    }

    /// Architecture (with widths) of the network being trained.
    pub fn arch(&self) -> &Arch {
        self.arch
    }

    /// A copy of the parameters, sorted by name (later steps do not change it).
    pub fn tensors(&self) -> Result<Vec<(String, Tensor)>> {
        var_tensors(self.vm)
            .into_iter()
            .map(|(k, t)| Ok((k, t.copy()?)))
            .collect()
    }

    /// A frozen network with these weights, for measurements through the
    /// [`Classifier`] trait (input gradients included).
    pub fn network(&self) -> Result<Network> {
        Network::from_tensors(self.arch.clone(), self.tensors()?)
    }

    /// Writes these weights as safetensors (architecture and step as
    /// metadata), atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        save_tensors(&var_tensors(self.vm), self.arch, path, self.step)
    }
}

/// Watches a training run. Every method may stop it by returning
/// [`ControlFlow::Break`]; [`fit`](super::fit) then returns what it has so far.
pub trait TrainObserver {
    /// Called once before the first step (`model.step() == 0`) and after
    /// every optimiser step.
    fn after_step(&mut self, _model: &Snapshot<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    /// Called after every epoch, with the log up to and including it.
    fn after_epoch(&mut self, _log: &TrainLog, _model: &Snapshot<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

/// An observer that watches nothing.
pub struct NoObserver;

impl TrainObserver for NoObserver {}

/// The result of [`fit`](super::fit): the log and the final weights.
pub struct Trained {
    /// Per-epoch figures (`snapshots` empty: files are the observer's).
    pub log: TrainLog,
    /// The final parameters, sorted by name.
    pub tensors: Vec<(String, Tensor)>,
    /// Optimiser steps taken.
    pub steps: usize,
}

impl Trained {
    /// A frozen network with the final weights.
    pub fn network(&self) -> Result<Network> {
        Network::from_tensors(self.log.config.arch.clone(), self.tensors.clone())
    }

    /// Writes the final weights as safetensors (architecture and step as
    /// metadata), atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        save_tensors(&self.tensors, &self.log.config.arch, path, self.steps)
    }
}

/// The observer of [`train`]: snapshots every `every` steps and the log
/// after every epoch, as files under `out`.
pub(super) struct FileObserver<'a> {
    pub(super) out: &'a Path,
    pub(super) every: usize,
    pub(super) snapshots: Vec<(usize, String)>,
    pub(super) error: Option<Error>,
}

impl FileObserver<'_> {
    fn attempt(&mut self, r: Result<()>) -> ControlFlow<()> {
        match r {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

impl TrainObserver for FileObserver<'_> {
    fn after_step(&mut self, model: &Snapshot<'_>) -> ControlFlow<()> {
        let step = model.step();
        if self.every == 0 || step == 0 || step % self.every != 0 {
            return ControlFlow::Continue(());
        }
        let rel = format!("snapshots/step-{step:07}.safetensors");
        let r = model.save(&self.out.join(&rel));
        self.snapshots.push((step, rel));
        self.attempt(r)
    }

    fn after_epoch(&mut self, log: &TrainLog, _model: &Snapshot<'_>) -> ControlFlow<()> {
        let mut log = log.clone();
        log.snapshots = self.snapshots.clone();
        let r = write_log(&self.out.join("log.json"), &log);
        self.attempt(r)
    }
}
