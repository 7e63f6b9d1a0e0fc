//! Evaluation as a runner experiment (`kind = "evaluation"`): the accuracy,
//! its 95 % Wilson interval, the mean loss, the per-class accuracy and the
//! confusion matrix of every model on every data set.
//!
//! Models are any model spec (bundled or fetched names, weights files such
//! as those of a `training` run, `untrained:ARCH:INIT:SEED`); data sets are
//! the names of [`crate::data::load`] or `mnist-holdout:SEED`, the 2,000
//! digits that `ismc train --seed SEED` (and the training experiment) held
//! out — the honest test set of a network trained here.
//!
//! One unit per (model, data set). Files of a finished run:
//!
//! * `accuracy.csv` — one row per unit;
//! * `confusion.csv` — one row per (unit, label, prediction) with its count;
//! * `summary.json` — `accuracy`, `accuracy_ci` and `mean_loss` keyed by
//!   model then data set;
//! * `figures/per-class-accuracy` — per-class error per unit (PNG + SVG).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{figure_links, prefix, read_csv, write_csv, write_json};
use crate::nn::eval::{confusion, Confusion};
use crate::nn::{Classifier, Network};
use crate::plot::k_series::{KSeries, KSeriesFigure};
use crate::progress::NoProgress;
use crate::stats::wilson_interval;

/// Parameters of `kind = "evaluation"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationParams {
    /// Models to evaluate, as specs that [`load_spec`](crate::nn::zoo::load_spec) reads
    /// (bundled or fetched names, weights files, `untrained:ARCH:INIT:SEED`).
    pub models: Vec<String>,
    /// Data sets: `mnist`, `fashion-mnist`, `fashion-mnist-train` or
    /// `mnist-holdout:SEED`.
    pub data: Vec<String>,
    /// Inputs per forward pass.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Seed (unused: evaluation is deterministic; kept for the manifest).
    #[serde(default)]
    pub seed: u64,
}

fn default_batch() -> usize {
    500
}

impl EvaluationParams {
    /// Checks the fields, naming them as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        if self.models.is_empty() {
            return Err(Error::invalid(
                "params.models",
                "[]",
                "expected at least one model, e.g. \"lenet5-mnist\"",
            ));
        }
        if self.data.is_empty() {
            return Err(Error::invalid(
                "params.data",
                "[]",
                "expected at least one data set, e.g. \"mnist\"",
            ));
        }
        if self.batch == 0 {
            return Err(Error::invalid("params.batch", 0, "expected at least 1"));
        }
        for d in &self.data {
            holdout_seed(d)?;
        }
        Ok(())
    }
}

/// The seed of a `mnist-holdout:SEED` name (`None` for other names).
fn holdout_seed(name: &str) -> Result<Option<u64>> {
    match name.strip_prefix("mnist-holdout:") {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            Error::invalid(
                "params.data",
                name,
                "expected mnist-holdout:SEED with an integer seed, e.g. mnist-holdout:1",
            )
        }),
    }
}

/// Loads a data set named as in [`EvaluationParams::data`].
fn load_data(name: &str) -> Result<Dataset> {
    let d = match holdout_seed(name)? {
        Some(seed) => crate::data::train_test("mnist", seed).map(|t| t.1),
        None => crate::data::load(name),
    };
    d.map_err(|e| prefix(e, "params.data: "))
}

/// One unit: a model on a data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalUnit {
    /// Model spec, an entry of `params.models`.
    pub model: String,
    /// Data set name, an entry of `params.data`.
    pub data: String,
    /// Number of items evaluated: the whole data set.
    pub n: usize,
    /// Items classified correctly.
    pub correct: u64,
    /// Mean per-item cross-entropy against the labels.
    pub mean_loss: f64,
    /// `confusion[label][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

/// One row of `accuracy.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyRow {
    /// Model spec, an entry of `params.models`.
    pub model: String,
    /// Data set name, an entry of `params.data`.
    pub data: String,
    /// Number of items evaluated: the whole data set.
    pub n: usize,
    /// Fraction of items whose arg-max prediction is their label, `correct / n`.
    pub accuracy: f64,
    /// Lower end of the 95 % Wilson interval.
    pub accuracy_lo: f64,
    /// Upper end of the 95 % Wilson interval.
    pub accuracy_hi: f64,
    /// Mean per-item cross-entropy against the labels.
    pub mean_loss: f64,
    /// Lowest per-class accuracy.
    pub worst_class_accuracy: f64,
    /// The class with the lowest accuracy.
    pub worst_class: usize,
}

/// One row of `confusion.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionRow {
    /// Model spec, an entry of `params.models`.
    pub model: String,
    /// Data set name, an entry of `params.data`.
    pub data: String,
    /// True class of the items (their data-set label), from 0.
    pub label: usize,
    /// Class the model predicted (arg-max logit), from 0.
    pub predicted: usize,
    /// Number of items with this label and this prediction (zero counts included).
    pub count: u64,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationSummary {
    /// Accuracy by model, then data set.
    pub accuracy: BTreeMap<String, BTreeMap<String, f64>>,
    /// 95 % Wilson interval by model, then data set.
    pub accuracy_ci: BTreeMap<String, BTreeMap<String, (f64, f64)>>,
    /// Mean cross-entropy by model, then data set.
    pub mean_loss: BTreeMap<String, BTreeMap<String, f64>>,
}

/// The experiment: every (model, data set) pair.
pub struct Evaluation {
    params: EvaluationParams,
}

impl Evaluation {
    /// Checks the parameters (models and data load in the units).
    pub fn new(params: EvaluationParams) -> Result<Self> {
        params.validate()?;
        Ok(Evaluation { params })
    }

    /// Loads model `spec` for data set `name` (loaded as `data`), checking
    /// that they have the same classes.
    fn model_for(&self, spec: &str, name: &str, data: &Dataset) -> Result<Network> {
        let model = crate::nn::zoo::load_spec(spec, data.item_shape(), data.classes())
            .map_err(|e| prefix(e, "params.models: "))?;
        if model.spec().classes != data.classes() {
            return Err(Error::invalid(
                "params.models",
                spec,
                format!(
                    "has {} classes, data set {name} has {}",
                    model.spec().classes,
                    data.classes()
                ),
            ));
        }
        Ok(model)
    }

    fn unit(&self, index: usize) -> (usize, usize) {
        let n = self.params.data.len();
        (index / n, index % n)
    }
}

impl Experiment for Evaluation {
    type Output = EvalUnit;

    /// Every data set and model loads, and they agree on the classes.
    fn preflight(&self) -> Result<()> {
        for name in &self.params.data {
            let data = load_data(name)?;
            for spec in &self.params.models {
                self.model_for(spec, name, &data)?;
            }
        }
        Ok(())
    }

    fn units(&self) -> Vec<String> {
        (0..self.params.models.len() * self.params.data.len())
            .map(|i| {
                let (m, d) = self.unit(i);
                format!("m{m}-d{d}")
            })
            .collect()
    }

    fn run_unit(&self, index: usize, _files: &UnitFiles) -> Result<EvalUnit> {
        let (m, d) = self.unit(index);
        let (spec, name) = (&self.params.models[m], &self.params.data[d]);
        let data = load_data(name)?;
        let model = self.model_for(spec, name, &data)?;
        let c = confusion(&model, &data, self.params.batch, &NoProgress)?;
        Ok(EvalUnit {
            model: spec.clone(),
            data: name.clone(),
            n: c.n,
            correct: c.correct(),
            mean_loss: c.report().mean_loss,
            confusion: c.counts,
        })
    }

    fn finish(&self, units: Vec<EvalUnit>, dir: &Path) -> Result<()> {
        let rows: Vec<AccuracyRow> = units.iter().map(accuracy_row).collect();
        write_csv(&dir.join("accuracy.csv"), &rows)?;
        let confusion: Vec<ConfusionRow> = units
            .iter()
            .flat_map(|u| {
                u.confusion
                    .iter()
                    .enumerate()
                    .flat_map(move |(label, row)| {
                        row.iter()
                            .enumerate()
                            .map(move |(predicted, &count)| ConfusionRow {
                                model: u.model.clone(),
                                data: u.data.clone(),
                                label,
                                predicted,
                                count,
                            })
                    })
            })
            .collect();
        write_csv(&dir.join("confusion.csv"), &confusion)?;
        let mut s = EvaluationSummary {
            accuracy: BTreeMap::new(),
            accuracy_ci: BTreeMap::new(),
            mean_loss: BTreeMap::new(),
        };
        for r in &rows {
            let at = |m: &mut BTreeMap<String, BTreeMap<String, _>>, v| {
                m.entry(r.model.clone())
                    .or_default()
                    .insert(r.data.clone(), v);
            };
            at(&mut s.accuracy, r.accuracy);
            at(&mut s.mean_loss, r.mean_loss);
            s.accuracy_ci
                .entry(r.model.clone())
                .or_default()
                .insert(r.data.clone(), (r.accuracy_lo, r.accuracy_hi));
        }
        write_json(&dir.join("summary.json"), &s)
    }

    fn draw_figures(&self, dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
        let rows: Vec<ConfusionRow> = read_csv(&dir.join("confusion.csv"))?;
        let mut per: BTreeMap<(String, String), Vec<(u64, u64)>> = BTreeMap::new();
        for r in &rows {
            let v = per.entry((r.model.clone(), r.data.clone())).or_default();
            if v.len() <= r.label {
                v.resize(r.label + 1, (0, 0));
            }
            v[r.label].1 += r.count;
            if r.label == r.predicted {
                v[r.label].0 += r.count;
            }
        }
        let series = per
            .into_iter()
            .map(|((m, d), v)| KSeries {
                label: format!("{m} on {d}"),
                points: v
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, n))| *n > 0)
                    .map(|(c, &(k, n))| {
                        let (lo, hi) = wilson_interval(k, n, 1.959964);
                        let err = 1.0 - k as f64 / n as f64;
                        // A symmetric bar covering the interval.
                        (c as f64, err, (hi - lo) / 2.0)
                    })
                    .collect(),
                intervals: None,
            })
            .collect();
        let fig = KSeriesFigure {
            title: "Error per class".into(),
            x_label: "class".into(),
            y_label: "error (1 − accuracy)".into(),
            log_y: false,
            series,
            references: Vec::new(),
        };
        let (a, b) = crate::plot::save(&fig, &out.join("per-class-accuracy"))?;
        Ok(vec![a, b])
    }

    fn write_report(&self, dir: &Path) -> Result<PathBuf> {
        let rows: Vec<AccuracyRow> = read_csv(&dir.join("accuracy.csv"))?;
        let mut md = String::from(
            "# Evaluation\n\n\
             | model | data | items | accuracy | 95 % interval | mean loss | worst class |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for r in &rows {
            md.push_str(&format!(
                "| {} | {} | {} | {:.2} % | [{:.2}, {:.2}] % | {:.4} | {} ({:.1} %) |\n",
                r.model,
                r.data,
                r.n,
                100.0 * r.accuracy,
                100.0 * r.accuracy_lo,
                100.0 * r.accuracy_hi,
                r.mean_loss,
                r.worst_class,
                100.0 * r.worst_class_accuracy
            ));
        }
        md.push_str("\nThe confusion counts are in confusion.csv.\n");
        md.push_str(&figure_links(dir));
        let path = dir.join("report.md");
        crate::atomic::write_atomic(&path, md.as_bytes())?;
        Ok(path)
    }
}

fn accuracy_row(u: &EvalUnit) -> AccuracyRow {
    let (lo, hi) = wilson_interval(u.correct, u.n as u64, 1.959964);
    let per_class = Confusion {
        counts: u.confusion.clone(),
        loss_sum: u.mean_loss * u.n as f64,
        n: u.n,
    }
    .per_class_accuracy();
    // Classes without items have NaN accuracy, which no comparison selects.
    let (worst_class, worst) = per_class
        .iter()
        .copied()
        .enumerate()
        .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
    AccuracyRow {
        model: u.model.clone(),
        data: u.data.clone(),
        n: u.n,
        accuracy: u.correct as f64 / u.n.max(1) as f64,
        accuracy_lo: lo,
        accuracy_hi: hi,
        mean_loss: u.mean_loss,
        worst_class_accuracy: worst,
        worst_class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_params_name_the_field() {
        let p = EvaluationParams {
            models: vec!["lenet5-mnist".into()],
            data: vec!["mnist-holdout:x".into()],
            batch: 500,
            seed: 0,
        };
        let e = p.validate().unwrap_err().to_string();
        assert!(
            e.contains("params.data") && e.contains("mnist-holdout:SEED"),
            "{e}"
        );
        let p = EvaluationParams {
            data: vec!["mnist".into()],
            batch: 0,
            ..p
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("params.batch"));
    }

    #[test]
    fn the_worst_class_and_the_interval_come_from_the_counts() {
        let u = EvalUnit {
            model: "m".into(),
            data: "d".into(),
            n: 20,
            correct: 15,
            mean_loss: 0.5,
            // Class 0: 9 of 10 right; class 1: 6 of 10.
            confusion: vec![vec![9, 1], vec![4, 6]],
        };
        let r = accuracy_row(&u);
        assert_eq!((r.worst_class, r.worst_class_accuracy), (1, 0.6));
        assert!((r.accuracy - 0.75).abs() < 1e-12);
        assert!(r.accuracy_lo < 0.75 && 0.75 < r.accuracy_hi);
    }
}
