//! One attack, named and configured, as a domain function: [`Attack::run`]
//! turns source inputs into adversarial ones, and [`measure_attack`] adds
//! what a user reads off an attack — the predicted class, success, the loss
//! before and after and the size of the perturbation. `ismc attack` and the
//! adversarial study ([`crate::inputspace::study`]) both go through
//! [`Attack`], so an attack named on the command line and in a study is the
//! same computation with the same seeds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{
    adaptive_attack, adaptive_local, fgsm, paper_attack, pgd, AdaptiveConfig, Goal,
    LocalAdaptiveConfig, PaperAttackConfig, PgdConfig,
};
use crate::inputspace::{check_targets, count_inputs, target_of};
use crate::nn::Classifier;
use crate::{Error, Result};

/// The attacks ismc knows, by name.
///
/// The variants are declared in the alphabetical order of their names, so a
/// map keyed by kind (the adversarial study's records and summaries)
/// serialises its keys in name order; [`AttackKind::ALL`] is the order in
/// which tables and figures list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    /// The paper's attack plus a penalty on the barrier to real target-class
    /// references: an attacker who knows the barrier detector.
    Adaptive,
    /// Targeted PGD against the local barriers (expectation over noise): an
    /// attacker who knows the extended detector.
    AdaptiveLocal,
    /// Fast gradient sign method: one signed-gradient step of size ε.
    Fgsm,
    /// The paper's targeted input optimisation (Adam on CE + 0.1·MSE + TV),
    /// stopped once the CE falls below that of a real target-class input.
    Paper,
    /// Projected gradient descent in the L∞ ball of radius ε.
    Pgd,
}

impl AttackKind {
    /// Every attack, in the order tables and figures list them.
    pub const ALL: [AttackKind; 5] = [
        AttackKind::Paper,
        AttackKind::Fgsm,
        AttackKind::Pgd,
        AttackKind::Adaptive,
        AttackKind::AdaptiveLocal,
    ];

    /// The standard (non-adaptive) attacks: what a *pooled* detector is
    /// trained on, leaving the adaptive attacks unseen.
    pub const STANDARD: [AttackKind; 3] = [AttackKind::Paper, AttackKind::Fgsm, AttackKind::Pgd];

    /// The name used in configurations, on the command line and in stored
    /// records (`paper`, `fgsm`, `pgd`, `adaptive`, `adaptive_local`).
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::Adaptive => "adaptive",
            AttackKind::AdaptiveLocal => "adaptive_local",
            AttackKind::Fgsm => "fgsm",
            AttackKind::Paper => "paper",
            AttackKind::Pgd => "pgd",
        }
    }

    /// The names of [`AttackKind::ALL`], in that order.
    pub fn names() -> [&'static str; 5] {
        AttackKind::ALL.map(AttackKind::name)
    }

    /// Whether the attack stops each input at a given loss (the CE of a real
    /// target-class input), and so needs one.
    pub fn needs_stop_loss(self) -> bool {
        matches!(self, AttackKind::Paper | AttackKind::Adaptive)
    }

    /// Whether the attack always aims at a target class.
    pub fn is_targeted_only(self) -> bool {
        !matches!(self, AttackKind::Fgsm | AttackKind::Pgd)
    }
}

impl fmt::Display for AttackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AttackKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        AttackKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "attack",
                    s,
                    format!("expected one of {}", AttackKind::names().join(", ")),
                )
            })
    }
}

/// An attack with everything it needs besides the model, the inputs and
/// their classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attack<'a> {
    /// [`paper_attack`]: stops input i once its CE is below `stop_losses[i]`
    /// (or the single shared value).
    Paper {
        /// Adam and penalty parameters.
        config: PaperAttackConfig,
        /// Stop loss per input, or one shared value.
        stop_losses: &'a [f32],
    },
    /// [`adaptive_attack`]: the paper's attack plus the barrier penalty to
    /// `references` (r real target-class inputs per source, back to back).
    Adaptive {
        /// The paper's parameters and the penalty's.
        config: AdaptiveConfig,
        /// Stop loss per input, or one shared value.
        stop_losses: &'a [f32],
        /// r references per source; those of source i at `i·r .. (i+1)·r`.
        references: &'a [f32],
    },
    /// [`fgsm`].
    Fgsm {
        /// L∞ step, in input units.
        eps: f64,
        /// Towards the classes (targeted) or away from them.
        goal: Goal,
    },
    /// [`pgd`], its random start of input i drawn from
    /// `unit_rng(seed, [INPUT_SPACE, PGD, i])`.
    Pgd {
        /// Radius, step, steps and start.
        config: PgdConfig,
        /// Towards the classes (targeted) or away from them.
        goal: Goal,
        /// Seed of the random starts.
        seed: u64,
    },
    /// [`adaptive_local`]: targeted PGD with the same start as [`Attack::Pgd`]
    /// for the same seed, against the local barriers at `radii`.
    AdaptiveLocal {
        /// Radius, step, steps and start of the PGD.
        config: PgdConfig,
        /// Radii of the noisy copies, as fractions of the range width.
        radii: &'a [f64],
        /// Weight and number of the noisy copies.
        local: LocalAdaptiveConfig,
        /// Seed of the random starts and the noise.
        seed: u64,
    },
}

/// The adversarial inputs of one attack and the steps each took.
#[derive(Debug, Clone, PartialEq)]
pub struct Adversarials {
    /// The adversarial inputs, back to back, in the order of the sources.
    pub inputs: Vec<f32>,
    /// Gradient steps taken per input (FGSM: 1; PGD: its step count; the
    /// optimisation attacks: until each met its stop rule).
    pub iterations: Vec<usize>,
}

impl Attack<'_> {
    /// Which attack this is.
    pub fn kind(&self) -> AttackKind {
        match self {
            Attack::Paper { .. } => AttackKind::Paper,
            Attack::Adaptive { .. } => AttackKind::Adaptive,
            Attack::Fgsm { .. } => AttackKind::Fgsm,
            Attack::Pgd { .. } => AttackKind::Pgd,
            Attack::AdaptiveLocal { .. } => AttackKind::AdaptiveLocal,
        }
    }

    /// Whether `classes` are targets (reached by decreasing their CE) or
    /// true labels (left by increasing it).
    pub fn goal(&self) -> Goal {
        match self {
            Attack::Fgsm { goal, .. } | Attack::Pgd { goal, .. } => *goal,
            _ => Goal::Targeted,
        }
    }

    /// Attacks the n inputs `sources` (back to back) with `classes` (one per
    /// input or one shared). `batch` bounds the inputs per forward pass of
    /// the signed-gradient attacks; the optimisation attacks step all their
    /// active inputs together (the adaptive one batches its path points by
    /// its own `batch`).
    pub fn run<C: Classifier + ?Sized>(
        &self,
        model: &C,
        sources: &[f32],
        classes: &[u32],
        batch: usize,
    ) -> Result<Adversarials> {
        let n = count_inputs(model.spec(), sources, "sources")?;
        let fixed = |inputs: Vec<f32>, steps: usize| Adversarials {
            inputs,
            iterations: vec![steps; n],
        };
        Ok(match *self {
            Attack::Paper {
                config,
                stop_losses,
            } => {
                let r = paper_attack(model, sources, classes, stop_losses, &config)?;
                Adversarials {
                    inputs: r.inputs,
                    iterations: r.iterations,
                }
            }
            Attack::Adaptive {
                config,
                stop_losses,
                references,
            } => {
                let r = adaptive_attack(model, sources, classes, stop_losses, references, &config)?;
                Adversarials {
                    inputs: r.inputs,
                    iterations: r.iterations,
                }
            }
            Attack::Fgsm { eps, goal } => {
                fixed(fgsm(model, sources, classes, goal, eps, batch)?, 1)
            }
            Attack::Pgd { config, goal, seed } => fixed(
                pgd(model, sources, classes, goal, &config, seed, batch)?,
                config.iterations,
            ),
            Attack::AdaptiveLocal {
                config,
                radii,
                local,
                seed,
            } => fixed(
                adaptive_local(model, sources, classes, &config, radii, &local, seed, batch)?,
                config.iterations,
            ),
        })
    }
}

/// What one attack did to one input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AttackOutcome {
    /// The class the attack aimed at (targeted) or away from (untargeted);
    /// the losses below are cross-entropies against it.
    pub class: u32,
    /// The model's prediction for the adversarial input.
    pub predicted: u32,
    /// Targeted: the model predicts `class`; untargeted: it does not.
    pub success: bool,
    /// CE of the source input.
    pub loss_before: f32,
    /// CE of the adversarial input.
    pub loss_after: f32,
    /// Largest change of one input value.
    pub linf: f32,
    /// Euclidean size of the change.
    pub l2: f64,
    /// Gradient steps taken.
    pub iterations: usize,
}

/// An attack's adversarial inputs and what it did to each.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackRecord {
    /// Which attack ran.
    pub kind: AttackKind,
    /// Targeted or untargeted.
    pub goal: Goal,
    /// The adversarial inputs, back to back.
    pub inputs: Vec<f32>,
    /// One outcome per input, in the order of the sources.
    pub outcomes: Vec<AttackOutcome>,
}

/// Runs `attack` on `sources` and measures each outcome: predictions and
/// losses of sources and adversarials in batches of `batch`.
pub fn measure_attack<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack<'_>,
    sources: &[f32],
    classes: &[u32],
    batch: usize,
) -> Result<AttackRecord> {
    let spec = model.spec();
    let n = count_inputs(spec, sources, "sources")?;
    check_targets(spec, classes, n, "classes")?;
    let adv = attack.run(model, sources, classes, batch)?;
    let batch = batch.max(1);
    let classes_n: Vec<u32> = (0..n).map(|i| target_of(classes, i)).collect();
    let before = model.loss_flat(sources, &classes_n, batch)?;
    let after = model.loss_flat(&adv.inputs, &classes_n, batch)?;
    let predicted = model.predict_flat(&adv.inputs, batch)?;
    let len = spec.item_len();
    let goal = attack.goal();
    let outcomes = (0..n)
        .map(|i| {
            let (x, a) = (
                &sources[i * len..(i + 1) * len],
                &adv.inputs[i * len..(i + 1) * len],
            );
            let linf = a
                .iter()
                .zip(x)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            let l2 = a
                .iter()
                .zip(x)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            let class = classes_n[i];
            AttackOutcome {
                class,
                predicted: predicted[i],
                success: (predicted[i] == class) == (goal == Goal::Targeted),
                loss_before: before[i],
                loss_after: after[i],
                linf,
                l2,
                iterations: adv.iterations[i],
            }
        })
        .collect();
    Ok(AttackRecord {
        kind: attack.kind(),
        goal,
        inputs: adv.inputs,
        outcomes,
    })
}
