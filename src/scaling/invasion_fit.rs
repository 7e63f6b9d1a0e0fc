//! Threshold estimates from invasion percolation on the unbounded lattice.
//!
//! Each of `runs` independent invasions records the estimator
//! `p̂(n) = invaded / examined` ([`crate::percolation::invasion`]) when `n`
//! elements have been invaded, at a geometric ladder of checkpoints. The mean
//! over runs is extrapolated with
//!
//! ```text
//! p̂(n) = p_c + a · n^(−x)
//! ```
//!
//! where the correction exponent `x` is fitted too (profile over a grid: for
//! each `x` the model is linear). Checkpoints of one run are correlated, so
//! the error bar is a delete-one-block **jackknife** over groups of runs that
//! repeats the whole fit, exponent included.

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::percolation::invasion::{bytes_per_run, Invader};
use crate::percolation::Kind;
use crate::progress::Progress;
use crate::rng::{stream, unit_rng};
use crate::stats::{weighted_linear_fit, MeanError};

/// Number of checkpoints in the geometric ladder `n_max / 2^j`.
pub const LADDER: usize = 6;
/// Number of jackknife blocks.
pub const JACKKNIFE_BLOCKS: usize = 20;

/// The mean estimator at one checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointMean {
    /// Checkpoint n: number of elements invaded when `p̂(n)` is recorded.
    pub invaded: u64,
    /// Mean `p̂(n)` over runs.
    pub mean: f64,
    /// Its standard error over runs.
    pub stderr: f64,
}

/// The result of an invasion extrapolation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvasionFit {
    /// Threshold p_c extrapolated from the checkpoint means (`n → ∞`).
    pub p_c: f64,
    /// Delete-one-block jackknife standard error of `p_c` over [`JACKKNIFE_BLOCKS`]
    /// blocks of runs.
    pub stderr: f64,
    /// Fitted correction exponent `x`.
    pub exponent: f64,
    /// Fitted amplitude `a`.
    pub amplitude: f64,
    /// χ² of the fit to the means (ignoring correlations between checkpoints).
    pub chi2: f64,
    /// The per-checkpoint means.
    pub points: Vec<CheckpointMean>,
    /// Number of independent invasion runs averaged.
    pub runs: u64,
}

/// The geometric checkpoint ladder ending at `n_max`.
pub fn checkpoints(n_max: u64) -> Vec<u64> {
    (0..LADDER as u32)
        .rev()
        .map(|j| (n_max >> j).max(1))
        .collect()
}

/// Invaded size per run, and seconds per invaded element with both threads
/// busy on the 2-core reference machine (measured while it was also
/// compiling, so conservative): site invasion examines about `1/p_c` sites per
/// invaded one and costs ≈ 2.2e-7·d s per element on one thread; bond invasion
/// stores only invaded sites and costs ≈ 6e-7 s. Two threads give ≈ 1.6×.
pub fn size_and_cost(dim: usize, kind: Kind) -> (u64, f64) {
    let n_max: u64 = match dim {
        0..=4 => 1 << 19,
        5..=7 => 1 << 18,
        _ => 1 << 17,
    };
    let one_thread = match kind {
        Kind::Site => 2.2e-7 * dim as f64,
        Kind::Bond => 5e-7 + 2e-8 * dim as f64,
    };
    (n_max, one_thread / 1.6)
}

/// Runs the invasions (in parallel, run `r` seeded by `[INVASION, dim, kind, r]`)
/// and extrapolates.
pub fn run_and_extrapolate(
    dim: usize,
    kind: Kind,
    runs: u64,
    checkpoints: &[u64],
    seed: u64,
    progress: Option<&dyn Progress>,
) -> Result<InvasionFit> {
    let n_max = *checkpoints
        .last()
        .ok_or_else(|| Error::invalid("checkpoints", "[]", "expected at least one"))?;
    crate::memory::ensure_fits(
        format!("invasion runs of {n_max} elements in d = {dim}"),
        bytes_per_run(dim, n_max) * rayon::current_num_threads() as u64,
        "use a smaller size or fewer --threads",
    )?;
    let per_run: Vec<Vec<f64>> = (0..runs)
        .into_par_iter()
        .map_init(Invader::new, |invader, r| {
            let mut rng = unit_rng(seed, &[stream::INVASION, dim as u64, kind as u64, r]);
            let counts = invader.run(dim, kind, checkpoints, &mut rng)?;
            if let Some(p) = progress {
                p.advance(1);
            }
            Ok(counts.iter().map(|c| c.estimate()).collect())
        })
        .collect::<Result<_>>()?;
    extrapolate(checkpoints, &per_run)
}

/// Extrapolates per-run estimates `per_run[r][j]` at `checkpoints[j]`.
pub fn extrapolate(checkpoints: &[u64], per_run: &[Vec<f64>]) -> Result<InvasionFit> {
    let runs = per_run.len();
    if runs < JACKKNIFE_BLOCKS || checkpoints.len() < 3 {
        return Err(Error::Numerical {
            context: "invasion extrapolation".into(),
            reason: format!(
                "{runs} runs and {} checkpoints are too few",
                checkpoints.len()
            ),
        });
    }
    let points = means(checkpoints, per_run.iter());
    let full = fit_profile(&points)?;
    // Delete-one-block jackknife over contiguous groups of runs.
    let block = runs / JACKKNIFE_BLOCKS;
    let mut thetas = Vec::with_capacity(JACKKNIFE_BLOCKS);
    for b in 0..JACKKNIFE_BLOCKS {
        let (lo, hi) = (
            b * block,
            if b + 1 == JACKKNIFE_BLOCKS {
                runs
            } else {
                (b + 1) * block
            },
        );
        let kept = per_run[..lo].iter().chain(per_run[hi..].iter());
        thetas.push(fit_profile(&means(checkpoints, kept))?.0);
    }
    let g = JACKKNIFE_BLOCKS as f64;
    let mean_theta = thetas.iter().sum::<f64>() / g;
    let var = (g - 1.0) / g * thetas.iter().map(|t| (t - mean_theta).powi(2)).sum::<f64>();
    Ok(InvasionFit {
        p_c: full.0,
        stderr: var.sqrt(),
        exponent: full.1,
        amplitude: full.2,
        chi2: full.3,
        points,
        runs: runs as u64,
    })
}

fn means<'a>(
    checkpoints: &[u64],
    runs: impl Iterator<Item = &'a Vec<f64>> + Clone,
) -> Vec<CheckpointMean> {
    checkpoints
        .iter()
        .enumerate()
        .map(|(j, &n)| {
            let v: Vec<f64> = runs.clone().map(|r| r[j]).collect();
            let m = MeanError::of(&v);
            CheckpointMean {
                invaded: n,
                mean: m.mean,
                stderr: m.stderr,
            }
        })
        .collect()
}

/// Best `(p_c, x, a, χ²)` over the exponent grid `x ∈ [0.05, 2]`.
fn fit_profile(points: &[CheckpointMean]) -> Result<(f64, f64, f64, f64)> {
    let y: Vec<f64> = points.iter().map(|p| p.mean).collect();
    let s: Vec<f64> = points.iter().map(|p| p.stderr.max(1e-12)).collect();
    let mut best: Option<(f64, f64, f64, f64)> = None;
    for step in 1..=200 {
        let x = 0.01 * step as f64 + 0.04;
        let design: Vec<Vec<f64>> = points
            .iter()
            .map(|p| vec![1.0, (p.invaded as f64).powf(-x)])
            .collect();
        let fit = weighted_linear_fit(&design, &y, &s)?;
        if best.is_none_or(|b| fit.chi2 < b.3) {
            best = Some((fit.params[0], x, fit.params[1], fit.chi2));
        }
    }
    best.ok_or_else(|| Error::Numerical {
        context: "invasion extrapolation".into(),
        reason: "no exponent fitted".into(),
    })
}
