//! The bridge: percolation of low-loss sets on k-dimensional slices of input
//! space, compared with lattice percolation (science.md §4).
//!
//! Take two inputs A and C of the same class `y`, a k-dimensional affine
//! [`slice`](mod@slice) through them (axis 0 along `C − A`) sampled on a grid
//! of `L` points per axis, and the loss field `ℓ(j) = CE(f(x(j)), y)` on it
//! ([`field`]). Adding sites in increasing loss with a union-find
//! ([`minimax`]) is a Newman–Ziff sweep driven by the field: the level at
//! which A and C first join is the **minimax barrier** `ℓ*` (the lowest
//! maximum loss of any grid path). [`invasion`] finds the same `ℓ*` lazily,
//! evaluating the model only where the cluster grown from A reaches;
//! [`certify`](mod@certify) searches goal-first and brackets `ℓ*` on grids of
//! 33¹⁶ sites; [`sampled`] estimates volume fractions from uniformly drawn
//! sites.
//!
//! The percolation test proper: [`excursion`] measures the observables of the
//! excursion sets `{ℓ ≤ τ}` (first spanning per axis, largest cluster, the A–C
//! join) for any occupation order, with finite-size scaling validated on
//! i.i.d. fields against p_c^site(k); [`null`] is the fair i.i.d. baseline (A
//! and C occupied first, every other site in uniform random order — it must
//! reproduce the lattice engine's pinned two-point join fraction,
//! [`crate::percolation::two_point`]); [`surrogate`] is the
//! correlation-preserving baseline (IAAFT: the field's histogram and power
//! spectrum, random phases). [`measure`] is the one domain function that
//! measures a slice — the CLI and the study both call it — and [`study`]
//! holds the study's parameters and statistics. [`graph`] exports the
//! low-loss cluster graph.
//!
//! ```
//! use ismc::bridge::field::LossField;
//! use ismc::bridge::minimax::sweep_loss_order;
//! // A 1 × 5 "slice": A = site 0, C = site 4; the bump of 3 must be crossed.
//! let f = LossField::new(vec![5], vec![0.1, 3.0, 0.2, 0.5, 0.1]).unwrap();
//! let s = sweep_loss_order(&f, 0, 4, 5).unwrap();
//! assert_eq!(s.minimax_barrier, 3.0);
//! assert_eq!(s.p_star, 1.0);
//! ```

pub mod certify;
pub mod excursion;
pub mod field;
pub mod graph;
pub mod invasion;
pub mod measure;
pub mod minimax;
pub mod null;
pub mod sampled;
pub mod slice;
pub mod study;
pub mod surrogate;

pub use certify::{
    bracket, certify, invade_goal_first, BracketResult, Certificate, CertifyResult, SearchOrder,
};
pub use excursion::{excursion_sweep, ExcursionSweep};
pub use field::{evaluate_dense, DenseOptions, FieldEvaluation, LossField, StoredField};
pub use invasion::{invade, FieldSites, InvasionResult, ModelSites, SiteLoss};
pub use measure::{measure_slice, Frame, Method, SlicePlan, SliceRecord};
pub use minimax::{sweep_loss_order, LossOrderSweep};
pub use slice::{DirectionKind, GridSpec, Slice};
pub use study::{summarise, SliceStudyConfig, SliceSummary};
pub use surrogate::{iaaft, Surrogate, SurrogateOptions};
