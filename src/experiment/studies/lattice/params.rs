//! The parameters of `kind = "lattice"`: which thresholds to estimate and
//! with what budget, and which crossing curves to sample, with the
//! validation that names each field.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lattice::{Boundary, Lattice};
use crate::percolation::Kind;

/// What the study computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatticeStudyConfig {
    /// Dimensions whose thresholds are estimated.
    pub dims: Vec<usize>,
    /// Kinds estimated in every dimension.
    pub kinds: Vec<Kind>,
    /// Budget per threshold, seconds.
    pub budget_secs: f64,
    /// Per-dimension budget overrides, e.g. `[[budgets]] dim = 2, secs = 300`.
    #[serde(default)]
    pub budgets: Vec<DimBudget>,
    /// Dimension of the crossing curves.
    pub crossing_dim: usize,
    /// Sides of the crossing curves.
    pub crossing_sides: Vec<usize>,
    /// Samples per crossing curve.
    pub crossing_samples: u64,
    /// Crossing samples per unit of work (the granularity of resuming).
    #[serde(default = "default_samples_per_unit")]
    pub samples_per_unit: u64,
    /// Master seed every threshold estimate and crossing sample derives its seed from.
    pub seed: u64,
}

fn default_samples_per_unit() -> u64 {
    1000
}

impl LatticeStudyConfig {
    /// A study of a few minutes on two cores: the demo's lattice part.
    pub fn quick() -> Self {
        LatticeStudyConfig {
            dims: vec![2, 3, 4, 6, 8, 13],
            kinds: vec![Kind::Site, Kind::Bond],
            budget_secs: 6.0,
            crossing_dim: 2,
            crossing_sides: vec![16, 32, 64, 128],
            crossing_samples: 4000,
            samples_per_unit: default_samples_per_unit(),
            seed: 1,
            budgets: Vec::new(),
        }
    }
}

/// A budget override for one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimBudget {
    /// Lattice dimension d the override applies to.
    pub dim: usize,
    /// Budget per threshold in dimension `dim`, seconds; replaces `budget_secs` there.
    pub secs: f64,
}

impl LatticeStudyConfig {
    /// The budget for dimension `dim`.
    pub fn budget_for(&self, dim: usize) -> f64 {
        self.budgets
            .iter()
            .find(|b| b.dim == dim)
            .map_or(self.budget_secs, |b| b.secs)
    }

    /// Checks every field, naming it as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        let dim_ok = |d: usize| (2..=crate::lattice::MAX_DIM).contains(&d);
        if let Some(&d) = self.dims.iter().find(|&&d| !dim_ok(d)) {
            return Err(Error::invalid(
                "params.dims",
                d,
                format!("expected dimensions in 2..={}", crate::lattice::MAX_DIM),
            ));
        }
        if self.kinds.is_empty() && !self.dims.is_empty() {
            return Err(Error::invalid(
                "params.kinds",
                "[]",
                "expected at least one of \"site\", \"bond\"",
            ));
        }
        if !(self.budget_secs.is_finite() && self.budget_secs > 0.0) {
            return Err(Error::invalid(
                "params.budget_secs",
                self.budget_secs,
                "expected seconds > 0",
            ));
        }
        if let Some(b) = self
            .budgets
            .iter()
            .find(|b| !(b.secs.is_finite() && b.secs > 0.0 && dim_ok(b.dim)))
        {
            return Err(Error::invalid(
                "params.budgets",
                format!("{{dim = {}, secs = {}}}", b.dim, b.secs),
                "expected a dimension in 2..=16 and seconds > 0",
            ));
        }
        if !self.crossing_sides.is_empty() && !dim_ok(self.crossing_dim) {
            return Err(Error::invalid(
                "params.crossing_dim",
                self.crossing_dim,
                "expected a dimension in 2..=16",
            ));
        }
        if let Some(&l) = self.crossing_sides.iter().find(|&&l| l < 4) {
            return Err(Error::invalid(
                "params.crossing_sides",
                l,
                "expected sides of at least 4",
            ));
        }
        if !self.crossing_sides.is_empty() && self.crossing_samples == 0 {
            return Err(Error::invalid(
                "params.crossing_samples",
                0,
                "expected at least 1",
            ));
        }
        if self.samples_per_unit == 0 {
            return Err(Error::invalid(
                "params.samples_per_unit",
                0,
                "expected at least 1",
            ));
        }
        if self.dims.is_empty() && self.crossing_sides.is_empty() {
            return Err(Error::invalid(
                "params.dims",
                "[]",
                "nothing to do: give dims or crossing_sides",
            ));
        }
        for &side in &self.crossing_sides {
            Lattice::hypercube(self.crossing_dim, side, Boundary::Periodic)
                .map_err(|e| Error::invalid("params.crossing_sides", side, e.to_string()))?;
        }
        let per_side = self.crossing_samples.div_ceil(self.samples_per_unit);
        let units = (self.crossing_sides.len() as u64)
            .saturating_mul(per_side)
            .saturating_add((self.dims.len() * self.kinds.len()) as u64);
        if units > crate::experiment::limits::MAX_UNITS as u64 {
            return Err(Error::invalid(
                "params.samples_per_unit",
                self.samples_per_unit,
                format!(
                    "crossing_samples / samples_per_unit makes {units} units, more than {}; raise samples_per_unit",
                    crate::experiment::limits::MAX_UNITS
                ),
            ));
        }
        Ok(())
    }
}
