//! The tables and the summary of an ImageNet demonstration run, from its
//! units: `pairs.csv` and `curves.csv` rows, and `summary.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{PairKind, PairResult, PhotoUnit, Role};
use crate::inputspace::bypass::{BypassConfig, RoundsConfig};

/// One row of `pairs.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRow {
    /// Fetched ImageNet model, an entry of `params.models`.
    pub model: String,
    /// Name of the unit's fetched photo.
    pub photo: String,
    /// ImageNet class y of the photo, the target of every loss.
    pub class: u32,
    /// Kind of the pair: which two endpoints it joins.
    pub kind: PairKind,
    /// Cross-entropy against y at endpoint A (the photo, or FVO A for
    /// synthetic–synthetic).
    pub loss_a: f64,
    /// Cross-entropy against y at endpoint C (FVO A, FVO B or the adversarial input, by
    /// kind).
    pub loss_c: f64,
    /// Both endpoints have top-1 class y.
    pub endpoints_top1_is_class: bool,
    /// Straight path: barrier max.
    pub straight_max: f64,
    /// Straight path: barrier gap.
    pub straight_gap: f64,
    /// Final chain: barrier max.
    pub bent_max: f64,
    /// Final chain: barrier gap.
    pub bent_gap: f64,
    /// Bends made: the index of the last round (0 when none was needed).
    pub rounds: usize,
    /// Relative size of the first bend (0 if none was needed).
    pub first_relative_bend: f64,
}

/// One row of `curves.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveRow {
    /// Fetched ImageNet model, an entry of `params.models`.
    pub model: String,
    /// Name of the unit's fetched photo.
    pub photo: String,
    /// Kind of the pair the curve belongs to.
    pub kind: PairKind,
    /// `straight` or `bent`.
    pub path: String,
    /// Arc position in [0, 1].
    pub arc: f64,
    /// Cross-entropy against y at `arc`.
    pub loss: f64,
}

/// One pair's barriers in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairBarriers {
    /// CE at the two endpoints.
    pub endpoint_ce: [f64; 2],
    /// Both endpoints have top-1 class y.
    pub endpoints_top1_is_class: bool,
    /// Straight path: barrier max.
    pub straight_max: f64,
    /// Straight path: barrier gap.
    pub straight_gap: f64,
    /// Final chain: barrier max.
    pub bent_max: f64,
    /// Final chain: barrier gap.
    pub bent_gap: f64,
    /// Barrier max of the chain after each round (index = round).
    pub max_by_round: Vec<f64>,
    /// Relative size of each bend (index = round − 1).
    pub relative_bends: Vec<f64>,
}

/// One photo in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoSummary {
    /// ImageNet class y of the photo, the target of every loss.
    pub class: u32,
    /// Short name of y, the first of its ImageNet names (empty when the class names are
    /// not fetched).
    pub class_name: String,
    /// The model's top-1 for the photo is y.
    pub photo_top1_is_class: bool,
    /// CE of the photo.
    pub photo_ce: f64,
    /// FVO iterations of the two synthetic inputs.
    pub fvo_iterations: [usize; 2],
    /// Cross-entropy against y of FVO inputs A and B.
    pub fvo_ce: [f64; 2],
    /// Both reached the FVO threshold.
    pub fvo_converged: bool,
    /// The attack's source photo.
    pub attack_source: String,
    /// Iterations the paper's attack ran on the source photo.
    pub attack_iterations: usize,
    /// CE of the adversarial input.
    pub attack_ce: f64,
    /// The attack stopped below the photo's CE.
    pub attack_converged: bool,
    /// Every endpoint (photo, both FVO inputs, adversarial) has top-1 y.
    pub all_endpoints_top1_is_class: bool,
    /// Barriers of the photo's three pairs, keyed by pair kind (`real_synthetic`, …).
    pub pairs: BTreeMap<String, PairBarriers>,
}

/// One pair kind of one model in `summary.json`: medians over the photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindSummary {
    /// Pairs (= photos).
    pub pairs: usize,
    /// Median barrier max of the straight path.
    pub median_straight_max: f64,
    /// Median barrier gap of the straight path.
    pub median_straight_gap: f64,
    /// Median barrier max after the last bend.
    pub median_bent_max: f64,
    /// Median barrier gap after the last bend.
    pub median_bent_gap: f64,
    /// Largest barrier max after the last bend.
    pub worst_bent_max: f64,
    /// Median barrier max after each round (pairs that stopped early keep
    /// their last value).
    pub median_max_by_round: Vec<f64>,
    /// Largest endpoint CE over the pairs.
    pub max_endpoint_ce: f64,
    /// Every pair's endpoints have top-1 class y.
    pub all_endpoints_top1_is_class: bool,
    /// Median relative size of the first bend.
    pub median_first_relative_bend: f64,
}

/// One model in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Summary of each photo, keyed by photo name.
    pub photos: BTreeMap<String, PhotoSummary>,
    /// Per pair kind (`real_synthetic`, `synthetic_synthetic`,
    /// `real_adversarial`).
    pub pair_kinds: BTreeMap<String, KindSummary>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagenetDemoSummary {
    /// Most bend rounds per pair, from `params.rounds.max_rounds`.
    pub max_rounds: usize,
    /// Adam iterations per bend.
    pub bypass_iterations: usize,
    /// Points per segment of every path evaluation.
    pub points: usize,
    /// Summary of each model, keyed by model name.
    pub models: BTreeMap<String, ModelSummary>,
}

/// The endpoint CEs of a pair and whether both are classified as y.
fn pair_endpoints(u: &PhotoUnit, kind: PairKind) -> ([f64; 2], bool) {
    let role = |r: Role| {
        u.endpoints
            .iter()
            .find(|e| e.role == r)
            .expect("every unit stores its four endpoints")
    };
    let (a, c) = match kind {
        PairKind::RealSynthetic => (role(Role::Photo), role(Role::FvoA)),
        PairKind::SyntheticSynthetic => (role(Role::FvoA), role(Role::FvoB)),
        PairKind::RealAdversarial => (role(Role::Photo), role(Role::Adversarial)),
    };
    ([a.loss, c.loss], a.top1_is_class && c.top1_is_class)
}

pub(super) fn pair_row(u: &PhotoUnit, p: &PairResult) -> PairRow {
    let (ce, top1) = pair_endpoints(u, p.kind);
    let (first, last) = (&p.rounds[0], p.rounds.last().expect("round 0 exists"));
    PairRow {
        model: u.model.clone(),
        photo: u.photo.clone(),
        class: u.class,
        kind: p.kind,
        loss_a: ce[0],
        loss_c: ce[1],
        endpoints_top1_is_class: top1,
        straight_max: first.barrier_max,
        straight_gap: first.barrier_gap,
        bent_max: last.barrier_max,
        bent_gap: last.barrier_gap,
        rounds: last.round,
        first_relative_bend: p.rounds.get(1).map_or(0.0, |r| r.relative_bend),
    }
}

pub(super) fn curve_rows(units: &[PhotoUnit]) -> Vec<CurveRow> {
    let mut rows = Vec::new();
    for u in units {
        for p in &u.pairs {
            for (path, c) in [("straight", &p.straight), ("bent", &p.bent)] {
                rows.extend(c.arc.iter().zip(&c.loss).map(|(&arc, &loss)| CurveRow {
                    model: u.model.clone(),
                    photo: u.photo.clone(),
                    kind: p.kind,
                    path: path.into(),
                    arc,
                    loss,
                }));
            }
        }
    }
    rows
}

/// Barrier max after round `r` (the last value if the pair stopped earlier).
fn max_after(p: &PairResult, r: usize) -> f64 {
    p.rounds
        .iter()
        .take_while(|row| row.round <= r)
        .last()
        .map_or(f64::NAN, |row| row.barrier_max)
}

fn median(v: &[f64]) -> f64 {
    crate::stats::quantile(v, 0.5)
}

/// Per model: per photo and per pair kind, from the units.
pub fn summarise(
    units: &[PhotoUnit],
    bypass: &BypassConfig,
    rounds: &RoundsConfig,
) -> ImagenetDemoSummary {
    let mut by_model: BTreeMap<String, Vec<&PhotoUnit>> = BTreeMap::new();
    for u in units {
        by_model.entry(u.model.clone()).or_default().push(u);
    }
    let models = by_model
        .into_iter()
        .map(|(m, us)| {
            let photos = us
                .iter()
                .map(|u| (u.photo.clone(), photo_summary(u)))
                .collect();
            let pair_kinds = PairKind::ALL
                .into_iter()
                .map(|kind| {
                    let ps: Vec<(&PhotoUnit, &PairResult)> = us
                        .iter()
                        .flat_map(|u| {
                            u.pairs
                                .iter()
                                .filter(move |p| p.kind == kind)
                                .map(move |p| (*u, p))
                        })
                        .collect();
                    let rows: Vec<PairRow> = ps.iter().map(|(u, p)| pair_row(u, p)).collect();
                    let col = |f: fn(&PairRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
                    let summary = KindSummary {
                        pairs: rows.len(),
                        median_straight_max: median(&col(|r| r.straight_max)),
                        median_straight_gap: median(&col(|r| r.straight_gap)),
                        median_bent_max: median(&col(|r| r.bent_max)),
                        median_bent_gap: median(&col(|r| r.bent_gap)),
                        worst_bent_max: col(|r| r.bent_max)
                            .into_iter()
                            .fold(f64::NEG_INFINITY, f64::max),
                        median_max_by_round: (0..=rounds.max_rounds)
                            .map(|r| {
                                median(&ps.iter().map(|(_, p)| max_after(p, r)).collect::<Vec<_>>())
                            })
                            .collect(),
                        max_endpoint_ce: rows
                            .iter()
                            .flat_map(|r| [r.loss_a, r.loss_c])
                            .fold(f64::NEG_INFINITY, f64::max),
                        all_endpoints_top1_is_class: rows.iter().all(|r| r.endpoints_top1_is_class),
                        median_first_relative_bend: median(&col(|r| r.first_relative_bend)),
                    };
                    (kind.name().to_string(), summary)
                })
                .collect();
            (m, ModelSummary { photos, pair_kinds })
        })
        .collect();
    ImagenetDemoSummary {
        max_rounds: rounds.max_rounds,
        bypass_iterations: bypass.iterations,
        points: bypass.points,
        models,
    }
}

fn photo_summary(u: &PhotoUnit) -> PhotoSummary {
    let e = |r: Role| {
        u.endpoints
            .iter()
            .find(|x| x.role == r)
            .expect("every unit stores its four endpoints")
    };
    let (photo, a, b, adv) = (
        e(Role::Photo),
        e(Role::FvoA),
        e(Role::FvoB),
        e(Role::Adversarial),
    );
    let pairs = u
        .pairs
        .iter()
        .map(|p| {
            let row = pair_row(u, p);
            let barriers = PairBarriers {
                endpoint_ce: [row.loss_a, row.loss_c],
                endpoints_top1_is_class: row.endpoints_top1_is_class,
                straight_max: row.straight_max,
                straight_gap: row.straight_gap,
                bent_max: row.bent_max,
                bent_gap: row.bent_gap,
                max_by_round: p.rounds.iter().map(|r| r.barrier_max).collect(),
                relative_bends: p.rounds.iter().skip(1).map(|r| r.relative_bend).collect(),
            };
            (p.kind.name().to_string(), barriers)
        })
        .collect();
    PhotoSummary {
        class: u.class,
        class_name: u.class_name.clone(),
        photo_top1_is_class: photo.top1_is_class,
        photo_ce: photo.loss,
        fvo_iterations: [a.iterations, b.iterations],
        fvo_ce: [a.loss, b.loss],
        fvo_converged: a.converged && b.converged,
        attack_source: u.attack_source.clone(),
        attack_iterations: adv.iterations,
        attack_ce: adv.loss,
        attack_converged: adv.converged,
        all_endpoints_top1_is_class: u.endpoints.iter().all(|x| x.top1_is_class),
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::super::params::default_rounds;
    use super::super::{Curve, EndpointRow, RoundRow};
    use super::*;

    fn endpoint(role: Role, loss: f64, top1_is_class: bool) -> EndpointRow {
        EndpointRow {
            model: "m".into(),
            photo: "coffee".into(),
            class: 967,
            role,
            loss,
            top1: if top1_is_class { 967 } else { 0 },
            top1_is_class,
            iterations: 0,
            converged: true,
        }
    }

    fn pair(kind: PairKind, maxes: &[f64]) -> PairResult {
        PairResult {
            kind,
            rounds: maxes
                .iter()
                .enumerate()
                .map(|(r, &m)| RoundRow {
                    model: "m".into(),
                    photo: "coffee".into(),
                    kind,
                    round: r,
                    barrier_max: m,
                    barrier_gap: m / 2.0,
                    relative_bend: 0.01 * r as f64,
                })
                .collect(),
            straight: Curve {
                arc: vec![0.0, 1.0],
                loss: vec![0.1, 0.2],
            },
            bent: Curve {
                arc: vec![0.0, 1.0],
                loss: vec![0.1, 0.2],
            },
        }
    }

    fn unit(photo: &str, adversarial_top1: bool, scale: f64) -> PhotoUnit {
        let mut endpoints = vec![
            endpoint(Role::Photo, 0.02, true),
            endpoint(Role::FvoA, 4e-4, true),
            endpoint(Role::FvoB, 3e-4, true),
            endpoint(Role::Adversarial, 0.01, adversarial_top1),
        ];
        endpoints.iter_mut().for_each(|e| e.photo = photo.into());
        PhotoUnit {
            model: "m".into(),
            photo: photo.into(),
            class: 967,
            class_name: "espresso".into(),
            attack_source: "chelsea".into(),
            endpoints,
            pairs: vec![
                pair(PairKind::RealSynthetic, &[scale, scale / 10.0]),
                pair(
                    PairKind::SyntheticSynthetic,
                    &[scale, scale / 10.0, scale / 100.0],
                ),
                pair(PairKind::RealAdversarial, &[4.0 * scale, scale]),
            ],
        }
    }

    #[test]
    fn summary_takes_medians_over_photos_and_keeps_early_stops() {
        let units = vec![unit("coffee", true, 1.0), unit("chelsea", false, 3.0)];
        let s = summarise(&units, &BypassConfig::default(), &default_rounds());
        let m = &s.models["m"];
        let rs = &m.pair_kinds["real_synthetic"];
        assert_eq!(rs.pairs, 2);
        assert!((rs.median_straight_max - 2.0).abs() < 1e-12);
        // The real–synthetic pairs stopped after one bend: round 2 keeps it.
        assert_eq!(rs.median_max_by_round.len(), 3);
        assert!((rs.median_max_by_round[2] - 0.2).abs() < 1e-12);
        assert!((m.pair_kinds["synthetic_synthetic"].median_bent_max - 0.02).abs() < 1e-12);
        assert!((m.pair_kinds["real_adversarial"].worst_bent_max - 3.0).abs() < 1e-12);
        // The adversarial endpoint of chelsea's unit is misclassified: only
        // the pairs holding it are flagged.
        assert!(!m.pair_kinds["real_adversarial"].all_endpoints_top1_is_class);
        assert!(m.pair_kinds["real_synthetic"].all_endpoints_top1_is_class);
        assert!(!m.photos["chelsea"].all_endpoints_top1_is_class);
        assert!(m.photos["coffee"].all_endpoints_top1_is_class);
        assert_eq!(
            m.photos["coffee"].pairs["real_adversarial"].endpoint_ce,
            [0.02, 0.01]
        );
        assert!((m.pair_kinds["real_synthetic"].max_endpoint_ce - 0.02).abs() < 1e-12);
    }
}
