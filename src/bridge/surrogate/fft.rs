//! The k-dimensional discrete Fourier transform of a C-order grid, as 1-D
//! transforms of the lines along each axis spread over rayon's threads.

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlannerScalar};

use super::SITES_PER_TASK;

/// The k-dimensional DFT of a C-order grid as 1-D DFTs along each axis.
pub(super) struct GridFft {
    /// Points per axis.
    sides: Vec<usize>,
    /// Forward plan per axis (`e^{-2πi jq/L}`, unnormalised).
    forward: Vec<Arc<dyn Fft<f64>>>,
    /// Inverse plan per axis (`e^{+2πi jq/L}`, unnormalised).
    inverse: Vec<Arc<dyn Fft<f64>>>,
    /// The transposed copy for axes other than the last; allocated on first
    /// use, only when k > 1.
    transposed: Vec<Complex<f64>>,
}

impl GridFft {
    /// Plans for every axis of a grid with `sides` (the planner shares a plan
    /// between axes of equal length).
    pub(super) fn new(sides: &[usize]) -> Self {
        let mut planner = FftPlannerScalar::new();
        GridFft {
            sides: sides.to_vec(),
            forward: sides.iter().map(|&s| planner.plan_fft_forward(s)).collect(),
            inverse: sides.iter().map(|&s| planner.plan_fft_inverse(s)).collect(),
            transposed: Vec::new(),
        }
    }

    /// The forward transform of `buf`, in place.
    pub(super) fn forward(&mut self, buf: &mut [Complex<f64>]) {
        for axis in 0..self.sides.len() {
            let plan = Arc::clone(&self.forward[axis]);
            self.along_axis(buf, axis, plan.as_ref());
        }
    }

    /// The inverse transform of `buf`, in place, unnormalised: `n` times the
    /// inverse DFT. The rank remap that follows needs only the order of the
    /// values, which a positive factor does not change.
    pub(super) fn inverse(&mut self, buf: &mut [Complex<f64>]) {
        for axis in 0..self.sides.len() {
            let plan = Arc::clone(&self.inverse[axis]);
            self.along_axis(buf, axis, plan.as_ref());
        }
    }

    /// Applies `plan` to every line of `buf` along `axis`.
    ///
    /// Seen as `[outer, len, inner]` (the axes before, this axis, the axes
    /// after), line `(o, j)` holds `buf[(o·len + t)·inner + j]` for
    /// `t < len`. With `inner = 1` the lines are contiguous; otherwise they
    /// are gathered into `transposed` as `[outer, inner, len]`, transformed
    /// there and scattered back.
    fn along_axis(&mut self, buf: &mut [Complex<f64>], axis: usize, plan: &dyn Fft<f64>) {
        let len = self.sides[axis];
        let inner: usize = self.sides[axis + 1..].iter().product();
        if inner == 1 {
            transform_lines(buf, len, plan);
            return;
        }
        self.transposed.resize(buf.len(), Complex::new(0.0, 0.0));
        let lines_per_task = SITES_PER_TASK.div_ceil(len);
        let source: &[Complex<f64>] = buf;
        self.transposed
            .par_chunks_mut(len)
            .with_min_len(lines_per_task)
            .enumerate()
            .for_each(|(line, out)| {
                let start = (line / inner) * len * inner + line % inner;
                for (t, z) in out.iter_mut().enumerate() {
                    *z = source[start + t * inner];
                }
            });
        transform_lines(&mut self.transposed, len, plan);
        let source: &[Complex<f64>] = &self.transposed;
        let rows_per_task = SITES_PER_TASK.div_ceil(inner);
        buf.par_chunks_mut(inner)
            .with_min_len(rows_per_task)
            .enumerate()
            .for_each(|(row, out)| {
                // Row (o, t) of `buf` is entry t of lines (o, 0..inner).
                let start = (row / len) * inner * len + row % len;
                for (j, z) in out.iter_mut().enumerate() {
                    *z = source[start + j * len];
                }
            });
    }
}

/// Applies `plan` (of length `len`) to each consecutive run of `len` values
/// in `data`, whole lines per rayon task.
fn transform_lines(data: &mut [Complex<f64>], len: usize, plan: &dyn Fft<f64>) {
    let task = SITES_PER_TASK.div_ceil(len) * len;
    let scratch_len = plan.get_inplace_scratch_len();
    data.par_chunks_mut(task).for_each_init(
        || vec![Complex::new(0.0, 0.0); scratch_len],
        |scratch, chunk| plan.process_with_scratch(chunk, scratch),
    );
}

#[cfg(test)]
mod tests {
    use super::super::{coords, FIELD_SEED};
    use super::*;
    use crate::rng::unit_rng;
    use rand::Rng;

    /// The k-D DFT by its definition, `F(q) = Σ_j x(j) e^{-2πi Σ_a j_a q_a / L_a}`.
    fn direct_dft(sides: &[usize], values: &[Complex<f64>]) -> Vec<Complex<f64>> {
        (0..values.len())
            .map(|q| {
                let cq = coords(sides, q);
                values
                    .iter()
                    .enumerate()
                    .map(|(j, &x)| {
                        let cj = coords(sides, j);
                        let turns: f64 = cj
                            .iter()
                            .zip(&cq)
                            .zip(sides)
                            .map(|((&a, &b), &l)| (a * b % l) as f64 / l as f64)
                            .sum();
                        x * Complex::from_polar(1.0, -std::f64::consts::TAU * turns)
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn grid_fft_matches_the_direct_dft_and_inverts() {
        /// Largest difference allowed from the direct sum: rounding of a few
        /// hundred terms of size ≤ 1, so far below this.
        const TOLERANCE: f64 = 1e-10;
        for sides in [vec![7], vec![3, 5], vec![3, 5, 4], vec![2, 3, 1, 3]] {
            let n: usize = sides.iter().product();
            let mut rng = unit_rng(FIELD_SEED, &[n as u64, sides.len() as u64]);
            let x: Vec<Complex<f64>> = (0..n)
                .map(|_| Complex::new(rng.random::<f64>() - 0.5, rng.random::<f64>() - 0.5))
                .collect();
            let mut fft = GridFft::new(&sides);
            let mut buf = x.clone();
            fft.forward(&mut buf);
            for (got, want) in buf.iter().zip(direct_dft(&sides, &x)) {
                assert!((got - want).norm() < TOLERANCE, "sides {sides:?}");
            }
            fft.inverse(&mut buf);
            for (got, want) in buf.iter().zip(&x) {
                assert!(
                    (got / n as f64 - want).norm() < TOLERANCE,
                    "sides {sides:?}"
                );
            }
        }
    }
}
