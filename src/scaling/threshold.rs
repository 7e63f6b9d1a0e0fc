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

/// The longest budget a threshold estimate accepts (30 days): sample
/// counts are sized from it, so an absurd budget would overflow them.
pub const MAX_BUDGET_SECS: f64 = 30.0 * 86_400.0;
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
    /// Percolation kind, site or bond.
    pub kind: Kind,
    /// Estimation method; `Auto` picks FSS for d ≤ [`AUTO_FSS_MAX_DIM`] and invasion
    /// above.
    pub method: Method,
    /// Wall-clock budget on the reference machine, seconds.
    pub budget_secs: f64,
    /// Master seed every sample's or run's seed derives from.
    pub seed: u64,
}

/// A validated, fully determined plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdPlan {
    /// Dimension d of Z^d (2..=MAX_DIM, checked by [`ThresholdConfig::plan`]).
    pub dim: usize,
    /// Percolation kind, site or bond.
    pub kind: Kind,
    /// The method actually used (never `Auto`).
    pub method: Method,
    /// Master seed every sample's or run's seed derives from.
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
/// Invasion runs a plan aims for before it keeps the cluster size.
pub const PREFERRED_RUNS: u64 = 100;
/// Smallest invasion cluster size a plan shrinks to.
pub const MIN_INVASION_SIZE: u64 = 1 << 13;

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
        if !(self.budget_secs.is_finite()
            && self.budget_secs > 0.0
            && self.budget_secs <= MAX_BUDGET_SECS)
        {
            return Err(Error::invalid(
                "budget-secs",
                format!("{:e}", self.budget_secs),
                format!(
                    "expected a positive number of seconds up to {MAX_BUDGET_SECS:e} (30 days)"
                ),
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
                // Drop the largest sides until each size gets MIN_SAMPLES
                // samples in an equal share of the budget; keep at least 3.
                let mut sides = fss_sides(self.dim);
                loop {
                    let share = self.budget_secs / sides.len() as f64;
                    plan.sizes = sides
                        .iter()
                        .map(|&side| {
                            let one = sweep_seconds(self.dim, self.kind, side, 1);
                            (side, (share / one).floor() as u64)
                        })
                        .collect();
                    let enough = plan.sizes.iter().all(|&(_, s)| s >= MIN_SAMPLES);
                    if enough || sides.len() <= 3 {
                        break;
                    }
                    sides.pop();
                }
                if let Some(&(side, s)) = plan.sizes.iter().find(|(_, s)| *s < MIN_SAMPLES) {
                    return Err(Error::BudgetTooSmall {
                        budget_secs: self.budget_secs,
                        reason: format!("only {s} samples would fit for side {side} (at least {MIN_SAMPLES} needed)"),
                    });
                }
            }
            Method::Invasion => {
                // Halve the cluster size until at least PREFERRED_RUNS runs fit
                // (or the size reaches MIN_INVASION_SIZE).
                let (mut n_max, per_element) = invasion_fit::size_and_cost(self.dim, self.kind);
                let runs_for =
                    |n: u64| (self.budget_secs / (n as f64 * per_element)).floor() as u64;
                while runs_for(n_max) < PREFERRED_RUNS && n_max / 2 >= MIN_INVASION_SIZE {
                    n_max /= 2;
                }
                plan.checkpoints = invasion_fit::checkpoints(n_max);
                plan.runs = runs_for(n_max);
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

impl ThresholdPlan {
    /// Peak memory of carrying out this plan on `threads` workers, bytes:
    /// one torus of the largest side per worker (finite-size scaling), or
    /// one invaded cluster of the largest checkpoint per worker (invasion).
    pub fn peak_bytes(&self, threads: u64) -> u64 {
        let per_worker = match self.method {
            Method::Invasion => self.checkpoints.last().map_or(0, |&n| {
                crate::percolation::invasion::bytes_per_run(self.dim, n)
            }),
            _ => self
                .sizes
                .iter()
                .filter_map(|&(side, _)| {
                    crate::lattice::Lattice::hypercube(
                        self.dim,
                        side,
                        crate::lattice::Boundary::Periodic,
                    )
                    .ok()
                })
                .map(|l| crate::percolation::bytes_per_worker(&l))
                .max()
                .unwrap_or(0),
        };
        per_worker.saturating_mul(threads)
    }
}

/// Seconds that `samples` Newman–Ziff sweeps of a `side`^`dim` torus take
/// on one core of the 2-core reference machine, by the cost model that
/// sizes finite-size-scaling plans.
pub fn sweep_seconds(dim: usize, kind: Kind, side: usize, samples: u64) -> f64 {
    let n = (side as f64).powi(dim as i32);
    // Past the caches a sweep is memory-bound: ~1.5× per site at 2^20 sites.
    let memory = 1.0 + 0.5 * n / (1u64 << 20) as f64;
    samples as f64 * n * fss_seconds_per_site(dim, kind) * memory
}

/// Tori sides used by finite-size scaling in dimension `dim`.
pub fn fss_sides(dim: usize) -> Vec<usize> {
    match dim {
        2 => vec![32, 64, 128, 256, 512, 1024],
        3 => vec![16, 24, 32, 48, 64, 96],
        4 => vec![8, 12, 16, 20, 24],
        5 => vec![6, 8, 10, 12, 14],
        6 => vec![5, 6, 7, 8, 9],
        7 => vec![4, 5, 6, 7],
        _ => vec![3, 4, 5],
    }
}

/// Seconds per (site × sample) of a threshold sweep with both threads busy on
/// the 2-core reference machine, at the largest sides of [`fss_sides`]
/// (memory-bound, so smaller sides run faster), including the per-sample
/// reset. Bond sweeps visit `d` bond slots per site.
fn fss_seconds_per_site(dim: usize, kind: Kind) -> f64 {
    let site = match dim {
        2 => 4.2e-8,
        3 => 2.9e-8,
        d => 2.2e-8 * (1.0 + 0.1 * d as f64),
    };
    site * if kind == Kind::Bond {
        0.8 * dim as f64
    } else {
        1.0
    }
}

/// A threshold estimate, as printed by `ismc lattice threshold --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdEstimate {
    /// Dimension d of Z^d.
    pub dim: usize,
    /// Percolation kind, site or bond.
    pub kind: Kind,
    /// Method the plan used: `fss` or `invasion` (never `auto`).
    pub method: Method,
    /// Estimated threshold p_c, extrapolated to infinite size.
    pub p_c: f64,
    /// Standard error of `p_c` (fit errors for FSS, jackknife for invasion).
    pub stderr: f64,
    /// Published value, if tabulated.
    pub literature: Option<f64>,
    /// One-sigma uncertainty of the published value, if tabulated.
    pub literature_err: Option<f64>,
    /// Source of the published value.
    pub literature_source: Option<String>,
    /// `(p_c − literature) / sqrt(stderr² + literature_err²)`.
    pub z: Option<f64>,
    /// Relative error against the literature.
    pub relative_error: Option<f64>,
    /// Samples (FSS) or invasion runs used.
    pub samples: u64,
    /// Wall-clock seconds [`estimate`] took on this machine.
    pub seconds: f64,
    /// Master seed of the plan, which every sample's or run's seed derives from.
    pub seed: u64,
    /// Size of the rayon thread pool the estimate ran on.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dim: usize, budget: f64) -> ThresholdConfig {
        ThresholdConfig {
            dim,
            kind: Kind::Site,
            method: Method::Auto,
            budget_secs: budget,
            seed: 1,
        }
    }

    #[test]
    fn bad_configs_are_refused_before_any_work() {
        assert!(matches!(
            cfg(0, 10.0).plan(),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            cfg(17, 10.0).plan(),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            cfg(2, 0.0).plan(),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            cfg(2, f64::NAN).plan(),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            cfg(2, 1e-4).plan(),
            Err(Error::BudgetTooSmall { .. })
        ));
        assert!(matches!(
            cfg(9, 1e-4).plan(),
            Err(Error::BudgetTooSmall { .. })
        ));
    }

    #[test]
    fn plans_are_deterministic_and_scale_with_budget() {
        let a = cfg(3, 20.0).plan().unwrap();
        assert_eq!(a, cfg(3, 20.0).plan().unwrap());
        assert_eq!(a.method, Method::Fss);
        let b = cfg(3, 40.0).plan().unwrap();
        assert!(b
            .sizes
            .iter()
            .zip(&a.sizes)
            .all(|(x, y)| x.1 >= 2 * y.1 - 1));
        assert_eq!(cfg(8, 20.0).plan().unwrap().method, Method::Invasion);
    }

    #[test]
    fn invasion_estimate_in_high_dimension_is_close_to_the_literature() {
        // d = 10 site with a small budget: the extrapolated estimate must lie
        // within 4 of its own standard errors of the published value.
        let plan = ThresholdPlan {
            runs: 40,
            checkpoints: crate::scaling::invasion_fit::checkpoints(1 << 12),
            ..cfg(10, 5.0).plan().unwrap()
        };
        let est = estimate(&plan, None).unwrap();
        let z = est.z.unwrap();
        assert!(z.abs() < 4.0, "{est:?}");
        assert!(est.stderr > 0.0 && est.stderr < 1e-3);
    }
}
