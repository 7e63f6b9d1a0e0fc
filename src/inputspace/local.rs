//! Local barriers: the loss along short straight paths *out of* an input.
//!
//! The detector's reference barriers ([`super::detector`]) ask whether x is
//! joined to real class-y inputs at low loss. An input can pass that test
//! and still sit in a narrow pocket: PGD drives CE(x, y) far below that of
//! real digits (median 4.7e-6 against 5.1e-5 on the bundled LeNet5), and
//! from there the straight path to a reference stays low. What gives such a
//! pocket away is its width. From x, take `directions` random sign vectors
//! `u_j ∈ {−1, +1}^d` (seeded, shared by every input of a study unit) and,
//! for each radius r (a fraction of the input range width w), the path
//! `x → clip(x + r·w·u_j)` sampled at `α = 1/points, 2/points, …, 1`. Its
//! barrier is the largest loss along it; [`LocalBarriers::max_mean`] is
//! the mean of those barriers over directions, one value per radius.
//!
//! The detector feature is the **local rise** `ln((m + F) / (CE(x) + F))`
//! with `F` = [`super::detector::LOG_FLOOR`]: how many e-folds the loss
//! climbs within radius r. Real inputs sit in wide basins (small rise);
//! adversarial inputs of ε-ball attacks sit in deep, narrow ones. The same
//! observation underlies noise-based detectors (Hu et al. 2019; Roth,
//! Kilcher and Hofmann 2019, "The odds are odd"). The adaptive attacker of
//! [`super::attack`] penalises reference barriers only, not local ones.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::nn::Classifier;
use crate::{Error, Result};

/// The short paths of the local barriers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalConfig {
    /// Radii as fractions of the input range width (each in (0, 1]); empty
    /// turns the local barriers off.
    pub radii: Vec<f64>,
    /// Random sign directions per input.
    pub directions: usize,
    /// Samples along each short path (α = 1/points … 1; x itself is the
    /// input's own loss).
    pub points: usize,
}

impl Default for LocalConfig {
    fn default() -> Self {
        LocalConfig {
            radii: vec![0.05, 0.1, 0.2],
            directions: 16,
            points: 2,
        }
    }
}

impl LocalConfig {
    /// Checks every field; `prefix` names the table in errors.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        check_radii(&format!("{prefix}.radii"), &self.radii)?;
        for (name, v) in [("directions", self.directions), ("points", self.points)] {
            if v == 0 {
                return Err(Error::invalid(
                    format!("{prefix}.{name}"),
                    0,
                    "expected at least 1",
                ));
            }
        }
        Ok(())
    }

    /// Whether any radius is configured.
    pub fn enabled(&self) -> bool {
        !self.radii.is_empty()
    }

    /// Model evaluations per input.
    pub fn evaluations_per_input(&self) -> usize {
        self.radii.len() * self.directions * self.points
    }
}

/// Checks that every radius in `radii` (the parameter `name`) lies in
/// (0, 1], a fraction of the input range width.
pub fn check_radii(name: &str, radii: &[f64]) -> Result<()> {
    match radii
        .iter()
        .find(|r| !(r.is_finite() && **r > 0.0 && **r <= 1.0))
    {
        Some(r) => Err(Error::invalid(
            name,
            r,
            "expected every radius in (0, 1] (a fraction of the input range width)",
        )),
        None => Ok(()),
    }
}

/// `directions` random sign vectors of length `len`, back to back.
pub fn random_signs<R: Rng>(rng: &mut R, directions: usize, len: usize) -> Vec<f32> {
    (0..directions * len)
        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
        .collect()
}

/// The local barriers of one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LocalBarriers {
    /// Per radius (in [`LocalConfig::radii`] order): the mean over
    /// directions of the largest loss along the short path.
    pub max_mean: Vec<f64>,
}

impl LocalBarriers {
    /// The local rises `ln((m + F) / (loss + F))` per radius, where `loss`
    /// is the input's own CE and `F` = [`super::detector::LOG_FLOOR`].
    pub fn rises(&self, loss: f64) -> Vec<f64> {
        let f = super::detector::LOG_FLOOR;
        self.max_mean
            .iter()
            .map(|m| ((m.max(0.0) + f) / (loss.max(0.0) + f)).ln())
            .collect()
    }
}

/// Local barriers of every input in `xs` (n inputs back to back) for the
/// loss `CE(·, class)`, along the `signs` directions (from
/// [`random_signs`], `cfg.directions` of them), evaluated `batch` points at
/// a time.
pub fn local_barriers<C: Classifier + ?Sized>(
    model: &C,
    xs: &[f32],
    class: u32,
    signs: &[f32],
    cfg: &LocalConfig,
    batch: usize,
) -> Result<Vec<LocalBarriers>> {
    cfg.validate("local")?;
    let spec = model.spec();
    let n = super::count_inputs(spec, xs, "inputs")?;
    super::check_class(spec, class, "class")?;
    let len = spec.item_len();
    if signs.len() != cfg.directions * len {
        return Err(Error::invalid(
            "signs",
            format!("{} values", signs.len()),
            format!(
                "expected directions × input length = {}",
                cfg.directions * len
            ),
        ));
    }
    if !cfg.enabled() {
        return Ok(vec![LocalBarriers::default(); n]);
    }
    let (lo, hi) = spec.range;
    let width = hi - lo;
    let per = cfg.evaluations_per_input();
    // Whole inputs per model call, about `batch` points (at least one input).
    let group = (batch.max(1) / per).max(1);
    let mut out = Vec::with_capacity(n);
    let mut buf = Vec::with_capacity(group.min(n) * per * len);
    for start in (0..n).step_by(group) {
        let end = (start + group).min(n);
        buf.clear();
        for x in xs[start * len..end * len].chunks(len) {
            for &r in &cfg.radii {
                for u in signs.chunks(len) {
                    for k in 1..=cfg.points {
                        let step = (r * k as f64 / cfg.points as f64) as f32 * width;
                        buf.extend(x.iter().zip(u).map(|(&v, &s)| (v + step * s).clamp(lo, hi)));
                    }
                }
            }
        }
        let loss = model.loss_flat(&buf, &[class], batch)?;
        for item in loss.chunks(per) {
            let max_mean = item
                .chunks(cfg.directions * cfg.points)
                .map(|radius| {
                    radius
                        .chunks(cfg.points)
                        .map(|path| path.iter().fold(0f64, |m, &v| m.max(v as f64)))
                        .sum::<f64>()
                        / cfg.directions as f64
                })
                .collect();
            out.push(LocalBarriers { max_mean });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rises_are_log_ratios_and_finite_at_zero() {
        let b = LocalBarriers {
            max_mean: vec![1e-3, 0.0],
        };
        let r = b.rises(1e-5);
        let f = super::super::detector::LOG_FLOOR;
        assert!((r[0] - ((1e-3 + f) / (1e-5 + f)).ln()).abs() < 1e-12);
        assert!(r[1].is_finite() && r[1] < 0.0);
    }

    #[test]
    fn bad_fields_are_named() {
        let bad = LocalConfig {
            radii: vec![0.1, 1.5],
            ..LocalConfig::default()
        };
        let e = bad.validate("detector.local").unwrap_err().to_string();
        assert!(e.contains("detector.local.radii"), "{e}");
        let bad = LocalConfig {
            directions: 0,
            ..LocalConfig::default()
        };
        assert!(bad
            .validate("detector.local")
            .unwrap_err()
            .to_string()
            .contains("directions"));
    }
}
