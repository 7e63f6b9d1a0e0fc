//! What a slice measurement returns: the flat record, the largest-cluster
//! curves of a dense slice, what the CLI may store or draw, and who the
//! pair is.

use serde::{Deserialize, Serialize};

use crate::bridge::field::FieldEvaluation;
use crate::bridge::slice::Slice;

/// One slice's measurement: a flat, serialisable row (`slices.csv`, and the
/// JSON of `ismc slice --json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SliceRecord {
    /// Model spec the pair was measured on, as [`load_spec`](crate::nn::zoo::load_spec)
    /// reads it (e.g. `lenet5-mnist`).
    pub model: String,
    /// Pair kind (`real_real`, `real_adversarial`, `synthetic`, or `given`).
    pub pair_kind: String,
    /// Pair index within (model, kind); 0 for a single measurement.
    pub pair: usize,
    /// Target class of the loss.
    pub class: u32,
    /// Slice dimension k: the number of grid axes (`1..=MAX_DIM`).
    pub k: usize,
    /// Points per axis L of the hypercubic grid, from the plan.
    pub side: usize,
    /// Grid sites `L^k` (as f64: may exceed 2⁶⁴).
    pub sites: f64,
    /// `dense`, `invasion` or `certify`.
    pub method: String,
    /// Where axes `1..k` came from.
    pub directions: String,
    /// The pair's seed (every stream of the measurement derives from it).
    pub seed: u64,
    /// Cross-entropy of the model at endpoint A against `class`.
    pub loss_a: f32,
    /// Cross-entropy of the model at endpoint C against `class`.
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
    /// Slice dimension k of the dense slice the curves come from.
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
    /// The flat row of the measurement, as stored in `slices.csv`.
    pub record: SliceRecord,
    /// The slice grid measured: endpoints, axes and its
    /// [`SliceDefinition`](crate::bridge::slice::SliceDefinition).
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
    /// Model spec, copied into [`SliceRecord::model`].
    pub model: &'a str,
    /// Pair kind, copied into [`SliceRecord::pair_kind`] (`given` for `ismc slice`).
    pub pair_kind: &'a str,
    /// Index within (model, kind).
    pub pair: usize,
}
