//! The attacks that step along the sign of the input gradient: FGSM, and
//! PGD-L∞ with its expectation-over-noise variant against the local
//! barriers.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{check_eps, sign, Goal};
use crate::inputspace::{check_non_negative, check_targets, clip, count_inputs, target_of};
use crate::nn::Classifier;
use crate::rng::{stream, unit_rng};
use crate::{Error, Result};

/// Parameters of PGD-L∞.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PgdConfig {
    /// Radius of the L∞ ball.
    pub eps: f64,
    /// Step size of each signed-gradient step.
    pub step: f64,
    /// Number of signed-gradient steps taken from the start point.
    pub iterations: usize,
    /// Start from a uniform point in the ball (seeded) instead of x.
    pub random_start: bool,
}

impl Default for PgdConfig {
    fn default() -> Self {
        PgdConfig {
            eps: 0.3,
            step: 0.01,
            iterations: 40,
            random_start: true,
        }
    }
}

/// Fast gradient sign method on `xs` (n inputs) with `classes` (per input or
/// shared: targets for [`Goal::Targeted`], true labels otherwise).
pub fn fgsm<C: Classifier + ?Sized>(
    model: &C,
    xs: &[f32],
    classes: &[u32],
    goal: Goal,
    eps: f64,
    batch: usize,
) -> Result<Vec<f32>> {
    let spec = model.spec();
    let n = count_inputs(spec, xs, "inputs")?;
    check_targets(spec, classes, n, "classes")?;
    check_eps(model, "eps", eps)?;
    let (_, grad) = model.loss_grad_flat(xs, classes, batch.max(1))?;
    let s = if goal == Goal::Targeted { -eps } else { eps } as f32;
    let mut out: Vec<f32> = xs
        .iter()
        .zip(&grad)
        .map(|(x, g)| x + s * sign(*g))
        .collect();
    clip(&mut out, spec.range);
    Ok(out)
}

/// PGD-L∞ on `xs`; the random start of input `i` comes from
/// `unit_rng(seed, [INPUT_SPACE, PGD, i])`.
pub fn pgd<C: Classifier + ?Sized>(
    model: &C,
    xs: &[f32],
    classes: &[u32],
    goal: Goal,
    cfg: &PgdConfig,
    seed: u64,
    batch: usize,
) -> Result<Vec<f32>> {
    pgd_with(model, xs, classes, goal, cfg, seed, batch, None)
}

/// The local-barrier-aware adaptive attack's extra parameters (see
/// [`adaptive_local`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalAdaptiveConfig {
    /// Weight μ of the mean loss at the noisy copies.
    pub mu: f64,
    /// Noisy copies J per step (fresh sign directions each step).
    pub directions: usize,
}

impl Default for LocalAdaptiveConfig {
    fn default() -> Self {
        LocalAdaptiveConfig {
            mu: 1.0,
            directions: 4,
        }
    }
}

impl LocalAdaptiveConfig {
    /// Checks every field; `prefix` names the config section in errors.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        check_non_negative(&format!("{prefix}.mu"), self.mu)?;
        if self.directions == 0 {
            return Err(Error::invalid(
                format!("{prefix}.directions"),
                0,
                "expected at least 1",
            ));
        }
        Ok(())
    }
}

/// The adaptive attacker against *local* barriers
/// ([`super::local`](crate::inputspace::local)): targeted PGD-L∞ (same start, ε, step and steps as
/// [`pgd`] with the same seed) on the expectation-over-noise objective
///
/// ```text
/// CE(x, t) + μ · (1/J) Σ_j CE(clip(x + r_j·w·u_j), t),
/// ```
///
/// where each step draws J fresh sign vectors `u_j` (seeded per input) and
/// cycles the radii `r_j` through `radii` (fractions of the range width w).
/// The clip is passed straight through in the gradient. It seeks an
/// adversarial input in a *wide* low-loss basin, which is what the local
/// rises test.
#[allow(clippy::too_many_arguments)]
pub fn adaptive_local<C: Classifier + ?Sized>(
    model: &C,
    xs: &[f32],
    targets: &[u32],
    cfg: &PgdConfig,
    radii: &[f64],
    local: &LocalAdaptiveConfig,
    seed: u64,
    batch: usize,
) -> Result<Vec<f32>> {
    local.validate("adaptive_local")?;
    crate::inputspace::local::check_radii("radii", radii)?;
    if radii.is_empty() {
        return Err(Error::invalid(
            "radii",
            "[]",
            "expected at least one radius",
        ));
    }
    let eot = Eot { radii, cfg: local };
    pgd_with(
        model,
        xs,
        targets,
        Goal::Targeted,
        cfg,
        seed,
        batch,
        Some(&eot),
    )
}

/// The noise of [`adaptive_local`].
struct Eot<'a> {
    radii: &'a [f64],
    cfg: &'a LocalAdaptiveConfig,
}

/// PGD-L∞, optionally on the expectation-over-noise objective of
/// [`adaptive_local`].
#[allow(clippy::too_many_arguments)]
fn pgd_with<C: Classifier + ?Sized>(
    model: &C,
    xs: &[f32],
    classes: &[u32],
    goal: Goal,
    cfg: &PgdConfig,
    seed: u64,
    batch: usize,
    eot: Option<&Eot>,
) -> Result<Vec<f32>> {
    let spec = model.spec();
    let n = count_inputs(spec, xs, "inputs")?;
    check_targets(spec, classes, n, "classes")?;
    check_eps(model, "pgd.eps", cfg.eps)?;
    check_eps(model, "pgd.step", cfg.step)?;
    let len = spec.item_len();
    let (eps, step) = (cfg.eps as f32, cfg.step as f32);
    let (lo, hi) = spec.range;
    let project = |x: &mut [f32]| {
        for (v, &o) in x.iter_mut().zip(xs) {
            *v = v.clamp(o - eps, o + eps).clamp(lo, hi);
        }
    };
    let mut x = xs.to_vec();
    if cfg.random_start {
        for i in 0..n {
            let mut rng = unit_rng(
                seed,
                &[
                    stream::INPUT_SPACE,
                    crate::inputspace::stream::PGD,
                    i as u64,
                ],
            );
            for v in &mut x[i * len..(i + 1) * len] {
                *v += rng.random_range(-eps..=eps);
            }
        }
        project(&mut x);
    }
    let s = if goal == Goal::Targeted { -step } else { step };
    let mut noise: Vec<_> = (0..if eot.is_some() { n } else { 0 })
        .map(|i| {
            unit_rng(
                seed,
                &[
                    stream::INPUT_SPACE,
                    crate::inputspace::stream::LOCAL_ATTACK,
                    i as u64,
                ],
            )
        })
        .collect();
    for _ in 0..cfg.iterations {
        let grad = match eot {
            None => model.loss_grad_flat(&x, classes, batch.max(1))?.1,
            Some(e) => eot_gradient(model, &x, classes, e, &mut noise, batch)?,
        };
        for (v, g) in x.iter_mut().zip(&grad) {
            *v += s * sign(*g);
        }
        project(&mut x);
    }
    Ok(x)
}

/// `∇CE(x) + μ/J Σ_j ∇CE(clip(x + r_j·w·u_j))` of every input, the signs
/// drawn from each input's own generator in `noise`.
fn eot_gradient<C: Classifier + ?Sized>(
    model: &C,
    x: &[f32],
    classes: &[u32],
    eot: &Eot,
    noise: &mut [crate::rng::UnitRng],
    batch: usize,
) -> Result<Vec<f32>> {
    let spec = model.spec();
    let len = spec.item_len();
    let (lo, hi) = spec.range;
    let j = eot.cfg.directions;
    let per = 1 + j;
    let mut buf = Vec::with_capacity(noise.len() * per * len);
    let mut ts = Vec::with_capacity(noise.len() * per);
    for (i, rng) in noise.iter_mut().enumerate() {
        let xi = &x[i * len..(i + 1) * len];
        buf.extend_from_slice(xi);
        for q in 0..j {
            let r = (eot.radii[q % eot.radii.len()] as f32) * (hi - lo);
            buf.extend(xi.iter().map(|&v| {
                let u = if rng.random::<bool>() { r } else { -r };
                (v + u).clamp(lo, hi)
            }));
        }
        ts.extend(std::iter::repeat_n(target_of(classes, i), per));
    }
    let (_, grad) = model.loss_grad_flat(&buf, &ts, batch.max(1))?;
    let w = (eot.cfg.mu / j as f64) as f32;
    Ok(grad
        .chunks(per * len)
        .flat_map(|g| {
            let (own, copies) = g.split_at(len);
            (0..len).map(move |k| own[k] + w * copies[k..].iter().step_by(len).sum::<f32>())
        })
        .collect())
}
