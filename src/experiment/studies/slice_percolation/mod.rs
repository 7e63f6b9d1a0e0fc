//! The slice-percolation study as a runner experiment
//! (`kind = "slice-percolation"`): for each model, pair kind and pair, a
//! scan over the slice dimension k of nested slices through the pair (one
//! frame of directions per pair, one side L for every k), each measured by
//! [`crate::bridge::measure::measure_slice`] — the minimax barrier, the gap
//! fraction, the excursion-set spanning fraction and both fair nulls — plus a
//! finite-size-scaling scan on nested grids at fixed k, and, on the same pair,
//! the linear and optimised bypass barriers.
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
//! Files of a finished run: `summary.json` ([`SliceSummary`]),
//! `slices.csv` (one row per (pair, k) of the scan), `fss.csv` (one row per
//! (pair, k, L) of the scaling scan), `pairs.csv` (one row per pair: linear
//! and bypass barriers), `largest_cluster.csv` (mean `P∞(p)` per group, k and
//! field), and the figures `p_span_KIND`, `gap_fraction_KIND` and
//! `p_star_KIND` (PNG + SVG).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::seq::{IndexedRandom, SliceRandom};
use serde::{Deserialize, Serialize};

use crate::bridge::measure::{measure_slice, Frame, LargestCurves, PairLabel, CURVE_POINTS};
use crate::bridge::study::{
    summarise, GroupAtK, GroupSummary, MeanSe, PairOutcome, SliceStudyConfig, SliceSummary,
};
use crate::bridge::SliceRecord;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{figure_links, prefix, read_json, write_csv, write_json};
use crate::inputspace::attack::{paper_attack, PaperAttackConfig};
use crate::inputspace::bypass::{bypass_many, BypassConfig, RoundsConfig};
use crate::inputspace::fvo::{synthesize, FvoConfig};
use crate::nn::{Classifier, Network};
use crate::plot::k_series::{KSeries, KSeriesFigure, Reference};
use crate::rng::{derive_seed, stream, unit_rng};
use crate::stats::bootstrap::Interval;
use crate::stats::decay::DecayLaw;

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
        self.slice.validate_as("params.slice.")?;
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
        if self.pairs == 0 || self.pairs > 100_000 {
            return Err(Error::invalid(
                "params.pairs",
                self.pairs,
                "expected 1..=100000",
            ));
        }
        if self
            .models
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            != self.models.len()
        {
            return Err(Error::invalid(
                "params.models",
                format!("{:?}", self.models),
                "expected each model once",
            ));
        }
        if self
            .pair_kinds
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            != self.pair_kinds.len()
        {
            return Err(Error::invalid(
                "params.pair_kinds",
                format!("{:?}", self.pair_kinds),
                "expected each pair kind once",
            ));
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
    /// The pair and its path barriers.
    pub pair: PairOutcome,
    /// One record per k of the scan.
    pub slices: Vec<SliceRecord>,
    /// One record per (k, L) of the scaling scan.
    pub fss: Vec<SliceRecord>,
    /// `P∞(p)` curves of the dense slices of the scan.
    pub curves: Vec<LargestCurves>,
}

/// A pair's endpoints and, for real ones, their indices in the data set.
type Endpoints = (Vec<f32>, Vec<f32>, Option<usize>, Option<usize>);

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
        if let Some(data) = &data {
            if params.pair_kinds.iter().any(|k| k != "synthetic") {
                let used = params.pairs.min(classes);
                for class in 0..used {
                    let n = data
                        .labels()
                        .iter()
                        .filter(|&&l| l as usize == class)
                        .count();
                    if n < 2 {
                        return Err(Error::invalid(
                            "params.pairs",
                            params.pairs,
                            format!(
                                "pairs of class {class} are requested, but `{}` has {n} image(s) of that class; \
                                 real pairs need at least 2",
                                params.data
                            ),
                        ));
                    }
                }
            }
        }
        let n_units = models.len() as u128 * params.pair_kinds.len() as u128 * params.pairs as u128;
        if n_units > 1_000_000 {
            return Err(Error::invalid(
                "params.pairs",
                params.pairs,
                format!("{n_units} units (models × pair kinds × pairs): expected at most 10^6"),
            ));
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
    fn real_endpoints(&self, model: &Network, class: u32, seed: u64) -> Result<Endpoints> {
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
        let (ia, ic) = (own[pick[0]], own[pick[1]]);
        Ok((data.item(ia), data.item(ic), Some(ia), Some(ic)))
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

    fn endpoints(&self, model: &Network, kind: &str, class: u32, seed: u64) -> Result<Endpoints> {
        match kind {
            "real_real" => self.real_endpoints(model, class, seed),
            "real_adversarial" => {
                let (a, _, ia, _) = self.real_endpoints(model, class, seed)?;
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
                Ok((a, adv.inputs, ia, None))
            }
            _ => {
                let r = synthesize(
                    model,
                    &[class, class],
                    &[derive_seed(seed, &[3]), derive_seed(seed, &[4])],
                    &self.params.fvo,
                )?;
                let len = model.spec().item_len();
                Ok((
                    r.inputs[..len].to_vec(),
                    r.inputs[len..].to_vec(),
                    None,
                    None,
                ))
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
        let seed = pair_seed(self.params.seed, index);
        let (a, c, a_item, c_item) = self.endpoints(model, kind, class, seed)?;
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
        let cfg = &self.params.slice;
        let frame = Frame::for_pair(model, &a, &c, class, cfg.directions, cfg.frame_size(), seed)?;
        let label = PairLabel {
            model: name,
            pair_kind: kind,
            pair: *j,
        };
        let mut slices = Vec::new();
        let mut curves = Vec::new();
        for &k in &cfg.dims {
            let m = measure_slice(model, &label, &a, &c, class, &frame, &cfg.plan(k), seed)?;
            slices.push(m.record);
            curves.extend(m.curves);
        }
        let mut fss = Vec::new();
        for &k in &cfg.fss_dims {
            for plan in cfg.fss_plans(k) {
                fss.push(measure_slice(model, &label, &a, &c, class, &frame, &plan, seed)?.record);
            }
        }
        Ok(PairSlices {
            pair: PairOutcome {
                model: name.clone(),
                pair_kind: kind.clone(),
                pair: *j,
                class,
                a_item,
                c_item,
                loss_a: ends[0],
                loss_c: ends[1],
                linear_barrier: first.barrier.max,
                bypass_barrier: last.barrier.max,
                bypass_rounds: rep.rounds.len() - 1,
                relative_bend: last.relative_bend,
            },
            slices,
            fss,
            curves,
        })
    }

    fn finish(&self, units: Vec<PairSlices>, dir: &Path) -> Result<()> {
        let records: Vec<SliceRecord> = units.iter().flat_map(|u| u.slices.clone()).collect();
        let fss: Vec<SliceRecord> = units.iter().flat_map(|u| u.fss.clone()).collect();
        let pairs: Vec<PairOutcome> = units.iter().map(|u| u.pair.clone()).collect();
        write_csv(&dir.join("slices.csv"), &records)?;
        write_csv(&dir.join("fss.csv"), &fss)?;
        write_csv(&dir.join("pairs.csv"), &pairs)?;
        write_csv(&dir.join("largest_cluster.csv"), &largest_rows(&units))?;
        let summary = summarise(
            &records,
            &fss,
            &pairs,
            self.params.slice.gap_floor,
            derive_seed(self.params.seed, &[stream::BOOTSTRAP]),
        );
        write_json(&dir.join("summary.json"), &summary)
    }

    fn draw_figures(&self, dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
        draw_figures(dir, out)
    }

    fn write_report(&self, dir: &Path) -> Result<PathBuf> {
        write_report(dir)
    }
}

/// The seed of unit `index`: every stream of the pair (endpoints, frame,
/// nulls, surrogates) derives from it, and `ismc slice --seed` takes it.
pub fn pair_seed(master: u64, index: usize) -> u64 {
    derive_seed(master, &[stream::INPUT_SPACE, 0x51, index as u64])
}

/// One row of `largest_cluster.csv`: the mean largest-cluster fraction over
/// a group's pairs at one occupied fraction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LargestRow {
    /// Model spec.
    pub model: String,
    /// Pair kind.
    pub pair_kind: String,
    /// Slice dimension.
    pub k: usize,
    /// `field`, `null_iid` or `surrogate`.
    pub field: String,
    /// Occupied fraction p.
    pub p: f64,
    /// Mean `P∞(p)` over the group's pairs.
    pub largest_fraction: f64,
    /// Pairs averaged.
    pub pairs: usize,
}

fn largest_rows(units: &[PairSlices]) -> Vec<LargestRow> {
    // (model, pair kind, k, field) → (summed curve, pairs).
    type Key<'a> = (String, String, usize, &'a str);
    let mut acc: BTreeMap<Key, (Vec<f64>, usize)> = BTreeMap::new();
    for u in units {
        for c in &u.curves {
            for (name, v) in [
                ("field", &c.field),
                ("null_iid", &c.null_iid),
                ("surrogate", &c.surrogate),
            ] {
                if v.len() != CURVE_POINTS {
                    continue;
                }
                let e = acc
                    .entry((u.pair.model.clone(), u.pair.pair_kind.clone(), c.k, name))
                    .or_insert((vec![0.0; CURVE_POINTS], 0));
                e.0.iter_mut().zip(v).for_each(|(a, b)| *a += b);
                e.1 += 1;
            }
        }
    }
    let mut rows = Vec::new();
    for ((model, kind, k, name), (sum, n)) in acc {
        for (j, s) in sum.iter().enumerate() {
            rows.push(LargestRow {
                model: model.clone(),
                pair_kind: kind.clone(),
                k,
                field: name.to_string(),
                p: (j + 1) as f64 / CURVE_POINTS as f64,
                largest_fraction: s / n as f64,
                pairs: n,
            });
        }
    }
    rows
}

fn read_summary(dir: &Path) -> Result<SliceSummary> {
    read_json(&dir.join("summary.json"))
}

/// A short legend name for a model spec.
fn short(model: &str) -> String {
    model.trim_start_matches("untrained:").to_string()
}

fn pair_kinds(s: &SliceSummary) -> Vec<String> {
    let mut v: Vec<String> = s.groups.iter().map(|g| g.pair_kind.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// `(k, estimate, 0)` points and their `(low, high)` intervals.
type KPoints = (Vec<(f64, f64, f64)>, Vec<(f64, f64)>);

/// `(k, estimate)` points and their intervals from a group's per-k values.
fn k_interval(g: &GroupSummary, f: &dyn Fn(&GroupAtK) -> Option<Interval>) -> KPoints {
    g.by_k
        .iter()
        .filter_map(|(&k, at)| f(at).map(|i| ((k as f64, i.estimate, 0.0), (i.low, i.high))))
        .unzip()
}

/// One series per model of a per-k interval statistic (empty ones dropped).
fn model_series(
    groups: &[&GroupSummary],
    f: &dyn Fn(&GroupAtK) -> Option<Interval>,
) -> Vec<KSeries> {
    groups
        .iter()
        .map(|g| {
            let (points, iv) = k_interval(g, f);
            KSeries {
                label: short(&g.model),
                points,
                intervals: Some(iv),
            }
        })
        .filter(|x| !x.points.is_empty())
        .collect()
}

/// The i.i.d. pinned null's mean per k as a dashed reference (the same grid
/// for every pair, so the first group's).
fn null_reference(
    groups: &[&GroupSummary],
    label: &str,
    f: fn(&GroupAtK) -> Option<MeanSe>,
) -> Reference {
    Reference {
        label: label.into(),
        points: groups
            .first()
            .map(|g| {
                g.by_k
                    .iter()
                    .filter_map(|(&k, a)| f(a).map(|m| (k as f64, m.mean)))
                    .collect()
            })
            .unwrap_or_default(),
        dashed: true,
        color_of_series: None,
    }
}

/// Draws per pair kind: `p_span_KIND` (mean first-span fraction of the
/// excursion sets against k per model, 95 % intervals, with the i.i.d.
/// pinned null and the lattice p_c^site(k)), `p_span_vs_surrogate_KIND` and
/// `p_span_vs_iid_KIND` (the effect sizes: median per-pair ratio of the real
/// field's p_span to each null's), `gap_fraction_KIND` (median g(k) with 95 %
/// intervals and the preferred decay law, in the series' colour) and
/// `p_star_KIND` (pinned join fraction against the i.i.d. null).
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let s = read_summary(dir)?;
    let mut written = Vec::new();
    for kind in pair_kinds(&s) {
        let groups: Vec<&GroupSummary> = s.groups.iter().filter(|g| g.pair_kind == kind).collect();
        // p_span(k) of the real fields against the lattice and the i.i.d.
        // null (the same grid for every pair).
        let dense_ks: Vec<usize> = groups
            .iter()
            .flat_map(|g| {
                g.by_k
                    .iter()
                    .filter(|(_, a)| a.p_span.is_some())
                    .map(|(&k, _)| k)
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let lattice = Reference {
            label: "lattice p_c^site(k)".into(),
            points: dense_ks
                .iter()
                .filter_map(|k| s.lattice_pc_site.get(k).map(|&p| (*k as f64, p)))
                .collect(),
            dashed: false,
            color_of_series: None,
        };
        let series = model_series(&groups, &|a| a.p_span);
        let null = null_reference(&groups, "i.i.d. pinned null (same grid)", |a| {
            a.p_span_null_iid
        });
        let side = groups
            .first()
            .and_then(|g| g.by_k.values().next())
            .map_or(0, |a| a.side);
        let fig = KSeriesFigure {
            title: format!("{kind}: first-spanning fraction of {{ℓ ≤ τ}}, L = {side}"),
            x_label: "slice dimension k".into(),
            y_label: "p_span (axis 0), mean, 95 % CI".into(),
            log_y: true,
            series,
            references: vec![lattice.clone(), null],
        };
        let (a, b) = crate::plot::save(&fig, &out.join(format!("p_span_{kind}")))?;
        written.extend([a, b]);
        // Effect sizes: p_span of the real field over each null's.
        for (name, what, f) in [
            (
                "p_span_vs_surrogate",
                "IAAFT surrogate",
                (|a: &GroupAtK| a.span_ratio_surrogate) as fn(&GroupAtK) -> Option<Interval>,
            ),
            ("p_span_vs_iid", "i.i.d. pinned null", |a| a.span_ratio_iid),
        ] {
            let mut series = model_series(&groups, &f);
            series.retain(|x| x.points.len() > 1);
            let one = Reference {
                label: format!("real = {what}"),
                points: vec![
                    (*dense_ks.first().unwrap_or(&1) as f64, 1.0),
                    (*dense_ks.last().unwrap_or(&1) as f64, 1.0),
                ],
                dashed: true,
                color_of_series: None,
            };
            let fig = KSeriesFigure {
                title: format!("{kind}: p_span of the real field / p_span of the {what}"),
                x_label: "slice dimension k".into(),
                y_label: "ratio, median over pairs, 95 % CI".into(),
                log_y: true,
                series,
                references: vec![one],
            };
            let (a, b) = crate::plot::save(&fig, &out.join(format!("{name}_{kind}")))?;
            written.extend([a, b]);
        }
        // g(k).
        let mut series = Vec::new();
        let mut refs = Vec::new();
        for g in &groups {
            let (points, iv) = k_interval(g, &|a| a.gap_fraction);
            if points.is_empty() {
                continue;
            }
            let gi = series.len();
            let n = g.pairs_above_floor;
            series.push(KSeries {
                label: format!("{} ({n} pairs)", short(&g.model)),
                points,
                intervals: Some(iv),
            });
            let d = &g.gap_decay;
            let fit = match d.preferred {
                Some(DecayLaw::Exponential) => d.exponential,
                Some(DecayLaw::PowerLaw) => d.power_law,
                None => None,
            };
            if let Some(f) = fit {
                // Drawn over the fitted points only (median g > 0).
                let ks: Vec<f64> = g
                    .by_k
                    .iter()
                    .filter(|(_, a)| a.gap_fraction.is_some_and(|i| i.estimate > 0.0))
                    .map(|(&k, _)| k as f64)
                    .collect();
                refs.push(Reference {
                    label: format!(
                        "{} fit: {}",
                        short(&g.model),
                        match f.law {
                            DecayLaw::Exponential =>
                                format!("{:.2}·e^(−{:.2}k)", f.amplitude, f.rate),
                            DecayLaw::PowerLaw => format!("{:.2}·k^(−{:.2})", f.amplitude, f.rate),
                        }
                    ),
                    points: ks
                        .iter()
                        .map(|&k| {
                            let y = match f.law {
                                DecayLaw::Exponential => f.amplitude * (-f.rate * k).exp(),
                                DecayLaw::PowerLaw => f.amplitude * k.powf(-f.rate),
                            };
                            (k, y)
                        })
                        .collect(),
                    dashed: true,
                    color_of_series: Some(gi),
                });
            }
        }
        let fig = KSeriesFigure {
            title: format!("{kind}: gap fraction g(k) = (ℓ*(k) − τ₀)/(ℓ_lin − τ₀)"),
            x_label: "slice dimension k (nested slices, fixed L)".into(),
            y_label: "g(k), median, 95 % CI".into(),
            log_y: true,
            series,
            references: refs,
        };
        let (a, b) = crate::plot::save(&fig, &out.join(format!("gap_fraction_{kind}")))?;
        written.extend([a, b]);
        // Pinned p*(k) against the i.i.d. null (the surrogate's is in the
        // report).
        let series = model_series(&groups, &|a| a.p_star_pinned);
        let null = null_reference(&groups, "i.i.d. pinned null", |a| a.p_star_null);
        let fig = KSeriesFigure {
            title: format!("{kind}: join fraction with A and C occupied first"),
            x_label: "slice dimension k".into(),
            y_label: "p* (pinned), median, 95 % CI".into(),
            log_y: true,
            series,
            references: vec![lattice.clone(), null],
        };
        let (a, b) = crate::plot::save(&fig, &out.join(format!("p_star_{kind}")))?;
        written.extend([a, b]);
    }
    Ok(written)
}

fn fmt_iv(i: Option<Interval>, sci: bool) -> String {
    match i {
        Some(i) if i.estimate.is_finite() => {
            if sci {
                format!("{:.2e} [{:.2e}, {:.2e}]", i.estimate, i.low, i.high)
            } else {
                format!("{:.3} [{:.3}, {:.3}]", i.estimate, i.low, i.high)
            }
        }
        _ => "–".into(),
    }
}

fn fmt_se(m: Option<MeanSe>) -> String {
    m.map_or("–".into(), |m| format!("{:.3} ± {:.3}", m.mean, m.stderr))
}

/// Writes `report.md` from `summary.json`: per group and k the spanning
/// fractions against both nulls and the lattice, the gap fractions, the
/// decay laws, the bypass match and the finite-size scaling.
pub fn write_report(dir: &Path) -> Result<PathBuf> {
    let s = read_summary(dir)?;
    let mut md = format!(
        "# Slice percolation\n\nIntervals are 95 % percentile-bootstrap intervals over pairs; \
         `±` is one standard error. Gap fractions use the pairs whose straight path rises above \
         the endpoints by more than {} τ₀.\n\n## Excursion-set spanning and join fractions per k\n\n\
         | model | pair kind | k | L | pairs | p_span real | p_span IAAFT | p_span i.i.d. | p_c^site(k) | p* pinned real | p* IAAFT | p* i.i.d. |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        s.gap_floor
    );
    for g in &s.groups {
        for (k, a) in &g.by_k {
            md.push_str(&format!(
                "| {} | {} | {k} | {} | {} | {} | {} | {} | {:.4} | {} | {} | {} |\n",
                g.model,
                g.pair_kind,
                a.side,
                a.pairs,
                fmt_iv(a.p_span, false),
                fmt_iv(a.p_span_surrogate, false),
                fmt_se(a.p_span_null_iid),
                s.lattice_pc_site.get(k).copied().unwrap_or(f64::NAN),
                fmt_iv(a.p_star_pinned, false),
                fmt_iv(a.p_star_surrogate, false),
                fmt_se(a.p_star_null),
            ));
        }
    }
    md.push_str(
        "\n## Barriers: gap fraction g(k) and the bypass\n\n\
         | model | pair kind | k | pairs (above floor) | exact ℓ* | g(k) median | g from lower bound | ℓ* (upper) median | grid ≤ bypass |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for g in &s.groups {
        for (k, a) in &g.by_k {
            md.push_str(&format!(
                "| {} | {} | {k} | {} ({}) | {} | {} | {} | {} | {:.0} % |\n",
                g.model,
                g.pair_kind,
                a.pairs,
                g.pairs_above_floor,
                a.exact,
                fmt_iv(a.gap_fraction, false),
                fmt_iv(a.gap_fraction_lower, false),
                fmt_iv(a.barrier_upper, true),
                100.0 * a.matches_bypass,
            ));
        }
    }
    md.push_str(
        "\n## Decay of g(k) and the bypass match\n\n\
         | model | pair kind | pairs (above floor) | exponential λ [95 %] | power law α [95 %] | preferred (Akaike weight of exp.) | median k matching the bypass | pairs matching | linear barrier | bypass barrier |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for g in &s.groups {
        let d = &g.gap_decay;
        md.push_str(&format!(
            "| {} | {} | {} ({}) | {} | {} | {} | {} | {} / {} | {} | {} |\n",
            g.model,
            g.pair_kind,
            g.pairs,
            g.pairs_above_floor,
            fmt_iv(d.exponential_rate, false),
            fmt_iv(d.power_law_exponent, false),
            match (d.preferred, d.exponential_weight) {
                (Some(l), Some(w)) => format!("{l:?} ({w:.2})"),
                _ => "–".into(),
            },
            g.k_match_median
                .map_or("beyond the scan".into(), |k| k.to_string()),
            g.k_match_pairs,
            g.pairs,
            fmt_iv(Some(g.linear_barrier), true),
            fmt_iv(Some(g.bypass_barrier), true),
        ));
    }
    let mut fss = String::new();
    for g in &s.groups {
        for (k, f) in &g.fss {
            for (name, series) in [
                ("real", &f.field),
                ("IAAFT", &f.surrogate),
                ("i.i.d.", &f.null_iid),
            ] {
                let pts: Vec<String> = series
                    .points
                    .iter()
                    .map(|(l, m, e)| format!("{l}: {m:.3} ± {e:.3}"))
                    .collect();
                let ext = match (
                    series.extrapolated,
                    series.extrapolated_stderr,
                    series.chi2_dof,
                ) {
                    (Some(p), Some(e), Some((c, d))) => format!("{p:.3} ± {e:.3} (χ² {c:.1}/{d})"),
                    _ => "–".into(),
                };
                fss.push_str(&format!(
                    "| {} | {} | {k} | {name} | {} | {ext} | {:.4} |\n",
                    g.model,
                    g.pair_kind,
                    pts.join(", "),
                    s.lattice_pc_site.get(k).copied().unwrap_or(f64::NAN),
                ));
            }
        }
    }
    if !fss.is_empty() {
        md.push_str(
            "\n## Finite-size scaling of p_span on nested grids\n\n\
             The same box refined (L − 1 doubling); extrapolated with the lattice exponent ν(k). \
             On i.i.d. fields this is lattice site percolation and must give p_c^site(k); on a smooth \
             field refining the grid does not enlarge the box in units of the correlation length, \
             so its limit is the continuum excursion set's spanning fraction of this box.\n\n\
             | model | pair kind | k | field | L: mean ± s.e. | L → ∞ | p_c^site(k) |\n|---|---|---|---|---|---|---|\n",
        );
        md.push_str(&fss);
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
