//! Adversarial attacks, all batched over inputs (science.md §2).
//!
//! * **The paper's attack** ([`paper_attack`]): a targeted input
//!   optimisation from a real source image s of another class. Adam
//!   (lr 0.005, at most 512 iterations) minimises
//!   `CE(f(x), t) + 0.1 · MSE(x − s) + λ · TV(x − s)` (λ = 1e-8), clipping x
//!   to the input range after each step, and stops an input as soon as its
//!   CE falls below a given stop loss — the CE of a real target-class
//!   reference — so that both endpoints of a real–adversarial pair have
//!   comparable loss.
//! * **FGSM** ([`fgsm`]): `x' = clip(x ± ε · sign ∇ₓ CE(f(x), c))`, with `+`
//!   for an untargeted attack (c = true class, loss ascent) and `−` for a
//!   targeted one (c = target, loss descent).
//! * **PGD-L∞** ([`pgd`]): from a seeded uniform start in the ε-ball (or x),
//!   repeat the FGSM step with step size `step`, then project onto the
//!   ε-ball around x intersected with the input range.
//! * **The adaptive attack** ([`adaptive_attack`]): the paper's objective
//!   plus `μ · S`, a smooth maximum of the loss along the linear paths from r
//!   real class-t references `r_j` to x, sampled at m interior points
//!   `α_k = k/(m+1)`:
//!
//!   ```text
//!   p_jk = (1 − α_k) r_j + α_k x,   ℓ_jk = CE(f(p_jk), t),
//!   S = T · log Σ_jk exp(ℓ_jk / T)                 (temperature T),
//!   ∂S/∂x = Σ_jk softmax(ℓ/T)_jk · α_k · ∇CE(p_jk)  (chain rule through p_jk).
//!   ```
//!
//!   It stops once the CE is below the stop loss and the largest sampled
//!   path loss is at most `barrier_stop`, else after its budget: an attacker
//!   who knows the detector and tries to make the barrier look real.
//! * **The local adaptive attack** ([`adaptive_local`]): targeted PGD on
//!   `CE(x) + μ · mean_j CE(clip(x + r_j u_j))` over fresh random sign
//!   directions each step (expectation over noise), against the local
//!   barriers of [`super::local`]: an attacker who knows the extended
//!   detector and seeks a wide basin.
//!
//! An ε outside `(0, range.1 − range.0]` is a user error.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::adam::{Adam, AdamConfig};
use super::penalty;
use crate::nn::Classifier;
use crate::rng::{stream, unit_rng};
use crate::{Error, Result};

/// Targeted (towards a class) or untargeted (away from the true class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Decrease the CE of the given class (the classes are targets).
    Targeted,
    /// Increase the CE of the given class (the classes are true labels).
    Untargeted,
}

/// Parameters of the paper's attack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaperAttackConfig {
    /// Adam learning rate.
    pub lr: f64,
    /// Most Adam iterations.
    pub iterations: usize,
    /// Weight of MSE(x − source).
    pub lambda_mse: f64,
    /// Weight of TV(x − source).
    pub lambda_tv: f64,
}

impl Default for PaperAttackConfig {
    fn default() -> Self {
        PaperAttackConfig {
            lr: 0.005,
            iterations: 512,
            lambda_mse: 0.1,
            lambda_tv: 1e-8,
        }
    }
}

impl PaperAttackConfig {
    /// Checks every field; `prefix` names the config section in errors.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        super::check_positive(&format!("{prefix}.lr"), self.lr)?;
        super::check_non_negative(&format!("{prefix}.lambda_mse"), self.lambda_mse)?;
        super::check_non_negative(&format!("{prefix}.lambda_tv"), self.lambda_tv)
    }
}

/// The adaptive attack's extra parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveConfig {
    /// The paper's objective and optimiser.
    pub base: PaperAttackConfig,
    /// Weight μ of the smooth path maximum.
    pub mu: f64,
    /// Temperature T of the log-sum-exp.
    pub temperature: f64,
    /// Interior points m sampled on each path.
    pub path_points: usize,
    /// Stop once the largest sampled path loss is at most this (and the CE
    /// is below the stop loss).
    pub barrier_stop: f64,
    /// Batch size of the forward/backward passes.
    pub batch: usize,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        AdaptiveConfig {
            base: PaperAttackConfig::default(),
            mu: 1.0,
            temperature: 0.1,
            path_points: 8,
            barrier_stop: 0.1,
            batch: 256,
        }
    }
}

impl AdaptiveConfig {
    /// Checks every field; `prefix` names the config section in errors.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        self.base.validate(&format!("{prefix}.base"))?;
        super::check_non_negative(&format!("{prefix}.mu"), self.mu)?;
        super::check_positive(&format!("{prefix}.temperature"), self.temperature)?;
        super::check_non_negative(&format!("{prefix}.barrier_stop"), self.barrier_stop)?;
        if self.path_points == 0 || self.batch == 0 {
            return Err(Error::invalid(
                format!("{prefix}.path_points/batch"),
                format!("{}/{}", self.path_points, self.batch),
                "expected at least one path point and a batch of at least 1",
            ));
        }
        Ok(())
    }
}

/// Parameters of PGD-L∞.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PgdConfig {
    /// Radius of the L∞ ball.
    pub eps: f64,
    /// Step size of each signed-gradient step.
    pub step: f64,
    /// Number of steps.
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

/// Outcome of an optimisation attack.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackResult {
    /// The adversarial inputs, back to back.
    pub inputs: Vec<f32>,
    /// CE of each against its target.
    pub losses: Vec<f32>,
    /// Adam steps taken by each.
    pub iterations: Vec<usize>,
    /// Whether each met its stopping rule (CE below the stop loss, and for
    /// the adaptive attack the sampled barrier at most `barrier_stop`).
    pub stopped: Vec<bool>,
}

/// Checks that ε lies in `(0, range width]`.
pub fn check_eps<C: Classifier + ?Sized>(model: &C, name: &str, eps: f64) -> Result<()> {
    let (lo, hi) = model.spec().range;
    let width = (hi - lo) as f64;
    if !(eps.is_finite() && eps > 0.0 && eps <= width) {
        return Err(Error::invalid(
            name,
            eps,
            format!("expected 0 < ε ≤ {width}, the width of the input range [{lo}, {hi}]"),
        ));
    }
    Ok(())
}

fn sign(g: f32) -> f32 {
    if g > 0.0 {
        1.0
    } else if g < 0.0 {
        -1.0
    } else {
        0.0
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
    let n = super::count_inputs(spec, xs, "inputs")?;
    super::check_targets(spec, classes, n, "classes")?;
    check_eps(model, "eps", eps)?;
    let (_, grad) = model.loss_grad_flat(xs, classes, batch.max(1))?;
    let s = if goal == Goal::Targeted { -eps } else { eps } as f32;
    let mut out: Vec<f32> = xs
        .iter()
        .zip(&grad)
        .map(|(x, g)| x + s * sign(*g))
        .collect();
    super::clip(&mut out, spec.range);
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
        super::check_non_negative(&format!("{prefix}.mu"), self.mu)?;
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
/// ([`super::local`]): targeted PGD-L∞ (same start, ε, step and steps as
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
    super::local::check_radii("radii", radii)?;
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
    let n = super::count_inputs(spec, xs, "inputs")?;
    super::check_targets(spec, classes, n, "classes")?;
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
            let mut rng = unit_rng(seed, &[stream::INPUT_SPACE, super::stream::PGD, i as u64]);
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
                &[stream::INPUT_SPACE, super::stream::LOCAL_ATTACK, i as u64],
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
        ts.extend(std::iter::repeat_n(super::target_of(classes, i), per));
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

/// Checks the per-input stop losses of an optimisation attack.
fn check_stop_losses(stop_losses: &[f32], n: usize) -> Result<()> {
    if stop_losses.len() != n && stop_losses.len() != 1 {
        return Err(Error::invalid(
            "stop_losses",
            format!("{} values", stop_losses.len()),
            format!("expected one per input ({n}) or a single shared one"),
        ));
    }
    if let Some(v) = stop_losses.iter().find(|v| !v.is_finite()) {
        return Err(Error::invalid("stop_losses", v, "expected finite losses"));
    }
    Ok(())
}

/// The paper's targeted attack from `sources` (n inputs) to `targets`,
/// stopping input i once `CE < stop_losses[i]` (or the single shared value).
pub fn paper_attack<C: Classifier + ?Sized>(
    model: &C,
    sources: &[f32],
    targets: &[u32],
    stop_losses: &[f32],
    cfg: &PaperAttackConfig,
) -> Result<AttackResult> {
    cfg.validate("attack")?;
    let spec = model.spec();
    let n = super::count_inputs(spec, sources, "sources")?;
    super::check_targets(spec, targets, n, "targets")?;
    check_stop_losses(stop_losses, n)?;
    optimise(model, sources, targets, stop_losses, cfg, None)
}

/// The adaptive attack: `references` holds `r` real target-class inputs per
/// source (n · r inputs, those of source i at `i·r .. (i+1)·r`).
pub fn adaptive_attack<C: Classifier + ?Sized>(
    model: &C,
    sources: &[f32],
    targets: &[u32],
    stop_losses: &[f32],
    references: &[f32],
    cfg: &AdaptiveConfig,
) -> Result<AttackResult> {
    cfg.validate("adaptive")?;
    let spec = model.spec();
    let n = super::count_inputs(spec, sources, "sources")?;
    super::check_targets(spec, targets, n, "targets")?;
    check_stop_losses(stop_losses, n)?;
    let nr = super::count_inputs(spec, references, "references")?;
    if nr % n != 0 {
        return Err(Error::invalid(
            "references",
            format!("{nr} inputs"),
            format!("expected the same number of references for each of the {n} sources"),
        ));
    }
    optimise(
        model,
        sources,
        targets,
        stop_losses,
        &cfg.base,
        Some((references, nr / n, cfg)),
    )
}

/// CE, largest sampled path loss, smooth maximum S and the gradient
/// `∇CE + μ ∇S` for each of the inputs `xs` (rows), whose references are
/// `refs[row]` (r inputs each). See the module docs for the formulas.
#[allow(clippy::type_complexity)]
pub fn adaptive_terms<C: Classifier + ?Sized>(
    model: &C,
    xs: &[f32],
    targets: &[u32],
    refs: &[&[f32]],
    cfg: &AdaptiveConfig,
) -> Result<(Vec<f32>, Vec<f32>, Vec<f64>, Vec<f32>)> {
    let len = model.spec().item_len();
    let rows = xs.len() / len;
    let m = cfg.path_points;
    let alphas: Vec<f32> = (1..=m).map(|k| k as f32 / (m + 1) as f32).collect();
    let r = refs.first().map_or(0, |v| v.len() / len);
    let per = 1 + r * m;
    let mut buf = Vec::with_capacity(rows * per * len);
    let mut ts = Vec::with_capacity(rows * per);
    for i in 0..rows {
        let x = &xs[i * len..(i + 1) * len];
        buf.extend_from_slice(x);
        for j in 0..r {
            let rj = &refs[i][j * len..(j + 1) * len];
            for &a in &alphas {
                buf.extend(rj.iter().zip(x).map(|(rv, xv)| (1.0 - a) * rv + a * xv));
            }
        }
        ts.extend(std::iter::repeat_n(super::target_of(targets, i), per));
    }
    let (loss, grad) = model.loss_grad_flat(&buf, &ts, cfg.batch)?;
    let mut ce = Vec::with_capacity(rows);
    let mut path_max = Vec::with_capacity(rows);
    let mut smooth = Vec::with_capacity(rows);
    let mut out = Vec::with_capacity(rows * len);
    let t = cfg.temperature;
    for i in 0..rows {
        let base = i * per;
        ce.push(loss[base]);
        let mut g: Vec<f64> = grad[base * len..(base + 1) * len]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let pl = &loss[base + 1..base + per];
        let top = pl.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        path_max.push(top);
        if r > 0 {
            let w: Vec<f64> = pl.iter().map(|&l| ((l - top) as f64 / t).exp()).collect();
            let z: f64 = w.iter().sum();
            smooth.push(top as f64 + t * z.ln());
            for (q, wq) in w.iter().enumerate() {
                let k = q % m;
                let coef = cfg.mu * wq / z * alphas[k] as f64;
                let p = base + 1 + q;
                for (gv, &pg) in g.iter_mut().zip(&grad[p * len..(p + 1) * len]) {
                    *gv += coef * pg as f64;
                }
            }
        } else {
            smooth.push(0.0);
        }
        out.extend(g.into_iter().map(|v| v as f32));
    }
    Ok((ce, path_max, smooth, out))
}

/// The optimisation loop shared by the paper's and the adaptive attack.
fn optimise<C: Classifier + ?Sized>(
    model: &C,
    sources: &[f32],
    targets: &[u32],
    stop_losses: &[f32],
    cfg: &PaperAttackConfig,
    adaptive: Option<(&[f32], usize, &AdaptiveConfig)>,
) -> Result<AttackResult> {
    let spec = model.spec();
    let len = spec.item_len();
    let shape = spec.item_shape.clone();
    let n = sources.len() / len;
    let mut x = sources.to_vec();
    let mut adam = Adam::new(AdamConfig::with_lr(cfg.lr), n, len);
    let mut losses = vec![f32::NAN; n];
    let mut iterations = vec![0usize; n];
    let mut stopped = vec![false; n];
    let mut active: Vec<usize> = (0..n).collect();
    let mut buf = Vec::with_capacity(n * len);
    for _ in 0..=cfg.iterations {
        if active.is_empty() {
            break;
        }
        buf.clear();
        for &i in &active {
            buf.extend_from_slice(&x[i * len..(i + 1) * len]);
        }
        let ts: Vec<u32> = active
            .iter()
            .map(|&i| super::target_of(targets, i))
            .collect();
        let (ce, path_max, mut grad) = match adaptive {
            None => {
                let (l, g) = model.loss_grad_flat(&buf, &ts, active.len())?;
                (l, None, g)
            }
            Some((refs, r, acfg)) => {
                let rr: Vec<&[f32]> = active
                    .iter()
                    .map(|&i| &refs[i * r * len..(i + 1) * r * len])
                    .collect();
                let (l, pm, _, g) = adaptive_terms(model, &buf, &ts, &rr, acfg)?;
                (l, Some((pm, acfg.barrier_stop)), g)
            }
        };
        let mut still = Vec::with_capacity(active.len());
        let mut rows = Vec::with_capacity(active.len());
        for (row, &i) in active.iter().enumerate() {
            losses[i] = ce[row];
            let stop = ce[row] < stop_losses[if stop_losses.len() == 1 { 0 } else { i }]
                && path_max
                    .as_ref()
                    .is_none_or(|(pm, bs)| (pm[row] as f64) <= *bs);
            if stop {
                stopped[i] = true;
            } else if iterations[i] < cfg.iterations {
                still.push(i);
                rows.push(row);
            }
        }
        let mut sx = Vec::with_capacity(still.len() * len);
        let mut sg = Vec::with_capacity(still.len() * len);
        let mut d = vec![0.0f32; len];
        for (&row, &i) in rows.iter().zip(&still) {
            let xr = &buf[row * len..(row + 1) * len];
            for (k, dv) in d.iter_mut().enumerate() {
                *dv = xr[k] - sources[i * len + k];
            }
            let g = &mut grad[row * len..(row + 1) * len];
            penalty::add_penalties(&d, &shape, cfg.lambda_mse, cfg.lambda_tv, g);
            sx.extend_from_slice(xr);
            sg.extend_from_slice(g);
        }
        adam.step(&still, &mut sx, &sg);
        super::clip(&mut sx, spec.range);
        for (r, &i) in still.iter().enumerate() {
            x[i * len..(i + 1) * len].copy_from_slice(&sx[r * len..(r + 1) * len]);
            iterations[i] += 1;
        }
        active = still;
    }
    Ok(AttackResult {
        inputs: x,
        losses,
        iterations,
        stopped,
    })
}
