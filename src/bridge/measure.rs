//! One slice measured: the domain function behind `ismc slice` and every
//! unit of the slice-percolation study.
//!
//! [`measure_slice`] takes a validated [`SlicePlan`] (k, side, search method,
//! nulls), the pair's [`Frame`] of off-axis directions and the two endpoints,
//! and returns a [`SliceRecord`]: the minimax barrier `ℓ*` (exact, or
//! bracketed on grids too large to evaluate), the normalised gap fraction
//! `g = (ℓ* − τ₀)/(ℓ_lin − τ₀)` with `τ₀ = max(ℓ(A), ℓ(C))`, and — on dense
//! grids — the percolation observables of the loss excursion sets beside
//! both fair nulls:
//!
//! * `p_span`: the occupied fraction at which a cluster of `{ℓ ≤ τ}` first
//!   spans the box along axis 0 (the C − A axis) — a genuine percolation
//!   observable, compared with lattice site percolation;
//! * `p_star`: the fraction occupied when A and C join in loss order (the
//!   volume below `ℓ*`), and `p_star_pinned`: the same with A and C occupied
//!   first, the like-for-like comparison with the nulls;
//! * the **i.i.d. pinned null** (A and C first, every other site in uniform
//!   random order: depends only on the grid and the endpoints' positions);
//! * the **IAAFT surrogate** (the slice's own histogram and power spectrum,
//!   random phases; A and C pinned first), which separates "percolation of
//!   high dimension" from "a smooth correlated valley".
//!
//! The frame is drawn once per pair (its seed does not involve `k`), and the
//! slice of dimension `k` uses its first `k − 1` directions with the same
//! side `L` and A, C on the middle layer of every off-axis: slice `k` is a
//! sub-grid of slice `k + 1`, evaluated bit for bit alike
//! ([`super::field::EVAL_BLOCK`]), so `ℓ*(k)` cannot increase with `k`.
//!
//! Seeds: `measure_slice` derives every stream from the pair's `seed` through
//! [`crate::rng::slice_stream`], so the CLI and the study give identical
//! records for the same pair, plan and seed.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::certify::{bracket, invade_goal_first, SearchOrder};
use super::excursion::excursion_sweep;
use super::field::{evaluate_dense, loss_blocked, DenseOptions, FieldEvaluation};
use super::invasion::ModelSites;
use super::minimax::{loss_order, minimax_path_coords, reevaluate_path, sweep_loss_order};
use super::null::pinned_order;
use super::sampled::fractions_below;
use super::slice::{gradient_directions, DirectionKind, GridSpec, Slice};
use super::surrogate::{iaaft, SurrogateOptions};
use crate::error::{Error, Result};
use crate::nn::Classifier;
use crate::rng::{derive_seed, slice_stream, stream};
use crate::stats::MeanError;

/// How the barrier of a slice is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Dense up to `dense_site_limit` sites, [`Method::Certify`] above.
    #[default]
    Auto,
    /// Always the dense sweep (refused above the memory limit).
    Dense,
    /// Goal-first invasion ([`invade_goal_first`]): the exact `ℓ*` or an
    /// error when `max_evaluations` runs out.
    Invasion,
    /// [`bracket`]: goal-first invasion, then bisection of the level; proven
    /// bounds within the budget, exact where they meet.
    Certify,
}

/// Points of the largest-cluster curve `P∞(p)` kept per dense slice:
/// `p = 1/n, 2/n, …, 1`.
pub const CURVE_POINTS: usize = 20;

/// A pair's off-axis directions: slice `k` uses the first `k − 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Candidate directions, orthonormalised against `C − A` and each other
    /// in order when a slice is built.
    pub directions: Vec<Vec<f32>>,
    /// Where they came from.
    pub kind: DirectionKind,
    /// Seed of random directions (0 for the others).
    pub seed: u64,
}

impl Frame {
    /// `size` seeded isotropic Gaussian directions of length `item_len`,
    /// drawn one after the other from one stream: the first `m` are the same
    /// for every `size ≥ m`.
    pub fn random(item_len: usize, size: usize, seed: u64) -> Self {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let directions = (0..size)
            .map(|_| {
                (0..item_len)
                    .map(|_| StandardNormal.sample(&mut rng))
                    .collect()
            })
            .collect();
        Frame {
            directions,
            kind: DirectionKind::Random,
            seed,
        }
    }

    /// The frame of a pair measured with seed `pair_seed`: random directions
    /// from the `FRAME` stream, or input gradients at `size` points of the
    /// segment (the same points for every `k`, so gradient slices nest too).
    pub fn for_pair<C: Classifier + ?Sized>(
        model: &C,
        a: &[f32],
        c: &[f32],
        class: u32,
        kind: DirectionKind,
        size: usize,
        pair_seed: u64,
    ) -> Result<Self> {
        match kind {
            DirectionKind::Random => Ok(Frame::random(
                a.len(),
                size,
                derive_seed(pair_seed, &[stream::SLICE, slice_stream::FRAME]),
            )),
            DirectionKind::Gradient => Ok(Frame {
                directions: gradient_directions(model, a, c, class, size)?,
                kind,
                seed: 0,
            }),
            DirectionKind::Pca => Err(Error::invalid(
                "directions",
                "pca",
                "principal directions need data: build the frame with Frame::given",
            )),
        }
    }

    /// A frame of given directions (e.g. principal components of data).
    pub fn given(directions: Vec<Vec<f32>>, kind: DirectionKind) -> Self {
        Frame {
            directions,
            kind,
            seed: 0,
        }
    }

    /// The slice of dimension `grid.sides.len()` through A and C.
    pub fn slice(&self, a: &[f32], c: &[f32], grid: &GridSpec) -> Result<Slice> {
        let k = grid.sides.len();
        if self.directions.len() + 1 < k {
            return Err(Error::invalid(
                "dims",
                k,
                format!(
                    "the pair's frame has {} directions: expected k ≤ {}",
                    self.directions.len(),
                    self.directions.len() + 1
                ),
            ));
        }
        Slice::from_frame(a, c, grid, &self.directions, self.kind, self.seed)
    }
}

/// Everything one slice measurement needs besides the model and the pair,
/// validated by [`SlicePlan::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlicePlan {
    /// Slice dimension k.
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

/// One slice's measurement: a flat, serialisable row (`slices.csv`, and the
/// JSON of `ismc slice --json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SliceRecord {
    /// Model spec.
    pub model: String,
    /// Pair kind (`real_real`, `real_adversarial`, `synthetic`, or `given`).
    pub pair_kind: String,
    /// Pair index within (model, kind); 0 for a single measurement.
    pub pair: usize,
    /// Target class of the loss.
    pub class: u32,
    /// Slice dimension.
    pub k: usize,
    /// Points per axis.
    pub side: usize,
    /// Grid sites `L^k` (as f64: may exceed 2⁶⁴).
    pub sites: f64,
    /// `dense`, `invasion` or `certify`.
    pub method: String,
    /// Where axes `1..k` came from.
    pub directions: String,
    /// The pair's seed (every stream of the measurement derives from it).
    pub seed: u64,
    /// Loss at A.
    pub loss_a: f32,
    /// Loss at C.
    pub loss_c: f32,
    /// `τ₀ = max(ℓ(A), ℓ(C))`, a lower bound of every path's maximum.
    pub tau0: f32,
    /// Max loss on the straight segment (`linear_points` points).
    pub linear_barrier: f32,
    /// The exact minimax barrier `ℓ*`, when known.
    pub minimax_barrier: Option<f32>,
    /// Proven lower bound of `ℓ*` (= `ℓ*` when exact).
    pub barrier_lower: f32,
    /// Proven upper bound of `ℓ*` (= `ℓ*` when exact).
    pub barrier_upper: f32,
    /// `(barrier_upper − τ₀)/(ℓ_lin − τ₀)`: the fraction of the straight
    /// path's gap that the grid keeps (None when `ℓ_lin = τ₀`).
    pub gap_fraction: Option<f64>,
    /// The same from `barrier_lower`.
    pub gap_fraction_lower: Option<f64>,
    /// Max loss on the minimax (or best found) grid path re-evaluated
    /// between grid points.
    pub path_max: f32,
    /// Grid steps of that path.
    pub path_steps: usize,
    /// Model evaluations on the grid.
    pub evaluations: u64,
    /// `evaluations / sites`.
    pub fraction_evaluated: f64,
    /// Occupied fraction when A and C join in loss order (dense: exact;
    /// lazy: sampled, when `ℓ*` is exact).
    pub p_star: Option<f64>,
    /// Standard error of a sampled `p_star`.
    pub p_star_stderr: Option<f64>,
    /// Occupied fraction when A and C join with both occupied first, the
    /// rest in loss order (dense).
    pub p_star_pinned: Option<f64>,
    /// Mean `p*` of the i.i.d. pinned null.
    pub p_star_null: Option<f64>,
    /// Its standard error.
    pub p_star_null_stderr: Option<f64>,
    /// Mean `p*` of the pinned IAAFT surrogates.
    pub p_star_surrogate: Option<f64>,
    /// Its standard error (over surrogates).
    pub p_star_surrogate_stderr: Option<f64>,
    /// Occupied fraction at which `{ℓ ≤ τ}` first spans axis 0 (dense).
    pub p_span: Option<f64>,
    /// The same along any axis.
    pub p_span_any: Option<f64>,
    /// Mean first-span fraction along axis 0 of the i.i.d. null.
    pub p_span_null_iid: Option<f64>,
    /// Its standard error.
    pub p_span_null_iid_stderr: Option<f64>,
    /// Mean first-span fraction along axis 0 of the surrogates.
    pub p_span_surrogate: Option<f64>,
    /// Its standard error.
    pub p_span_surrogate_stderr: Option<f64>,
    /// Largest relative power-spectrum error of the surrogates.
    pub surrogate_spectrum_error: Option<f64>,
}

/// Largest-cluster fractions `P∞(p)` of one dense slice at
/// `p = j/CURVE_POINTS`, for the field and the means of its nulls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LargestCurves {
    /// Slice dimension.
    pub k: usize,
    /// The real field (loss order).
    pub field: Vec<f64>,
    /// Mean over the i.i.d. null's orders.
    pub null_iid: Vec<f64>,
    /// Mean over the surrogates.
    pub surrogate: Vec<f64>,
}

/// The record plus what the CLI may store or draw.
#[derive(Debug, Clone)]
pub struct SliceMeasurement {
    /// The record.
    pub record: SliceRecord,
    /// The slice measured.
    pub slice: Slice,
    /// The dense field, when evaluated.
    pub field: Option<FieldEvaluation>,
    /// The minimax (or best found) grid path, `k` coordinates per site.
    pub path: Vec<u32>,
    /// `P∞(p)` curves (dense slices).
    pub curves: Option<LargestCurves>,
}

/// Who the pair is, for the record.
#[derive(Debug, Clone, PartialEq)]
pub struct PairLabel<'a> {
    /// Model spec.
    pub model: &'a str,
    /// Pair kind.
    pub pair_kind: &'a str,
    /// Index within (model, kind).
    pub pair: usize,
}

/// Max loss on `points` evenly spaced points of the segment A–C.
pub fn linear_barrier<C: Classifier + ?Sized>(
    model: &C,
    a: &[f32],
    c: &[f32],
    class: u32,
    points: usize,
) -> Result<f32> {
    let points = points.max(2);
    let mut xs = Vec::with_capacity(points * a.len());
    for i in 0..points {
        let t = i as f32 / (points - 1) as f32;
        xs.extend(a.iter().zip(c).map(|(&x, &y)| (1.0 - t) * x + t * y));
    }
    let losses = loss_blocked(model, &xs, class)?;
    Ok(losses.into_iter().fold(f32::NEG_INFINITY, f32::max))
}

/// `(barrier − τ₀)/(ℓ_lin − τ₀)`, or None when the straight path has no gap.
pub fn gap_fraction(barrier: f32, tau0: f32, linear: f32) -> Option<f64> {
    let gap = f64::from(linear) - f64::from(tau0);
    (gap > 0.0).then(|| (f64::from(barrier) - f64::from(tau0)) / gap)
}

/// The null and surrogate observables of one dense field.
struct Nulls {
    p_star: Option<MeanError>,
    p_span: Option<MeanError>,
    curve: Vec<f64>,
}

/// Runs `orders` (one per seed, made by `make`) through the excursion sweep
/// in parallel and averages `p*`, the axis-0 first span and `P∞(p)`.
fn null_observables(
    sides: &[usize],
    a: u32,
    c: u32,
    count: usize,
    make: &(dyn Fn(usize) -> Result<Vec<u32>> + Sync),
) -> Result<Nulls> {
    if count == 0 {
        return Ok(Nulls {
            p_star: None,
            p_span: None,
            curve: Vec::new(),
        });
    }
    let sweeps: Vec<_> = (0..count)
        .into_par_iter()
        .map(|i| excursion_sweep(sides, &make(i)?, Some((a, c)), CURVE_POINTS))
        .collect::<Result<_>>()?;
    let joins: Vec<f64> = sweeps.iter().filter_map(|s| s.join_fraction()).collect();
    let spans: Vec<f64> = sweeps.iter().map(|s| s.span_fraction(Some(0))).collect();
    let mut curve = vec![0.0; CURVE_POINTS];
    for s in &sweeps {
        for (acc, v) in curve.iter_mut().zip(curve_at(&s.largest)) {
            *acc += v / count as f64;
        }
    }
    Ok(Nulls {
        p_star: Some(MeanError::of(&joins)),
        p_span: Some(MeanError::of(&spans)),
        curve,
    })
}

/// `P∞` at `p = j/CURVE_POINTS` from a sweep's `(p, P∞)` points (the last
/// point at or below each `p`).
fn curve_at(points: &[(f64, f64)]) -> Vec<f64> {
    (1..=CURVE_POINTS)
        .map(|j| {
            let p = j as f64 / CURVE_POINTS as f64 + 1e-12;
            points
                .iter()
                .take_while(|(q, _)| *q <= p)
                .last()
                .map_or(0.0, |&(_, v)| v)
        })
        .collect()
}

/// `[a, c]` followed by the other sites in the loss order of `values`.
fn pinned_loss_order(values: &[f32], a: u32, c: u32) -> Vec<u32> {
    let mut order = Vec::with_capacity(values.len());
    order.push(a);
    if c != a {
        order.push(c);
    }
    order.extend(loss_order(values).into_iter().filter(|&s| s != a && s != c));
    order
}

/// Measures one slice of the pair (A, C) with target `class`: see the
/// module docs. `seed` is the pair's seed; the frame must come from the
/// same seed ([`Frame::for_pair`]) for the record to be reproducible from
/// it alone.
#[allow(clippy::too_many_arguments)]
pub fn measure_slice<C: Classifier + ?Sized>(
    model: &C,
    label: &PairLabel<'_>,
    a: &[f32],
    c: &[f32],
    class: u32,
    frame: &Frame,
    plan: &SlicePlan,
    seed: u64,
) -> Result<SliceMeasurement> {
    plan.validate("")?;
    let k = plan.k;
    let slice = frame.slice(a, c, &plan.grid())?;
    let sites = slice.n_sites() as f64;
    let ends = loss_blocked(model, &[a, c].concat(), class)?;
    let tau0 = ends[0].max(ends[1]);
    let linear = linear_barrier(model, a, c, class, plan.linear_points)?;
    let sub = |tag: u64| derive_seed(seed, &[stream::SLICE, tag, k as u64]);
    let mut rec = SliceRecord {
        model: label.model.to_string(),
        pair_kind: label.pair_kind.to_string(),
        pair: label.pair,
        class,
        k,
        side: plan.side,
        sites,
        method: String::new(),
        directions: frame.kind.to_string(),
        seed,
        loss_a: ends[0],
        loss_c: ends[1],
        tau0,
        linear_barrier: linear,
        minimax_barrier: None,
        barrier_lower: f32::NAN,
        barrier_upper: f32::NAN,
        gap_fraction: None,
        gap_fraction_lower: None,
        path_max: f32::NAN,
        path_steps: 0,
        evaluations: 0,
        fraction_evaluated: 0.0,
        p_star: None,
        p_star_stderr: None,
        p_star_pinned: None,
        p_star_null: None,
        p_star_null_stderr: None,
        p_star_surrogate: None,
        p_star_surrogate_stderr: None,
        p_span: None,
        p_span_any: None,
        p_span_null_iid: None,
        p_span_null_iid_stderr: None,
        p_span_surrogate: None,
        p_span_surrogate_stderr: None,
        surrogate_spectrum_error: None,
    };
    let mut field_eval = None;
    let mut curves = None;
    let path = if plan.is_dense() {
        let eval = evaluate_dense(model, &slice, class, &DenseOptions::default())?;
        let field = &eval.field;
        let ia = field.index(slice.a_coords()) as u32;
        let ic = field.index(slice.c_coords()) as u32;
        let sweep = sweep_loss_order(field, ia, ic, 1)?;
        let path = minimax_path_coords(field, &slice, ia, ic, sweep.minimax_barrier)?;
        let real = excursion_sweep(&field.sides, &loss_order(&field.values), None, CURVE_POINTS)?;
        let pinned = excursion_sweep(
            &field.sides,
            &pinned_loss_order(&field.values, ia, ic),
            Some((ia, ic)),
            0,
        )?;
        let n = field.n_sites();
        let null_seed = sub(slice_stream::NULL);
        let iid = null_observables(&field.sides, ia, ic, plan.null_shuffles, &|i| {
            Ok(pinned_order(n, ia, ic, derive_seed(null_seed, &[i as u64])))
        })?;
        let sur_seed = sub(slice_stream::SURROGATE);
        let spectrum_errors = std::sync::Mutex::new(Vec::new());
        let sur = null_observables(&field.sides, ia, ic, plan.surrogates, &|i| {
            let s = iaaft(field, derive_seed(sur_seed, &[i as u64]), &plan.surrogate)?;
            spectrum_errors
                .lock()
                .expect("no panics while holding the lock")
                .push(s.spectrum_error);
            Ok(pinned_loss_order(&s.field.values, ia, ic))
        })?;
        let spectrum = spectrum_errors.into_inner().expect("lock released");
        rec.method = "dense".into();
        rec.minimax_barrier = Some(sweep.minimax_barrier);
        rec.barrier_lower = sweep.minimax_barrier;
        rec.barrier_upper = sweep.minimax_barrier;
        rec.evaluations = eval.evaluations;
        rec.p_star = Some(sweep.p_star);
        rec.p_star_pinned = pinned.join_fraction();
        rec.p_span = Some(real.span_fraction(Some(0)));
        rec.p_span_any = Some(real.span_fraction(None));
        rec.p_star_null = iid.p_star.map(|m| m.mean);
        rec.p_star_null_stderr = iid.p_star.map(|m| m.stderr);
        rec.p_span_null_iid = iid.p_span.map(|m| m.mean);
        rec.p_span_null_iid_stderr = iid.p_span.map(|m| m.stderr);
        rec.p_star_surrogate = sur.p_star.map(|m| m.mean);
        rec.p_star_surrogate_stderr = sur.p_star.map(|m| m.stderr);
        rec.p_span_surrogate = sur.p_span.map(|m| m.mean);
        rec.p_span_surrogate_stderr = sur.p_span.map(|m| m.stderr);
        rec.surrogate_spectrum_error = spectrum.into_iter().reduce(f64::max);
        curves = Some(LargestCurves {
            k,
            field: curve_at(&real.largest),
            null_iid: iid.curve,
            surrogate: sur.curve,
        });
        field_eval = Some(eval);
        path
    } else {
        let mut oracle = ModelSites::new(model, &slice, class)?;
        let (ca, cc) = (slice.a_coords(), slice.c_coords());
        let (lower, upper, path, evaluations) = if plan.method == Method::Invasion {
            rec.method = "invasion".into();
            let (b, r) =
                invade_goal_first(&mut oracle, ca, cc, plan.max_evaluations, plan.search_order)?
                    .into_exact(plan.max_evaluations)?;
            (b, b, r.path, r.evaluations)
        } else {
            rec.method = "certify".into();
            let per_search = (plan.max_evaluations / (plan.bisect_steps as u64 + 1)).max(1);
            let r = bracket(
                &mut oracle,
                ca,
                cc,
                plan.bisect_steps,
                per_search,
                plan.search_order,
            )?;
            (r.lower_bound, r.upper_bound, r.path, r.evaluations)
        };
        rec.barrier_lower = lower;
        rec.barrier_upper = upper;
        rec.minimax_barrier = (lower == upper).then_some(lower);
        rec.evaluations = evaluations;
        if plan.p_star_samples > 0 && rec.minimax_barrier.is_some() {
            let p = fractions_below(
                &mut oracle,
                &[upper],
                plan.p_star_samples,
                sub(slice_stream::SAMPLES),
            )?;
            rec.p_star = Some(p[0].fraction);
            rec.p_star_stderr = Some(p[0].stderr);
        }
        path
    };
    let profile = reevaluate_path(model, &slice, &path, class, plan.path_points_per_edge)?;
    rec.path_max = profile.max_loss;
    rec.path_steps = path.len() / k - 1;
    rec.fraction_evaluated = rec.evaluations as f64 / sites;
    rec.gap_fraction = gap_fraction(rec.barrier_upper, tau0, linear);
    rec.gap_fraction_lower = gap_fraction(rec.barrier_lower, tau0, linear);
    Ok(SliceMeasurement {
        record: rec,
        slice,
        field: field_eval,
        path,
        curves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_fraction_is_none_without_a_straight_gap() {
        assert_eq!(gap_fraction(1.0, 1.0, 1.0), None);
        assert_eq!(gap_fraction(1.5, 1.0, 3.0), Some(0.25));
        assert_eq!(gap_fraction(1.0, 1.0, 3.0), Some(0.0));
    }

    #[test]
    fn pinned_loss_order_puts_the_endpoints_first() {
        let v = [0.5, 0.1, 0.9, 0.0];
        assert_eq!(pinned_loss_order(&v, 2, 0), vec![2, 0, 3, 1]);
    }

    #[test]
    fn frames_nest_random_directions() {
        let small = Frame::random(7, 2, 3);
        let big = Frame::random(7, 5, 3);
        assert_eq!(small.directions[..], big.directions[..2]);
    }

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
