//! The optimisation attacks: the paper's attack and the adaptive attack,
//! which adds the smooth maximum of the loss along paths from real
//! references, both run by one Adam loop that stops each input at its stop
//! loss.

use serde::{Deserialize, Serialize};

use crate::inputspace::adam::{Adam, AdamConfig};
use crate::inputspace::penalty;
use crate::inputspace::{
    check_non_negative, check_positive, check_targets, clip, count_inputs, target_of,
};
use crate::nn::Classifier;
use crate::{Error, Result};

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
        if self.iterations == 0 {
            return Err(Error::invalid(
                format!("{prefix}.iterations"),
                0,
                "expected at least 1 (with none, no input is attacked and every rate is 0/0)",
            ));
        }
        check_positive(&format!("{prefix}.lr"), self.lr)?;
        check_non_negative(&format!("{prefix}.lambda_mse"), self.lambda_mse)?;
        check_non_negative(&format!("{prefix}.lambda_tv"), self.lambda_tv)
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
        check_non_negative(&format!("{prefix}.mu"), self.mu)?;
        check_positive(&format!("{prefix}.temperature"), self.temperature)?;
        check_non_negative(&format!("{prefix}.barrier_stop"), self.barrier_stop)?;
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
    let n = count_inputs(spec, sources, "sources")?;
    check_targets(spec, targets, n, "targets")?;
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
    let n = count_inputs(spec, sources, "sources")?;
    check_targets(spec, targets, n, "targets")?;
    check_stop_losses(stop_losses, n)?;
    let nr = count_inputs(spec, references, "references")?;
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
        ts.extend(std::iter::repeat_n(target_of(targets, i), per));
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
        let ts: Vec<u32> = active.iter().map(|&i| target_of(targets, i)).collect();
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
        clip(&mut sx, spec.range);
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
