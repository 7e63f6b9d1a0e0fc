//! The bridge: percolation of low-loss sets on k-dimensional slices of input
//! space, compared with lattice percolation (science.md §4).
//!
//! Take two inputs A and C of the same class `y`, a k-dimensional affine
//! [`slice`] through them (axis 0 along `C − A`) sampled on a grid of `L_i`
//! points per axis, and the loss field `ℓ(j) = CE(f(x(j)), y)` on it
//! ([`field`]). Adding sites in increasing loss with a union-find
//! ([`minimax`]) is a Newman–Ziff sweep driven by the field: the level at
//! which A and C first join is the **minimax barrier** `ℓ*` (the lowest
//! maximum loss of any grid path) and the occupied fraction then is **p***,
//! the slice's effective percolation density. [`invasion`] finds the same `ℓ*`
//! lazily, evaluating the model only where the cluster grown from A reaches;
//! [`certify`] searches goal-first for paths below a level, which proves
//! `ℓ* = max(ℓ(A), ℓ(C))` where that holds, and its goal-first invasion finds
//! the exact `ℓ*` on grids of 33¹⁶ sites where loss-order invasion cannot
//! (or brackets it); [`sampled`] estimates
//! their p* from uniformly drawn sites. [`null`] shuffles the
//! field (independent labelling) and must reproduce lattice site percolation
//! ([`crate::percolation::two_point`]); comparing `p*(k)` with `p*_null(k)`
//! and p_c^site(k) tests the percolation explanation. [`graph`] exports the
//! low-loss cluster graph, and [`study`] packages a unit of the experiment.
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
pub mod field;
pub mod graph;
pub mod invasion;
pub mod minimax;
pub mod null;
pub mod sampled;
pub mod slice;
pub mod study;

pub use certify::{
    bracket, certify, invade_goal_first, BracketResult, Certificate, CertifyResult, SearchOrder,
};
pub use field::{evaluate_dense, DenseOptions, FieldEvaluation, LossField, StoredField};
pub use invasion::{invade, FieldSites, InvasionResult, ModelSites, SiteLoss};
pub use minimax::{sweep_loss_order, LossOrderSweep};
pub use slice::{DirectionKind, GridSpec, Slice};
pub use study::{run_unit, summarise, SliceRecord, SliceStudyConfig, SliceSummary};
