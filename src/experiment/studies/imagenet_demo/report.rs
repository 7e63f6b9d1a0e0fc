//! The figures and the Markdown report of an ImageNet demonstration run,
//! drawn from its stored tables only (no model is loaded).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{CurveRow, ImagenetDemoParams, ImagenetDemoSummary, PairKind};
use crate::error::Result;
use crate::experiment::store::{figure_links, read_csv, read_json};
use crate::plot::k_series::{KSeries, KSeriesFigure, Reference};

/// A model or photo name as part of a file name (`.` → `_`).
pub(super) fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Draws, from `summary.json` and `curves.csv` only: `barrier_rounds` (the
/// median barrier max per round for every model and pair kind, log scale)
/// and, per model, photo and pair kind, `curves_MODEL_PHOTO_KIND` (the CE
/// along the straight path, solid, and along the final bent chain, dashed,
/// against the fraction of each path's length).
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let s: ImagenetDemoSummary = read_json(&dir.join("summary.json"))?;
    let mut written = Vec::new();
    let series = s
        .models
        .iter()
        .flat_map(|(m, ms)| {
            PairKind::ALL.into_iter().filter_map(move |k| {
                ms.pair_kinds.get(k.name()).map(|ks| KSeries {
                    label: format!("{m}, {}", k.label()),
                    points: ks
                        .median_max_by_round
                        .iter()
                        .enumerate()
                        .map(|(r, &v)| (r as f64, v, 0.0))
                        .collect(),
                    intervals: None,
                })
            })
        })
        .collect();
    let fig = KSeriesFigure {
        title: "ImageNet modes: max loss along the path, round after round of projected bends"
            .into(),
        x_label: "bend round (0 = straight path)".into(),
        y_label: "median max cross-entropy on the path".into(),
        log_y: true,
        series,
        references: Vec::new(),
    };
    let (a, b) = crate::plot::save(&fig, &out.join("barrier_rounds"))?;
    written.extend([a, b]);

    let rows: Vec<CurveRow> = read_csv(&dir.join("curves.csv"))?;
    let mut groups: BTreeMap<(String, String), Vec<&CurveRow>> = BTreeMap::new();
    for r in &rows {
        groups
            .entry((r.model.clone(), r.photo.clone()))
            .or_default()
            .push(r);
    }
    for ((model, photo), rs) in groups {
        for kind in PairKind::ALL {
            let references: Vec<Reference> = [("straight", false), ("bent", true)]
                .into_iter()
                .map(|(path, dashed)| Reference {
                    label: format!("{path} path"),
                    points: rs
                        .iter()
                        .filter(|r| r.kind == kind && r.path == path)
                        .map(|r| (r.arc, r.loss))
                        .collect(),
                    dashed,
                    color_of_series: None,
                })
                .filter(|r| !r.points.is_empty())
                .collect();
            if references.is_empty() {
                continue;
            }
            let fig = KSeriesFigure {
                title: format!("{model}, {photo}, {} pair", kind.label()),
                x_label: "position along the path (fraction of its length)".into(),
                y_label: "cross-entropy against the photo's class".into(),
                log_y: true,
                series: Vec::new(),
                references,
            };
            let stem = format!(
                "curves_{}_{}_{}",
                file_part(&model),
                file_part(&photo),
                kind.name()
            );
            let (a, b) = crate::plot::save(&fig, &out.join(stem))?;
            written.extend([a, b]);
        }
    }
    Ok(written)
}

/// Writes `report.md` from `summary.json` and the figures.
pub fn write_report(dir: &Path, params: &ImagenetDemoParams) -> Result<PathBuf> {
    let s: ImagenetDemoSummary = read_json(&dir.join("summary.json"))?;
    let round_head: String = (0..=s.max_rounds)
        .map(|r| format!(" round {r} |"))
        .collect();
    let round_rule: String = (0..=s.max_rounds).map(|_| "---|").collect();
    let mut md = format!(
        "# Input-space mode connectivity on ImageNet classifiers\n\n\
         Real photos, FVO inputs (≤ {} Adam iterations, stop at CE < {}) and the paper's \
         targeted attack (≤ {} iterations, stopped below the photo's CE); straight paths \
         and up to {} rounds of projected bends ({} Adam iterations, lr {}), {} points \
         per segment. Loss = cross-entropy against the photo's class.\n\n\
         ## Photos and endpoints\n\n\
         | model | photo | class | photo top-1 = class | photo CE | FVO iterations | FVO CE | \
         attack from | attack iterations | adversarial CE | all endpoints top-1 = class |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
        params.fvo.iterations,
        params.fvo.loss_threshold,
        params.attack.iterations,
        s.max_rounds,
        s.bypass_iterations,
        params.bypass.lr,
        s.points,
    );
    for (m, ms) in &s.models {
        for (p, ps) in &ms.photos {
            md.push_str(&format!(
                "| {m} | {p} | {} {} | {} | {:.4} | {}, {} | {:.1e}, {:.1e} | {} | {} | {:.4} | {} |\n",
                ps.class,
                ps.class_name,
                yes(ps.photo_top1_is_class),
                ps.photo_ce,
                ps.fvo_iterations[0],
                ps.fvo_iterations[1],
                ps.fvo_ce[0],
                ps.fvo_ce[1],
                ps.attack_source,
                ps.attack_iterations,
                ps.attack_ce,
                yes(ps.all_endpoints_top1_is_class),
            ));
        }
    }
    md.push_str(&format!(
        "\n## Barrier max per pair\n\n\
         | model | photo | pair |{round_head} straight gap | final gap | first bend |\n\
         |---|---|---|{round_rule}---|---|---|\n"
    ));
    for (m, ms) in &s.models {
        for (p, ps) in &ms.photos {
            for kind in PairKind::ALL {
                if let Some(b) = ps.pairs.get(kind.name()) {
                    let cells: String = (0..=s.max_rounds)
                        .map(|r| match b.max_by_round.get(r) {
                            Some(v) => format!(" {v:.3e} |"),
                            None => " — |".into(),
                        })
                        .collect();
                    md.push_str(&format!(
                        "| {m} | {p} | {} |{cells} {:.3e} | {:.3e} | {:.3} |\n",
                        kind.label(),
                        b.straight_gap,
                        b.bent_gap,
                        b.relative_bends.first().copied().unwrap_or(0.0),
                    ));
                }
            }
        }
    }
    md.push_str(
        "\n## Medians over photos\n\n\
         | model | pair kind | pairs | straight max | straight gap | bent max | bent gap | \
         max endpoint CE | endpoints top-1 = class |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (m, ms) in &s.models {
        for kind in PairKind::ALL {
            if let Some(k) = ms.pair_kinds.get(kind.name()) {
                md.push_str(&format!(
                    "| {m} | {} | {} | {:.3e} | {:.3e} | {:.3e} | {:.3e} | {:.3e} | {} |\n",
                    kind.label(),
                    k.pairs,
                    k.median_straight_max,
                    k.median_straight_gap,
                    k.median_bent_max,
                    k.median_bent_gap,
                    k.max_endpoint_ce,
                    yes(k.all_endpoints_top1_is_class),
                ));
            }
        }
    }
    md.push_str(&figure_links(dir));
    let path = dir.join("report.md");
    crate::atomic::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**no**"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_replace_dots() {
        assert_eq!(file_part("squeezenet-1.1"), "squeezenet-1_1");
    }
}
