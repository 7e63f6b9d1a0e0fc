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

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::experiment::runner::{Experiment, UnitFiles};
use crate::experiment::store::{list_figures, read_csv, write_csv, write_json};
use crate::lattice::{Boundary, Lattice};
use crate::percolation::canonical::crossing_probability;
use crate::percolation::{run_sweeps_from, Kind, SweepConfig};
use crate::plot::crossing::{CrossingCurve, CrossingFigure};
use crate::plot::threshold_vs_dim::{MeasuredThreshold, ThresholdFigure};
use crate::scaling::literature::published;
use crate::scaling::threshold::{estimate, Method, ThresholdConfig, ThresholdEstimate};

/// What the study computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatticeStudyConfig {
    /// Dimensions whose thresholds are estimated.
    pub dims: Vec<usize>,
    /// Kinds estimated in every dimension.
    pub kinds: Vec<Kind>,
    /// Budget per threshold, seconds.
    pub budget_secs: f64,
    /// Per-dimension budget overrides, e.g. `[[budgets]] dim = 2, secs = 300`.
    #[serde(default)]
    pub budgets: Vec<DimBudget>,
    /// Dimension of the crossing curves.
    pub crossing_dim: usize,
    /// Sides of the crossing curves.
    pub crossing_sides: Vec<usize>,
    /// Samples per crossing curve.
    pub crossing_samples: u64,
    /// Crossing samples per unit of work (the granularity of resuming).
    #[serde(default = "default_samples_per_unit")]
    pub samples_per_unit: u64,
    /// Master seed.
    pub seed: u64,
}

fn default_samples_per_unit() -> u64 {
    1000
}

impl LatticeStudyConfig {
    /// A study of a few minutes on two cores: the demo's lattice part.
    pub fn quick() -> Self {
        LatticeStudyConfig {
            dims: vec![2, 3, 4, 6, 8, 13],
            kinds: vec![Kind::Site, Kind::Bond],
            budget_secs: 6.0,
            crossing_dim: 2,
            crossing_sides: vec![16, 32, 64, 128],
            crossing_samples: 4000,
            samples_per_unit: default_samples_per_unit(),
            seed: 1,
            budgets: Vec::new(),
        }
    }
}

/// A budget override for one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimBudget {
    /// Dimension.
    pub dim: usize,
    /// Budget in seconds.
    pub secs: f64,
}

impl LatticeStudyConfig {
    /// The budget for dimension `dim`.
    pub fn budget_for(&self, dim: usize) -> f64 {
        self.budgets
            .iter()
            .find(|b| b.dim == dim)
            .map_or(self.budget_secs, |b| b.secs)
    }

    /// Checks every field, naming it as `params.NAME`.
    pub fn validate(&self) -> Result<()> {
        let dim_ok = |d: usize| (2..=crate::lattice::MAX_DIM).contains(&d);
        if let Some(&d) = self.dims.iter().find(|&&d| !dim_ok(d)) {
            return Err(Error::invalid(
                "params.dims",
                d,
                format!("expected dimensions in 2..={}", crate::lattice::MAX_DIM),
            ));
        }
        if self.kinds.is_empty() && !self.dims.is_empty() {
            return Err(Error::invalid(
                "params.kinds",
                "[]",
                "expected at least one of \"site\", \"bond\"",
            ));
        }
        if !(self.budget_secs.is_finite() && self.budget_secs > 0.0) {
            return Err(Error::invalid(
                "params.budget_secs",
                self.budget_secs,
                "expected seconds > 0",
            ));
        }
        if let Some(b) = self
            .budgets
            .iter()
            .find(|b| !(b.secs.is_finite() && b.secs > 0.0 && dim_ok(b.dim)))
        {
            return Err(Error::invalid(
                "params.budgets",
                format!("{{dim = {}, secs = {}}}", b.dim, b.secs),
                "expected a dimension in 2..=16 and seconds > 0",
            ));
        }
        if !self.crossing_sides.is_empty() && !dim_ok(self.crossing_dim) {
            return Err(Error::invalid(
                "params.crossing_dim",
                self.crossing_dim,
                "expected a dimension in 2..=16",
            ));
        }
        if let Some(&l) = self.crossing_sides.iter().find(|&&l| l < 4) {
            return Err(Error::invalid(
                "params.crossing_sides",
                l,
                "expected sides of at least 4",
            ));
        }
        if !self.crossing_sides.is_empty() && self.crossing_samples == 0 {
            return Err(Error::invalid(
                "params.crossing_samples",
                0,
                "expected at least 1",
            ));
        }
        if self.samples_per_unit == 0 {
            return Err(Error::invalid(
                "params.samples_per_unit",
                0,
                "expected at least 1",
            ));
        }
        if self.dims.is_empty() && self.crossing_sides.is_empty() {
            return Err(Error::invalid(
                "params.dims",
                "[]",
                "nothing to do: give dims or crossing_sides",
            ));
        }
        for &side in &self.crossing_sides {
            Lattice::hypercube(self.crossing_dim, side, Boundary::Periodic)
                .map_err(|e| Error::invalid("params.crossing_sides", side, e.to_string()))?;
        }
        Ok(())
    }
}

/// One row of `thresholds.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRow {
    /// Dimension.
    pub dim: usize,
    /// Site or bond.
    pub kind: Kind,
    /// Method used.
    pub method: Method,
    /// Estimate.
    pub p_c: f64,
    /// Standard error.
    pub stderr: f64,
    /// Published value.
    pub literature: f64,
    /// Published uncertainty.
    pub literature_err: f64,
    /// z-score against the literature.
    pub z: f64,
    /// Relative error against the literature.
    pub relative_error: f64,
    /// Samples or runs.
    pub samples: u64,
    /// Seconds.
    pub seconds: f64,
    /// Seed.
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
    /// Side.
    pub side: usize,
    /// Occupation probability.
    pub p: f64,
    /// Wrapping probability (any axis).
    pub r: f64,
    /// Its standard error.
    pub r_err: f64,
}

/// `crossing_meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossingMeta {
    /// Dimension.
    pub dim: usize,
    /// Kind.
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

    fn run_unit(&self, index: usize, _files: &UnitFiles) -> Result<LatticeUnit> {
        match self.jobs[index] {
            Job::Threshold { dim, kind } => {
                let plan = ThresholdConfig {
                    dim,
                    kind,
                    method: Method::Auto,
                    budget_secs: self.cfg.budget_for(dim),
                    seed: self.cfg.seed,
                }
                .plan()?;
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
    /// Threshold estimates.
    pub thresholds: Vec<SummaryThreshold>,
    /// Mean first-wrap fraction of each crossing side.
    pub p_av: Vec<PAv>,
}

/// One threshold in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryThreshold {
    /// Dimension.
    pub dim: usize,
    /// Kind.
    pub kind: Kind,
    /// Method.
    pub method: Method,
    /// Estimate.
    pub p_c: f64,
    /// Standard error.
    pub stderr: f64,
    /// Published value.
    pub literature: f64,
    /// z-score.
    pub z: f64,
}

/// Mean first-wrap fraction `p_av(L)` of one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PAv {
    /// Side.
    pub side: usize,
    /// Mean of n_first / (N + 1).
    pub p_av: f64,
    /// Its standard error.
    pub stderr: f64,
    /// Samples.
    pub samples: usize,
}

/// Draws every figure of a study directory into `out` from its stored files.
/// Returns the paths written.
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let thresholds: Vec<ThresholdRow> = read_csv(&dir.join("thresholds.csv"))?;
    let fig = ThresholdFigure {
        measured: thresholds
            .iter()
            .map(|r| MeasuredThreshold {
                dim: r.dim,
                kind: r.kind,
                p_c: r.p_c,
                stderr: r.stderr,
            })
            .collect(),
    };
    if !fig.measured.is_empty() {
        let (a, b) = crate::plot::save(&fig, &out.join("threshold_vs_dim"))?;
        written.extend([a, b]);
    }
    let crossing_path = dir.join("crossing.csv");
    if crossing_path.exists() {
        let rows: Vec<CrossingRow> = read_csv(&crossing_path)?;
        let meta_path = dir.join("crossing_meta.json");
        let meta: CrossingMeta = serde_json::from_slice(
            &std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?,
        )
        .map_err(|e| Error::InvalidFile {
            path: meta_path.clone(),
            reason: e.to_string(),
        })?;
        let mut sides: Vec<usize> = rows.iter().map(|r| r.side).collect();
        sides.dedup();
        let curves = sides
            .iter()
            .map(|&side| CrossingCurve {
                side,
                points: rows
                    .iter()
                    .filter(|r| r.side == side)
                    .map(|r| (r.p, r.r, r.r_err))
                    .collect(),
            })
            .collect();
        let fig = CrossingFigure {
            title: format!("{} percolation on the {}-d torus", meta.kind, meta.dim),
            y_label: "P(a cluster wraps)".into(),
            curves,
            estimate: meta.estimate,
            literature: published(meta.dim, meta.kind).map(|p| p.value),
        };
        let (a, b) = crate::plot::save(
            &fig,
            &out.join(format!("crossing_d{}_{}", meta.dim, meta.kind)),
        )?;
        written.extend([a, b]);
    }
    Ok(written)
}

/// Writes `report.md` in `dir`: the thresholds table and the figures.
pub fn write_report(dir: &Path, rows: &[ThresholdRow], figures: &[PathBuf]) -> Result<()> {
    let mut md = String::from("# ismc lattice study\n\n## Percolation thresholds of Z^d\n\n");
    md.push_str(
        "| d | kind | method | p_c (ismc) | stderr | literature | z | rel. error | samples | s |\n",
    );
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {:.7} | {:.1e} | {:.7} | {:+.2} | {:+.1e} | {} | {:.1} |\n",
            r.dim,
            r.kind,
            r.method,
            r.p_c,
            r.stderr,
            r.literature,
            r.z,
            r.relative_error,
            r.samples,
            r.seconds
        ));
    }
    md.push_str("\n## Figures\n\n");
    for f in figures
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
    {
        let rel = f.strip_prefix(dir).unwrap_or(f);
        md.push_str(&format!("![{}]({})\n\n", rel.display(), rel.display()));
    }
    write_atomic(&dir.join("report.md"), md.as_bytes())
}
