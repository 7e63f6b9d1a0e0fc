//! Connectivity of synthetic modes, as the paper measured it on an untrained
//! ResNet-18 (science.md §3), as a runner experiment
//! (`kind = "untrained-connectivity"`): for each model and pair, two FVO
//! inputs of the pair's class from independent noise, the straight path
//! between them, and round after round of *free* bend optimisation (no
//! projection, no penalty) until the barrier gap falls to the tolerance or
//! the round limit.
//!
//! Any model works (`untrained:ARCH:INIT:SEED`, bundled or trained files);
//! the point of the experiment is the untrained ones. The input shape and
//! class count come from `input_shape`/`classes` when given (no data set is
//! needed: the endpoints are synthetic), otherwise from `data`.
//!
//! One unit per (model, pair). Files of a finished run:
//!
//! * `rounds.csv` — one row per (model, pair, round): barrier max and gap
//!   of the whole chain after that round, relative bend size;
//! * `pairs.csv` — one row per pair: FVO losses and iterations, the first
//!   round whose chain stays below `max_loss_target`;
//! * `summary.json` — per model: FVO convergence, median barrier max per
//!   round, the fraction of pairs connected below `max_loss_target` within
//!   the rounds;
//! * `figures/rounds.{png,svg}` — median barrier max against the round.
//!
//! This module holds the units, their rows and the summary; the parameters
//! are in `params.rs`, the figure in `figures.rs` and the report in
//! `report.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{prefix, write_csv, write_json};
use crate::inputspace::bypass::bypass_many;
use crate::inputspace::fvo::{decay_balance, synthesize};
use crate::nn::{Classifier, Network};
use crate::rng::derive_seed;

mod figures;
mod params;
mod report;

pub use figures::draw_figures;
pub use params::UntrainedParams;
pub use report::write_report;

/// One round of one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRow {
    /// Model spec, an entry of `params.models` (typically `untrained:ARCH:INIT:SEED`).
    pub model: String,
    /// Pair index within the model.
    pub pair: usize,
    /// Target class y of every loss of the pair, `pair mod classes`.
    pub class: u32,
    /// 0 for the straight path, r after the r-th bend.
    pub round: usize,
    /// Max loss of the whole chain.
    pub barrier_max: f64,
    /// Max loss minus the higher endpoint loss.
    pub barrier_gap: f64,
    /// `max|B' − B| / range` of this round's bend (0 in round 0).
    pub relative_bend: f64,
}

/// One unit: a pair of synthetic modes and its rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRounds {
    /// Model spec, an entry of `params.models` (typically `untrained:ARCH:INIT:SEED`).
    pub model: String,
    /// Pair index within the model.
    pub pair: usize,
    /// Target class y of every loss of the pair, `pair mod classes`.
    pub class: u32,
    /// CE of the two FVO endpoints.
    pub fvo_losses: [f32; 2],
    /// Adam iterations FVO took for each endpoint.
    pub fvo_iterations: [usize; 2],
    /// Whether both endpoints reached the FVO loss threshold.
    pub fvo_converged: bool,
    /// L2 norm of the two FVO endpoints (0 in runs that predate it).
    #[serde(default)]
    pub fvo_norms: [f64; 2],
    /// The weight-decay balance `λ|x|²/(−x·∇CE)` at the two endpoints
    /// ([`crate::inputspace::fvo::decay_balance`]): ≈ 1 where FVO stalled
    /// on its decay, 0 without decay.
    #[serde(default)]
    pub fvo_decay_balance: [f64; 2],
    /// Round 0 (straight path) and every bend round.
    pub rounds: Vec<RoundRow>,
}

/// One row of `pairs.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRow {
    /// Model spec, an entry of `params.models`.
    pub model: String,
    /// Index j of the pair within the model, from 0.
    pub pair: usize,
    /// Target class y of every loss of the pair, `pair mod classes`.
    pub class: u32,
    /// Cross-entropy against y at FVO endpoint A.
    pub loss_a: f32,
    /// Cross-entropy against y at FVO endpoint C.
    pub loss_c: f32,
    /// FVO iterations of A.
    pub fvo_iterations_a: usize,
    /// FVO iterations of C.
    pub fvo_iterations_c: usize,
    /// Both endpoints reached the FVO threshold.
    pub fvo_converged: bool,
    /// L2 norm of A.
    pub fvo_norm_a: f64,
    /// L2 norm of C.
    pub fvo_norm_c: f64,
    /// The larger weight-decay balance of the two endpoints (≈ 1: FVO
    /// stalled where the decay cancels the CE gradient).
    pub fvo_decay_balance: f64,
    /// Barrier max of the straight path.
    pub linear_barrier: f64,
    /// Barrier max of the final chain.
    pub final_barrier: f64,
    /// Bends made: the index of the last round (at most `rounds.max_rounds`).
    pub rounds: usize,
    /// First round whose chain has max loss ≤ the target (none: never).
    pub connected_at_round: Option<usize>,
}

/// Per-model results in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Number of pairs (units) of the model.
    pub pairs: usize,
    /// Fraction of pairs whose both endpoints reached the FVO threshold.
    pub fvo_converged_fraction: f64,
    /// Largest endpoint CE over all pairs.
    pub fvo_max_loss: f64,
    /// Median L2 norm of the FVO endpoints.
    #[serde(default)]
    pub median_fvo_norm: f64,
    /// Largest weight-decay balance of an endpoint (≈ 1: some FVO stalled
    /// on its decay; 0 without decay).
    #[serde(default)]
    pub max_fvo_decay_balance: f64,
    /// Median barrier max of the chain after each round (index = round;
    /// pairs that stopped early keep their last value).
    pub median_barrier_max_by_round: Vec<f64>,
    /// Largest barrier max over the pairs after each round.
    pub worst_barrier_max_by_round: Vec<f64>,
    /// Fraction of pairs with max loss ≤ `max_loss_target` after at most
    /// `max_rounds` free rounds.
    pub connected_fraction: f64,
    /// Median relative bend size of the first bend.
    pub median_first_relative_bend: f64,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UntrainedSummary {
    /// Max loss at or below which a pair counts as connected, `params.max_loss_target`.
    pub max_loss_target: f64,
    /// Most bend rounds per pair, `params.rounds.max_rounds`.
    pub max_rounds: usize,
    /// Results of each model, keyed by model spec.
    pub models: BTreeMap<String, ModelSummary>,
}

/// The experiment with its models built.
pub struct UntrainedConnectivity {
    params: UntrainedParams,
    models: Vec<Network>,
}

impl UntrainedConnectivity {
    /// Builds (or loads) the models for the configured input shape.
    pub fn new(params: UntrainedParams) -> Result<Self> {
        params.validate()?;
        let (shape, classes) = match (&params.input_shape, params.classes) {
            (Some(s), Some(c)) => (s.clone(), c),
            _ => {
                let d = crate::data::load(&params.data).map_err(|e| prefix(e, "params."))?;
                (
                    params
                        .input_shape
                        .clone()
                        .unwrap_or_else(|| d.item_shape().to_vec()),
                    params.classes.unwrap_or(d.classes()),
                )
            }
        };
        let mut models = Vec::new();
        for m in &params.models {
            models.push(
                crate::nn::zoo::load_spec(m, &shape, classes)
                    .map_err(|e| prefix(e, "params.models: "))?,
            );
        }
        Ok(UntrainedConnectivity { params, models })
    }

    fn unit(&self, index: usize) -> (usize, usize) {
        (index / self.params.pairs, index % self.params.pairs)
    }
}

impl Experiment for UntrainedConnectivity {
    type Output = PairRounds;

    fn units(&self) -> Vec<String> {
        (0..self.models.len() * self.params.pairs)
            .map(|i| {
                let (m, j) = self.unit(i);
                format!("m{m}-p{j}")
            })
            .collect()
    }

    fn run_unit(&self, index: usize, _files: &UnitFiles) -> Result<PairRounds> {
        let (mi, j) = self.unit(index);
        let model = &self.models[mi];
        let name = &self.params.models[mi];
        let class = (j % model.spec().classes) as u32;
        let seed = derive_seed(self.params.seed, &[0x0C, index as u64]);
        let fvo = synthesize(
            model,
            &[class, class],
            &[derive_seed(seed, &[1]), derive_seed(seed, &[2])],
            &self.params.fvo,
        )?;
        let balance = decay_balance(
            model,
            &fvo.inputs,
            &[class, class],
            self.params.fvo.weight_decay,
        )?;
        let len = model.spec().item_len();
        let (a, c) = fvo.inputs.split_at(len);
        let norm = |x: &[f32]| x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
        let report = bypass_many(
            model,
            a,
            c,
            &[class],
            &self.params.bypass,
            &self.params.rounds,
        )?
        .pop()
        .expect("one pair in, one report out");
        let rounds = report
            .rounds
            .iter()
            .map(|r| RoundRow {
                model: name.clone(),
                pair: j,
                class,
                round: r.round,
                barrier_max: r.barrier.max,
                barrier_gap: r.barrier.gap,
                relative_bend: r.relative_bend,
            })
            .collect();
        Ok(PairRounds {
            model: name.clone(),
            pair: j,
            class,
            fvo_losses: [fvo.losses[0], fvo.losses[1]],
            fvo_iterations: [fvo.iterations[0], fvo.iterations[1]],
            fvo_converged: fvo.converged.iter().all(|&c| c),
            fvo_norms: [norm(a), norm(c)],
            fvo_decay_balance: [balance[0], balance[1]],
            rounds,
        })
    }

    fn finish(&self, units: Vec<PairRounds>, dir: &Path) -> Result<()> {
        let target = self.params.max_loss_target;
        let rows: Vec<RoundRow> = units.iter().flat_map(|u| u.rounds.clone()).collect();
        write_csv(&dir.join("rounds.csv"), &rows)?;
        let pairs: Vec<PairRow> = units.iter().map(|u| pair_row(u, target)).collect();
        write_csv(&dir.join("pairs.csv"), &pairs)?;
        let summary = summarise(&units, target, self.params.rounds.max_rounds);
        write_json(&dir.join("summary.json"), &summary)
    }

    fn draw_figures(&self, dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
        draw_figures(dir, out)
    }

    fn write_report(&self, dir: &Path) -> Result<PathBuf> {
        write_report(dir, &self.params)
    }
}

fn pair_row(u: &PairRounds, target: f64) -> PairRow {
    let last = u.rounds.last().expect("round 0 exists");
    PairRow {
        model: u.model.clone(),
        pair: u.pair,
        class: u.class,
        loss_a: u.fvo_losses[0],
        loss_c: u.fvo_losses[1],
        fvo_iterations_a: u.fvo_iterations[0],
        fvo_iterations_c: u.fvo_iterations[1],
        fvo_converged: u.fvo_converged,
        fvo_norm_a: u.fvo_norms[0],
        fvo_norm_c: u.fvo_norms[1],
        fvo_decay_balance: u.fvo_decay_balance[0].max(u.fvo_decay_balance[1]),
        linear_barrier: u.rounds[0].barrier_max,
        final_barrier: last.barrier_max,
        rounds: last.round,
        connected_at_round: u
            .rounds
            .iter()
            .find(|r| r.barrier_max <= target)
            .map(|r| r.round),
    }
}

/// The barrier max of a pair after round `r` (its last value if it
/// stopped bending earlier).
fn barrier_after(u: &PairRounds, r: usize) -> f64 {
    u.rounds
        .iter()
        .take_while(|row| row.round <= r)
        .last()
        .map_or(f64::NAN, |row| row.barrier_max)
}

/// Per-model medians and fractions over the units.
pub fn summarise(units: &[PairRounds], target: f64, max_rounds: usize) -> UntrainedSummary {
    let mut by_model: BTreeMap<String, Vec<&PairRounds>> = BTreeMap::new();
    for u in units {
        by_model.entry(u.model.clone()).or_default().push(u);
    }
    let models = by_model
        .into_iter()
        .map(|(m, v)| {
            let n = v.len();
            let per_round = |f: fn(&[f64]) -> f64| -> Vec<f64> {
                (0..=max_rounds)
                    .map(|r| f(&v.iter().map(|u| barrier_after(u, r)).collect::<Vec<_>>()))
                    .collect()
            };
            let first_bends: Vec<f64> = v
                .iter()
                .filter_map(|u| u.rounds.get(1).map(|r| r.relative_bend))
                .collect();
            let summary = ModelSummary {
                pairs: n,
                fvo_converged_fraction: v.iter().filter(|u| u.fvo_converged).count() as f64
                    / n as f64,
                fvo_max_loss: v
                    .iter()
                    .flat_map(|u| u.fvo_losses)
                    .map(f64::from)
                    .fold(0.0, f64::max),
                median_fvo_norm: crate::stats::quantile(
                    &v.iter().flat_map(|u| u.fvo_norms).collect::<Vec<_>>(),
                    0.5,
                ),
                max_fvo_decay_balance: v
                    .iter()
                    .flat_map(|u| u.fvo_decay_balance)
                    .fold(0.0, f64::max),
                median_barrier_max_by_round: per_round(|x| crate::stats::quantile(x, 0.5)),
                worst_barrier_max_by_round: per_round(|x| {
                    x.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                }),
                connected_fraction: v
                    .iter()
                    .filter(|u| u.rounds.iter().any(|r| r.barrier_max <= target))
                    .count() as f64
                    / n as f64,
                median_first_relative_bend: if first_bends.is_empty() {
                    0.0
                } else {
                    crate::stats::quantile(&first_bends, 0.5)
                },
            };
            (m, summary)
        })
        .collect();
    UntrainedSummary {
        max_loss_target: target,
        max_rounds,
        models,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(model: &str, maxes: &[f64]) -> PairRounds {
        PairRounds {
            model: model.into(),
            pair: 0,
            class: 0,
            fvo_losses: [1e-4, 3e-4],
            fvo_iterations: [10, 12],
            fvo_converged: true,
            fvo_norms: [1.0, 2.0],
            fvo_decay_balance: [0.1, 0.2],
            rounds: maxes
                .iter()
                .enumerate()
                .map(|(r, &m)| RoundRow {
                    model: model.into(),
                    pair: 0,
                    class: 0,
                    round: r,
                    barrier_max: m,
                    barrier_gap: m,
                    relative_bend: 0.1 * r as f64,
                })
                .collect(),
        }
    }

    #[test]
    fn pairs_that_stop_early_keep_their_last_barrier() {
        // Pair 1 stops after one bend; its round-2 and round-3 value is 0.004.
        let units = vec![unit("m", &[1.0, 0.5, 0.2, 0.02]), unit("m", &[2.0, 0.004])];
        let s = summarise(&units, 1e-2, 3);
        let m = &s.models["m"];
        assert_eq!(m.median_barrier_max_by_round.len(), 4);
        assert!((m.median_barrier_max_by_round[0] - 1.5).abs() < 1e-12);
        assert!((m.worst_barrier_max_by_round[3] - 0.02).abs() < 1e-12);
        assert!((m.connected_fraction - 0.5).abs() < 1e-12);
        assert_eq!(pair_row(&units[1], 1e-2).connected_at_round, Some(1));
        assert_eq!(pair_row(&units[0], 1e-2).connected_at_round, None);
    }
}
