//! The slice-percolation study as a runner experiment
//! (`kind = "slice-percolation"`): for each model, pair kind and pair, a
//! scan over the slice dimension k of nested slices through the pair (one
//! frame of directions per pair, one side L for every k), each measured by
//! [`crate::bridge::measure_slice`] — the minimax barrier, the gap
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
//!
//! This module holds the units and the tables; the parameters are in
//! `params.rs`, the figures in `figures.rs` and the report in `report.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::seq::{IndexedRandom, SliceRandom};
use serde::{Deserialize, Serialize};

use crate::bridge::SliceRecord;
use crate::bridge::{measure_slice, Frame, LargestCurves, PairLabel, CURVE_POINTS};
use crate::bridge::{summarise, PairOutcome, SliceSummary};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{prefix, read_json, write_csv, write_json};
use crate::inputspace::attack::paper_attack;
use crate::inputspace::bypass::bypass_many;
use crate::inputspace::fvo::synthesize;
use crate::nn::{Classifier, Network};
use crate::rng::{derive_seed, stream, unit_rng};

mod figures;
mod params;
mod report;

pub use figures::draw_figures;
pub use params::{SliceParams, PAIR_KINDS};
pub use report::write_report;

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
                let d = crate::data::load(&params.data).map_err(|e| prefix(e, "params."))?;
                let (shape, classes) = (d.item_shape().to_vec(), d.classes());
                (Some(d), shape, classes)
            }
        };
        let mut models = Vec::new();
        for m in &params.models {
            models.push(
                crate::nn::zoo::load_spec(m, &shape, classes)
                    .map_err(|e| prefix(e, "params.models: "))?,
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
    /// Model spec of the group, one of the study's `models`.
    pub model: String,
    /// Pair kind of the group: `real_real`, `real_adversarial` or `synthetic`.
    pub pair_kind: String,
    /// Slice dimension k of the dense slices averaged.
    pub k: usize,
    /// `field`, `null_iid` or `surrogate`.
    pub field: String,
    /// Occupied fraction p = j/CURVE_POINTS of the grid, j = 1..=CURVE_POINTS.
    pub p: f64,
    /// Mean `P∞(p)` over the group's pairs.
    pub largest_fraction: f64,
    /// Number of pairs whose curves are averaged at this point.
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

/// The run's `summary.json`, which the figures and the report are drawn from.
fn read_summary(dir: &Path) -> Result<SliceSummary> {
    read_json(&dir.join("summary.json"))
}
