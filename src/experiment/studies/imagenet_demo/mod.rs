//! Input-space mode connectivity on real ImageNet classifiers
//! (`kind = "imagenet-demo"`): the paper's three kinds of mode pairs
//! (science.md §1–2) for SqueezeNet v1.1 and EfficientNet-Lite0 on real
//! photos.
//!
//! For every model and every configured photo of class y (e.g. coffee.png,
//! espresso), one unit builds three pairs of class-y modes:
//!
//! * **real–synthetic**: the photo and an FVO input of class y grown from
//!   N(0, 0.01²) noise;
//! * **synthetic–synthetic**: that FVO input and a second one from
//!   independent noise;
//! * **real–adversarial**: the photo and the paper's targeted attack
//!   applied to *another* photo (the entry's `attack_source`) towards y,
//!   stopped once its CE falls below the photo's, so both endpoints have
//!   comparable loss.
//!
//! Each pair gets its straight path (barrier max and gap, CE against y at
//! `bypass.points` samples) and then round after round of the projected
//! bend (the paper's bypass for trained networks: MSE and TV penalties, the
//! bend kept in the hyperplane orthogonal to the bent segment), all three
//! pairs optimised together. The unit also stores the loss curves of the
//! straight path and of the final bent chain (against the chain's arc
//! position), and for every endpoint its CE and whether the model's top-1
//! class is y — a mode that is not classified as y would make its barrier
//! meaningless, and the tables say so instead of hiding it.
//!
//! Files of a finished run:
//!
//! * `endpoints.csv` — one row per (model, photo, endpoint): role, CE,
//!   top-1 class, whether it is y, optimiser iterations;
//! * `pairs.csv` — one row per pair: endpoint CEs, straight and final
//!   barrier max/gap, bends made, first relative bend size;
//! * `rounds.csv` — one row per (pair, round): barrier max and gap of the
//!   whole chain, relative bend size;
//! * `curves.csv` — loss against arc position along the straight and the
//!   bent path of every pair;
//! * `summary.json` — per model: per photo (classification, FVO and attack
//!   convergence, every pair's barriers) and per pair kind (medians over
//!   photos before and after bending, barrier max per round);
//! * `figures/barrier_rounds.{png,svg}` — median barrier max per round,
//!   one line per (model, pair kind); `figures/curves_MODEL_PHOTO_KIND.{png,svg}`
//!   — the loss along the straight (solid) and the bent (dashed) path of each pair.
//!
//! This module holds the units and their rows; the parameters are in
//! `params.rs`, the tables and `summary.json` in `summary.rs`, and the
//! figures and the report in `report.rs`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::data::{imagenet_classes, photos};
use crate::error::Result;
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{prefix, write_csv, write_json};
use crate::inputspace::attack::paper_attack;
use crate::inputspace::bypass::{bypass_many, BypassConfig};
use crate::inputspace::fvo::synthesize;
use crate::inputspace::path::{loss_along, Path as InputPath};
use crate::nn::{Classifier, Network};
use crate::rng::derive_seed;

mod params;
mod report;
mod summary;

pub use params::{ImagenetDemoParams, PhotoEntry};
pub use report::{draw_figures, write_report};
use summary::{curve_rows, pair_row};
pub use summary::{
    summarise, CurveRow, ImagenetDemoSummary, KindSummary, ModelSummary, PairBarriers, PairRow,
    PhotoSummary,
};

/// The three kinds of mode pairs, in the order a unit stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairKind {
    /// The photo and an FVO input.
    RealSynthetic,
    /// Two FVO inputs.
    SyntheticSynthetic,
    /// The photo and the attacked other photo.
    RealAdversarial,
}

impl PairKind {
    /// All kinds, in unit order.
    pub const ALL: [PairKind; 3] = [
        PairKind::RealSynthetic,
        PairKind::SyntheticSynthetic,
        PairKind::RealAdversarial,
    ];

    /// The snake_case name used in files.
    pub fn name(self) -> &'static str {
        match self {
            PairKind::RealSynthetic => "real_synthetic",
            PairKind::SyntheticSynthetic => "synthetic_synthetic",
            PairKind::RealAdversarial => "real_adversarial",
        }
    }

    /// A label for figures.
    fn label(self) -> &'static str {
        match self {
            PairKind::RealSynthetic => "real–synthetic",
            PairKind::SyntheticSynthetic => "synthetic–synthetic",
            PairKind::RealAdversarial => "real–adversarial",
        }
    }
}

/// What an endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The real photo.
    Photo,
    /// The first FVO input.
    FvoA,
    /// The second FVO input.
    FvoB,
    /// The attacked other photo.
    Adversarial,
}

/// One endpoint of a unit (a row of `endpoints.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRow {
    /// Fetched ImageNet model, an entry of `params.models` (e.g. `squeezenet-1.1`).
    pub model: String,
    /// Name of the unit's fetched photo (e.g. `coffee`).
    pub photo: String,
    /// ImageNet class y of the photo (0..1000), the target of every loss.
    pub class: u32,
    /// What this endpoint is.
    pub role: Role,
    /// Cross-entropy of the model at this endpoint against y.
    pub loss: f64,
    /// The model's top-1 class.
    pub top1: u32,
    /// Whether the top-1 class is y.
    pub top1_is_class: bool,
    /// Optimiser iterations that made it (0 for the photo).
    pub iterations: usize,
    /// FVO: reached the loss threshold; attack: stopped below the photo's
    /// CE; photo: always true.
    pub converged: bool,
}

/// One round of one pair (a row of `rounds.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRow {
    /// Fetched ImageNet model, an entry of `params.models`.
    pub model: String,
    /// Name of the unit's fetched photo.
    pub photo: String,
    /// Kind of the pair this round belongs to.
    pub kind: PairKind,
    /// 0 for the straight path, r after the r-th bend.
    pub round: usize,
    /// Max CE along the whole chain.
    pub barrier_max: f64,
    /// Max CE minus the higher endpoint CE.
    pub barrier_gap: f64,
    /// `max|B' − B|` of this round's bend over the input range (0 in round 0).
    pub relative_bend: f64,
}

/// A loss curve: CE against the position along the path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// Arc position in [0, 1] (= α on a straight path).
    pub arc: Vec<f64>,
    /// Cross-entropy against y at each `arc` position.
    pub loss: Vec<f64>,
}

/// One pair of a unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairResult {
    /// Kind of the pair: which two endpoints it joins.
    pub kind: PairKind,
    /// Round 0 (straight path) and every bend round.
    pub rounds: Vec<RoundRow>,
    /// The loss along the straight path.
    pub straight: Curve,
    /// The loss along the final chain.
    pub bent: Curve,
}

/// One unit: a model, a photo, its four endpoints and three pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoUnit {
    /// Fetched ImageNet model, an entry of `params.models`.
    pub model: String,
    /// Name of the unit's fetched photo, from `params.photos`.
    pub photo: String,
    /// ImageNet class y of the photo (0..1000), the target of every loss.
    pub class: u32,
    /// Short name of y (empty when the class names are not fetched).
    pub class_name: String,
    /// The photo the attack started from.
    pub attack_source: String,
    /// Photo, FVO A, FVO B, adversarial.
    pub endpoints: Vec<EndpointRow>,
    /// Real–synthetic, synthetic–synthetic, real–adversarial.
    pub pairs: Vec<PairResult>,
}

/// The experiment. Models are loaded by the first unit that needs them,
/// not by [`ImagenetDemo::new`]: redrawing the figures or the report of a
/// finished run reads only its stored files and must work on a machine
/// where the models were never fetched.
pub struct ImagenetDemo {
    params: ImagenetDemoParams,
    /// One slot per entry of `params.models`, filled on first use.
    models: Mutex<Vec<Option<Arc<Network>>>>,
    class_names: Option<Vec<String>>,
}

impl ImagenetDemo {
    /// Checks the parameters (loading nothing but the class names, which
    /// only label the tables and may be missing).
    pub fn new(params: ImagenetDemoParams) -> Result<Self> {
        params.validate()?;
        let class_names = imagenet_classes::load().ok();
        Ok(ImagenetDemo {
            models: Mutex::new(vec![None; params.models.len()]),
            params,
            class_names,
        })
    }

    /// Model `i`, loaded from the cache on first use; a model not fetched
    /// yet is an error that names `ismc assets fetch`.
    fn model(&self, i: usize) -> Result<Arc<Network>> {
        let mut slots = self.models.lock().expect("no panic while loading");
        if let Some(m) = &slots[i] {
            return Ok(Arc::clone(m));
        }
        let net = crate::nn::zoo::load_fetched(&self.params.models[i])
            .map_err(|e| prefix(e, "params.models: "))?;
        let net = Arc::new(net);
        slots[i] = Some(Arc::clone(&net));
        Ok(net)
    }

    fn unit(&self, index: usize) -> (usize, usize) {
        (
            index / self.params.photos.len(),
            index % self.params.photos.len(),
        )
    }
}

/// CE against `class` and the top-1 class of each of the inputs `xs`.
fn judge<C: Classifier + ?Sized>(model: &C, xs: &[f32], class: u32) -> Result<Vec<(f64, u32)>> {
    let spec = model.spec();
    let n = xs.len() / spec.item_len();
    let loss = model.loss_flat(xs, &vec![class; n], n)?;
    let logits = model.logits_flat(xs, n)?;
    Ok(logits
        .chunks(spec.classes)
        .zip(loss)
        .map(|(row, l)| {
            let top = row
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (k, &v)| {
                    if v > best.1 {
                        (k, v)
                    } else {
                        best
                    }
                })
                .0;
            (l as f64, top as u32)
        })
        .collect())
}

fn curve_of<C: Classifier + ?Sized>(
    model: &C,
    vertices: Vec<Vec<f32>>,
    class: u32,
    cfg: &BypassConfig,
) -> Result<Curve> {
    let path = InputPath::polygon(vertices)?;
    let c = loss_along(model, &path, class, cfg.points, cfg.batch)?;
    Ok(Curve {
        arc: c.arc,
        loss: c.loss,
    })
}

impl Experiment for ImagenetDemo {
    type Output = PhotoUnit;

    /// Every model is known and fetched; each is loaded on first use.
    fn preflight(&self) -> Result<()> {
        for m in &self.params.models {
            crate::nn::zoo::fetched_path(m).map_err(|e| prefix(e, "params.models: "))?;
        }
        Ok(())
    }

    fn units(&self) -> Vec<String> {
        (0..self.params.models.len() * self.params.photos.len())
            .map(|i| {
                let (m, p) = self.unit(i);
                format!("m{m}-{}", self.params.photos[p].name)
            })
            .collect()
    }

    fn run_unit(&self, index: usize, _files: &UnitFiles) -> Result<PhotoUnit> {
        let (mi, pi) = self.unit(index);
        let model = &*self.model(mi)?;
        let name = &self.params.models[mi];
        let entry = &self.params.photos[pi];
        let class = entry.class;
        let source = self.params.attack_source(pi);
        let shape = model.spec().item_shape.clone();
        let len = model.spec().item_len();
        let seed = derive_seed(self.params.seed, &[0x1D, index as u64]);

        let photo = photos::input_for(&photos::path_of(&entry.name)?, &shape)?;
        let source_input = photos::input_for(&photos::path_of(&source)?, &shape)?;
        let photo_loss = judge(model, &photo, class)?[0].0;

        let fvo = synthesize(
            model,
            &[class, class],
            &[derive_seed(seed, &[1]), derive_seed(seed, &[2])],
            &self.params.fvo,
        )?;
        let attack = paper_attack(
            model,
            &source_input,
            &[class],
            &[photo_loss as f32],
            &self.params.attack,
        )?;
        let (fvo_a, fvo_b) = fvo.inputs.split_at(len);
        let adversarial = &attack.inputs[..len];

        let mut all = Vec::with_capacity(4 * len);
        for x in [&photo[..], fvo_a, fvo_b, adversarial] {
            all.extend_from_slice(x);
        }
        let judged = judge(model, &all, class)?;
        let roles = [Role::Photo, Role::FvoA, Role::FvoB, Role::Adversarial];
        let iterations = [
            0,
            fvo.iterations[0],
            fvo.iterations[1],
            attack.iterations[0],
        ];
        let converged = [true, fvo.converged[0], fvo.converged[1], attack.stopped[0]];
        let endpoints = (0..4)
            .map(|k| EndpointRow {
                model: name.clone(),
                photo: entry.name.clone(),
                class,
                role: roles[k],
                loss: judged[k].0,
                top1: judged[k].1,
                top1_is_class: judged[k].1 == class,
                iterations: iterations[k],
                converged: converged[k],
            })
            .collect();

        // Pairs in PairKind::ALL order: (photo, FVO A), (FVO A, FVO B),
        // (photo, adversarial).
        let ends: [(&[f32], &[f32]); 3] = [(&photo, fvo_a), (fvo_a, fvo_b), (&photo, adversarial)];
        let (mut starts, mut stops) = (Vec::new(), Vec::new());
        for (a, c) in ends {
            starts.extend_from_slice(a);
            stops.extend_from_slice(c);
        }
        let reports = bypass_many(
            model,
            &starts,
            &stops,
            &[class],
            &self.params.bypass,
            &self.params.rounds,
        )?;
        let mut pairs = Vec::new();
        for ((kind, (a, c)), report) in PairKind::ALL.into_iter().zip(ends).zip(reports) {
            let rounds = report
                .rounds
                .iter()
                .map(|r| RoundRow {
                    model: name.clone(),
                    photo: entry.name.clone(),
                    kind,
                    round: r.round,
                    barrier_max: r.barrier.max,
                    barrier_gap: r.barrier.gap,
                    relative_bend: r.relative_bend,
                })
                .collect();
            let straight = curve_of(
                model,
                vec![a.to_vec(), c.to_vec()],
                class,
                &self.params.bypass,
            )?;
            let bent = curve_of(model, report.vertices, class, &self.params.bypass)?;
            pairs.push(PairResult {
                kind,
                rounds,
                straight,
                bent,
            });
        }
        let class_name = self
            .class_names
            .as_ref()
            .and_then(|n| n.get(class as usize))
            .map(|s| imagenet_classes::short_name(s).to_string())
            .unwrap_or_default();
        Ok(PhotoUnit {
            model: name.clone(),
            photo: entry.name.clone(),
            class,
            class_name,
            attack_source: source,
            endpoints,
            pairs,
        })
    }

    fn finish(&self, units: Vec<PhotoUnit>, dir: &Path) -> Result<()> {
        let endpoints: Vec<EndpointRow> = units.iter().flat_map(|u| u.endpoints.clone()).collect();
        write_csv(&dir.join("endpoints.csv"), &endpoints)?;
        let rounds: Vec<RoundRow> = units
            .iter()
            .flat_map(|u| u.pairs.iter().flat_map(|p| p.rounds.clone()))
            .collect();
        write_csv(&dir.join("rounds.csv"), &rounds)?;
        let pairs: Vec<PairRow> = units
            .iter()
            .flat_map(|u| u.pairs.iter().map(move |p| pair_row(u, p)))
            .collect();
        write_csv(&dir.join("pairs.csv"), &pairs)?;
        write_csv(&dir.join("curves.csv"), &curve_rows(&units))?;
        write_json(
            &dir.join("summary.json"),
            &summarise(&units, &self.params.bypass, &self.params.rounds),
        )
    }

    fn draw_figures(&self, dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
        draw_figures(dir, out)
    }

    fn write_report(&self, dir: &Path) -> Result<PathBuf> {
        write_report(dir, &self.params)
    }
}
