//! The Markdown report of an untrained-connectivity run: per model the FVO
//! convergence, the barriers round after round and the connected fraction,
//! per pair its rounds, from the stored files only.

use std::path::{Path, PathBuf};

use super::{PairRow, UntrainedParams, UntrainedSummary};
use crate::error::Result;
use crate::experiment::store::{figure_links, read_csv, read_json};

/// Writes `report.md` from `summary.json`, `pairs.csv` and the figures.
pub fn write_report(dir: &Path, params: &UntrainedParams) -> Result<PathBuf> {
    let s: UntrainedSummary = read_json(&dir.join("summary.json"))?;
    let pairs: Vec<PairRow> = read_csv(&dir.join("pairs.csv"))?;
    let rounds_head: String = (0..=s.max_rounds)
        .map(|r| format!(" round {r} |"))
        .collect();
    let rounds_rule: String = (0..=s.max_rounds).map(|_| "---|").collect();
    let mut md = format!(
        "# Connectivity of synthetic (FVO) modes\n\n\
         {} pairs per model; FVO with weight decay {} (at most {} steps); free bends \
         (lr {}, {} iterations), up to {} rounds; \
         a pair is connected once its path's max loss is ≤ {}.\n\n\
         ## Median max loss along the path after each round\n\n\
         | model | pairs | FVO converged | max endpoint CE | median endpoint norm | max decay balance |{rounds_head} connected | median first bend |\n\
         |---|---|---|---|---|---|{rounds_rule}---|---|\n",
        params.pairs,
        params.fvo.weight_decay,
        params.fvo.iterations,
        params.bypass.lr,
        params.bypass.iterations,
        s.max_rounds,
        s.max_loss_target
    );
    for (m, ms) in &s.models {
        let cells: String = ms
            .median_barrier_max_by_round
            .iter()
            .map(|v| format!(" {v:.3e} |"))
            .collect();
        md.push_str(&format!(
            "| {m} | {} | {:.0} % | {:.2e} | {:.1} | {:.3} |{cells} {:.0} % | {:.4} |\n",
            ms.pairs,
            100.0 * ms.fvo_converged_fraction,
            ms.fvo_max_loss,
            ms.median_fvo_norm,
            ms.max_fvo_decay_balance,
            100.0 * ms.connected_fraction,
            ms.median_first_relative_bend
        ));
    }
    let never = pairs
        .iter()
        .filter(|p| p.connected_at_round.is_none())
        .count();
    md.push_str(&format!(
        "\n{never} of {} pairs stayed above the target after the last round (see pairs.csv).\n",
        pairs.len()
    ));
    md.push_str(
        "\nThe decay balance is λ|x|²/(−x·∇CE) at an FVO endpoint: near 1, Adam's \
         weight decay cancels the CE gradient along the ray and FVO has stalled above \
         its threshold (theory/untrained-fvo.md); 0 without decay.\n",
    );
    md.push_str(&figure_links(dir));
    let path = dir.join("report.md");
    crate::atomic::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}
