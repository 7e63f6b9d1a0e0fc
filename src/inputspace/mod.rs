//! Input-space measurements on a frozen classifier (pillar 3; science.md
//! §1–3): paths between inputs and the loss along them, barrier metrics,
//! bypasses (bend optimisation), synthetic inputs by feature visualisation,
//! adversarial attacks, pair statistics and a barrier-based adversarial
//! detector, and the MNIST adversarial study built from them.
//!
//! Every function works on any [`Classifier`](crate::nn::Classifier) (as
//! `&C` with `C: Classifier + ?Sized`, so `&dyn Classifier` too). Inputs are
//! flat `&[f32]` of length `spec.item_len()`, laid out as `spec.item_shape`
//! (images `[c, h, w]`); several inputs are stored back to back. Loss is
//! always the cross-entropy `CE(f(x), y)` against a fixed target class `y`.
//!
//! | module | concept |
//! |---|---|
//! | [`path`] | polygonal chains and quadratic Bézier curves; loss along them |
//! | [`barrier`] | barrier max, gap, location and area of a loss curve |
//! | [`penalty`] | MSE and total-variation penalties with their gradients |
//! | [`adam`] | Adam for many independent flat inputs |
//! | [`bypass`] | the paper's bend optimisation and recursive rounds |
//! | [`fvo`] | feature visualisation by optimisation (synthetic modes) |
//! | [`attack`] | the paper's attack, FGSM, PGD-L∞, the adaptive attack |
//! | [`pairs`] | pair kinds, the paper's selection rule, pair records |
//! | [`detector`] | barrier features, logistic regression, ROC and AUROC |
//! | [`local`] | local barriers: loss along short random paths out of an input |
//! | [`study`] | the MNIST adversarial study as units of work |
//!
//! ```no_run
//! use ismc::inputspace::{barrier::BarrierMetrics, path::{loss_along, Path}};
//! let model = ismc::nn::zoo::load_named("lenet5-mnist").unwrap();
//! let digits = ismc::data::load("mnist").unwrap();
//! let (a, c) = (digits.item(0), digits.item(1));
//! let path = Path::linear(a, c).unwrap();
//! let curve = loss_along(&model, &path, 0, 100, 256).unwrap();
//! let b = BarrierMetrics::of(&curve).unwrap();
//! println!("barrier max {} gap {} at α = {}", b.max, b.gap, b.location);
//! ```

pub mod adam;
pub mod attack;
pub mod barrier;
pub mod bypass;
pub mod detector;
pub mod fvo;
pub mod local;
pub mod pairs;
pub mod path;
pub mod penalty;
pub mod study;

use crate::nn::InputSpec;
use crate::{Error, Result};

/// Stream tags under [`crate::rng::stream::INPUT_SPACE`]: the second element
/// of every unit path derived in this module.
pub mod stream {
    /// Noise starts of feature visualisation.
    pub const FVO: u64 = 1;
    /// Random starts of PGD.
    pub const PGD: u64 = 2;
    /// Pair and reference selection of a study's class unit.
    pub const STUDY: u64 = 3;
    /// Bootstrap of AUROC intervals.
    pub const BOOTSTRAP: u64 = 4;
    /// Sign directions of a study unit's local barriers.
    pub const LOCAL: u64 = 5;
    /// Noise of the local adaptive attack, per input.
    pub const LOCAL_ATTACK: u64 = 6;
}

/// Checks that `xs` holds whole inputs of `spec` (at least one) and returns
/// their number; `what` names the argument in the error.
pub fn count_inputs(spec: &InputSpec, xs: &[f32], what: &str) -> Result<usize> {
    let len = spec.item_len();
    if len == 0 || xs.is_empty() || xs.len() % len != 0 {
        return Err(Error::invalid(
            what,
            format!("{} values", xs.len()),
            format!(
                "expected a positive multiple of the input length {len} (shape {:?})",
                spec.item_shape
            ),
        ));
    }
    if let Some(i) = xs.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(
            what,
            xs[i],
            format!("non-finite value at flat index {i}"),
        ));
    }
    Ok(xs.len() / len)
}

/// Checks that `class` is one of the model's classes.
pub fn check_class(spec: &InputSpec, class: u32, what: &str) -> Result<()> {
    if (class as usize) < spec.classes {
        Ok(())
    } else {
        Err(Error::invalid(
            what,
            class,
            format!("expected a class id in 0..{}", spec.classes),
        ))
    }
}

/// Checks a target list: one class per input (or one shared when
/// `allow_shared`), each in range.
pub fn check_targets(spec: &InputSpec, targets: &[u32], n: usize, what: &str) -> Result<()> {
    if targets.len() != n && targets.len() != 1 {
        return Err(Error::invalid(
            what,
            format!("{} targets", targets.len()),
            format!("expected one per input ({n}) or a single shared one"),
        ));
    }
    for &t in targets {
        check_class(spec, t, what)?;
    }
    Ok(())
}

/// The target of input `i` from a per-input or shared list.
pub(crate) fn target_of(targets: &[u32], i: usize) -> u32 {
    if targets.len() == 1 {
        targets[0]
    } else {
        targets[i]
    }
}

/// Checks that a positive finite parameter is positive and finite.
pub(crate) fn check_positive(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            value,
            "expected a positive finite number",
        ))
    }
}

/// Checks that a parameter is finite and not negative.
pub(crate) fn check_non_negative(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, value, "expected a finite number ≥ 0"))
    }
}

/// Clips every value into the closed range `[lo, hi]`.
pub(crate) fn clip(xs: &mut [f32], range: (f32, f32)) {
    for v in xs {
        *v = v.clamp(range.0, range.1);
    }
}
