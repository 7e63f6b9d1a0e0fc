//! The study's slice parameters as an experiment file gives them: the scan
//! of dimensions on one side, the finite-size-scaling scan on nested sides,
//! their plans and their validation.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::bridge::certify::SearchOrder;
use crate::bridge::measure::{Method, SlicePlan};
use crate::bridge::slice::DirectionKind;
use crate::bridge::surrogate::SurrogateOptions;
use crate::error::{Error, Result};

/// The slice parameters of the study, as written in an experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SliceStudyConfig {
    /// Slice dimensions k of the scan (distinct).
    pub dims: Vec<usize>,
    /// Points per axis L, the same for every k of the scan.
    pub side: usize,
    /// Extent of axis 0 in units of `|C − A|` (≥ 1).
    pub axis0_span: f64,
    /// Extent of the other axes in units of `|C − A|`.
    pub span: f64,
    /// Directions of axes `1..k` (`random` or `gradient`).
    pub directions: DirectionKind,
    /// Dense, invasion, certify or auto.
    pub method: Method,
    /// Largest grid evaluated densely under `method = "auto"`.
    pub dense_site_limit: u64,
    /// Model evaluations one lazy slice may spend.
    pub max_invasion_evaluations: u64,
    /// Bisection steps of a lazy bracket.
    pub bisect_steps: usize,
    /// Order of the goal-first searches.
    pub search_order: SearchOrder,
    /// Pinned i.i.d. null orders per dense slice.
    pub null_shuffles: usize,
    /// IAAFT surrogates per dense slice.
    pub surrogates: usize,
    /// IAAFT iterations at most.
    pub surrogate_iterations: usize,
    /// Points on the straight segment A–C for `ℓ_lin`.
    pub linear_points: usize,
    /// Points per grid edge when the minimax path is re-evaluated.
    pub path_points_per_edge: usize,
    /// Sites sampled for p* of lazy slices (0 = none).
    pub p_star_samples: usize,
    /// Slice dimensions of the finite-size-scaling scan (may be empty).
    pub fss_dims: Vec<usize>,
    /// Nested sides of that scan (each `L − 1` a multiple of the previous
    /// one's, so coarser grids are sub-grids of finer ones); a side is used
    /// for `k` while `L^k ≤ fss_site_limit`.
    pub fss_sides: Vec<usize>,
    /// Largest grid of the scaling scan.
    pub fss_site_limit: u64,
    /// Pairs enter the gap-fraction statistics when their straight path
    /// rises above the endpoints by this fraction of `τ₀`:
    /// `ℓ_lin − τ₀ > gap_floor · τ₀`.
    pub gap_floor: f64,
}

impl Default for SliceStudyConfig {
    fn default() -> Self {
        SliceStudyConfig {
            dims: (1..=6).collect(),
            side: 5,
            axis0_span: 1.0,
            span: 1.0,
            directions: DirectionKind::Random,
            method: Method::Auto,
            dense_site_limit: 20_000,
            max_invasion_evaluations: 20_000,
            bisect_steps: 6,
            search_order: SearchOrder::Deep,
            null_shuffles: 20,
            surrogates: 4,
            surrogate_iterations: 100,
            linear_points: 500,
            path_points_per_edge: 4,
            p_star_samples: 0,
            fss_dims: Vec::new(),
            fss_sides: vec![5, 9, 17, 33],
            fss_site_limit: 20_000,
            gap_floor: 0.5,
        }
    }
}

impl SliceStudyConfig {
    /// The quick variant: k = 1..4 on L = 5, a small scaling scan at k = 2.
    pub fn quick() -> Self {
        SliceStudyConfig {
            dims: vec![1, 2, 3, 4],
            null_shuffles: 8,
            surrogates: 2,
            surrogate_iterations: 50,
            linear_points: 200,
            fss_dims: vec![2],
            fss_sides: vec![5, 9, 17],
            ..Self::default()
        }
    }

    /// Size of each pair's frame: the largest `k` of either scan, minus one.
    pub fn frame_size(&self) -> usize {
        self.dims
            .iter()
            .chain(&self.fss_dims)
            .copied()
            .max()
            .unwrap_or(1)
            .saturating_sub(1)
    }

    /// The plan of the scan's slice of dimension `k`.
    pub fn plan(&self, k: usize) -> SlicePlan {
        SlicePlan {
            k,
            side: self.side,
            axis0_span: self.axis0_span,
            span: self.span,
            method: self.method,
            dense_site_limit: self.dense_site_limit,
            max_evaluations: self.max_invasion_evaluations,
            bisect_steps: self.bisect_steps,
            search_order: self.search_order,
            null_shuffles: self.null_shuffles,
            surrogates: self.surrogates,
            surrogate: SurrogateOptions {
                max_iterations: self.surrogate_iterations,
                ..SurrogateOptions::default()
            },
            linear_points: self.linear_points,
            path_points_per_edge: self.path_points_per_edge,
            p_star_samples: self.p_star_samples,
        }
    }

    /// The dense plans of the scaling scan at `k`: one per nested side with
    /// `L^k ≤ fss_site_limit`.
    pub fn fss_plans(&self, k: usize) -> Vec<SlicePlan> {
        self.fss_sides
            .iter()
            .filter(|&&l| (l as f64).powi(k as i32) <= self.fss_site_limit as f64)
            .map(|&l| SlicePlan {
                side: l,
                method: Method::Dense,
                ..self.plan(k)
            })
            .collect()
    }

    /// Checks every field, naming it; `prefix` is prepended to the names
    /// (e.g. `params.slice.`).
    pub fn validate_as(&self, prefix: &str) -> Result<()> {
        let bad = |name: &str, value: String, why: &str| {
            Err(Error::invalid(format!("{prefix}{name}"), value, why))
        };
        let max = crate::lattice::MAX_DIM;
        for (name, dims) in [("dims", &self.dims), ("fss_dims", &self.fss_dims)] {
            if dims.iter().any(|&k| k == 0 || k > max) {
                return bad(name, format!("{dims:?}"), "expected dimensions in 1..=16");
            }
            if dims.iter().collect::<BTreeSet<_>>().len() != dims.len() {
                return bad(name, format!("{dims:?}"), "expected each dimension once");
            }
        }
        if self.dims.is_empty() {
            return bad("dims", "[]".into(), "expected at least one dimension");
        }
        if self.directions == DirectionKind::Pca {
            return bad(
                "directions",
                "pca".into(),
                "expected `random` or `gradient` (a study has no data set for principal directions)",
            );
        }
        if !(self.gap_floor.is_finite() && self.gap_floor >= 0.0) {
            return bad(
                "gap_floor",
                self.gap_floor.to_string(),
                "expected a finite fraction ≥ 0",
            );
        }
        if self.surrogate_iterations == 0 && self.surrogates > 0 {
            return bad("surrogate_iterations", "0".into(), "expected at least 1");
        }
        for &k in &self.dims {
            self.plan(k).validate(prefix)?;
        }
        if !self.fss_dims.is_empty() {
            if let Some(&l) = self.fss_sides.iter().find(|&&l| l < 3) {
                return bad(
                    "fss_sides",
                    l.to_string(),
                    "finite-size scaling needs sides L ≥ 3",
                );
            }
            let nested = self
                .fss_sides
                .windows(2)
                .all(|w| w[1] > w[0] && (w[1] - 1) % (w[0] - 1) == 0);
            if !nested {
                return bad(
                    "fss_sides",
                    format!("{:?}", self.fss_sides),
                    "expected increasing nested sides (each L − 1 a multiple of the previous), e.g. [5, 9, 17, 33]",
                );
            }
            for &k in &self.fss_dims {
                let plans = self.fss_plans(k);
                if plans.len() < 3 {
                    return bad(
                        "fss_site_limit",
                        self.fss_site_limit.to_string(),
                        &format!(
                            "k = {k} keeps {} of fss_sides within the limit; extrapolation needs 3",
                            plans.len()
                        ),
                    );
                }
                for p in plans {
                    p.validate(prefix)?;
                }
            }
        }
        Ok(())
    }

    /// [`Self::validate_as`] without a prefix.
    pub fn validate(&self) -> Result<()> {
        self.validate_as("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_refuses_unknown_keys_duplicates_and_unnested_sides() {
        assert!(toml::from_str::<SliceStudyConfig>("dimz = [1]").is_err());
        SliceStudyConfig::quick().validate().unwrap();
        SliceStudyConfig::default().validate().unwrap();
        let name = |cfg: SliceStudyConfig| match cfg.validate_as("params.slice.").unwrap_err() {
            Error::InvalidParameter { name, .. } => name,
            e => panic!("{e}"),
        };
        let dup = SliceStudyConfig {
            dims: vec![2, 2],
            ..SliceStudyConfig::quick()
        };
        assert_eq!(name(dup), "params.slice.dims");
        let unnested = SliceStudyConfig {
            fss_sides: vec![5, 8, 17],
            ..SliceStudyConfig::quick()
        };
        assert_eq!(name(unnested), "params.slice.fss_sides");
        let small = SliceStudyConfig {
            fss_sides: vec![2, 3, 5],
            ..SliceStudyConfig::quick()
        };
        assert_eq!(name(small), "params.slice.fss_sides");
        let tiny = SliceStudyConfig {
            side: 2,
            ..SliceStudyConfig::quick()
        };
        assert_eq!(name(tiny), "params.slice.surrogates");
    }

    #[test]
    fn every_k_of_the_scan_shares_the_side_and_the_fss_keeps_fitting_grids() {
        let cfg = SliceStudyConfig {
            dims: vec![1, 3, 8],
            side: 5,
            fss_dims: vec![2, 3],
            fss_sides: vec![5, 9, 17, 33],
            fss_site_limit: 5000,
            ..SliceStudyConfig::default()
        };
        assert!(cfg.dims.iter().all(|&k| cfg.plan(k).side == 5));
        let sides = |k| cfg.fss_plans(k).iter().map(|p| p.side).collect::<Vec<_>>();
        assert_eq!(sides(2), vec![5, 9, 17, 33]);
        assert_eq!(sides(3), vec![5, 9, 17]);
        assert_eq!(cfg.frame_size(), 7);
    }
}
