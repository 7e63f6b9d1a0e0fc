//! `summary.json` of a training run: per run the final test accuracy, the
//! weights file and the barrier series, and per architecture the spread of
//! the final accuracy over seeds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StepRow, TrainingParams, TrainingUnit};

/// Per run in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Architecture name (`mlp`, `cnn`, `lenet5`, …) of the run.
    pub arch: String,
    /// Training seed of the run, an entry of `params.seeds`.
    pub seed: u64,
    /// Number of epochs trained (rows of the run in `epochs.csv`).
    pub epochs: usize,
    /// Test accuracy after the last epoch.
    pub test_accuracy: f64,
    /// Test loss after the last epoch.
    pub test_loss: f64,
    /// The weights, relative to the run directory.
    pub model_file: String,
    /// Optimiser steps at which the barriers were measured (0: the initialisation).
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
    /// Number of runs of the architecture, one per training seed.
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
    /// Data set trained and tested on, `params.data` (`mnist` or `fashion-mnist`).
    pub data: String,
    /// Summary of each run, keyed by run id (e.g. `cnn-s1`).
    pub runs: BTreeMap<String, RunSummary>,
    /// Accuracy spread over seeds of each architecture, keyed by architecture name.
    pub archs: BTreeMap<String, ArchSummary>,
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
