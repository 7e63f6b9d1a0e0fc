//! One class unit of the study: the pool of real low-loss images, the
//! candidate pairs and their selection, the attacks, the detector's view of
//! every clean and attacked input, and the bypass of the kept real–real
//! pairs.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::Rng;

use super::{AdversarialStudyConfig, BypassRecord, ClassUnitResult, DetectionSample};
use crate::data::Dataset;
use crate::inputspace::attack::{self, Attack, AttackKind, Goal};
use crate::inputspace::bypass::{bypass_many, BendMode, BypassConfig, RoundsConfig};
use crate::inputspace::check_class;
use crate::inputspace::detector::{features_many, max_softmax, nearest_distance};
use crate::inputspace::local::{local_barriers, random_signs};
use crate::inputspace::pairs::{linear_barriers, PairKind, PairRecord};
use crate::nn::Classifier;
use crate::rng::{stream, unit_rng};
use crate::{Error, Result};

/// Checks everything [`run_class_unit`] would refuse before computing: the
/// configuration, the class, the data's shape, the attack radii against the
/// model's input range, and that the class has `pool_size` images. What
/// only the computation can tell (how many of them have a low loss) is
/// checked when the unit runs.
pub fn check_class_unit<C: Classifier + ?Sized>(
    model: &C,
    data: &Dataset,
    cfg: &AdversarialStudyConfig,
    class: u32,
) -> Result<()> {
    cfg.validate()?;
    let spec = model.spec();
    check_class(spec, class, "class")?;
    if data.item_shape() != spec.item_shape.as_slice() {
        return Err(Error::invalid(
            "data",
            format!("items of shape {:?}", data.item_shape()),
            format!("the model needs shape {:?}", spec.item_shape),
        ));
    }
    attack::check_eps(model, "fgsm_eps", cfg.fgsm_eps)?;
    attack::check_eps(model, "pgd.eps", cfg.pgd.eps)?;
    let own = data.labels().iter().filter(|&&l| l as u32 == class).count();
    if own < cfg.pool_size || own == data.len() {
        return Err(Error::invalid(
            "pool_size",
            cfg.pool_size,
            format!(
                "class {class} has only {own} of the {} images in {} (and needs other classes to attack towards)",
                data.len(),
                data.name()
            ),
        ));
    }
    Ok(())
}

/// Runs the unit of class `class` with seed `seed` (see the module docs).
pub fn run_class_unit<C: Classifier + ?Sized>(
    model: &C,
    data: &Dataset,
    cfg: &AdversarialStudyConfig,
    class: u32,
    seed: u64,
) -> Result<ClassUnitResult> {
    check_class_unit(model, data, cfg, class)?;
    let spec = model.spec();
    let len = spec.item_len();
    let labels = data.labels();
    let own: Vec<usize> = (0..data.len())
        .filter(|&i| labels[i] as u32 == class)
        .collect();
    let others: Vec<usize> = (0..data.len())
        .filter(|&i| labels[i] as u32 != class)
        .collect();
    // 1. Pool: random class images whose loss is below the low-loss
    //    threshold (real modes, not only the most confident ones, so the
    //    paper's stop losses are those of typical real digits).
    // Shuffle the class, then evaluate it a batch at a time until the pool
    // is full (most of a class is never evaluated).
    let mut rng = unit_rng(
        seed,
        &[
            stream::INPUT_SPACE,
            crate::inputspace::stream::STUDY,
            class as u64,
        ],
    );
    let mut own = own;
    own.shuffle(&mut rng);
    let mut pool: Vec<(usize, f32)> = Vec::with_capacity(cfg.pool_size);
    for chunk in own.chunks(cfg.batch) {
        let loss = model.loss_flat(&data.values(chunk), &[class], cfg.batch)?;
        pool.extend(
            chunk
                .iter()
                .zip(&loss)
                .filter(|(_, &l)| (l as f64) <= cfg.low_loss_threshold)
                .map(|(&i, &l)| (i, l)),
        );
        if pool.len() >= cfg.pool_size {
            break;
        }
    }
    if pool.len() < cfg.pool_size {
        return Err(Error::invalid(
            "pool_size",
            cfg.pool_size,
            format!(
                "class {class} has only {} images with CE ≤ low_loss_threshold = {}",
                pool.len(),
                cfg.low_loss_threshold
            ),
        ));
    }
    pool.truncate(cfg.pool_size);
    let refs_idx: Vec<usize> = pool[..cfg.references].iter().map(|p| p.0).collect();
    let clean_idx: Vec<usize> = pool[cfg.references..cfg.references + cfg.clean_inputs]
        .iter()
        .map(|p| p.0)
        .collect();
    let rest: Vec<(usize, f32)> = pool[cfg.references + cfg.clean_inputs..].to_vec();
    let refs = data.values(&refs_idx);
    let pick_other = |rng: &mut crate::rng::UnitRng| others[rng.random_range(0..others.len())];

    // 2a. Real–real candidates.
    let cands = cfg.selection.candidates;
    let rr: Vec<(usize, usize)> = (0..cands)
        .map(|_| {
            let a = rng.random_range(0..rest.len());
            let mut c = rng.random_range(0..rest.len() - 1);
            if c >= a {
                c += 1;
            }
            (rest[a].0, rest[c].0)
        })
        .collect();
    // 2b. Cross-class candidates.
    let cc: Vec<(usize, usize)> = (0..cands)
        .map(|_| {
            (
                rest[rng.random_range(0..rest.len())].0,
                pick_other(&mut rng),
            )
        })
        .collect();
    // 3. Attack sources and the real endpoints that set the paper's stop loss.
    let sources: Vec<usize> = (0..cfg.attacked_inputs)
        .map(|_| pick_other(&mut rng))
        .collect();
    let anchors: Vec<(usize, f32)> = (0..cfg.attacked_inputs)
        .map(|i| rest[i % rest.len()])
        .collect();
    let src = data.values(&sources);
    let stop: Vec<f32> = anchors.iter().map(|a| a.1).collect();
    let target = [class];
    let r = cfg.adaptive_references;
    let mut adaptive_refs = Vec::with_capacity(cfg.attacked_inputs * r * len);
    for i in 0..cfg.attacked_inputs {
        let idx: Vec<usize> = (0..r).map(|j| rest[(i + j + 1) % rest.len()].0).collect();
        adaptive_refs.extend(data.values(&idx));
    }
    let radii = if cfg.detector.local.enabled() {
        cfg.detector.local.radii.clone()
    } else {
        vec![0.1]
    };
    let mut adversarial: BTreeMap<AttackKind, Vec<f32>> = BTreeMap::new();
    for kind in AttackKind::ALL {
        let attack = match kind {
            AttackKind::Paper => Attack::Paper {
                config: cfg.attack,
                stop_losses: &stop,
            },
            AttackKind::Fgsm => Attack::Fgsm {
                eps: cfg.fgsm_eps,
                goal: Goal::Targeted,
            },
            AttackKind::Pgd => Attack::Pgd {
                config: cfg.pgd,
                goal: Goal::Targeted,
                seed,
            },
            AttackKind::Adaptive => Attack::Adaptive {
                config: cfg.adaptive,
                stop_losses: &stop,
                references: &adaptive_refs,
            },
            AttackKind::AdaptiveLocal => Attack::AdaptiveLocal {
                config: cfg.pgd,
                radii: &radii,
                local: cfg.adaptive_local,
                seed,
            },
        };
        let inputs = attack.run(model, &src, &target, cfg.batch)?.inputs;
        adversarial.insert(kind, inputs);
    }
    let paper = &adversarial[&AttackKind::Paper];

    // 2c. Measure the candidates of each kind and select.
    let mut pairs = Vec::new();
    let mut kept_rr = Vec::new();
    let ra: Vec<(usize, usize)> = (0..cands).map(|i| (anchors[i].0, sources[i])).collect();
    for (kind, cand) in [
        (PairKind::RealReal, &rr),
        (PairKind::RealAdversarial, &ra),
        (PairKind::CrossClass, &cc),
    ] {
        let a = data.values(&cand.iter().map(|p| p.0).collect::<Vec<_>>());
        let c = if kind == PairKind::RealAdversarial {
            paper[..cands * len].to_vec()
        } else {
            data.values(&cand.iter().map(|p| p.1).collect::<Vec<_>>())
        };
        let b = linear_barriers(model, &a, &c, &target, cfg.points, cfg.batch)?;
        let ends: Vec<(f64, f64)> = b
            .iter()
            .map(|m| (m.endpoint_losses[0], m.endpoint_losses[1]))
            .collect();
        for k in cfg.selection.select(&ends) {
            pairs.push(PairRecord::new(
                kind,
                class,
                (cand[k].0 as u64, cand[k].1 as u64),
                &b[k],
                cfg.low_loss_threshold,
            ));
            if kind == PairKind::RealReal {
                kept_rr.push((cand[k], b[k].gap));
            }
        }
    }

    // 3b. Detector views. The local barriers' sign directions come from
    //     their own stream, shared by every input of the unit.
    let local_cfg = &cfg.detector.local;
    let signs = random_signs(
        &mut unit_rng(
            seed,
            &[
                stream::INPUT_SPACE,
                crate::inputspace::stream::LOCAL,
                class as u64,
            ],
        ),
        local_cfg.directions,
        len,
    );
    let view = |xs: &[f32], idx: &[usize]| -> Result<Vec<DetectionSample>> {
        let soft = max_softmax(model, xs, cfg.batch)?;
        let loss = model.loss_flat(xs, &target, cfg.batch)?;
        let feats = features_many(model, xs, class, &refs, cfg.points, cfg.batch)?;
        let mut local = local_barriers(model, xs, class, &signs, local_cfg, cfg.batch)?;
        idx.iter()
            .enumerate()
            .map(|(i, &index)| {
                let x = &xs[i * len..(i + 1) * len];
                Ok(DetectionSample {
                    index: index as u64,
                    loss: loss[i] as f64,
                    predicted: soft[i].1,
                    success: soft[i].1 == class,
                    max_softmax: soft[i].0,
                    nearest_distance: nearest_distance(x, &refs),
                    features: feats[i],
                    local: std::mem::take(&mut local[i]),
                })
            })
            .collect()
    };
    let clean = view(&data.values(&clean_idx), &clean_idx)?;
    let mut attacked = BTreeMap::new();
    for (name, xs) in &adversarial {
        attacked.insert(*name, view(xs, &sources)?);
    }

    // 4. Bypass of the kept real–real pairs.
    let mut bypass = Vec::new();
    if cfg.bypass_enabled && !kept_rr.is_empty() {
        let a = data.values(&kept_rr.iter().map(|p| p.0 .0).collect::<Vec<_>>());
        let c = data.values(&kept_rr.iter().map(|p| p.0 .1).collect::<Vec<_>>());
        let bcfg = BypassConfig {
            mode: BendMode::Projected,
            ..cfg.bypass
        };
        let rounds = RoundsConfig {
            max_rounds: 1,
            gap_tolerance: 0.0,
        };
        let reports = bypass_many(model, &a, &c, &target, &bcfg, &rounds)?;
        for ((pair, _), rep) in kept_rr.iter().zip(&reports) {
            let first = &rep.rounds[0];
            let last = rep.rounds.last().expect("round 0 exists");
            bypass.push(BypassRecord {
                index_a: pair.0 as u64,
                index_c: pair.1 as u64,
                primary_gap: first.barrier.gap,
                bypass_gap: last.barrier.gap,
                relative_bend: last.relative_bend,
            });
        }
    }
    Ok(ClassUnitResult {
        class,
        seed,
        pairs,
        clean,
        attacked,
        bypass,
    })
}
