//! Pair statistics: which pairs of inputs are measured, how they are chosen,
//! and the flat record kept for each.
//!
//! Three kinds of pair, each measured along the linear path A → C with the
//! cross-entropy against one class y:
//!
//! * [`PairKind::RealReal`]: two real images of class y; target y.
//! * [`PairKind::RealAdversarial`]: a real image A of class y and an
//!   adversarial image C made from an image of another class to be classified
//!   as y; target y.
//! * [`PairKind::CrossClass`]: real images of two different classes; the
//!   target is the class of A (so C is a high-loss endpoint, and the endpoint
//!   check warns for it by design). Asked for by the paper's reviewers.
//!
//! **Selection rule** (the paper's): draw `candidates` pairs per class and
//! kind (7), then drop the `drop` (2) with the largest endpoint-loss
//! difference `|CE_A − CE_C|`, so that the kept pairs have comparable
//! endpoints (ties keep the earlier candidate).

use serde::{Deserialize, Serialize};

use super::barrier::BarrierMetrics;
use super::path::LossCurve;
use crate::nn::Classifier;
use crate::{Error, Result};

/// The kind of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairKind {
    /// Two real images of the same class.
    RealReal,
    /// A real image and an adversarial image claimed as its class.
    RealAdversarial,
    /// Two real images of different classes; target = class of A.
    CrossClass,
}

impl PairKind {
    /// All kinds, in a fixed order.
    pub const ALL: [PairKind; 3] = [
        PairKind::RealReal,
        PairKind::RealAdversarial,
        PairKind::CrossClass,
    ];

    /// The snake_case name used in records and summaries.
    pub fn name(self) -> &'static str {
        match self {
            PairKind::RealReal => "real_real",
            PairKind::RealAdversarial => "real_adversarial",
            PairKind::CrossClass => "cross_class",
        }
    }
}

/// The paper's selection rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelectionRule {
    /// Candidate pairs drawn per class and kind.
    pub candidates: usize,
    /// How many with the largest |CE_A − CE_C| are dropped.
    pub drop: usize,
}

impl Default for SelectionRule {
    fn default() -> Self {
        SelectionRule {
            candidates: 7,
            drop: 2,
        }
    }
}

impl SelectionRule {
    /// Checks that at least one pair is kept.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        if self.candidates == 0 || self.drop >= self.candidates {
            return Err(Error::invalid(
                format!("{prefix}.candidates/drop"),
                format!("{}/{}", self.candidates, self.drop),
                "expected candidates ≥ 1 and drop < candidates",
            ));
        }
        Ok(())
    }

    /// Indices (into the candidates, in their order) of the pairs kept,
    /// given each candidate's endpoint losses.
    pub fn select(&self, endpoint_losses: &[(f64, f64)]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..endpoint_losses.len()).collect();
        let diff = |i: usize| (endpoint_losses[i].0 - endpoint_losses[i].1).abs();
        // Stable sort by decreasing difference: the first `drop` go.
        order.sort_by(|&a, &b| diff(b).total_cmp(&diff(a)));
        let dropped = &order[..self.drop.min(order.len())];
        (0..endpoint_losses.len())
            .filter(|i| !dropped.contains(i))
            .collect()
    }
}

/// One measured pair, flat for CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRecord {
    /// Kind of pair: real–real, real–adversarial or cross-class.
    pub kind: PairKind,
    /// The target class y of the loss.
    pub class: u32,
    /// Data-set index of endpoint A.
    pub index_a: u64,
    /// Data-set index of endpoint C (for an adversarial C: of its source).
    pub index_c: u64,
    /// CE of A against y.
    pub loss_a: f64,
    /// CE of C against y.
    pub loss_c: f64,
    /// Largest loss against y on the straight path A–C.
    pub barrier_max: f64,
    /// Barrier max minus the higher endpoint loss (≥ 0).
    pub barrier_gap: f64,
    /// α of the barrier max.
    pub barrier_location: f64,
    /// Area above the higher endpoint.
    pub barrier_area: f64,
    /// Whether an endpoint's loss exceeds the low-loss threshold.
    pub endpoint_warning: bool,
}

impl PairRecord {
    /// Builds the record of a measured pair.
    pub fn new(
        kind: PairKind,
        class: u32,
        indices: (u64, u64),
        barrier: &BarrierMetrics,
        low_loss_threshold: f64,
    ) -> Self {
        PairRecord {
            kind,
            class,
            index_a: indices.0,
            index_c: indices.1,
            loss_a: barrier.endpoint_losses[0],
            loss_c: barrier.endpoint_losses[1],
            barrier_max: barrier.max,
            barrier_gap: barrier.gap,
            barrier_location: barrier.location,
            barrier_area: barrier.area,
            endpoint_warning: barrier.endpoint_warning(low_loss_threshold).is_some(),
        }
    }
}

/// Barrier metrics of the linear paths `a[i] → c[i]` (n inputs each) against
/// `targets` (per pair or shared), `points` samples per path at
/// `α = k / (points − 1)`. The samples of all paths are evaluated together,
/// `batch` at a time (one batch of points in memory).
pub fn linear_barriers<C: Classifier + ?Sized>(
    model: &C,
    a: &[f32],
    c: &[f32],
    targets: &[u32],
    points: usize,
    batch: usize,
) -> Result<Vec<BarrierMetrics>> {
    let spec = model.spec();
    let n = super::count_inputs(spec, a, "endpoints A")?;
    if c.len() != a.len() {
        return Err(Error::invalid(
            "endpoints C",
            format!("{} values", c.len()),
            format!(
                "endpoints must have the same shape ({} values for A)",
                a.len()
            ),
        ));
    }
    super::count_inputs(spec, c, "endpoints C")?;
    super::check_targets(spec, targets, n, "targets")?;
    if points < 2 {
        return Err(Error::invalid("points", points, "expected at least 2"));
    }
    let len = spec.item_len();
    let batch = batch.max(1);
    let total = n * points;
    let alpha: Vec<f64> = (0..points)
        .map(|k| k as f64 / (points - 1) as f64)
        .collect();
    let mut loss = Vec::with_capacity(total);
    let mut buf = vec![0.0f32; batch.min(total) * len];
    let mut ts = Vec::with_capacity(batch);
    for start in (0..total).step_by(batch) {
        let end = (start + batch).min(total);
        ts.clear();
        for (r, g) in (start..end).enumerate() {
            let (i, k) = (g / points, g % points);
            let (pa, pc) = (&a[i * len..(i + 1) * len], &c[i * len..(i + 1) * len]);
            let out = &mut buf[r * len..(r + 1) * len];
            if k == 0 {
                out.copy_from_slice(pa);
            } else if k == points - 1 {
                out.copy_from_slice(pc);
            } else {
                let t = alpha[k] as f32;
                for m in 0..len {
                    out[m] = (1.0 - t) * pa[m] + t * pc[m];
                }
            }
            ts.push(super::target_of(targets, i));
        }
        let l = model.loss_flat(&buf[..(end - start) * len], &ts, end - start)?;
        loss.extend(l.into_iter().map(f64::from));
    }
    (0..n)
        .map(|i| {
            BarrierMetrics::of(&LossCurve {
                alpha: alpha.clone(),
                arc: alpha.clone(),
                loss: loss[i * points..(i + 1) * points].to_vec(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_drops_the_largest_differences() {
        let l = [(0.1, 0.1), (0.1, 0.9), (0.2, 0.1), (1.0, 0.0), (0.3, 0.35)];
        let r = SelectionRule {
            candidates: 5,
            drop: 2,
        };
        assert_eq!(r.select(&l), vec![0, 2, 4]);
        assert!(SelectionRule {
            candidates: 2,
            drop: 2
        }
        .validate("s")
        .is_err());
    }
}
