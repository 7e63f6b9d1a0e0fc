//! The figures of a slice-percolation run, drawn from its `summary.json`
//! only: per pair kind, the spanning fraction of the excursion sets against
//! k with both nulls and the lattice threshold, the effect sizes against
//! each null, the gap fraction with its decay law, and the pinned join
//! fraction.

use std::path::{Path, PathBuf};

use super::read_summary;
use crate::bridge::{GroupAtK, GroupSummary, MeanSe, SliceSummary};
use crate::error::Result;
use crate::plot::k_series::{KSeries, KSeriesFigure, Reference};
use crate::stats::bootstrap::Interval;
use crate::stats::decay::DecayLaw;

/// A short legend name for a model spec.
fn short(model: &str) -> String {
    model.trim_start_matches("untrained:").to_string()
}

fn pair_kinds(s: &SliceSummary) -> Vec<String> {
    let mut v: Vec<String> = s.groups.iter().map(|g| g.pair_kind.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// `(k, estimate, 0)` points and their `(low, high)` intervals.
type KPoints = (Vec<(f64, f64, f64)>, Vec<(f64, f64)>);

/// `(k, estimate)` points and their intervals from a group's per-k values.
fn k_interval(g: &GroupSummary, f: &dyn Fn(&GroupAtK) -> Option<Interval>) -> KPoints {
    g.by_k
        .iter()
        .filter_map(|(&k, at)| f(at).map(|i| ((k as f64, i.estimate, 0.0), (i.low, i.high))))
        .unzip()
}

/// One series per model of a per-k interval statistic (empty ones dropped).
fn model_series(
    groups: &[&GroupSummary],
    f: &dyn Fn(&GroupAtK) -> Option<Interval>,
) -> Vec<KSeries> {
    groups
        .iter()
        .map(|g| {
            let (points, iv) = k_interval(g, f);
            KSeries {
                label: short(&g.model),
                points,
                intervals: Some(iv),
            }
        })
        .filter(|x| !x.points.is_empty())
        .collect()
}

/// The i.i.d. pinned null's mean per k as a dashed reference (the same grid
/// for every pair, so the first group's).
fn null_reference(
    groups: &[&GroupSummary],
    label: &str,
    f: fn(&GroupAtK) -> Option<MeanSe>,
) -> Reference {
    Reference {
        label: label.into(),
        points: groups
            .first()
            .map(|g| {
                g.by_k
                    .iter()
                    .filter_map(|(&k, a)| f(a).map(|m| (k as f64, m.mean)))
                    .collect()
            })
            .unwrap_or_default(),
        dashed: true,
        color_of_series: None,
    }
}

/// Draws per pair kind: `p_span_KIND` (mean first-span fraction of the
/// excursion sets against k per model, 95 % intervals, with the i.i.d.
/// pinned null and the lattice p_c^site(k)), `p_span_vs_surrogate_KIND` and
/// `p_span_vs_iid_KIND` (the effect sizes: median per-pair ratio of the real
/// field's p_span to each null's), `gap_fraction_KIND` (median g(k) with 95 %
/// intervals and the preferred decay law, in the series' colour) and
/// `p_star_KIND` (pinned join fraction against the i.i.d. null).
pub fn draw_figures(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let s = read_summary(dir)?;
    let mut written = Vec::new();
    for kind in pair_kinds(&s) {
        let groups: Vec<&GroupSummary> = s.groups.iter().filter(|g| g.pair_kind == kind).collect();
        // p_span(k) of the real fields against the lattice and the i.i.d.
        // null (the same grid for every pair).
        let dense_ks: Vec<usize> = groups
            .iter()
            .flat_map(|g| {
                g.by_k
                    .iter()
                    .filter(|(_, a)| a.p_span.is_some())
                    .map(|(&k, _)| k)
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let lattice = Reference {
            label: "lattice p_c^site(k)".into(),
            points: dense_ks
                .iter()
                .filter_map(|k| s.lattice_pc_site.get(k).map(|&p| (*k as f64, p)))
                .collect(),
            dashed: false,
            color_of_series: None,
        };
        let series = model_series(&groups, &|a| a.p_span);
        let null = null_reference(&groups, "i.i.d. pinned null (same grid)", |a| {
            a.p_span_null_iid
        });
        let side = groups
            .first()
            .and_then(|g| g.by_k.values().next())
            .map_or(0, |a| a.side);
        let fig = KSeriesFigure {
            title: format!("{kind}: first-spanning fraction of {{ℓ ≤ τ}}, L = {side}"),
            x_label: "slice dimension k".into(),
            y_label: "p_span (axis 0), mean, 95 % CI".into(),
            log_y: true,
            series,
            references: vec![lattice.clone(), null],
        };
        let (a, b) = crate::plot::save(&fig, &out.join(format!("p_span_{kind}")))?;
        written.extend([a, b]);
        // Effect sizes: p_span of the real field over each null's.
        for (name, what, f) in [
            (
                "p_span_vs_surrogate",
                "IAAFT surrogate",
                (|a: &GroupAtK| a.span_ratio_surrogate) as fn(&GroupAtK) -> Option<Interval>,
            ),
            ("p_span_vs_iid", "i.i.d. pinned null", |a| a.span_ratio_iid),
        ] {
            let mut series = model_series(&groups, &f);
            series.retain(|x| x.points.len() > 1);
            let one = Reference {
                label: format!("real = {what}"),
                points: vec![
                    (*dense_ks.first().unwrap_or(&1) as f64, 1.0),
                    (*dense_ks.last().unwrap_or(&1) as f64, 1.0),
                ],
                dashed: true,
                color_of_series: None,
            };
            let fig = KSeriesFigure {
                title: format!("{kind}: p_span of the real field / p_span of the {what}"),
                x_label: "slice dimension k".into(),
                y_label: "ratio, median over pairs, 95 % CI".into(),
                log_y: true,
                series,
                references: vec![one],
            };
            let (a, b) = crate::plot::save(&fig, &out.join(format!("{name}_{kind}")))?;
            written.extend([a, b]);
        }
        // g(k).
        let mut series = Vec::new();
        let mut refs = Vec::new();
        for g in &groups {
            let (points, iv) = k_interval(g, &|a| a.gap_fraction);
            if points.is_empty() {
                continue;
            }
            let gi = series.len();
            let n = g.pairs_above_floor;
            series.push(KSeries {
                label: format!("{} ({n} pairs)", short(&g.model)),
                points,
                intervals: Some(iv),
            });
            let d = &g.gap_decay;
            let fit = match d.preferred {
                Some(DecayLaw::Exponential) => d.exponential,
                Some(DecayLaw::PowerLaw) => d.power_law,
                None => None,
            };
            if let Some(f) = fit {
                // Drawn over the fitted points only (median g > 0).
                let ks: Vec<f64> = g
                    .by_k
                    .iter()
                    .filter(|(_, a)| a.gap_fraction.is_some_and(|i| i.estimate > 0.0))
                    .map(|(&k, _)| k as f64)
                    .collect();
                refs.push(Reference {
                    label: format!(
                        "{} fit: {}",
                        short(&g.model),
                        match f.law {
                            DecayLaw::Exponential =>
                                format!("{:.2}·e^(−{:.2}k)", f.amplitude, f.rate),
                            DecayLaw::PowerLaw => format!("{:.2}·k^(−{:.2})", f.amplitude, f.rate),
                        }
                    ),
                    points: ks
                        .iter()
                        .map(|&k| {
                            let y = match f.law {
                                DecayLaw::Exponential => f.amplitude * (-f.rate * k).exp(),
                                DecayLaw::PowerLaw => f.amplitude * k.powf(-f.rate),
                            };
                            (k, y)
                        })
                        .collect(),
                    dashed: true,
                    color_of_series: Some(gi),
                });
            }
        }
        let fig = KSeriesFigure {
            title: format!("{kind}: gap fraction g(k) = (ℓ*(k) − τ₀)/(ℓ_lin − τ₀)"),
            x_label: "slice dimension k (nested slices, fixed L)".into(),
            y_label: "g(k), median, 95 % CI".into(),
            log_y: true,
            series,
            references: refs,
        };
        let (a, b) = crate::plot::save(&fig, &out.join(format!("gap_fraction_{kind}")))?;
        written.extend([a, b]);
        // Pinned p*(k) against the i.i.d. null (the surrogate's is in the
        // report).
        let series = model_series(&groups, &|a| a.p_star_pinned);
        let null = null_reference(&groups, "i.i.d. pinned null", |a| a.p_star_null);
        let fig = KSeriesFigure {
            title: format!("{kind}: join fraction with A and C occupied first"),
            x_label: "slice dimension k".into(),
            y_label: "p* (pinned), median, 95 % CI".into(),
            log_y: true,
            series,
            references: vec![lattice.clone(), null],
        };
        let (a, b) = crate::plot::save(&fig, &out.join(format!("p_star_{kind}")))?;
        written.extend([a, b]);
    }
    Ok(written)
}
