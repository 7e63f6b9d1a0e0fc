//! The slice-percolation study as a runner experiment
//! (`kind = "slice-percolation"`): for each model, pair kind and pair, the
//! minimax barrier and p* of k-dimensional slices through the pair for every
//! k of the config, the shuffled null model, and — on the SAME pair — the
//! linear-path barrier and the optimised bypass barrier (see
//! [`crate::bridge::study`]).
//!
//! One unit per (model, pair kind, pair). Endpoints per pair kind, all with
//! target class y (the pair's class):
//!
//! * `real_real`: two real class-y images with CE ≤ `low_loss`, drawn with
//!   the unit's seed (for an untrained network, the lowest-loss ones among
//!   `candidates`);
//! * `real_adversarial`: a real class-y image A and the paper's attack on a
//!   random image of another class, stopped at CE(A);
//! * `synthetic`: two FVO inputs from independent noise.
//!
//! Files of a finished run: `summary.json` ([`SliceSummary`] plus the
//! path-barrier comparison), `slices.csv` (one row per (pair, k)),
//! `pairs.csv` (one row per pair: linear and bypass barriers),
//! `figures/p_star.{png,svg}`, `figures/minimax_barrier.{png,svg}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::seq::{IndexedRandom, SliceRandom};
use serde::{Deserialize, Serialize};

use super::adversarial::prefix;
use super::lattice_study::{figure_links, read_csv, read_json, write_csv, write_json};
use super::runner::{Experiment, UnitFiles};
use crate::bridge::study::{
    run_unit, summarise, Nested, NullSummary, SliceRecord, SliceStudyConfig, SliceSummary,
};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::inputspace::attack::{paper_attack, PaperAttackConfig};
use crate::inputspace::bypass::{bypass_many, BypassConfig, RoundsConfig};
use crate::inputspace::fvo::{synthesize, FvoConfig};
use crate::nn::{Classifier, Network};
use crate::plot::k_series::{KSeries, KSeriesFigure, Reference};
use crate::rng::{derive_seed, unit_rng};

/// Pair kinds of the study.
pub const PAIR_KINDS: [&str; 3] = ["real_real", "real_adversarial", "synthetic"];

/// Parameters of `kind = "slice-percolation"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceParams {
    /// Models: bundled names, `untrained:ARCH:INIT:SEED`, weights files.
    pub models: Vec<String>,
    /// Data set of the real inputs.
    #[serde(default = "default_data")]
    pub data: String,
    /// Shape of one input, e.g. `[3, 32, 32]`, for networks without a data
    /// set (untrained CIFAR-shaped ResNet-18): then `classes` is needed too,
    /// `data` is not loaded, and only `synthetic` pairs are possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_shape: Option<Vec<usize>>,
    /// Number of classes, with `input_shape`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    /// Master seed.
    pub seed: u64,
    /// Pair kinds (`real_real`, `real_adversarial`, `synthetic`).
    pub pair_kinds: Vec<String>,
    /// Pairs per model and pair kind; pair j has class `j mod classes`.
    pub pairs: usize,
    /// Real endpoints have CE at most this (trained models).
    #[serde(default = "default_low_loss")]
    pub low_loss: f64,
    /// Real images examined when looking for low-loss endpoints.
    #[serde(default = "default_candidates")]
    pub candidates: usize,
    /// The slices ([`SliceStudyConfig`]).
    #[serde(default)]
    pub slice: SliceStudyConfig,
    /// The paper's attack for real–adversarial pairs.
    #[serde(default)]
    pub attack: PaperAttackConfig,
    /// FVO for synthetic pairs.
    #[serde(default)]
    pub fvo: FvoConfig,
    /// The bend optimisation compared with the slices (`mode = "free"` for
    /// untrained networks, as the paper did).
    #[serde(default)]
    pub bypass: BypassConfig,
    /// Bend rounds.
    #[serde(default)]
    pub rounds: RoundsConfig,
}

fn default_data() -> String {
    "mnist".into()
}
fn default_low_loss() -> f64 {
    0.05
}
fn default_candidates() -> usize {
    200
}

impl SliceParams {
    /// Checks the fields, naming them as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        self.slice
            .validate()
            .map_err(|e| prefix(e, "params.slice."))?;
        self.attack
            .validate("params.attack")
            .and(self.fvo.validate("params.fvo"))
            .and(self.bypass.validate("params.bypass"))?;
        if self.models.is_empty() {
            return Err(Error::invalid(
                "params.models",
                "[]",
                "expected at least one model",
            ));
        }
        if self.pairs == 0 {
            return Err(Error::invalid("params.pairs", 0, "expected at least 1"));
        }
        match (&self.input_shape, self.classes) {
            (None, None) => {}
            (Some(shape), Some(classes)) => {
                if shape.is_empty() || shape.contains(&0) {
                    return Err(Error::invalid(
                        "params.input_shape",
                        format!("{shape:?}"),
                        "expected positive sides, e.g. [3, 32, 32]",
                    ));
                }
                if classes < 2 {
                    return Err(Error::invalid(
                        "params.classes",
                        classes,
                        "expected at least 2 classes",
                    ));
                }
                if let Some(k) = self.pair_kinds.iter().find(|k| k.as_str() != "synthetic") {
                    return Err(Error::invalid(
                        "params.pair_kinds",
                        k,
                        "with input_shape there is no data set: only \"synthetic\" pairs",
                    ));
                }
            }
            _ => {
                return Err(Error::invalid(
                    "params.input_shape",
                    format!("{:?} with classes = {:?}", self.input_shape, self.classes),
                    "give both input_shape and classes, or neither",
                ))
            }
        }
        if self.pair_kinds.is_empty() {
            return Err(Error::invalid(
                "params.pair_kinds",
                "[]",
                format!("expected some of {PAIR_KINDS:?}"),
            ));
        }
        if let Some(k) = self
            .pair_kinds
            .iter()
            .find(|k| !PAIR_KINDS.contains(&k.as_str()))
        {
            return Err(Error::invalid(
                "params.pair_kinds",
                k,
                format!("expected some of {PAIR_KINDS:?}"),
            ));
        }
        if !(self.low_loss.is_finite() && self.low_loss > 0.0) {
            return Err(Error::invalid(
                "params.low_loss",
                self.low_loss,
                "expected a loss > 0",
            ));
        }
        if self.candidates < 2 {
            return Err(Error::invalid(
                "params.candidates",
                self.candidates,
                "expected at least 2",
            ));
        }
        Ok(())
    }
}

/// One unit: a pair measured on every slice dimension, plus its path barriers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairSlices {
    /// Model spec.
    pub model: String,
    /// Pair kind.
    pub pair_kind: String,
    /// Pair index within (model, kind).
    pub pair: usize,
    /// Target class.
    pub class: u32,
    /// Loss at A and C.
    pub endpoint_losses: [f32; 2],
    /// Barrier max of the straight path (bypass config's points).
    pub linear_barrier: f64,
    /// Barrier max after the bend rounds.
    pub bypass_barrier: f64,
    /// Rounds used.
    pub bypass_rounds: usize,
    /// Relative bend size of the last round.
    pub relative_bend: f64,
    /// One record per slice dimension k.
    pub slices: Vec<SliceRecord>,
}

/// The study with its models and data loaded.
pub struct SlicePercolation {
    params: SliceParams,
    models: Vec<Network>,
    /// The real inputs (none with `input_shape`: synthetic pairs only).
    data: Option<Dataset>,
    units: Vec<(usize, String, usize)>,
}

impl SlicePercolation {
    /// Loads models and data.
    pub fn new(params: SliceParams) -> Result<Self> {
        params.validate()?;
        let (data, shape, classes) = match (&params.input_shape, params.classes) {
            (Some(shape), Some(classes)) => (None, shape.clone(), classes),
            _ => {
                let d = crate::data::load(&params.data).map_err(|e| prefix(e.into(), "params."))?;
                let (shape, classes) = (d.item_shape().to_vec(), d.classes());
                (Some(d), shape, classes)
            }
        };
        let mut models = Vec::new();
        for m in &params.models {
            models.push(
                crate::nn::zoo::load_spec(m, &shape, classes)
                    .map_err(|e| prefix(e.into(), "params.models: "))?,
            );
        }
        let mut units = Vec::new();
        for mi in 0..models.len() {
            for kind in &params.pair_kinds {
                for j in 0..params.pairs {
                    units.push((mi, kind.clone(), j));
                }
            }
        }
        Ok(SlicePercolation {
            params,
            models,
            data,
            units,
        })
    }

    /// Two real class-y images: random ones with CE ≤ low_loss if there are
    /// two among the candidates, else the two lowest-loss candidates.
    fn real_endpoints(
        &self,
        model: &Network,
        class: u32,
        seed: u64,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let data = self.data()?;
        let mut own: Vec<usize> = (0..data.len())
            .filter(|&i| data.labels()[i] as u32 == class)
            .collect();
        own.shuffle(&mut unit_rng(seed, &[1]));
        own.truncate(self.params.candidates);
        let xs = data.values(&own);
        let losses = model.loss_flat(&xs, &[class], 256)?;
        let mut order: Vec<usize> = (0..own.len()).collect();
        let low: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| f64::from(losses[i]) <= self.params.low_loss)
            .collect();
        let pick = if low.len() >= 2 {
            low[..2].to_vec()
        } else {
            order.sort_by(|&a, &b| losses[a].total_cmp(&losses[b]).then(a.cmp(&b)));
            order[..2].to_vec()
        };
        Ok((data.item(own[pick[0]]), data.item(own[pick[1]])))
    }

    /// The data set of the real endpoints (validation makes it present
    /// whenever a real pair kind is configured).
    fn data(&self) -> Result<&Dataset> {
        self.data.as_ref().ok_or_else(|| {
            Error::invalid(
                "params.pair_kinds",
                "real pairs",
                "need a data set; remove input_shape",
            )
        })
    }

    fn endpoints(
        &self,
        model: &Network,
        kind: &str,
        class: u32,
        seed: u64,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        match kind {
            "real_real" => self.real_endpoints(model, class, seed),
            "real_adversarial" => {
                let (a, _) = self.real_endpoints(model, class, seed)?;
                let data = self.data()?;
                let others: Vec<usize> = (0..data.len())
                    .filter(|&i| data.labels()[i] as u32 != class)
                    .collect();
                let mut rng = unit_rng(seed, &[2]);
                let src = *others.choose(&mut rng).ok_or_else(|| {
                    Error::invalid(
                        "params.data",
                        &self.params.data,
                        "needs images of several classes",
                    )
                })?;
                let stop = model.loss_flat(&a, &[class], 1)?[0];
                let adv = paper_attack(
                    model,
                    &data.item(src),
                    &[class],
                    &[stop],
                    &self.params.attack,
                )?;
                Ok((a, adv.inputs))
            }
            _ => {
                let r = synthesize(
                    model,
                    &[class, class],
                    &[derive_seed(seed, &[3]), derive_seed(seed, &[4])],
                    &self.params.fvo,
                )?;
                let len = model.spec().item_len();
                Ok((r.inputs[..len].to_vec(), r.inputs[len..].to_vec()))
            }
        }
    }
}

impl Experiment for SlicePercolation {
    type Output = PairSlices;

    fn units(&self) -> Vec<String> {
        self.units
            .iter()
            .map(|(m, kind, j)| format!("m{m}-{kind}-p{j}"))
            .collect()
    }

    fn run_unit(&self, index: usize, _files: &UnitFiles) -> Result<PairSlices> {
        let (mi, kind, j) = &self.units[index];
        let model = &self.models[*mi];
        let name = &self.params.models[*mi];
        let classes = model.spec().classes as u32;
        let class = (*j as u32) % classes;
        let seed = derive_seed(self.params.seed, &[0x51, index as u64]);
        let (a, c) = self.endpoints(model, kind, class, seed)?;
        let ends = model.loss_flat(&[a.clone(), c.clone()].concat(), &[class], 2)?;
        let reports = bypass_many(
            model,
            &a,
            &c,
            &[class],
            &self.params.bypass,
            &self.params.rounds,
        )?;
        let rep = &reports[0];
        let first = &rep.rounds[0];
        let last = rep.rounds.last().expect("round 0 exists");
        let mut slices = Vec::new();
        for (ki, &k) in self.params.slice.dims.iter().enumerate() {
            let rec = run_unit(
                model,
                name,
                &a,
                &c,
                class,
                kind,
                k,
                &self.params.slice,
                derive_seed(seed, &[5, ki as u64]),
            )?;
            slices.push(rec);
        }
        Ok(PairSlices {
            model: name.clone(),
            pair_kind: kind.clone(),
            pair: *j,
            class,
            endpoint_losses: [ends[0], ends[1]],
            linear_barrier: first.barrier.max,
            bypass_barrier: last.barrier.max,
            bypass_rounds: rep.rounds.len() - 1,
            relative_bend: last.relative_bend,
            slices,
        })
    }

    fn finish(&self, units: Vec<PairSlices>, dir: &Path) -> Result<()> {
        let records: Vec<SliceRecord> = units
            .iter()
            .flat_map(|u| u.slices.iter().cloned())
            .collect();
        write_csv(&dir.join("slices.csv"), &records)?;
        let pairs: Vec<PairRow> = units
            .iter()
            .map(|u| PairRow {
                model: u.model.clone(),
                pair_kind: u.pair_kind.clone(),
                pair: u.pair,
                class: u.class,
                loss_a: u.endpoint_losses[0],
                loss_c: u.endpoint_losses[1],
                linear_barrier: u.linear_barrier,
                bypass_barrier: u.bypass_barrier,
                bypass_rounds: u.bypass_rounds,
                relative_bend: u.relative_bend,
            })
            .collect();
        write_csv(&dir.join("pairs.csv"), &pairs)?;
        let summary = StudySummary::new(summarise(&records), path_summary(&units));
        write_json(&dir.join("summary.json"), &summary)
    }

    fn draw_figures(&self, dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
        draw_figures(dir, out)
    }

    fn write_report(&self, dir: &Path) -> Result<PathBuf> {
        write_report(dir)
    }
}

/// One row of `pairs.csv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairRow {
    /// Model spec.
    pub model: String,
    /// Pair kind.
    pub pair_kind: String,
    /// Pair index.
    pub pair: usize,
    /// Class.
    pub class: u32,
    /// CE at A.
    pub loss_a: f32,
    /// CE at C.
    pub loss_c: f32,
    /// Linear-path barrier max.
    pub linear_barrier: f64,
    /// Bypass barrier max.
    pub bypass_barrier: f64,
    /// Bend rounds used.
    pub bypass_rounds: usize,
    /// Relative bend size.
    pub relative_bend: f64,
}

/// Medians of the path barriers per model and pair kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathBarriers {
    /// Median linear-path barrier max.
    pub linear_barrier: f64,
    /// Median bypass barrier max.
    pub bypass_barrier: f64,
    /// Pairs.
    pub n: usize,
}

/// `summary.json` of the study: the slice summary's maps (k → model → pair
/// kind) at the top level, plus the path barriers of the same pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudySummary {
    /// `p*` per k, model and pair kind (dense slices).
    pub p_star: Nested,
    /// Minimax barrier per k, model and pair kind.
    pub minimax_barrier: Nested,
    /// Linear-path barrier per k, model and pair kind.
    pub linear_barrier: Nested,
    /// Null-model `p*` per k (mean ± standard error over units).
    pub p_star_null: BTreeMap<usize, NullSummary>,
    /// Lattice site threshold p_c^site(k).
    pub lattice_pc_site: BTreeMap<usize, f64>,
    /// Path barriers of the same pairs: model → pair kind → medians.
    pub path_barriers: BTreeMap<String, BTreeMap<String, PathBarriers>>,
}

impl StudySummary {
    fn new(
        s: SliceSummary,
        path_barriers: BTreeMap<String, BTreeMap<String, PathBarriers>>,
    ) -> Self {
        StudySummary {
            p_star: s.p_star,
            minimax_barrier: s.minimax_barrier,
            linear_barrier: s.linear_barrier,
            p_star_null: s.p_star_null,
            lattice_pc_site: s.lattice_pc_site,
            path_barriers,
        }
    }
}

fn path_summary(units: &[PairSlices]) -> BTreeMap<String, BTreeMap<String, PathBarriers>> {
    let mut groups: BTreeMap<(String, String), Vec<&PairSlices>> = BTreeMap::new();
    for u in units {
        groups
            .entry((u.model.clone(), u.pair_kind.clone()))
            .or_default()
            .push(u);
    }
    let mut out: BTreeMap<String, BTreeMap<String, PathBarriers>> = BTreeMap::new();
    for ((model, kind), v) in groups {
        let med = |f: &dyn Fn(&PairSlices) -> f64| {
            crate::stats::quantile(&v.iter().map(|u| f(u)).collect::<Vec<_>>(), 0.5)
        };
        out.entry(model).or_default().insert(
            kind,
            PathBarriers {
                linear_barrier: med(&|u| u.linear_barrier),
                bypass_barrier: med(&|u| u.bypass_barrier),
                n: v.len(),
            },
        );
    }
    out
}

fn read_summary(dir: &Path) -> Result<StudySummary> {
    read_json(&dir.join("summary.json"))
}

/// Mean and standard error per k of `value` over the records of one
/// (model, pair kind) group.
fn k_points(
    records: &[&SliceRecord],
    value: &dyn Fn(&SliceRecord) -> Option<f64>,
) -> Vec<(f64, f64, f64)> {
    let mut by_k: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for r in records {
        if let Some(v) = value(r).filter(|v| v.is_finite()) {
            by_k.entry(r.k).or_default().push(v);
        }
    }
    by_k.into_iter()
        .map(|(k, v)| {
            let me = crate::stats::MeanError::of(&v);
            (k as f64, me.mean, me.stderr)
        })
        .collect()
}

/// `untrained` for `untrained:…` specs, `trained` otherwise.
fn model_group(model: &str) -> String {
    if model.starts_with("untrained:") {
        "untrained".into()
    } else {
        "trained".into()
    }
}

/// Draws `p_star` (p*(k) per model group and pair kind, the null model, the lattice
/// p_c^site(k) and the 1/(2k − 1) series) and `minimax_barrier` (mean
/// minimax barrier against k, with the linear and bypass barriers of the same
/// pairs as reference levels) from `slices.csv`, `pairs.csv` and `summary.json`.
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let records: Vec<SliceRecord> = read_csv(&dir.join("slices.csv"))?;
    let pairs: Vec<PairRow> = read_csv(&dir.join("pairs.csv"))?;
    let summary = read_summary(dir)?;
    // One series per (trained / untrained, pair kind): every model of a
    // group contributes its pairs, so the figure stays readable with many
    // models; the per-model numbers are in report.md and summary.json.
    let mut groups: BTreeMap<(String, String), Vec<&SliceRecord>> = BTreeMap::new();
    for r in &records {
        groups
            .entry((model_group(&r.model), r.pair_kind.clone()))
            .or_default()
            .push(r);
    }
    let mut p_series: Vec<KSeries> = groups
        .iter()
        .map(|((m, kind), v)| KSeries {
            label: format!("{m} nets, {kind}"),
            points: k_points(v, &|r| r.p_star),
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    p_series.push(KSeries {
        label: "null model (shuffled losses)".into(),
        points: summary
            .p_star_null
            .iter()
            .map(|(&k, n)| (k as f64, n.mean, n.stderr))
            .collect(),
    });
    let ks: Vec<usize> = summary.lattice_pc_site.keys().copied().collect();
    let series_1 = Reference {
        label: "1/(2k − 1)".into(),
        points: ks
            .iter()
            .filter(|&&k| k >= 2)
            .map(|&k| (k as f64, 1.0 / (2.0 * k as f64 - 1.0)))
            .collect(),
        dashed: true,
    };
    let lattice = Reference {
        label: "lattice p_c^site(k)".into(),
        points: summary
            .lattice_pc_site
            .iter()
            .map(|(&k, &p)| (k as f64, p))
            .collect(),
        dashed: false,
    };
    let fig = KSeriesFigure {
        title: "Occupied fraction p* at which A and C join".into(),
        x_label: "slice dimension k".into(),
        y_label: "p*".into(),
        log_y: true,
        series: p_series,
        references: vec![lattice, series_1],
    };
    let mut written = Vec::new();
    let (a, b) = crate::plot::save(&fig, &out.join("p_star"))?;
    written.extend([a, b]);

    let mut b_series: Vec<KSeries> = groups
        .iter()
        .map(|((m, kind), v)| KSeries {
            label: format!("{m} nets, {kind}"),
            points: k_points(v, &|r| Some(f64::from(r.minimax_barrier))),
        })
        .collect();
    b_series.retain(|s| !s.points.is_empty());
    let kmax = records.iter().map(|r| r.k).max().unwrap_or(1) as f64;
    let kmin = records.iter().map(|r| r.k).min().unwrap_or(1) as f64;
    let mut references = Vec::new();
    let mut pg: BTreeMap<(String, String), Vec<&PairRow>> = BTreeMap::new();
    for p in &pairs {
        pg.entry((model_group(&p.model), p.pair_kind.clone()))
            .or_default()
            .push(p);
    }
    for ((m, kind), v) in &pg {
        let mean =
            |f: &dyn Fn(&PairRow) -> f64| v.iter().map(|p| f(p)).sum::<f64>() / v.len() as f64;
        references.push(Reference {
            label: format!("{m} nets, {kind}: bypass (mean)"),
            points: vec![
                (kmin, mean(&|p| p.bypass_barrier)),
                (kmax, mean(&|p| p.bypass_barrier)),
            ],
            dashed: true,
        });
    }
    let fig = KSeriesFigure {
        title: "Minimax barrier of k-dimensional slices (mean ± s.e.)".into(),
        x_label: "slice dimension k".into(),
        y_label: "minimax barrier (cross-entropy)".into(),
        log_y: true,
        series: b_series,
        references,
    };
    let (a, b) = crate::plot::save(&fig, &out.join("minimax_barrier"))?;
    written.extend([a, b]);
    Ok(written)
}

/// Writes `report.md`: p* and barriers per k, model and pair kind, against
/// the lattice and the null model, and the path barriers of the same pairs.
pub fn write_report(dir: &Path) -> Result<PathBuf> {
    let s = read_summary(dir)?;
    let mut md = String::from(
        "# Slice percolation\n\n## p* and minimax barrier per k\n\n\
         | k | model | pair kind | p* (median) | p*_null | lattice p_c^site(k) | minimax barrier (median) | linear barrier (median) |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (k, models) in &s.minimax_barrier {
        for (model, kinds) in models {
            for (kind, b) in kinds {
                let p = s
                    .p_star
                    .get(k)
                    .and_then(|m| m.get(model))
                    .and_then(|m| m.get(kind))
                    .map_or("–".into(), |p| format!("{:.4}", p.median));
                let null = s
                    .p_star_null
                    .get(k)
                    .map_or("–".into(), |n| format!("{:.4} ± {:.4}", n.mean, n.stderr));
                let pc = s
                    .lattice_pc_site
                    .get(k)
                    .map_or("–".into(), |p| format!("{p:.4}"));
                let lin = s
                    .linear_barrier
                    .get(k)
                    .and_then(|m| m.get(model))
                    .and_then(|m| m.get(kind))
                    .map_or("–".into(), |p| format!("{:.3e}", p.median));
                md.push_str(&format!(
                    "| {k} | {model} | {kind} | {p} | {null} | {pc} | {:.3e} | {lin} |\n",
                    b.median
                ));
            }
        }
    }
    md.push_str("\n## Path barriers of the same pairs\n\n| model | pair kind | pairs | linear (median) | bypass (median) |\n|---|---|---|---|---|\n");
    for (model, kinds) in &s.path_barriers {
        for (kind, p) in kinds {
            md.push_str(&format!(
                "| {model} | {kind} | {} | {:.3e} | {:.3e} |\n",
                p.n, p.linear_barrier, p.bypass_barrier
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

    fn params(text: &str) -> SliceParams {
        toml::from_str(text).unwrap()
    }

    const BASE: &str = r#"
        models = ["untrained:mlp:pytorch:1"]
        seed = 1
        pairs = 1
    "#;

    #[test]
    fn input_shape_needs_classes_and_synthetic_pairs_only() {
        let ok = params(&format!(
            "{BASE}pair_kinds = [\"synthetic\"]\ninput_shape = [1, 8, 8]\nclasses = 3\n"
        ));
        assert!(ok.validate().is_ok());
        // Without the optional fields the canonical form is unchanged, so
        // the hashes of existing runs stay valid.
        let plain = params(&format!("{BASE}pair_kinds = [\"synthetic\"]\n"));
        let json = serde_json::to_string(&plain).unwrap();
        assert!(
            !json.contains("input_shape") && !json.contains("classes"),
            "{json}"
        );

        let real = params(&format!(
            "{BASE}pair_kinds = [\"real_real\"]\ninput_shape = [1, 8, 8]\nclasses = 3\n"
        ));
        let e = real.validate().unwrap_err().to_string();
        assert!(
            e.contains("params.pair_kinds") && e.contains("synthetic"),
            "{e}"
        );
        let half = params(&format!(
            "{BASE}pair_kinds = [\"synthetic\"]\ninput_shape = [1, 8, 8]\n"
        ));
        let e = half.validate().unwrap_err().to_string();
        assert!(
            e.contains("params.input_shape") && e.contains("classes"),
            "{e}"
        );
        let zero = params(&format!(
            "{BASE}pair_kinds = [\"synthetic\"]\ninput_shape = [1, 0, 8]\nclasses = 3\n"
        ));
        assert!(zero
            .validate()
            .unwrap_err()
            .to_string()
            .contains("params.input_shape"));
    }
}
