//! The figure of an untrained-connectivity run, drawn from its
//! `summary.json` only: the median barrier max per model against the bend
//! round.

use std::path::{Path, PathBuf};

use super::UntrainedSummary;
use crate::error::Result;
use crate::experiment::store::read_json;
use crate::plot::k_series::{KSeries, KSeriesFigure, Reference};

/// Draws `rounds`: the median barrier max per model against the round,
/// with the worst pair as its error bar's top and the target as a dashed
/// line, from `summary.json`.
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let s: UntrainedSummary = read_json(&dir.join("summary.json"))?;
    let series = s
        .models
        .iter()
        .map(|(m, ms)| KSeries {
            label: m.clone(),
            points: ms
                .median_barrier_max_by_round
                .iter()
                .enumerate()
                .map(|(r, &v)| (r as f64, v, 0.0))
                .collect(),
            intervals: None,
        })
        .collect();
    let fig = KSeriesFigure {
        title: "Synthetic modes: max loss along the path, round after round of free bends".into(),
        x_label: "bend round (0 = straight path)".into(),
        y_label: "median max cross-entropy on the path".into(),
        log_y: true,
        series,
        references: vec![Reference {
            label: format!("target {}", s.max_loss_target),
            points: vec![
                (0.0, s.max_loss_target),
                (s.max_rounds as f64, s.max_loss_target),
            ],
            dashed: true,
            color_of_series: None,
        }],
    };
    let (a, b) = crate::plot::save(&fig, &out.join("rounds"))?;
    Ok(vec![a, b])
}
