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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{figure_links, prefix, read_csv, read_json, write_csv, write_json};
use crate::inputspace::bypass::{bypass_many, free_defaults, BypassConfig, RoundsConfig};
use crate::inputspace::fvo::{decay_balance, synthesize, FvoConfig};
use crate::nn::{Classifier, Network};
use crate::plot::k_series::{KSeries, KSeriesFigure, Reference};
use crate::rng::derive_seed;

/// Parameters of `kind = "untrained-connectivity"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UntrainedParams {
    /// Models: `untrained:ARCH:INIT:SEED` specs (or any other model spec).
    pub models: Vec<String>,
    /// Shape of one input, e.g. `[3, 32, 32]`; default: the items of `data`.
    #[serde(default)]
    pub input_shape: Option<Vec<usize>>,
    /// Number of classes; default: the classes of `data`.
    #[serde(default)]
    pub classes: Option<usize>,
    /// Data set fixing shape and classes when they are not given.
    #[serde(default = "default_data")]
    pub data: String,
    /// Master seed.
    pub seed: u64,
    /// Pairs per model; pair j has class `j mod classes`.
    pub pairs: usize,
    /// Feature visualisation of the endpoints (paper: N(0, 0.01²) start,
    /// Adam lr 0.05, stop at CE < 5e-4).
    #[serde(default)]
    pub fvo: FvoConfig,
    /// The bend optimisation: free, as the paper did for untrained
    /// networks, in every field a `[params.bypass]` table leaves out
    /// ([`BypassConfig::free`]); set `mode = "projected"` (and the λs) to
    /// bend as for trained ones.
    #[serde(default = "BypassConfig::free", deserialize_with = "free_defaults")]
    pub bypass: BypassConfig,
    /// Most rounds and the gap at which bending stops.
    #[serde(default = "default_rounds")]
    pub rounds: RoundsConfig,
    /// A pair counts as connected once its chain's max loss is at most this.
    #[serde(default = "default_target")]
    pub max_loss_target: f64,
}

fn default_data() -> String {
    "mnist".into()
}
fn default_rounds() -> RoundsConfig {
    RoundsConfig {
        max_rounds: 3,
        gap_tolerance: 0.0,
    }
}
fn default_target() -> f64 {
    1e-2
}

impl UntrainedParams {
    /// Checks the fields, naming them as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        self.fvo
            .validate("params.fvo")
            .and(self.bypass.validate("params.bypass"))?;
        if self.models.is_empty() {
            return Err(Error::invalid(
                "params.models",
                "[]",
                "expected at least one model, e.g. \"untrained:mlp:pytorch:1\"",
            ));
        }
        if self.pairs == 0 {
            return Err(Error::invalid("params.pairs", 0, "expected at least 1"));
        }
        if let Some(s) = &self.input_shape {
            if s.is_empty() || s.contains(&0) {
                return Err(Error::invalid(
                    "params.input_shape",
                    format!("{s:?}"),
                    "expected positive sides, e.g. [3, 32, 32]",
                ));
            }
        }
        if self.classes == Some(0) || self.classes == Some(1) {
            return Err(Error::invalid(
                "params.classes",
                self.classes.unwrap_or(0),
                "expected at least 2 classes",
            ));
        }
        if self.rounds.max_rounds == 0 {
            return Err(Error::invalid(
                "params.rounds.max_rounds",
                0,
                "expected at least one round of bending",
            ));
        }
        if !(self.max_loss_target.is_finite() && self.max_loss_target > 0.0) {
            return Err(Error::invalid(
                "params.max_loss_target",
                self.max_loss_target,
                "expected a loss > 0",
            ));
        }
        Ok(())
    }
}

/// One round of one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRow {
    /// Model spec.
    pub model: String,
    /// Pair index within the model.
    pub pair: usize,
    /// Target class.
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
    /// Model spec.
    pub model: String,
    /// Pair index within the model.
    pub pair: usize,
    /// Target class.
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
    /// Model spec.
    pub model: String,
    /// Pair index.
    pub pair: usize,
    /// Target class.
    pub class: u32,
    /// CE at A.
    pub loss_a: f32,
    /// CE at C.
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
    /// Bends made.
    pub rounds: usize,
    /// First round whose chain has max loss ≤ the target (none: never).
    pub connected_at_round: Option<usize>,
}

/// Per-model results in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Pairs.
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
    /// The connectivity target.
    pub max_loss_target: f64,
    /// Most rounds.
    pub max_rounds: usize,
    /// Per model spec.
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
                let d = crate::data::load(&params.data).map_err(|e| prefix(e.into(), "params."))?;
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
                    .map_err(|e| prefix(e.into(), "params.models: "))?,
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

/// Draws `rounds`: the median barrier max per model against the round,
/// with the worst pair as its error bar's top and the target as a dashed
/// line, from `summary.json`.
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let s: UntrainedSummary = read_json(&dir.join("summary.json"))?;
    let series = s
        .models
        .iter()
        .map(|(m, ms)| KSeries {
            label: m.clone(),
            points: ms
                .median_barrier_max_by_round
                .iter()
                .enumerate()
                .map(|(r, &v)| (r as f64, v, 0.0))
                .collect(),
            intervals: None,
        })
        .collect();
    let fig = KSeriesFigure {
        title: "Synthetic modes: max loss along the path, round after round of free bends".into(),
        x_label: "bend round (0 = straight path)".into(),
        y_label: "median max cross-entropy on the path".into(),
        log_y: true,
        series,
        references: vec![Reference {
            label: format!("target {}", s.max_loss_target),
            points: vec![
                (0.0, s.max_loss_target),
                (s.max_rounds as f64, s.max_loss_target),
            ],
            dashed: true,
            color_of_series: None,
        }],
    };
    let (a, b) = crate::plot::save(&fig, &out.join("rounds"))?;
    Ok(vec![a, b])
}

/// Writes `report.md` from `summary.json`, `pairs.csv` and the figures.
pub fn write_report(dir: &Path, params: &UntrainedParams) -> Result<PathBuf> {
    let s: UntrainedSummary = read_json(&dir.join("summary.json"))?;
    let pairs: Vec<PairRow> = read_csv(&dir.join("pairs.csv"))?;
    let rounds_head: String = (0..=s.max_rounds)
        .map(|r| format!(" round {r} |"))
        .collect();
    let rounds_rule: String = (0..=s.max_rounds).map(|_| "---|").collect();
    let mut md = format!(
        "# Connectivity of synthetic (FVO) modes\n\n\
         {} pairs per model; FVO with weight decay {} (at most {} steps); free bends \
         (lr {}, {} iterations), up to {} rounds; \
         a pair is connected once its path's max loss is ≤ {}.\n\n\
         ## Median max loss along the path after each round\n\n\
         | model | pairs | FVO converged | max endpoint CE | median endpoint norm | max decay balance |{rounds_head} connected | median first bend |\n\
         |---|---|---|---|---|---|{rounds_rule}---|---|\n",
        params.pairs,
        params.fvo.weight_decay,
        params.fvo.iterations,
        params.bypass.lr,
        params.bypass.iterations,
        s.max_rounds,
        s.max_loss_target
    );
    for (m, ms) in &s.models {
        let cells: String = ms
            .median_barrier_max_by_round
            .iter()
            .map(|v| format!(" {v:.3e} |"))
            .collect();
        md.push_str(&format!(
            "| {m} | {} | {:.0} % | {:.2e} | {:.1} | {:.3} |{cells} {:.0} % | {:.4} |\n",
            ms.pairs,
            100.0 * ms.fvo_converged_fraction,
            ms.fvo_max_loss,
            ms.median_fvo_norm,
            ms.max_fvo_decay_balance,
            100.0 * ms.connected_fraction,
            ms.median_first_relative_bend
        ));
    }
    let never = pairs
        .iter()
        .filter(|p| p.connected_at_round.is_none())
        .count();
    md.push_str(&format!(
        "\n{never} of {} pairs stayed above the target after the last round (see pairs.csv).\n",
        pairs.len()
    ));
    md.push_str(
        "\nThe decay balance is λ|x|²/(−x·∇CE) at an FVO endpoint: near 1, Adam's \
         weight decay cancels the CE gradient along the ray and FVO has stalled above \
         its threshold (theory/untrained-fvo.md); 0 without decay.\n",
    );
    md.push_str(&figure_links(dir));
    let path = dir.join("report.md");
    crate::atomic::write_atomic(&path, md.as_bytes())?;
    Ok(path)
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

    #[test]
    fn bad_params_name_the_field() {
        let p = UntrainedParams {
            models: vec!["untrained:mlp:pytorch:1".into()],
            input_shape: Some(vec![1, 0, 4]),
            classes: Some(10),
            data: "mnist".into(),
            seed: 1,
            pairs: 1,
            fvo: FvoConfig::default(),
            bypass: BypassConfig::free(),
            rounds: default_rounds(),
            max_loss_target: 1e-2,
        };
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("params.input_shape"), "{e}");
        let p = UntrainedParams {
            input_shape: None,
            pairs: 0,
            ..p
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("params.pairs"));
    }
}
