//! The figures of a training run, drawn from `epochs.csv` and
//! `barriers.csv` only: test error per epoch, and the barriers of real and
//! FVO pairs against the optimiser step.

use std::path::{Path, PathBuf};

use super::{EpochRow, StepRow};
use crate::error::Result;
use crate::experiment::store::read_csv;
use crate::plot::k_series::{KSeries, KSeriesFigure};

/// Draws the figures from `epochs.csv` and `barriers.csv`.
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let epochs: Vec<EpochRow> = read_csv(&dir.join("epochs.csv"))?;
    let steps: Vec<StepRow> = read_csv(&dir.join("barriers.csv"))?;
    let mut runs: Vec<String> = epochs.iter().map(|e| e.run.clone()).collect();
    runs.dedup();
    let series_of = |label: String, pts: Vec<(f64, f64)>| KSeries {
        label,
        points: pts.into_iter().map(|(x, y)| (x, y, 0.0)).collect(),
        intervals: None,
    };
    let mut written = Vec::new();
    let accuracy = KSeriesFigure {
        title: "Test accuracy during training".into(),
        x_label: "epoch".into(),
        y_label: "test error (1 − accuracy)".into(),
        log_y: true,
        series: runs
            .iter()
            .map(|r| {
                series_of(
                    r.clone(),
                    epochs
                        .iter()
                        .filter(|e| &e.run == r)
                        .map(|e| (e.epoch as f64, 1.0 - e.test_accuracy))
                        .collect(),
                )
            })
            .collect(),
        references: Vec::new(),
    };
    let (a, b) = crate::plot::save(&accuracy, &out.join("accuracy"))?;
    written.extend([a, b]);
    if steps.is_empty() {
        return Ok(written);
    }
    // The first batches change the barriers most: every figure is drawn for
    // the whole schedule and, as `*-early`, for the first EARLY_STEPS steps.
    const EARLY_STEPS: usize = 100;
    let column = |run: &str, f: fn(&StepRow) -> Option<f64>, last: usize| -> Vec<(f64, f64)> {
        steps
            .iter()
            .filter(|s| s.run == run && s.step <= last)
            .filter_map(|s| f(s).map(|v| (s.step as f64, v)))
            .collect()
    };
    type Column = (&'static str, fn(&StepRow) -> Option<f64>);
    let draw = |name: &str, title: &str, cols: &[Column], last: usize| {
        let series = runs
            .iter()
            .flat_map(|r| {
                cols.iter()
                    .map(|(what, f)| series_of(format!("{r}: {what}"), column(r, *f, last)))
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        let fig = KSeriesFigure {
            title: title.into(),
            x_label: "optimiser steps (batches) trained".into(),
            y_label: "median max cross-entropy on the path".into(),
            log_y: true,
            series,
            references: Vec::new(),
        };
        crate::plot::save(&fig, &out.join(name))
    };
    let real: [Column; 2] = [
        ("same class", |s| s.real_barrier_max),
        ("across classes", |s| s.cross_barrier_max),
    ];
    let fvo: [Column; 2] = [
        ("straight", |s| s.fvo_linear_barrier_max),
        ("bent", |s| s.fvo_bent_barrier_max),
    ];
    let real_title = "Straight-path barriers between real test images during training";
    let fvo_title = "Barriers between synthetic (FVO) inputs during training";
    let mut figures = vec![("barrier-evolution", real_title, &real)];
    if steps.iter().any(|s| s.fvo_linear_barrier_max.is_some()) {
        figures.push(("fvo-barrier-evolution", fvo_title, &fvo));
    }
    for (name, title, cols) in figures {
        let (a, b) = draw(name, title, cols, usize::MAX)?;
        written.extend([a, b]);
        if steps.iter().any(|s| s.step > EARLY_STEPS) {
            let early_title = format!("{title} (first {EARLY_STEPS} steps)");
            let (a, b) = draw(&format!("{name}-early"), &early_title, cols, EARLY_STEPS)?;
            written.extend([a, b]);
        }
    }
    Ok(written)
}
