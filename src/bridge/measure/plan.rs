//! What one slice measurement needs besides the model and the pair: the
//! grid, the search method and its budget, the nulls, and their
//! validation.

use serde::{Deserialize, Serialize};

use crate::bridge::certify::SearchOrder;
use crate::bridge::slice::GridSpec;
use crate::bridge::surrogate::SurrogateOptions;
use crate::error::{Error, Result};

/// How the barrier of a slice is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Dense up to `dense_site_limit` sites, [`Method::Certify`] above.
    #[default]
    Auto,
    /// Always the dense sweep (refused above the memory limit).
    Dense,
    /// Goal-first invasion ([`invade_goal_first`](crate::bridge::certify::invade_goal_first)): the exact `ℓ*` or an
    /// error when `max_evaluations` runs out.
    Invasion,
    /// [`bracket`](crate::bridge::certify::bracket): goal-first invasion, then bisection of the level; proven
    /// bounds within the budget, exact where they meet.
    Certify,
}

/// Everything one slice measurement needs besides the model and the pair,
/// validated by [`SlicePlan::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlicePlan {
    /// Slice dimension k: the number of grid axes (`1..=MAX_DIM`).
    pub k: usize,
    /// Points per axis L (odd L puts A and C exactly on the middle layer of
    /// every off-axis, which nesting needs).
    pub side: usize,
    /// Extent of axis 0 in units of `|C − A|` (≥ 1).
    pub axis0_span: f64,
    /// Extent of axes `1..k` in units of `|C − A|`.
    pub span: f64,
    /// Dense, lazy or automatic.
    pub method: Method,
    /// Largest grid evaluated densely under [`Method::Auto`].
    pub dense_site_limit: u64,
    /// Model evaluations a lazy search may spend (all of a bracket's
    /// searches together).
    pub max_evaluations: u64,
    /// Bisection steps of [`Method::Certify`].
    pub bisect_steps: usize,
    /// Order of the goal-first searches.
    pub search_order: SearchOrder,
    /// Pinned i.i.d. null orders per dense slice (0 = none).
    pub null_shuffles: usize,
    /// IAAFT surrogates per dense slice (0 = none).
    pub surrogates: usize,
    /// IAAFT iteration limits.
    pub surrogate: SurrogateOptions,
    /// Points on the straight segment A–C for the linear barrier `ℓ_lin`.
    pub linear_points: usize,
    /// Points per grid edge when the minimax path is re-evaluated.
    pub path_points_per_edge: usize,
    /// Sites sampled for p* of lazy searches (0 = none).
    pub p_star_samples: usize,
}

impl SlicePlan {
    /// A plan with the study's defaults for dimension `k` and side `side`.
    pub fn new(k: usize, side: usize) -> Self {
        SlicePlan {
            k,
            side,
            axis0_span: 1.0,
            span: 1.0,
            method: Method::Auto,
            dense_site_limit: 2_000_000,
            max_evaluations: 100_000,
            bisect_steps: 8,
            search_order: SearchOrder::Deep,
            null_shuffles: 20,
            surrogates: 4,
            surrogate: SurrogateOptions::default(),
            linear_points: 500,
            path_points_per_edge: 8,
            p_star_samples: 0,
        }
    }

    /// The grid of the slice.
    pub fn grid(&self) -> GridSpec {
        let mut g = GridSpec::cube(self.k, self.side, self.span);
        if self.k > 0 {
            g.spans[0] = self.axis0_span;
        }
        g
    }

    /// Whether the plan evaluates every site.
    pub fn is_dense(&self) -> bool {
        let sites = self.grid().n_sites();
        match self.method {
            Method::Dense => true,
            Method::Invasion | Method::Certify => false,
            Method::Auto => sites <= self.dense_site_limit as u128,
        }
    }

    /// Checks every field, naming it (`prefix` + field name).
    pub fn validate(&self, prefix: &str) -> Result<()> {
        let bad = |name: &str, value: String, why: &str| {
            Err(Error::invalid(format!("{prefix}{name}"), value, why))
        };
        if self.k == 0 || self.k > crate::lattice::MAX_DIM {
            return bad(
                "dims",
                self.k.to_string(),
                "expected a slice dimension in 1..=16",
            );
        }
        if self.side < 2 || self.side > 1 << 20 {
            return bad(
                "side",
                self.side.to_string(),
                "expected 2..=2^20 points per axis",
            );
        }
        if !(self.axis0_span.is_finite() && self.axis0_span >= 1.0) {
            return bad(
                "axis0_span",
                self.axis0_span.to_string(),
                "expected a finite number ≥ 1",
            );
        }
        if !(self.span.is_finite() && self.span > 0.0) {
            return bad(
                "span",
                self.span.to_string(),
                "expected a positive finite number",
            );
        }
        if self.linear_points < 2 || self.linear_points > 1_000_000 {
            return bad(
                "linear_points",
                self.linear_points.to_string(),
                "expected 2..=1000000",
            );
        }
        if self.path_points_per_edge == 0 || self.path_points_per_edge > 10_000 {
            return bad(
                "path_points_per_edge",
                self.path_points_per_edge.to_string(),
                "expected 1..=10000",
            );
        }
        if self.max_evaluations == 0 {
            return bad(
                "max_invasion_evaluations",
                "0".into(),
                "expected at least 1",
            );
        }
        if self.null_shuffles > 100_000 || self.surrogates > 10_000 {
            return bad(
                "null_shuffles",
                format!(
                    "{} shuffles, {} surrogates",
                    self.null_shuffles, self.surrogates
                ),
                "expected at most 100000 shuffles and 10000 surrogates",
            );
        }
        if self.p_star_samples > 100_000_000 {
            return bad(
                "p_star_samples",
                self.p_star_samples.to_string(),
                "expected at most 10^8",
            );
        }
        if self.surrogates > 0 && self.is_dense() && self.side < 3 {
            return bad(
                "surrogates",
                format!("{} on a side of {}", self.surrogates, self.side),
                "an IAAFT surrogate needs at least 3 points per axis for a power spectrum; \
                 set surrogates = 0 or a larger side",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_refuse_a_surrogate_without_a_spectrum() {
        let mut p = SlicePlan::new(3, 2);
        p.surrogates = 1;
        let e = p.validate("slice.").unwrap_err();
        assert!(e.to_string().contains("slice.surrogates"), "{e}");
        p.surrogates = 0;
        p.validate("slice.").unwrap();
    }
}
