//! `p_c(d)` estimates with error bars, by finite-size scaling of Newman–Ziff
//! sweeps ([`super::fss`]) or by invasion percolation ([`super::invasion_fit`]),
//! planned deterministically from a time budget.
//!
//! A plan depends only on `(dim, kind, method, budget)`: sample counts come
//! from a cost model measured on a 2-core reference machine, not from timing
//! the current run, so the same config and seed reproduce the same numbers on
//! any machine and thread count (a slower machine just takes longer).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::percolation::Kind;
use crate::progress::Progress;
use crate::scaling::fss::{self, SizePoint};
use crate::scaling::invasion_fit::{self, InvasionFit};
use crate::scaling::literature::{published, z_score};
use crate::stats::LinearFit;

/// How to estimate the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Finite-size scaling of wrapping on tori.
    Fss,
    /// Invasion percolation on the unbounded lattice.
    Invasion,
    /// Fss for d ≤ [`AUTO_FSS_MAX_DIM`], invasion above.
    Auto,
}

/// Largest dimension for which `auto` chooses finite-size scaling.
pub const AUTO_FSS_MAX_DIM: usize = 3;

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Fss => "fss",
            Method::Invasion => "invasion",
            Method::Auto => "auto",
        })
    }
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fss" => Ok(Method::Fss),
            "invasion" => Ok(Method::Invasion),
            "auto" => Ok(Method::Auto),
            _ => Err(Error::invalid(
                "method",
                s,
                "expected `fss`, `invasion` or `auto`",
            )),
        }
    }
}

/// What the user asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdConfig {
    /// Dimension d of Z^d.
    pub dim: usize,
    /// Site or bond.
    pub kind: Kind,
    /// Method.
    pub method: Method,
    /// Wall-clock budget on the reference machine, seconds.
    pub budget_secs: f64,
    /// Master seed.
    pub seed: u64,
}

/// A validated, fully determined plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdPlan {
    /// Dimension.
    pub dim: usize,
    /// Site or bond.
    pub kind: Kind,
    /// The method actually used (never `Auto`).
    pub method: Method,
    /// Master seed.
    pub seed: u64,
    /// Budget the plan was sized for.
    pub budget_secs: f64,
    /// FSS: `(side, samples)` per lattice size.
    pub sizes: Vec<(usize, u64)>,
    /// Invasion: independent runs and their invaded-size checkpoints.
    pub runs: u64,
    /// Invasion: checkpoints (ascending invaded counts).
    pub checkpoints: Vec<u64>,
}

/// Fewest samples (per size, or invasion runs) worth an estimate.
pub const MIN_SAMPLES: u64 = 40;

impl ThresholdConfig {
    /// Validates the config and sizes the work to the budget.
    pub fn plan(&self) -> Result<ThresholdPlan> {
        if self.dim < 2 || self.dim > crate::lattice::MAX_DIM {
            return Err(Error::invalid(
                "dim",
                self.dim,
                format!("expected 2..={}", crate::lattice::MAX_DIM),
            ));
        }
        if !(self.budget_secs.is_finite() && self.budget_secs > 0.0) {
            return Err(Error::invalid(
                "budget-secs",
                self.budget_secs,
                "expected a positive number of seconds",
            ));
        }
        let method = match self.method {
            Method::Auto if self.dim <= AUTO_FSS_MAX_DIM => Method::Fss,
            Method::Auto => Method::Invasion,
            m => m,
        };
        let mut plan = ThresholdPlan {
            dim: self.dim,
            kind: self.kind,
            method,
            seed: self.seed,
            budget_secs: self.budget_secs,
            sizes: Vec::new(),
            runs: 0,
            checkpoints: Vec::new(),
        };
        match method {
            Method::Fss => {
                let sides = fss_sides(self.dim);
                // Cost model: seconds per site-sample on 2 threads, measured.
                let per_site = fss_seconds_per_site(self.dim, self.kind);
                let share = self.budget_secs / sides.len() as f64;
                for side in sides {
                    let n = (side as f64).powi(self.dim as i32);
                    let samples = (share / (n * per_site)).floor() as u64;
                    plan.sizes.push((side, samples));
                }
                if let Some(&(side, s)) = plan.sizes.iter().find(|(_, s)| *s < MIN_SAMPLES) {
                    return Err(Error::BudgetTooSmall {
                        budget_secs: self.budget_secs,
                        reason: format!("only {s} samples would fit for side {side} (at least {MIN_SAMPLES} needed)"),
                    });
                }
            }
            Method::Invasion => {
                let (n_max, per_element) = invasion_fit::size_and_cost(self.dim, self.kind);
                plan.checkpoints = invasion_fit::checkpoints(n_max);
                plan.runs = (self.budget_secs / (n_max as f64 * per_element)).floor() as u64;
                if plan.runs < MIN_SAMPLES {
                    return Err(Error::BudgetTooSmall {
                        budget_secs: self.budget_secs,
                        reason: format!("only {} invasion runs of {n_max} elements would fit (at least {MIN_SAMPLES} needed)", plan.runs),
                    });
                }
            }
            Method::Auto => unreachable!("resolved above"),
        }
        Ok(plan)
    }
}

/// Tori sides used by finite-size scaling in dimension `dim`.
pub fn fss_sides(dim: usize) -> Vec<usize> {
    match dim {
        2 => vec![32, 64, 128, 256, 512],
        3 => vec![16, 24, 32, 48, 64],
        4 => vec![8, 12, 16, 20, 24],
        5 => vec![6, 8, 10, 12, 14],
        6 => vec![5, 6, 7, 8, 9],
        7 => vec![4, 5, 6, 7],
        _ => vec![3, 4, 5],
    }
}

/// Measured seconds per (site × sample) of a threshold sweep on the 2-core
/// reference machine (both threads busy), including the per-sample reset.
fn fss_seconds_per_site(dim: usize, kind: Kind) -> f64 {
    let base = 1.0 / 40e6;
    let per_dim = 1.0 + 0.25 * dim as f64;
    base * per_dim
        * if kind == Kind::Bond {
            dim as f64 * 0.5
        } else {
            1.0
        }
}

/// A threshold estimate, as printed by `ismc lattice threshold --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdEstimate {
    /// Dimension.
    pub dim: usize,
    /// Site or bond.
    pub kind: Kind,
    /// Method used.
    pub method: Method,
    /// Estimated threshold.
    pub p_c: f64,
    /// Its standard error.
    pub stderr: f64,
    /// Published value, if tabulated.
    pub literature: Option<f64>,
    /// Published uncertainty.
    pub literature_err: Option<f64>,
    /// Source of the published value.
    pub literature_source: Option<String>,
    /// `(p_c − literature) / sqrt(stderr² + literature_err²)`.
    pub z: Option<f64>,
    /// Relative error against the literature.
    pub relative_error: Option<f64>,
    /// Samples (FSS) or invasion runs used.
    pub samples: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Master seed.
    pub seed: u64,
    /// Threads used.
    pub threads: usize,
    /// FSS: the per-size points.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sizes: Vec<SizePoint>,
    /// FSS: the extrapolation fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit: Option<LinearFit>,
    /// Invasion: the extrapolation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invasion: Option<InvasionFit>,
}

/// Carries out a plan.
pub fn estimate(
    plan: &ThresholdPlan,
    progress: Option<&dyn Progress>,
) -> Result<ThresholdEstimate> {
    let start = std::time::Instant::now();
    let mut est = ThresholdEstimate {
        dim: plan.dim,
        kind: plan.kind,
        method: plan.method,
        p_c: f64::NAN,
        stderr: f64::NAN,
        literature: None,
        literature_err: None,
        literature_source: None,
        z: None,
        relative_error: None,
        samples: 0,
        seconds: 0.0,
        seed: plan.seed,
        threads: rayon::current_num_threads(),
        sizes: Vec::new(),
        fit: None,
        invasion: None,
    };
    match plan.method {
        Method::Fss => {
            if let Some(p) = progress {
                p.set_total(plan.sizes.iter().map(|s| s.1).sum());
            }
            for &(side, samples) in &plan.sizes {
                est.sizes.push(fss::measure_size(
                    plan.dim, side, plan.kind, samples, plan.seed, progress,
                )?);
            }
            let fit = fss::extrapolate(plan.dim, &est.sizes)?;
            est.p_c = fit.params[0];
            est.stderr = fit.stderr[0];
            est.samples = plan.sizes.iter().map(|s| s.1).sum();
            est.fit = Some(fit);
        }
        Method::Invasion => {
            if let Some(p) = progress {
                p.set_total(plan.runs);
            }
            let fit = invasion_fit::run_and_extrapolate(
                plan.dim,
                plan.kind,
                plan.runs,
                &plan.checkpoints,
                plan.seed,
                progress,
            )?;
            est.p_c = fit.p_c;
            est.stderr = fit.stderr;
            est.samples = plan.runs;
            est.invasion = Some(fit);
        }
        Method::Auto => unreachable!("plans are resolved"),
    }
    if let Some(lit) = published(plan.dim, plan.kind) {
        est.z = Some(z_score(est.p_c, est.stderr, &lit));
        est.relative_error = Some((est.p_c - lit.value) / lit.value);
        est.literature = Some(lit.value);
        est.literature_err = Some(lit.err);
        est.literature_source = Some(lit.source);
    }
    est.seconds = start.elapsed().as_secs_f64();
    Ok(est)
}
