//! The slice-percolation study's slice parameters and its statistics.
//!
//! [`SliceStudyConfig`] is what an experiment file's `[params.slice]`
//! holds (unknown keys refused); it turns into one [`SlicePlan`] per slice
//! dimension — every `k` on the same side `L`, so that only `k` changes
//! along a scan and slices nest — and into the nested grids of the
//! finite-size-scaling scan ([`SliceStudyConfig::fss_plans`]).
//!
//! [`summarise`] turns the records of many pairs into per-group (model,
//! pair kind) statistics: the excursion-set spanning fraction `p_span(k)`
//! with bootstrap intervals beside both nulls and the lattice `p_c^site(k)`,
//! the normalised gap fraction `g(k)` (median with a 95 % interval over the
//! pairs whose straight path has a gap above the floor), the fitted decay law
//! of `g(k)`, the smallest `k` whose grid matches the optimised bypass of the
//! same pair, and the finite-size extrapolation of `p_span` over nested
//! grids at fixed `k`.
//!
//! ```
//! use ismc::bridge::study::SliceStudyConfig;
//! let cfg: SliceStudyConfig = toml::from_str("dims = [1, 2, 3]\nside = 5").unwrap();
//! cfg.validate().unwrap();
//! assert_eq!(cfg.plan(3).side, 5);
//! assert_eq!(cfg.frame_size(), 2);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::certify::SearchOrder;
use super::measure::{gap_fraction, Method, SlicePlan, SliceRecord};
use super::slice::DirectionKind;
use super::surrogate::SurrogateOptions;
use crate::error::{Error, Result};
use crate::percolation::Kind;
use crate::rng::derive_seed;
use crate::scaling::fss::{extrapolate, SizePoint};
use crate::stats::bootstrap::{bootstrap_interval, mean, median, Interval, DEFAULT_RESAMPLES};
use crate::stats::decay::{fit_decays, GapDecay};
use crate::stats::MeanError;

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

/// What one pair contributes besides its slices: the path barriers that the
/// grids are compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairOutcome {
    /// Model spec.
    pub model: String,
    /// Pair kind.
    pub pair_kind: String,
    /// Pair index.
    pub pair: usize,
    /// Target class.
    pub class: u32,
    /// Index of A in the data set, for a real A.
    pub a_item: Option<usize>,
    /// Index of C in the data set, for a real C.
    pub c_item: Option<usize>,
    /// CE at A.
    pub loss_a: f32,
    /// CE at C.
    pub loss_c: f32,
    /// Straight-path barrier max (bypass points).
    pub linear_barrier: f64,
    /// Barrier max after the bend rounds.
    pub bypass_barrier: f64,
    /// Bend rounds used.
    pub bypass_rounds: usize,
    /// Relative bend size of the last round.
    pub relative_bend: f64,
}

/// A mean with its standard error across pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanSe {
    /// Mean.
    pub mean: f64,
    /// Standard error (0 for one value).
    pub stderr: f64,
    /// Values.
    pub n: usize,
}

impl MeanSe {
    fn of(v: &[f64]) -> Option<Self> {
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
    /// [`nested_bounds`]) over the pairs above the gap floor, 95 % interval;
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
    /// The real fields.
    pub field: FssSeries,
    /// The i.i.d. pinned null.
    pub null_iid: FssSeries,
    /// The surrogates.
    pub surrogate: FssSeries,
}

/// One group's summary: (model, pair kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Model spec.
    pub model: String,
    /// Pair kind.
    pub pair_kind: String,
    /// Pairs in the group.
    pub pairs: usize,
    /// Pairs whose straight path has a gap above the floor.
    pub pairs_above_floor: usize,
    /// Median straight-path barrier (bypass points) with 95 % interval.
    pub linear_barrier: Interval,
    /// Median bypass barrier with 95 % interval.
    pub bypass_barrier: Interval,
    /// Per k.
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
    /// Per group.
    pub groups: Vec<GroupSummary>,
    /// Lattice site threshold p_c^site(k) for every k measured.
    pub lattice_pc_site: BTreeMap<usize, f64>,
}

/// p_c^site(k): published values (exact 1 for k = 1), the series beyond.
pub fn lattice_pc_site(k: usize) -> f64 {
    crate::scaling::literature::published(k, Kind::Site)
        .map(|p| p.value)
        .unwrap_or_else(|| crate::scaling::literature::series(k, Kind::Site))
}

/// Tightens each pair's barrier bounds by nesting: slice `k` contains every
/// slice of smaller `k` of the same frame and side, so
/// `ℓ*(k) ≤ min_{k' ≤ k} upper(k')` and `ℓ*(k) ≥ max_{k'' ≥ k} lower(k'')`.
///
/// A lazy slice (goal-first search or certification) whose evaluation
/// budget runs out brackets `ℓ*` loosely; an exact dense slice of smaller
/// `k` can then bound it better from above. Returns copies of `records`
/// with `barrier_upper`, `barrier_lower`, `gap_fraction` and
/// `gap_fraction_lower` tightened; every other field is kept. The records of
/// one (model, pair kind, pair, side) must come from one frame, as in the
/// study (the frame is drawn once per pair, independent of `k`).
pub fn nested_bounds(records: &[SliceRecord]) -> Vec<SliceRecord> {
    type PairKey<'a> = (&'a str, &'a str, usize, usize);
    let mut by_pair: BTreeMap<PairKey, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        by_pair
            .entry((&r.model, &r.pair_kind, r.pair, r.side))
            .or_default()
            .push(i);
    }
    let mut out = records.to_vec();
    for idx in by_pair.values_mut() {
        idx.sort_by_key(|&i| records[i].k);
        let mut upper = f32::INFINITY;
        for &i in idx.iter() {
            if records[i].barrier_upper.is_finite() {
                upper = upper.min(records[i].barrier_upper);
            }
            if upper.is_finite() {
                out[i].barrier_upper = upper;
            }
        }
        let mut lower = f32::NEG_INFINITY;
        for &i in idx.iter().rev() {
            if records[i].barrier_lower.is_finite() {
                lower = lower.max(records[i].barrier_lower);
            }
            if lower.is_finite() {
                out[i].barrier_lower = lower;
            }
        }
        for &i in idx.iter() {
            let r = &mut out[i];
            r.gap_fraction = gap_fraction(r.barrier_upper, r.tau0, r.linear_barrier);
            r.gap_fraction_lower = gap_fraction(r.barrier_lower, r.tau0, r.linear_barrier);
        }
    }
    out
}

/// Whether a record's pair enters the gap statistics.
pub fn above_floor(r: &SliceRecord, floor: f64) -> bool {
    let tau0 = f64::from(r.tau0);
    let gap = f64::from(r.linear_barrier) - tau0;
    gap > 0.0 && gap > floor * tau0
}

fn interval(values: &[f64], stat: fn(&[f64]) -> f64, seed: u64) -> Option<Interval> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| bootstrap_interval(&v, stat, DEFAULT_RESAMPLES, 0.95, seed))
}

fn fss_series(k: usize, by_side: &BTreeMap<usize, Vec<f64>>) -> FssSeries {
    let points: Vec<(usize, f64, f64)> = by_side
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(&l, v)| {
            let m = MeanError::of(v);
            (l, m.mean, m.stderr)
        })
        .collect();
    let sizes: Vec<SizePoint> = points
        .iter()
        .map(|&(side, p, s)| SizePoint {
            side,
            samples: by_side[&side].len() as u64,
            p_av: p,
            stderr: s,
            seconds: 0.0,
        })
        .collect();
    let fit = (sizes.len() >= 3 && sizes.iter().all(|s| s.stderr > 0.0))
        .then(|| extrapolate(k, &sizes).ok())
        .flatten();
    FssSeries {
        points,
        extrapolated: fit.as_ref().map(|f| f.params[0]),
        extrapolated_stderr: fit.as_ref().map(|f| f.stderr[0]),
        chi2_dof: fit.as_ref().map(|f| (f.chi2, f.dof)),
    }
}

/// Summarises the study (order-independent): `records` from the k scan,
/// `fss` from the scaling scan, `pairs` the pairs' path barriers. Barrier
/// bounds, gap fractions and the bypass match use the nested bounds of
/// [`nested_bounds`]; every other observable is the record's own. Bootstrap
/// seeds derive from `seed` and the group's position in sorted order.
pub fn summarise(
    records: &[SliceRecord],
    fss: &[SliceRecord],
    pairs: &[PairOutcome],
    gap_floor: f64,
    seed: u64,
) -> SliceSummary {
    type Key = (String, String);
    let records = nested_bounds(records);
    let mut by_group: BTreeMap<Key, Vec<&SliceRecord>> = BTreeMap::new();
    for r in &records {
        by_group
            .entry((r.model.clone(), r.pair_kind.clone()))
            .or_default()
            .push(r);
    }
    let mut pair_rows: BTreeMap<Key, Vec<&PairOutcome>> = BTreeMap::new();
    for p in pairs {
        pair_rows
            .entry((p.model.clone(), p.pair_kind.clone()))
            .or_default()
            .push(p);
    }
    let mut groups = Vec::new();
    for (gi, ((model, kind), recs)) in by_group.iter().enumerate() {
        let gseed = |tag: u64| derive_seed(seed, &[gi as u64, tag]);
        let prs = pair_rows
            .get(&(model.clone(), kind.clone()))
            .cloned()
            .unwrap_or_default();
        let bypass: BTreeMap<usize, f64> = prs.iter().map(|p| (p.pair, p.bypass_barrier)).collect();
        let ks: BTreeSet<usize> = recs.iter().map(|r| r.k).collect();
        let pair_ids: BTreeSet<usize> = recs.iter().map(|r| r.pair).collect();
        let above: BTreeSet<usize> = recs
            .iter()
            .filter(|r| above_floor(r, gap_floor))
            .map(|r| r.pair)
            .collect();
        let mut by_k = BTreeMap::new();
        for (ki, &k) in ks.iter().enumerate() {
            let at: Vec<&SliceRecord> = recs.iter().filter(|r| r.k == k).copied().collect();
            let col = |f: &dyn Fn(&SliceRecord) -> Option<f64>| -> Vec<f64> {
                at.iter()
                    .filter_map(|r| f(r))
                    .filter(|x| x.is_finite())
                    .collect()
            };
            let s = |tag: u64| gseed(1000 * ki as u64 + tag);
            let gaps = |f: &dyn Fn(&SliceRecord) -> Option<f64>| -> Vec<f64> {
                at.iter()
                    .filter(|r| above.contains(&r.pair))
                    .filter_map(|r| f(r))
                    .collect()
            };
            let matched = at
                .iter()
                .filter(|r| {
                    bypass
                        .get(&r.pair)
                        .is_some_and(|&b| f64::from(r.barrier_upper) <= b)
                })
                .count();
            by_k.insert(
                k,
                GroupAtK {
                    side: at[0].side,
                    pairs: at.len(),
                    exact: at.iter().filter(|r| r.minimax_barrier.is_some()).count(),
                    p_span: interval(&col(&|r| r.p_span), mean, s(1)),
                    p_span_any: interval(&col(&|r| r.p_span_any), mean, s(2)),
                    p_span_null_iid: MeanSe::of(&col(&|r| r.p_span_null_iid)),
                    p_span_surrogate: interval(&col(&|r| r.p_span_surrogate), mean, s(3)),
                    span_ratio_iid: interval(
                        &col(&|r| Some(r.p_span? / r.p_span_null_iid?)),
                        median,
                        s(9),
                    ),
                    span_ratio_surrogate: interval(
                        &col(&|r| Some(r.p_span? / r.p_span_surrogate?)),
                        median,
                        s(10),
                    ),
                    p_star_pinned: interval(&col(&|r| r.p_star_pinned), median, s(4)),
                    p_star_null: MeanSe::of(&col(&|r| r.p_star_null)),
                    p_star_surrogate: interval(&col(&|r| r.p_star_surrogate), median, s(5)),
                    gap_fraction: interval(&gaps(&|r| r.gap_fraction), median, s(6)),
                    gap_fraction_lower: interval(&gaps(&|r| r.gap_fraction_lower), median, s(7)),
                    barrier_upper: interval(
                        &col(&|r| Some(f64::from(r.barrier_upper))),
                        median,
                        s(8),
                    ),
                    matches_bypass: matched as f64 / at.len() as f64,
                },
            );
        }
        // g(k) rows per pair above the floor, for the decay fit.
        let kv: Vec<usize> = ks.iter().copied().collect();
        let rows: Vec<Vec<Option<f64>>> = above
            .iter()
            .map(|&p| {
                kv.iter()
                    .map(|&k| {
                        recs.iter()
                            .find(|r| r.pair == p && r.k == k)
                            .and_then(|r| r.gap_fraction)
                    })
                    .collect()
            })
            .collect();
        let kf: Vec<f64> = kv.iter().map(|&k| k as f64).collect();
        let gap_decay = fit_decays(&kf, &rows, DEFAULT_RESAMPLES / 4, gseed(1));
        // Smallest k matching the bypass, per pair (beyond the scan: MAX).
        let mut k_match: Vec<usize> = pair_ids
            .iter()
            .map(|&p| {
                let b = bypass.get(&p).copied().unwrap_or(f64::NEG_INFINITY);
                kv.iter()
                    .copied()
                    .find(|&k| {
                        recs.iter()
                            .any(|r| r.pair == p && r.k == k && f64::from(r.barrier_upper) <= b)
                    })
                    .unwrap_or(usize::MAX)
            })
            .collect();
        k_match.sort_unstable();
        let k_match_pairs = k_match.iter().filter(|&&k| k != usize::MAX).count();
        let k_match_median = k_match
            .get((k_match.len().saturating_sub(1)) / 2)
            .copied()
            .filter(|&k| k != usize::MAX);
        // Finite-size scaling at fixed k over nested sides.
        let mut fss_k: BTreeMap<usize, [BTreeMap<usize, Vec<f64>>; 3]> = BTreeMap::new();
        for r in fss
            .iter()
            .filter(|r| &r.model == model && &r.pair_kind == kind)
        {
            let e = fss_k.entry(r.k).or_default();
            for (i, v) in [r.p_span, r.p_span_null_iid, r.p_span_surrogate]
                .into_iter()
                .enumerate()
            {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    e[i].entry(r.side).or_default().push(v);
                }
            }
        }
        let fss_summary = fss_k
            .iter()
            .map(|(&k, [f, n, s])| {
                (
                    k,
                    FssAtK {
                        field: fss_series(k, f),
                        null_iid: fss_series(k, n),
                        surrogate: fss_series(k, s),
                    },
                )
            })
            .collect();
        let lin: Vec<f64> = prs.iter().map(|p| p.linear_barrier).collect();
        let byp: Vec<f64> = prs.iter().map(|p| p.bypass_barrier).collect();
        let nan = Interval {
            estimate: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
            n: 0,
        };
        groups.push(GroupSummary {
            model: model.clone(),
            pair_kind: kind.clone(),
            pairs: pair_ids.len(),
            pairs_above_floor: above.len(),
            linear_barrier: interval(&lin, median, gseed(2)).unwrap_or(nan),
            bypass_barrier: interval(&byp, median, gseed(3)).unwrap_or(nan),
            by_k,
            gap_decay,
            k_match_median,
            k_match_pairs,
            fss: fss_summary,
        });
    }
    let lattice = records
        .iter()
        .chain(fss)
        .map(|r| r.k)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|k| (k, lattice_pc_site(k)))
        .collect();
    SliceSummary {
        gap_floor,
        groups,
        lattice_pc_site: lattice,
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

    fn bracket(k: usize, lower: f32, upper: f32) -> SliceRecord {
        SliceRecord {
            model: "m".into(),
            pair_kind: "real_real".into(),
            k,
            side: 5,
            tau0: 1.0,
            linear_barrier: 3.0,
            barrier_lower: lower,
            barrier_upper: upper,
            ..SliceRecord::default()
        }
    }

    #[test]
    fn nested_bounds_carry_the_exact_small_k_barrier_up_and_lazy_lower_bounds_down() {
        // k = 6 exact at 2.0; k = 16 bracketed loosely in [1.2, 2.6]; k = 8
        // bracketed in [1.5, 2.2]: ℓ*(16) ≤ ℓ*(8) ≤ ℓ*(6) = 2.0, and
        // ℓ*(6) ≥ ℓ*(8) ≥ 1.5.
        let recs = vec![
            bracket(16, 1.2, 2.6),
            bracket(6, 2.0, 2.0),
            bracket(8, 1.5, 2.2),
        ];
        let t = nested_bounds(&recs);
        let at = |k: usize| t.iter().find(|r| r.k == k).unwrap();
        assert_eq!((at(6).barrier_lower, at(6).barrier_upper), (2.0, 2.0));
        assert_eq!((at(8).barrier_lower, at(8).barrier_upper), (1.5, 2.0));
        assert_eq!((at(16).barrier_lower, at(16).barrier_upper), (1.2, 2.0));
        assert_eq!(at(16).gap_fraction, Some(0.5));
        assert_eq!(
            at(16).gap_fraction_lower,
            Some((f64::from(1.2f32) - 1.0) / 2.0)
        );
        // Another pair's records are not mixed in.
        let mut other = bracket(6, 0.5, 0.5);
        other.pair = 1;
        let t = nested_bounds(&[bracket(16, 1.2, 2.6), other]);
        assert_eq!(t[0].barrier_upper, 2.6);
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
