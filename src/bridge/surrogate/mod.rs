//! IAAFT surrogates: a loss field's values and power spectrum with random
//! Fourier phases — the correlation-preserving null model.
//!
//! [`super::null`] shuffles a field's values across its sites: the histogram
//! survives, every spatial correlation is destroyed, and the sweep becomes
//! lattice site percolation. Real loss landscapes are smooth, so that null
//! model answers only whether correlations matter at all. The question one
//! step further is whether the histogram *and the correlations* explain the
//! slice's `p*`, or whether the particular shapes — a ridge, a basin, the one
//! valley that joins A and C — matter too. A null model for it keeps the
//! values and the two-point correlations (by Wiener–Khinchin, the power
//! spectrum `|F(q)|²`) and randomises everything else, which lives in the
//! Fourier phases.
//!
//! The iterative amplitude-adjusted Fourier transform (IAAFT; Schreiber &
//! Schmitz, Phys. Rev. Lett. 77, 635 (1996)) builds such a field in k
//! dimensions:
//!
//! 1. start from a seeded uniform shuffle of the values (right values, a
//!    spectrum flat on average);
//! 2. Fourier transform it, keep each coefficient's phase and give it the
//!    original field's amplitude `|F_o(q)|`, transform back (right spectrum,
//!    values no longer the original ones);
//! 3. rank-order remap: give the site of rank `r` the original field's value
//!    of rank `r` (right values, spectrum slightly off);
//! 4. repeat 2–3 until the spectrum error stops improving.
//!
//! The returned field is the last step-3 field, so it is a permutation of the
//! original values — the same multiset of `f32`s, bit for bit — and its
//! spectrum is close to the original's: [`Surrogate::spectrum_error`] says
//! how close, next to the same error of the starting shuffle
//! ([`Surrogate::initial_spectrum_error`]). Each seed gives an independent
//! surrogate, so `p*` over many seeds is a distribution to compare the real
//! slice's `p*` with, as for the shuffle null.
//!
//! The discrete Fourier transform treats every axis as periodic, so what is
//! preserved is the spectrum of the field wrapped onto a torus (its circular
//! autocorrelation). A field whose opposite faces differ has a jump at the
//! wrap, which spreads power over high frequencies; the surrogate inherits
//! that power and places the corresponding roughness anywhere, not only at
//! the faces.
//!
//! A k-dimensional DFT is a 1-D DFT along each axis in turn. Lines along the
//! last axis are contiguous; for the others the grid is transposed into a
//! second buffer so that every line is contiguous there, transformed, and
//! transposed back. Lines are independent, so they are spread over rayon's
//! threads; each line is transformed by the same plan whatever thread does
//! it, so the surrogate is identical for any thread count. Plans come from
//! rustfft's scalar planner, which (unlike its default planner) does not
//! pick SIMD code by the CPU it runs on, so the surrogate does not depend on
//! which vector extensions a machine has either. Arithmetic is in `f64`.

mod fft;
mod iteration;
mod spectrum;

pub use iteration::iaaft;

use super::field::LossField;

/// Bytes per site that [`iaaft`] holds besides its input and output: two
/// complex `f64` buffers (the field and its transposed copy, 16 bytes each),
/// the target amplitudes (`f64`, 8), the rank order (`usize`, 8), and the
/// sorted original values and the current field (`f32`, 4 each).
pub const SURROGATE_BYTES_PER_SITE: u64 = 56;

/// Sites per rayon task in the line transforms, transposes and spectrum
/// sums: enough work per task to hide the scheduling cost.
const SITES_PER_TASK: usize = 4096;

/// When [`iaaft`] stops iterating.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SurrogateOptions {
    /// Most IAAFT iterations (each one transform pair and one rank remap);
    /// at least 1.
    pub max_iterations: usize,
    /// Stop once the spectrum error ([`Surrogate::spectrum_error`]) changes
    /// by less than this from one iteration to the next; 0 runs all
    /// `max_iterations` unless the iteration reaches a fixed point.
    pub tolerance: f64,
}

impl Default for SurrogateOptions {
    /// 200 iterations at most, stopping when the error changes by less than
    /// `1e-6`: on the test fields (10³–10⁴ sites) IAAFT settles in 10–100
    /// iterations, before the cap.
    fn default() -> Self {
        SurrogateOptions {
            max_iterations: 200,
            tolerance: 1e-6,
        }
    }
}

/// An IAAFT surrogate of a loss field and how well it matches the spectrum.
#[derive(Debug, Clone, PartialEq)]
pub struct Surrogate {
    /// The surrogate: the same sides as the original, and a permutation of
    /// its values (bit for bit).
    pub field: LossField,
    /// Iterations run (between 1 and `max_iterations`).
    pub iterations: usize,
    /// Relative L2 error of the returned field's Fourier amplitudes against
    /// the original's, `sqrt(Σ_q (|F_s(q)| − |F_o(q)|)² / Σ_q |F_o(q)|²)`
    /// over every frequency `q` but zero (the mean, equal by construction).
    pub spectrum_error: f64,
    /// The same error for the seeded uniform shuffle of the values that the
    /// iteration started from: an i.i.d. field's spectrum error, the scale
    /// against which `spectrum_error` is small.
    pub initial_spectrum_error: f64,
}

/// Seed of the test fields' noise.
#[cfg(test)]
const FIELD_SEED: u64 = 11;

/// The coordinates of `site` in C order (shared by the tests).
#[cfg(test)]
fn coords(sides: &[usize], mut site: usize) -> Vec<usize> {
    let mut c = vec![0; sides.len()];
    for (x, &l) in c.iter_mut().zip(sides).rev() {
        *x = site % l;
        site /= l;
    }
    c
}
