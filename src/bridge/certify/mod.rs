//! A certified shortcut to the minimax barrier on grids too large to invade.
//!
//! Every grid path from A to C contains A and C, so
//!
//! ```text
//! ℓ* ≥ τ₀ = max(ℓ(A), ℓ(C)),
//! ```
//!
//! and one path whose sites all have loss ≤ τ₀ proves `ℓ* = τ₀` exactly.
//! Invasion ([`super::invasion`]) cannot find such a path cheaply on a large
//! slice: it invades in loss order, so it must absorb every site of A's
//! component below ℓ* before C — and for a ReLU network the loss falls on
//! one side of A along almost every off-axis direction, so that component
//! holds a fixed fraction of a `L^(k−1)` grid (theory/slice-percolation.md
//! §5). This search looks for the path goal-first instead, over the sites
//! of loss ≤ τ₀ connected to A, evaluating only the face neighbours of the
//! sites it expands: depth-first by default (the newest admissible sites
//! first, and among them the nearest to C in grid L1 distance; ties: lower
//! loss, then lower index), or best-first by that distance
//! ([`SearchOrder`]).
//!
//! The same search at a higher level τ ≥ τ₀ answers whether the grid holds
//! a path at or below τ, which brackets `ℓ*` where it is not τ₀. The
//! outcome is one of three, and never a guess:
//! * [`Certificate::Reached`]: C was reached; `ℓ* ≤` the found path's
//!   maximum (the `upper_bound`, ≤ τ), with the path. At τ = τ₀ that is
//!   `ℓ* = τ₀` exactly.
//! * [`Certificate::Refuted`]: A's admissible component was exhausted without
//!   C, which proves `ℓ* > τ` (use invasion or the dense sweep).
//! * [`Certificate::Undecided`]: the evaluation budget ran out first.
//!
//! [`invade_goal_first`] turns the search into an exact algorithm for
//! `ℓ*`: where [`certify`] would answer refuted, it raises the level to the
//! lowest loss on the exhausted component's boundary (a proven lower bound)
//! and goes on. It is invasion percolation that absorbs the sites below
//! its current level in goal order rather than loss order, and it gives
//! the same barrier as invasion and the dense sweep.
//!
//! The search is complete: with an unlimited budget it reaches C exactly
//! when the dense sweep's barrier is at most τ (a test checks this on random
//! fields). It compares the same f32 values as the dense sweep, so an exact
//! barrier is bit-identical to the dense one. Its order depends only on the
//! losses, so the result does not depend on the thread count.

mod bracketing;
mod search;

pub use bracketing::{bracket, Attempt, BracketResult};
pub use search::{certify, invade_goal_first};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What the search proved about `ℓ*` against the level τ it searched at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certificate {
    /// A path with every site ≤ τ was found: `ℓ*` is at most its maximum
    /// (and equal to τ₀ when that maximum is τ₀).
    Reached,
    /// No such path exists: `ℓ* > τ`.
    Refuted,
    /// The budget ran out before either was shown.
    Undecided,
}

/// Which admissible site [`certify`] expands next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// Best-first: the open site nearest to C (ties: lower loss). Finds
    /// short detours with few evaluations, but explores a whole ball
    /// around an obstacle before going wide.
    Nearest,
    /// Depth-first: the newest sites first, nearest to C among them. Commits
    /// to one way round an obstacle and follows it far, so it can pass
    /// walls whose gaps lie many steps off the axis.
    #[default]
    Deep,
}

/// The outcome of [`certify`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertifyResult {
    /// Certificate of the search at `level`: reached, refuted or undecided.
    pub outcome: Certificate,
    /// A proven lower bound of `ℓ*`: `τ₀ = max(ℓ(A), ℓ(C))` for
    /// [`certify`], the invasion level reached for [`invade_goal_first`].
    pub lower_bound: f32,
    /// The level searched at, τ ≥ τ₀ (for [`invade_goal_first`], the last
    /// one).
    pub level: f32,
    /// When C was reached, the largest loss on the found path: `ℓ*` is at
    /// most this.
    pub upper_bound: Option<f32>,
    /// Admissible sites expanded (their neighbours evaluated).
    pub expanded: u64,
    /// Sites whose loss the model evaluated during the search.
    pub evaluations: u64,
    /// Sites of the whole (virtual) grid, as f64 (may exceed 2⁶⁴).
    pub grid_sites: f64,
    /// `evaluations / grid_sites`.
    pub fraction_evaluated: f64,
    /// Wall-clock seconds the search took.
    pub seconds: f64,
    /// When C was reached, a path from A to C with every site ≤ τ (grid
    /// coordinates, `k` per site); empty otherwise.
    pub path: Vec<u32>,
}

impl CertifyResult {
    /// `ℓ*` when the bounds meet: C reached along a path whose maximum is
    /// the lower bound τ₀.
    pub fn minimax_barrier(&self) -> Option<f32> {
        (self.upper_bound == Some(self.lower_bound)).then_some(self.lower_bound)
    }

    /// Model evaluations per wall-clock second, `evaluations / seconds`.
    pub fn evaluations_per_sec(&self) -> f64 {
        self.evaluations as f64 / self.seconds.max(1e-12)
    }

    /// `ℓ*` and this result, or — when the search did not close the bounds
    /// within `max_evaluations` — a user error that names the budget and
    /// the proven lower bound.
    pub fn into_exact(self, max_evaluations: u64) -> Result<(f32, Self)> {
        match self.minimax_barrier() {
            Some(b) => Ok((b, self)),
            None => Err(Error::invalid(
                "max_evaluations",
                max_evaluations,
                format!(
                    "the search evaluated {} sites and showed ℓ* ≥ {:e} before C joined; \
                     raise the limit, shrink the slice, or bracket ℓ* (`--method certify`)",
                    self.evaluations, self.lower_bound
                ),
            )),
        }
    }
}

fn l1(a: &[u32], b: &[u32]) -> u32 {
    a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y)).sum()
}
