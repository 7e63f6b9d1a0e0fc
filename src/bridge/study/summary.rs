//! The study's summary as written to `summary.json`: per (model, pair kind)
//! group and per `k`, with the finite-size-scaling series, and the pair
//! outcomes the grids are compared with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stats::bootstrap::Interval;
use crate::stats::decay::GapDecay;
use crate::stats::MeanError;

/// What one pair contributes besides its slices: the path barriers that the
/// grids are compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairOutcome {
    /// Model spec of the unit, one of the study's `models`.
    pub model: String,
    /// Pair kind: `real_real`, `real_adversarial` or `synthetic`.
    pub pair_kind: String,
    /// Index j of the pair within (model, pair kind), from 0.
    pub pair: usize,
    /// Target class y of the pair's losses, `j mod classes`.
    pub class: u32,
    /// Index of A in the data set, for a real A.
    pub a_item: Option<usize>,
    /// Index of C in the data set, for a real C.
    pub c_item: Option<usize>,
    /// Cross-entropy of the model at A against `class`.
    pub loss_a: f32,
    /// Cross-entropy of the model at C against `class`.
    pub loss_c: f32,
    /// Straight-path barrier max (bypass points).
    pub linear_barrier: f64,
    /// Barrier max after the bend rounds.
    pub bypass_barrier: f64,
    /// Bend rounds made after the straight path (at most `rounds.max_rounds`).
    pub bypass_rounds: usize,
    /// Relative bend size of the last round.
    pub relative_bend: f64,
}

/// A mean with its standard error across pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanSe {
    /// Mean of the values across pairs.
    pub mean: f64,
    /// Standard error (0 for one value).
    pub stderr: f64,
    /// Number of values (pairs) the mean is over.
    pub n: usize,
}

impl MeanSe {
    pub(super) fn of(v: &[f64]) -> Option<Self> {
        (!v.is_empty()).then(|| {
            let m = MeanError::of(v);
            MeanSe {
                mean: m.mean,
                stderr: m.stderr,
                n: m.n,
            }
        })
    }
}

/// One group's statistics at one `k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupAtK {
    /// Side of the slices.
    pub side: usize,
    /// Pairs measured at this k.
    pub pairs: usize,
    /// Pairs whose `ℓ*` is exact (dense, or a lazy search that closed).
    pub exact: usize,
    /// Mean first-span fraction along axis 0, 95 % bootstrap interval.
    pub p_span: Option<Interval>,
    /// The same along any axis.
    pub p_span_any: Option<Interval>,
    /// The i.i.d. pinned null's first-span fraction (mean over pairs of each
    /// slice's null mean; the same grid for every pair).
    pub p_span_null_iid: Option<MeanSe>,
    /// The surrogates' first-span fraction, 95 % bootstrap interval.
    pub p_span_surrogate: Option<Interval>,
    /// Effect size against the i.i.d. null: median over pairs of
    /// `p_span / p_span_null_iid`, 95 % interval (1 = percolates like
    /// independent cells; below 1 = earlier).
    pub span_ratio_iid: Option<Interval>,
    /// Effect size against the surrogate: median over pairs of
    /// `p_span / p_span_surrogate`, 95 % interval (1 = explained by the
    /// field's histogram and spectrum).
    pub span_ratio_surrogate: Option<Interval>,
    /// Median join fraction with A and C pinned, 95 % interval.
    pub p_star_pinned: Option<Interval>,
    /// The i.i.d. pinned null's join fraction.
    pub p_star_null: Option<MeanSe>,
    /// The surrogates' pinned join fraction, 95 % interval of the median.
    pub p_star_surrogate: Option<Interval>,
    /// Median gap fraction `g(k)` (from the nested upper bound of `ℓ*`, see
    /// [`nested_bounds`](super::nested_bounds)) over the pairs above the gap floor, 95 % interval;
    /// `n` counts them.
    pub gap_fraction: Option<Interval>,
    /// The same from the nested lower bound of `ℓ*`.
    pub gap_fraction_lower: Option<Interval>,
    /// Median upper bound of `ℓ*` over all pairs.
    pub barrier_upper: Option<Interval>,
    /// Fraction of pairs whose grid barrier (upper bound) is at or below
    /// their optimised bypass.
    pub matches_bypass: f64,
}

/// Finite-size scaling of one field kind at one `k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FssSeries {
    /// `(L, mean, stderr)` over pairs.
    pub points: Vec<(usize, f64, f64)>,
    /// Extrapolated `L → ∞` with the lattice exponent ν(k).
    pub extrapolated: Option<f64>,
    /// Its standard error.
    pub extrapolated_stderr: Option<f64>,
    /// χ² and degrees of freedom of the fit.
    pub chi2_dof: Option<(f64, usize)>,
}

/// Finite-size scaling of `p_span` at one `k` on nested grids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FssAtK {
    /// Series of the real loss fields.
    pub field: FssSeries,
    /// The i.i.d. pinned null.
    pub null_iid: FssSeries,
    /// Series of the fields' IAAFT surrogates.
    pub surrogate: FssSeries,
}

/// One group's summary: (model, pair kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Model spec of the group, one of the study's `models`.
    pub model: String,
    /// Pair kind of the group: `real_real`, `real_adversarial` or `synthetic`.
    pub pair_kind: String,
    /// Pairs in the group.
    pub pairs: usize,
    /// Pairs whose straight path has a gap above the floor.
    pub pairs_above_floor: usize,
    /// Median straight-path barrier (bypass points) with 95 % interval.
    pub linear_barrier: Interval,
    /// Median bypass barrier with 95 % interval.
    pub bypass_barrier: Interval,
    /// Statistics at each slice dimension k of the scan, keyed by k.
    pub by_k: BTreeMap<usize, GroupAtK>,
    /// Decay laws fitted to the median `g(k)` (pairs above the floor).
    pub gap_decay: GapDecay,
    /// Median over pairs of the smallest k whose grid barrier is at or below
    /// the pair's bypass (pairs that never match count as beyond the scan);
    /// None when fewer than half of the pairs match.
    pub k_match_median: Option<usize>,
    /// Pairs that match the bypass at some k of the scan.
    pub k_match_pairs: usize,
    /// Finite-size scaling per k.
    pub fss: BTreeMap<usize, FssAtK>,
}

/// `summary.json` of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceSummary {
    /// The gap floor used.
    pub gap_floor: f64,
    /// One summary per (model, pair kind) group.
    pub groups: Vec<GroupSummary>,
    /// Lattice site threshold p_c^site(k) for every k measured.
    pub lattice_pc_site: BTreeMap<usize, f64>,
}
