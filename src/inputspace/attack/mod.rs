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
//! Each is also an [`Attack`] value, named by an [`AttackKind`]:
//! [`Attack::run`] and [`measure_attack`] are what `ismc attack` and the
//! adversarial study call.
//!
//! An ε outside `(0, range.1 − range.0]` is a user error.

mod measure;
mod optimisation;
mod signed_gradient;

pub use measure::{measure_attack, Adversarials, Attack, AttackKind, AttackOutcome, AttackRecord};
pub use optimisation::{
    adaptive_attack, adaptive_terms, paper_attack, AdaptiveConfig, AttackResult, PaperAttackConfig,
};
pub use signed_gradient::{adaptive_local, fgsm, pgd, LocalAdaptiveConfig, PgdConfig};

use serde::{Deserialize, Serialize};

use crate::nn::Classifier;
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
