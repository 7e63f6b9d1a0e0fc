//! The lattice study: thresholds `p_c(d)` for a list of dimensions and kinds,
//! and crossing-probability curves `R_L(p)` for several sides — stored as CSV
//! and drawn as figures.
//!
//! The study is an [`Experiment`] of the runner: each threshold `(d, kind)`
//! is one unit, and each crossing curve is split into units of
//! `samples_per_unit` Newman–Ziff samples (sample `s` of side `L` always
//! uses the seed derived from `(seed, s)`, whichever unit runs it).
//!
//! Layout of a study directory (besides the runner's files):
//!
//! * `thresholds.csv` — one [`ThresholdRow`] per (dim, kind);
//! * `crossing.csv` — `side,p,r,r_err` rows of the crossing curves;
//! * `crossing_meta.json` — dimension, kind and the threshold estimate drawn
//!   on the crossing figure;
//! * `figures/` — drawn by [`draw_figures`] from the files above only.
//!
//! This module holds the units and the tables; the parameters are in
//! `params.rs`, the figures in `figures.rs` and the report in `report.rs`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::experiment::estimate::ResourceEstimate;
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{list_figures, read_csv, write_csv, write_json};
use crate::lattice::{Boundary, Lattice};
use crate::percolation::bytes_per_worker;
use crate::percolation::canonical::crossing_probability;
use crate::percolation::{run_sweeps_from, Kind, SweepConfig};
use crate::scaling::literature::published;
use crate::scaling::threshold::{
    estimate, sweep_seconds, Method, ThresholdConfig, ThresholdEstimate,
};

mod figures;
mod params;
mod report;

pub use figures::draw_figures;
pub use params::{DimBudget, LatticeStudyConfig};
pub use report::write_report;

/// One row of `thresholds.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRow {
    /// Lattice dimension d of Z^d (2..=MAX_DIM).
    pub dim: usize,
    /// Percolation kind, site or bond.
    pub kind: Kind,
    /// Method the plan resolved to: `fss` or `invasion` (never `auto`).
    pub method: Method,
    /// Estimated threshold p_c.
    pub p_c: f64,
    /// Standard error of `p_c` (fit errors for FSS, jackknife for invasion).
    pub stderr: f64,
    /// Published p_c from the literature table, NaN if not tabulated.
    pub literature: f64,
    /// One-sigma uncertainty of the published value, NaN if not tabulated.
    pub literature_err: f64,
    /// z-score against the literature.
    pub z: f64,
    /// Relative error against the literature.
    pub relative_error: f64,
    /// Newman–Ziff samples summed over all sides (FSS) or independent invasion runs
    /// behind the estimate.
    pub samples: u64,
    /// Wall-clock seconds the estimate took.
    pub seconds: f64,
    /// Master seed the estimate's samples derive from (the study's `seed`).
    pub seed: u64,
}

impl From<&ThresholdEstimate> for ThresholdRow {
    fn from(e: &ThresholdEstimate) -> Self {
        ThresholdRow {
            dim: e.dim,
            kind: e.kind,
            method: e.method,
            p_c: e.p_c,
            stderr: e.stderr,
            literature: e.literature.unwrap_or(f64::NAN),
            literature_err: e.literature_err.unwrap_or(f64::NAN),
            z: e.z.unwrap_or(f64::NAN),
            relative_error: e.relative_error.unwrap_or(f64::NAN),
            samples: e.samples,
            seconds: e.seconds,
            seed: e.seed,
        }
    }
}

/// One point of `crossing.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossingRow {
    /// Side L of the periodic lattice (torus) the curve was sampled on.
    pub side: usize,
    /// Occupation probability p at which `R_L(p)` is evaluated, on a grid of 121 points
    /// around the published p_c.
    pub p: f64,
    /// Wrapping probability (any axis).
    pub r: f64,
    /// Its standard error.
    pub r_err: f64,
}

/// `crossing_meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossingMeta {
    /// Dimension d of the crossing curves (the study's `crossing_dim`).
    pub dim: usize,
    /// Percolation kind of the crossing curves (always site).
    pub kind: Kind,
    /// Threshold estimate drawn as a band, if the study estimated this dimension.
    pub estimate: Option<(f64, f64)>,
}

/// The output of one unit of the lattice study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "unit", rename_all = "kebab-case")]
pub enum LatticeUnit {
    /// A threshold estimate.
    Threshold(ThresholdRow),
    /// First-wrap occupation counts of a batch of crossing samples.
    Crossing {
        /// Side of the torus.
        side: usize,
        /// Index of the batch's first sample.
        first: u64,
        /// Elements (sites) of the lattice.
        n_elements: u64,
        /// Per sample, the occupation count at which a cluster first wrapped.
        firsts: Vec<u32>,
    },
}

/// What one unit computes.
#[derive(Debug, Clone, Copy)]
enum Job {
    Threshold {
        dim: usize,
        kind: Kind,
    },
    Crossing {
        side: usize,
        first: u64,
        samples: u64,
    },
}

/// The lattice study as an experiment of the runner.
#[derive(Debug, Clone)]
pub struct LatticeStudy {
    cfg: LatticeStudyConfig,
    jobs: Vec<Job>,
}

impl LatticeStudy {
    /// The study of a validated configuration.
    pub fn new(cfg: LatticeStudyConfig) -> Result<Self> {
        cfg.validate()?;
        let mut jobs = Vec::new();
        for &dim in &cfg.dims {
            for &kind in &cfg.kinds {
                jobs.push(Job::Threshold { dim, kind });
            }
        }
        for &side in &cfg.crossing_sides {
            let mut first = 0;
            while first < cfg.crossing_samples {
                let samples = cfg.samples_per_unit.min(cfg.crossing_samples - first);
                jobs.push(Job::Crossing {
                    side,
                    first,
                    samples,
                });
                first += samples;
            }
        }
        Ok(LatticeStudy { cfg, jobs })
    }

    /// The threshold estimate of dimension `dim` and `kind`, with its budget.
    fn threshold(&self, dim: usize, kind: Kind) -> ThresholdConfig {
        ThresholdConfig {
            dim,
            kind,
            method: Method::Auto,
            budget_secs: self.cfg.budget_for(dim),
            seed: self.cfg.seed,
        }
    }
}

impl Experiment for LatticeStudy {
    type Output = LatticeUnit;

    fn units(&self) -> Vec<String> {
        self.jobs
            .iter()
            .map(|j| match *j {
                Job::Threshold { dim, kind } => format!("threshold-d{dim}-{kind}"),
                Job::Crossing { side, first, .. } => format!("crossing-L{side}-s{first}"),
            })
            .collect()
    }

    /// Thresholds take their budgets; crossing units cost what the sweep
    /// cost model says; memory is the largest unit's on every thread.
    fn estimate(&self) -> ResourceEstimate {
        let threads = rayon::current_num_threads() as u64;
        let (mut seconds, mut peak) = (0.0, 0u64);
        for job in &self.jobs {
            match *job {
                Job::Threshold { dim, kind } => {
                    let cfg = self.threshold(dim, kind);
                    seconds += cfg.budget_secs;
                    if let Ok(plan) = cfg.plan() {
                        peak = peak.max(plan.peak_bytes(threads));
                    }
                }
                Job::Crossing { side, samples, .. } => {
                    let d = self.cfg.crossing_dim;
                    // Units run in parallel, one thread each.
                    seconds += sweep_seconds(d, Kind::Site, side, samples) / threads as f64;
                    if let Ok(l) = Lattice::hypercube(d, side, Boundary::Periodic) {
                        peak = peak.max(bytes_per_worker(&l) * threads);
                    }
                }
            }
        }
        ResourceEstimate::new(
            peak + crate::memory::resident_peak_bytes().unwrap_or(0),
            Some(seconds),
            format!(
                "time: each threshold's budget plus the sweep cost model for the crossing \
                 units, on {threads} threads; memory: the largest unit's lattices or invaded \
                 clusters on every thread, plus the program"
            ),
        )
    }

    fn run_unit(&self, index: usize, _files: &UnitFiles) -> Result<LatticeUnit> {
        match self.jobs[index] {
            Job::Threshold { dim, kind } => {
                let plan = self.threshold(dim, kind).plan()?;
                Ok(LatticeUnit::Threshold(ThresholdRow::from(&estimate(
                    &plan, None,
                )?)))
            }
            Job::Crossing {
                side,
                first,
                samples,
            } => {
                let lattice = Lattice::hypercube(self.cfg.crossing_dim, side, Boundary::Periodic)?;
                let sweeps = run_sweeps_from(
                    &lattice,
                    &SweepConfig {
                        kind: Kind::Site,
                        samples,
                        seed: self.cfg.seed,
                        track_observables: false,
                    },
                    first,
                    None,
                )?;
                Ok(LatticeUnit::Crossing {
                    side,
                    first,
                    n_elements: sweeps.n_elements,
                    firsts: sweeps.first_events(None),
                })
            }
        }
    }

    fn finish(&self, outputs: Vec<LatticeUnit>, dir: &Path) -> Result<()> {
        let mut rows = Vec::new();
        let mut curves: Vec<(usize, u64, Vec<u32>)> = Vec::new();
        for out in outputs {
            match out {
                LatticeUnit::Threshold(row) => rows.push(row),
                LatticeUnit::Crossing {
                    side,
                    n_elements,
                    firsts,
                    ..
                } => match curves.iter_mut().find(|c| c.0 == side) {
                    Some(c) => c.2.extend(firsts),
                    None => curves.push((side, n_elements, firsts)),
                },
            }
        }
        write_csv(&dir.join("thresholds.csv"), &rows)?;
        let kind = Kind::Site;
        let mut crossing = Vec::new();
        let mut p_av = Vec::new();
        for (side, n_elements, firsts) in &curves {
            let pc = published(self.cfg.crossing_dim, kind).map_or(0.5, |p| p.value);
            let half_width = 0.12
                * (16.0 / self.cfg.crossing_sides[0] as f64)
                    .powf(0.75)
                    .min(1.0);
            for i in 0..=120 {
                let p = pc - half_width + 2.0 * half_width * i as f64 / 120.0;
                let (r, r_err) = crossing_probability(firsts, *n_elements, p);
                crossing.push(CrossingRow {
                    side: *side,
                    p,
                    r,
                    r_err,
                });
            }
            let fractions: Vec<f64> = firsts
                .iter()
                .map(|&f| f as f64 / (*n_elements as f64 + 1.0))
                .collect();
            let me = crate::stats::MeanError::of(&fractions);
            p_av.push(PAv {
                side: *side,
                p_av: me.mean,
                stderr: me.stderr,
                samples: firsts.len(),
            });
        }
        if !curves.is_empty() {
            write_csv(&dir.join("crossing.csv"), &crossing)?;
            let meta = CrossingMeta {
                dim: self.cfg.crossing_dim,
                kind,
                estimate: rows
                    .iter()
                    .find(|r| r.dim == self.cfg.crossing_dim && r.kind == kind)
                    .map(|r| (r.p_c, r.stderr)),
            };
            write_json(&dir.join("crossing_meta.json"), &meta)?;
        }
        let summary = LatticeSummary {
            thresholds: rows
                .iter()
                .map(|r| SummaryThreshold {
                    dim: r.dim,
                    kind: r.kind,
                    method: r.method,
                    p_c: r.p_c,
                    stderr: r.stderr,
                    literature: r.literature,
                    z: r.z,
                })
                .collect(),
            p_av,
        };
        write_json(&dir.join("summary.json"), &summary)
    }

    fn draw_figures(&self, dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
        draw_figures(dir, out)
    }

    fn write_report(&self, dir: &Path) -> Result<PathBuf> {
        let rows: Vec<ThresholdRow> = read_csv(&dir.join("thresholds.csv"))?;
        let figures = list_figures(&dir.join("figures"));
        write_report(dir, &rows, &figures)?;
        Ok(dir.join("report.md"))
    }
}

/// `summary.json` of the lattice study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatticeSummary {
    /// Threshold estimates, one per (dim, kind) unit of `thresholds.csv`.
    pub thresholds: Vec<SummaryThreshold>,
    /// Mean first-wrap fraction of each crossing side.
    pub p_av: Vec<PAv>,
}

/// One threshold in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryThreshold {
    /// Lattice dimension d of Z^d.
    pub dim: usize,
    /// Percolation kind, site or bond.
    pub kind: Kind,
    /// Method the estimate used: `fss` or `invasion`.
    pub method: Method,
    /// Estimated threshold p_c.
    pub p_c: f64,
    /// Standard error of `p_c`.
    pub stderr: f64,
    /// Published p_c from the literature table, NaN if not tabulated.
    pub literature: f64,
    /// z-score of `p_c` against the published value, NaN if not tabulated.
    pub z: f64,
}

/// Mean first-wrap fraction `p_av(L)` of one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PAv {
    /// Side L of the torus.
    pub side: usize,
    /// Mean of n_first / (N + 1).
    pub p_av: f64,
    /// Its standard error.
    pub stderr: f64,
    /// Number of crossing samples (first-wrap counts) averaged for this side.
    pub samples: usize,
}
