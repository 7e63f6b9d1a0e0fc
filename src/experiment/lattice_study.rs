//! The lattice study: thresholds `p_c(d)` for a list of dimensions and kinds,
//! and crossing-probability curves `R_L(p)` for several sides — stored as CSV
//! and drawn as figures.
//!
//! Layout of a study directory:
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
use crate::lattice::{Boundary, Lattice};
use crate::percolation::canonical::crossing_probability;
use crate::percolation::{run_sweeps, Kind, SweepConfig};
use crate::plot::crossing::{CrossingCurve, CrossingFigure};
use crate::plot::threshold_vs_dim::{MeasuredThreshold, ThresholdFigure};
use crate::progress::Progress;
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
    /// Master seed.
    pub seed: u64,
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

    /// Reads a TOML config, naming the file and the offending key on error.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
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

/// Runs the study, writes its files into `dir` and returns the threshold rows.
pub fn run(
    cfg: &LatticeStudyConfig,
    dir: &Path,
    progress: Option<&dyn Progress>,
) -> Result<Vec<ThresholdRow>> {
    let mut rows = Vec::new();
    if let Some(p) = progress {
        p.set_total((cfg.dims.len() * cfg.kinds.len()) as u64 + cfg.crossing_sides.len() as u64);
    }
    for &dim in &cfg.dims {
        for &kind in &cfg.kinds {
            let plan = ThresholdConfig {
                dim,
                kind,
                method: Method::Auto,
                budget_secs: cfg.budget_for(dim),
                seed: cfg.seed,
            }
            .plan()?;
            if let Some(p) = progress {
                p.set_message(format!("p_c d={dim} {kind}"));
            }
            rows.push(ThresholdRow::from(&estimate(&plan, None)?));
            if let Some(p) = progress {
                p.advance(1);
            }
        }
    }
    write_csv(&dir.join("thresholds.csv"), &rows)?;

    let mut crossing = Vec::new();
    let kind = Kind::Site;
    for &side in &cfg.crossing_sides {
        let lattice = Lattice::hypercube(cfg.crossing_dim, side, Boundary::Periodic)?;
        let sweeps = run_sweeps(
            &lattice,
            &SweepConfig {
                kind,
                samples: cfg.crossing_samples,
                seed: cfg.seed,
                track_observables: false,
            },
            None,
        )?;
        let firsts = sweeps.first_events(None);
        let pc = published(cfg.crossing_dim, kind).map_or(0.5, |p| p.value);
        let half_width = 0.12 * (16.0 / cfg.crossing_sides[0] as f64).powf(0.75).min(1.0);
        for i in 0..=120 {
            let p = pc - half_width + 2.0 * half_width * i as f64 / 120.0;
            let (r, r_err) = crossing_probability(&firsts, sweeps.n_elements, p);
            crossing.push(CrossingRow { side, p, r, r_err });
        }
        if let Some(p) = progress {
            p.advance(1);
        }
    }
    write_csv(&dir.join("crossing.csv"), &crossing)?;
    let meta = CrossingMeta {
        dim: cfg.crossing_dim,
        kind,
        estimate: rows
            .iter()
            .find(|r| r.dim == cfg.crossing_dim && r.kind == kind)
            .map(|r| (r.p_c, r.stderr)),
    };
    write_atomic(
        &dir.join("crossing_meta.json"),
        serde_json::to_string_pretty(&meta)
            .expect("serialisable")
            .as_bytes(),
    )?;
    Ok(rows)
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
    let (a, b) = crate::plot::save(&fig, &out.join("threshold_vs_dim"))?;
    written.extend([a, b]);
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

/// Writes serde rows as CSV, atomically.
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    let bytes = w.into_inner().map_err(|e| Error::InvalidFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_atomic(path, &bytes)
}

/// Reads serde rows from a CSV file, naming the file and row on error.
pub fn read_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::InvalidFile {
            path: path.to_path_buf(),
            reason: format!("{other:?}"),
        },
    })?;
    r.deserialize()
        .map(|row| {
            row.map_err(|e| Error::InvalidFile {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        })
        .collect()
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
