//! The target power spectrum: the original field's Fourier amplitudes,
//! imposed on a transform, and the relative error of a transform's
//! amplitudes against them.

use rayon::prelude::*;
use rustfft::num_complex::Complex;

use super::SITES_PER_TASK;
use crate::error::{Error, Result};

/// The original field's Fourier amplitudes `|F_o(q)|`, in the C order of the
/// grid (frequency index 0 on every axis first).
pub(super) struct TargetSpectrum {
    /// `|F_o(q)|` for every frequency `q`.
    amplitudes: Vec<f64>,
    /// `Σ_{q ≠ 0} |F_o(q)|²`, the denominator of the spectrum error.
    power: f64,
}

impl TargetSpectrum {
    /// The amplitudes of the transform `spectrum` of the original field.
    pub(super) fn new(spectrum: &[Complex<f64>]) -> Result<Self> {
        let amplitudes: Vec<f64> = spectrum.par_iter().map(|z| z.norm()).collect();
        let power = chunked_sum(&amplitudes, |q, a| if q == 0 { 0.0 } else { a * a });
        if !(power.is_finite() && power > 0.0) {
            return Err(Error::Numerical {
                context: "IAAFT surrogate".into(),
                reason: format!(
                    "the field's power at non-zero frequencies is {power}; \
                     expected a positive finite value for a non-constant field"
                ),
            });
        }
        Ok(TargetSpectrum { amplitudes, power })
    }

    /// Step 2: gives every coefficient of `spectrum` the target amplitude,
    /// keeping its phase (a zero coefficient, which has none, gets phase 0).
    pub(super) fn impose(&self, spectrum: &mut [Complex<f64>]) {
        spectrum
            .par_iter_mut()
            .with_min_len(SITES_PER_TASK)
            .zip(self.amplitudes.par_iter())
            .for_each(|(z, &a)| {
                let norm = z.norm();
                *z = if norm > 0.0 {
                    *z * (a / norm)
                } else {
                    Complex::new(a, 0.0)
                };
            });
    }

    /// The relative L2 error of the amplitudes of `spectrum` against the
    /// target, zero frequency excluded (see [`Surrogate::spectrum_error`](super::Surrogate::spectrum_error)).
    pub(super) fn error(&self, spectrum: &[Complex<f64>]) -> f64 {
        let squared = chunked_sum(&self.amplitudes, |q, a| {
            if q == 0 {
                0.0
            } else {
                (spectrum[q].norm() - a).powi(2)
            }
        });
        (squared / self.power).sqrt()
    }
}

/// `Σ_q term(q, values[q])`, summed in fixed chunks of [`SITES_PER_TASK`]
/// (in parallel) whose partial sums are then added in order: the same
/// rounding for any thread count.
fn chunked_sum(values: &[f64], term: impl Fn(usize, f64) -> f64 + Sync) -> f64 {
    let partial: Vec<f64> = values
        .par_chunks(SITES_PER_TASK)
        .enumerate()
        .map(|(c, chunk)| {
            let start = c * SITES_PER_TASK;
            chunk
                .iter()
                .enumerate()
                .map(|(i, &v)| term(start + i, v))
                .sum()
        })
        .collect();
    partial.iter().sum()
}
