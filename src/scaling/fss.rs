//! Finite-size scaling of the mean wrapping point on tori of several sides.
//!
//! For each side `L`, Newman–Ziff sweeps give every sample's occupation count
//! at which a cluster first wraps around the torus. Their mean, divided by
//! `N + 1`, is exactly the mean `p_av(L) = ∫ p dR_L(p)` of the canonical
//! wrapping-probability curve `R_L(p)`. Finite-size scaling,
//! `R_L(p) = F((p − p_c) L^{1/ν}) + O(L^{−ω})`, gives
//!
//! ```text
//! p_av(L) = p_c + a L^{−1/ν} + b L^{−2/ν} + …
//! ```
//!
//! so a weighted linear fit in `x = L^{−1/ν}` with the literature exponent ν
//! extrapolates to `p_c`. The error bar comes from the per-`L` sample standard
//! errors propagated through the fit (scaled up when χ²/dof > 1).

use crate::error::{Error, Result};
use crate::lattice::{Boundary, Lattice};
use crate::percolation::{run_sweeps, Kind, SweepConfig};
use crate::progress::Progress;
use crate::scaling::literature::nu;
use crate::stats::{weighted_linear_fit, LinearFit, MeanError};

/// The mean wrapping point on one lattice size.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SizePoint {
    /// Side of the torus.
    pub side: usize,
    /// Samples run.
    pub samples: u64,
    /// `p_av(L)` and its standard error.
    pub p_av: f64,
    /// Standard error of `p_av(L)`.
    pub stderr: f64,
    /// Wall-clock seconds spent on this size.
    pub seconds: f64,
}

/// Runs `samples` sweeps on the `side^dim` torus and returns `p_av(L)`.
pub fn measure_size(
    dim: usize,
    side: usize,
    kind: Kind,
    samples: u64,
    seed: u64,
    progress: Option<&dyn Progress>,
) -> Result<SizePoint> {
    let start = std::time::Instant::now();
    let lattice = Lattice::hypercube(dim, side, Boundary::Periodic)?;
    let cfg = SweepConfig {
        kind,
        samples,
        seed: crate::rng::derive_seed(seed, &[dim as u64, side as u64]),
        track_observables: false,
    };
    let sweeps = run_sweeps(&lattice, &cfg, progress)?;
    let scale = 1.0 / (sweeps.n_elements as f64 + 1.0);
    let fractions: Vec<f64> = sweeps
        .first_events(None)
        .iter()
        .map(|&n| n as f64 * scale)
        .collect();
    let m = MeanError::of(&fractions);
    Ok(SizePoint {
        side,
        samples,
        p_av: m.mean,
        stderr: m.stderr,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Number of correction terms in the extrapolation `p_c + Σ_k a_k L^{−k/ν}`.
pub const CORRECTION_TERMS: usize = 2;

/// Fits `p_av(L) = p_c + a L^{−1/ν} + b L^{−2/ν}` (fewer terms when there are
/// too few sizes) and returns the fit; `params[0]` is `p_c`.
pub fn extrapolate(dim: usize, points: &[SizePoint]) -> Result<LinearFit> {
    let terms = CORRECTION_TERMS.min(points.len().saturating_sub(2)).max(1);
    if points.len() < terms + 1 {
        return Err(Error::Numerical {
            context: "finite-size extrapolation".into(),
            reason: format!("{} lattice sizes are too few", points.len()),
        });
    }
    let inv_nu = 1.0 / nu(dim);
    let design: Vec<Vec<f64>> = points
        .iter()
        .map(|pt| {
            let x = (pt.side as f64).powf(-inv_nu);
            (0..=terms).map(|k| x.powi(k as i32)).collect()
        })
        .collect();
    let y: Vec<f64> = points.iter().map(|p| p.p_av).collect();
    let s: Vec<f64> = points.iter().map(|p| p.stderr.max(1e-12)).collect();
    weighted_linear_fit(&design, &y, &s)
}
