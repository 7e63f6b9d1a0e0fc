//! Feature visualisation by optimisation (FVO): synthetic inputs that the
//! model assigns to a class with very low loss (science.md §3).
//!
//! Each input starts from seeded noise `x₀ ~ N(0, σ²)` (σ = 0.01) and Adam
//! (lr 0.05, L2 weight decay 1e-7 added to the gradient) minimises
//! `CE(f(x), y) + λ_tv · TV(x)` (λ_tv = 0 by default). An input stops as soon
//! as its cross-entropy falls below the threshold (5e-4); otherwise after the
//! iteration budget. The result is the best iterate seen (lowest CE), which
//! is the stopping iterate for inputs that reach the threshold. Inputs are
//! not clipped to the model's range unless asked (the paper's untrained-net
//! modes are unconstrained).
//!
//! Many (target, seed) pairs are optimised together; each step forwards only
//! the inputs still running, in one batch.
//!
//! # The weight-decay floor
//!
//! Adam with L2 decay λ stops where the gradient of
//! `J(x) = CE(x) + (λ/2)|x|²` vanishes, not where CE does. Along the ray
//! through an input, a ReLU network's logit margins grow about linearly with
//! the norm, `m ≈ γ|x|` (γ the network's *gain* in that direction), and
//! `CE ≈ Σⱼ e^{−mⱼ}`, so the radial balance `|x| · ∂CE/∂|x| = −λ|x|²` puts
//! the stall at
//!
//! ```text
//! CE* ≈ λ|x|²/m = λ m/γ²,   i.e. the threshold CE_th is out of reach when
//! γ² < λ m_th / CE_th        (m_th ≈ ln((K−1)/CE_th) ≈ 9.8 for K = 10, 5e-4)
//! ```
//!
//! With λ = 1e-7 that is γ < 0.044 per unit of input norm: the untrained
//! CNN and LeNet5 under PyTorch's default init (γ ≈ 0.04) and the untrained
//! ResNet-18 with BatchNorm at its initial statistics (γ ≈ 0.003) stall
//! there, at CE 7e-4 and 5e-2. [`decay_balance`] measures the balance
//! `ρ = λ|x|² / (−x·∇CE)` at an input: ρ → 1 at the floor, ρ < 1 while the
//! CE still falls faster than the decay pulls back. `theory/untrained-fvo.md`
//! has the derivation and the measurements.

use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::adam::{Adam, AdamConfig};
use super::penalty;
use crate::nn::Classifier;
use crate::rng::{stream, unit_rng};
use crate::{Error, Result};

/// Parameters of feature visualisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FvoConfig {
    /// Standard deviation of the Gaussian start.
    pub init_std: f64,
    /// Adam learning rate.
    pub lr: f64,
    /// Adam L2 weight decay.
    pub weight_decay: f64,
    /// Weight of TV(x).
    pub lambda_tv: f64,
    /// Most Adam iterations.
    pub iterations: usize,
    /// Stop an input once its CE is below this.
    pub loss_threshold: f64,
    /// Clip to the model's input range after every step.
    pub clip: bool,
}

impl Default for FvoConfig {
    fn default() -> Self {
        FvoConfig {
            init_std: 0.01,
            lr: 0.05,
            weight_decay: 1e-7,
            lambda_tv: 0.0,
            iterations: 10_000,
            loss_threshold: 5e-4,
            clip: false,
        }
    }
}

impl FvoConfig {
    /// Checks every field; `prefix` names the config section in errors.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        super::check_non_negative(&format!("{prefix}.init_std"), self.init_std)?;
        super::check_positive(&format!("{prefix}.lr"), self.lr)?;
        super::check_non_negative(&format!("{prefix}.weight_decay"), self.weight_decay)?;
        super::check_non_negative(&format!("{prefix}.lambda_tv"), self.lambda_tv)?;
        super::check_non_negative(&format!("{prefix}.loss_threshold"), self.loss_threshold)
    }
}

/// Synthetic inputs and how they were reached.
#[derive(Debug, Clone, PartialEq)]
pub struct FvoResult {
    /// The inputs, back to back.
    pub inputs: Vec<f32>,
    /// CE of each input against its target.
    pub losses: Vec<f32>,
    /// Adam steps taken by each input.
    pub iterations: Vec<usize>,
    /// Whether each input reached the loss threshold.
    pub converged: Vec<bool>,
}

/// The weight-decay balance `ρᵢ = λ|xᵢ|² / (−xᵢ·∇CE(xᵢ))` of each of `n`
/// inputs (back to back in `inputs`) against its target: the ratio of the
/// decay's pull towards the origin to the CE's push outwards, both along
/// the ray through `xᵢ`. Adam with decay λ stalls where ρ = 1 (see the
/// module docs). It is `+∞` where moving outwards does not lower the CE,
/// and 0 for λ = 0.
pub fn decay_balance<C: Classifier + ?Sized>(
    model: &C,
    inputs: &[f32],
    targets: &[u32],
    weight_decay: f64,
) -> Result<Vec<f64>> {
    let n = targets.len();
    let (_, grad) = model.loss_grad_flat(inputs, targets, n)?;
    let len = model.spec().item_len();
    Ok((0..n)
        .map(|i| {
            let x = &inputs[i * len..(i + 1) * len];
            let g = &grad[i * len..(i + 1) * len];
            let norm2: f64 = x.iter().map(|&v| f64::from(v).powi(2)).sum();
            let push: f64 = -x
                .iter()
                .zip(g)
                .map(|(&v, &d)| f64::from(v) * f64::from(d))
                .sum::<f64>();
            let pull = weight_decay * norm2;
            if pull == 0.0 {
                0.0
            } else if push <= 0.0 {
                f64::INFINITY
            } else {
                pull / push
            }
        })
        .collect())
}

/// Synthesises one input per `(targets[i], seeds[i])`: the start of input `i`
/// is drawn from `unit_rng(seeds[i], [INPUT_SPACE, FVO])`.
pub fn synthesize<C: Classifier + ?Sized>(
    model: &C,
    targets: &[u32],
    seeds: &[u64],
    cfg: &FvoConfig,
) -> Result<FvoResult> {
    cfg.validate("fvo")?;
    let spec = model.spec();
    let n = targets.len();
    if n == 0 || seeds.len() != n {
        return Err(Error::invalid(
            "seeds",
            format!("{} seeds for {} targets", seeds.len(), n),
            "expected one seed per target and at least one target",
        ));
    }
    super::check_targets(spec, targets, n, "targets")?;
    let len = spec.item_len();
    let shape = spec.item_shape.clone();
    let normal = Normal::new(0.0f64, cfg.init_std)
        .map_err(|e| Error::invalid("fvo.init_std", cfg.init_std, e.to_string()))?;
    let mut x = vec![0.0f32; n * len];
    for i in 0..n {
        let mut rng = unit_rng(seeds[i], &[stream::INPUT_SPACE, super::stream::FVO]);
        for v in &mut x[i * len..(i + 1) * len] {
            *v = normal.sample(&mut rng) as f32;
        }
    }
    let adam_cfg = AdamConfig {
        weight_decay: cfg.weight_decay,
        ..AdamConfig::with_lr(cfg.lr)
    };
    let mut adam = Adam::new(adam_cfg, n, len);
    let mut best = x.clone();
    let mut best_loss = vec![f32::INFINITY; n];
    let mut iterations = vec![0usize; n];
    let mut converged = vec![false; n];
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
        let ts: Vec<u32> = active.iter().map(|&i| targets[i]).collect();
        let (loss, mut grad) = model.loss_grad_flat(&buf, &ts, active.len())?;
        let mut still = Vec::with_capacity(active.len());
        let mut rows = Vec::with_capacity(active.len());
        for (r, &i) in active.iter().enumerate() {
            if loss[r] < best_loss[i] {
                best_loss[i] = loss[r];
                best[i * len..(i + 1) * len].copy_from_slice(&buf[r * len..(r + 1) * len]);
            }
            if (loss[r] as f64) < cfg.loss_threshold {
                converged[i] = true;
            } else if iterations[i] < cfg.iterations {
                still.push(i);
                rows.push(r);
            }
        }
        // Step the rows that keep running (compacted in place).
        let mut sbuf = Vec::with_capacity(still.len() * len);
        let mut sgrad = Vec::with_capacity(still.len() * len);
        for &r in &rows {
            sbuf.extend_from_slice(&buf[r * len..(r + 1) * len]);
            let g = &mut grad[r * len..(r + 1) * len];
            if cfg.lambda_tv > 0.0 {
                penalty::add_tv_grad(&buf[r * len..(r + 1) * len], &shape, cfg.lambda_tv, g);
            }
            sgrad.extend_from_slice(g);
        }
        adam.step(&still, &mut sbuf, &sgrad);
        if cfg.clip {
            super::clip(&mut sbuf, spec.range);
        }
        for (r, &i) in still.iter().enumerate() {
            x[i * len..(i + 1) * len].copy_from_slice(&sbuf[r * len..(r + 1) * len]);
            iterations[i] += 1;
        }
        active = still;
    }
    Ok(FvoResult {
        inputs: best,
        losses: best_loss,
        iterations,
        converged,
    })
}
