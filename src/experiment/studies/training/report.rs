//! The Markdown report of a training run: final accuracies, the barriers
//! measured during training and the figure links, from the stored files
//! only.

use std::path::{Path, PathBuf};

use super::{StepRow, TrainingParams, TrainingSummary};
use crate::error::Result;
use crate::experiment::store::{figure_links, read_csv, read_json};

fn cell(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3e}"))
}

/// Writes `report.md` from `summary.json`, `barriers.csv` and the figures.
pub fn write_report(dir: &Path, params: &TrainingParams) -> Result<PathBuf> {
    let s: TrainingSummary = read_json(&dir.join("summary.json"))?;
    let steps: Vec<StepRow> = read_csv(&dir.join("barriers.csv"))?;
    let mut md = format!(
        "# Training on {}\n\n\
         Architectures {:?}, training seeds {:?}.\n\n\
         ## Final test accuracy\n\n\
         | run | epochs | test accuracy | test loss | weights |\n|---|---|---|---|---|\n",
        s.data, params.archs, params.seeds
    );
    for (id, r) in &s.runs {
        md.push_str(&format!(
            "| {id} | {} | {:.2} % | {:.4} | `{}` |\n",
            r.epochs,
            100.0 * r.test_accuracy,
            r.test_loss,
            r.model_file
        ));
    }
    if !steps.is_empty() {
        md.push_str(
            "\n## Barriers during training\n\n\
             Medians over the pairs; real pairs are fixed for the run, FVO \
             inputs are made again on the weights of each step from the same noise.\n\n\
             | run | step | epoch | test acc. | same-class max | same-class gap | \
             across-class max | FVO max CE | FVO straight | FVO bent |\n\
             |---|---|---|---|---|---|---|---|---|---|\n",
        );
        for r in &steps {
            md.push_str(&format!(
                "| {} | {} | {:.2} | {:.2} % | {} | {} | {} | {} | {} | {} |\n",
                r.run,
                r.step,
                r.epoch,
                100.0 * r.test_accuracy,
                cell(r.real_barrier_max),
                cell(r.real_barrier_gap),
                cell(r.cross_barrier_max),
                cell(r.fvo_max_loss),
                cell(r.fvo_linear_barrier_max),
                cell(r.fvo_bent_barrier_max),
            ));
        }
    }
    md.push_str(&figure_links(dir));
    let path = dir.join("report.md");
    crate::atomic::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}
