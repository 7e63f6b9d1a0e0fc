//! The figures of a lattice study, drawn from its stored tables only: the
//! thresholds against the dimension, and the crossing curves with the
//! threshold estimate and the published value.

use std::path::{Path, PathBuf};

use super::{CrossingMeta, CrossingRow, ThresholdRow};
use crate::error::{Error, Result};
use crate::experiment::store::read_csv;
use crate::plot::crossing::{CrossingCurve, CrossingFigure};
use crate::plot::threshold_vs_dim::{MeasuredThreshold, ThresholdFigure};
use crate::scaling::literature::published;

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
