//! The bridge: percolation of low-loss sets on k-dimensional slices of input
//! space, compared with lattice percolation (science.md §4).
//!
//! Take two inputs A and C of the same class `y`, a k-dimensional affine
//! [`Slice`] through them (axis 0 along `C − A`) sampled on a grid of `L`
//! points per axis, and the loss field `ℓ(j) = CE(f(x(j)), y)` on it
//! ([`LossField`], [`evaluate_dense`]). Adding sites in increasing loss with a
//! union-find ([`sweep_loss_order`]) is a Newman–Ziff sweep driven by the
//! field: the level at which A and C first join is the **minimax barrier**
//! `ℓ*` (the lowest maximum loss of any grid path). [`invade`] finds the same
//! `ℓ*` lazily, evaluating the model only where the cluster grown from A
//! reaches; [`certify()`] searches goal-first and [`bracket`] brackets `ℓ*` on
//! grids of 33¹⁶ sites; [`sampled`] estimates volume fractions from uniformly
//! drawn sites.
//!
//! The percolation test proper: [`excursion_sweep`] measures the observables
//! of the excursion sets `{ℓ ≤ τ}` (first spanning per axis, largest cluster,
//! the A–C join) for any occupation order, with finite-size scaling validated
//! on i.i.d. fields against p_c^site(k); [`null`] is the fair i.i.d. baseline
//! (A and C occupied first, every other site in uniform random order — it
//! must reproduce the lattice engine's pinned two-point join fraction,
//! [`crate::percolation::two_point`]); [`iaaft`] gives the
//! correlation-preserving baseline ([`Surrogate`]: the field's histogram and
//! power spectrum, random phases). [`measure_slice`] is the one domain
//! function that measures a slice — the CLI and the study both call it — and
//! [`SliceStudyConfig`] and [`summarise`] hold the study's parameters and
//! statistics. [`graph`] exports the low-loss cluster graph.
//!
//! Each concept lives in its own private file (`field.rs`, `minimax.rs`,
//! `invasion.rs`, `certify/`, `excursion.rs`, `surrogate/`, `measure/`,
//! `study/`, `slice/`), whose module documentation derives it; its public
//! items are re-exported here, so each has exactly one path.
//!
//! ```
//! use ismc::bridge::LossField;
//! use ismc::bridge::sweep_loss_order;
//! // A 1 × 5 "slice": A = site 0, C = site 4; the bump of 3 must be crossed.
//! let f = LossField::new(vec![5], vec![0.1, 3.0, 0.2, 0.5, 0.1]).unwrap();
//! let s = sweep_loss_order(&f, 0, 4, 5).unwrap();
//! assert_eq!(s.minimax_barrier, 3.0);
//! assert_eq!(s.p_star, 1.0);
//! ```

mod certify;
mod excursion;
mod field;
pub mod graph;
mod invasion;
mod measure;
mod minimax;
pub mod null;
pub mod sampled;
mod slice;
mod study;
mod surrogate;

pub use certify::{
    bracket, certify, invade_goal_first, Attempt, BracketResult, Certificate, CertifyResult,
    SearchOrder,
};
pub use excursion::{
    excursion_sweep, extrapolate_span, iid_span_points, ExcursionSweep, SpanAxis, SpanPoint,
};
pub use field::{
    check_dense_size, evaluate_dense, loss_blocked, DenseOptions, FieldEvaluation, FieldMeta,
    LossField, StoredField, DENSE_BYTES_PER_SITE, EVAL_BLOCK,
};
pub use invasion::{invade, FieldSites, InvasionResult, ModelSites, SiteLoss};
pub use measure::{
    gap_fraction, linear_barrier, measure_slice, Frame, LargestCurves, Method, PairLabel,
    SliceMeasurement, SlicePlan, SliceRecord, CURVE_POINTS,
};
pub use minimax::{
    cluster_below, lattice_of, loss_key, loss_order, minimax_bruteforce, minimax_path_coords,
    path_below, reevaluate_path, sweep_in_order, sweep_loss_order, LossOrderSweep, PathProfile,
    SweepPoint,
};
pub use slice::{
    gradient_directions, principal_directions, DirectionKind, GridSpec, Slice, SliceDefinition,
};
pub use study::{
    above_floor, lattice_pc_site, nested_bounds, summarise, FssAtK, FssSeries, GroupAtK,
    GroupSummary, MeanSe, PairOutcome, SliceStudyConfig, SliceSummary,
};
pub use surrogate::{iaaft, Surrogate, SurrogateOptions, SURROGATE_BYTES_PER_SITE};
