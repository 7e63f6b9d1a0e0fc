//! Receiver operating characteristic (ROC) curves: how well a score separates
//! two classes (e.g. clean from adversarial inputs), one curve per detector.
//!
//! A detector flags an input when its score exceeds a threshold `t`. Sweeping
//! `t` from `+∞` to `−∞` traces the points
//!
//! ```text
//! (FPR(t), TPR(t)) = (P(score > t | negative), P(score > t | positive))
//! ```
//!
//! from `(0, 0)` to `(1, 1)`. With finitely many samples the empirical curve
//! is a staircase: each positive above the threshold moves it up by `1/n₊`,
//! each negative right by `1/n₋`. The area under it, the AUROC, is the
//! probability that a random positive outscores a random negative
//! (Mann–Whitney); 0.5 is chance — the dashed diagonal.
//!
//! The figure draws the given points as a staircase: from each point it runs
//! horizontally to the next point's false-positive rate, then vertically to
//! its true-positive rate. For points taken at every distinct score this is
//! exactly the empirical curve (consecutive points differ in one coordinate
//! only); for a subsampled curve it is the lower envelope, never above the
//! truth. Non-finite points are skipped, the rest clamped to `[0, 1]`, and the
//! AUROC in the legend is the caller's (it is not recomputed from the points).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{label_font, title_font, Figure, PALETTE};

/// Width in pixels of the area left of the plot that holds the y tick labels.
const Y_LABEL_AREA: u32 = 70;
/// Height in pixels of the area below the plot that holds the x tick labels.
const X_LABEL_AREA: u32 = 50;
/// Margin in pixels around the chart.
const MARGIN: u32 = 16;

/// One ROC curve.
#[derive(Debug, Clone)]
pub struct RocCurve {
    /// Name of the detector, e.g. "local intrinsic dimension".
    pub label: String,
    /// Area under the curve, shown in the legend as "label (AUROC 0.973)".
    pub auroc: f64,
    /// `(false positive rate, true positive rate)` points, each in `[0, 1]`,
    /// in any order (they are sorted before drawing).
    pub points: Vec<(f64, f64)>,
}

/// The figure: ROC curves in a square plot with the chance diagonal.
#[derive(Debug, Clone)]
pub struct RocFigure {
    /// Title, e.g. "detecting PGD inputs, LeNet5 on MNIST".
    pub title: String,
    /// Curves, one colour each.
    pub curves: Vec<RocCurve>,
}

/// The staircase through `points` that the figure draws: starting at `(0, 0)`,
/// for each point (sorted by false-positive rate, then true-positive rate) a
/// horizontal step to its false-positive rate followed by a vertical step to
/// its true-positive rate, ending at `(1, 1)`. Non-finite points are skipped,
/// the others clamped to `[0, 1]`; without any finite point the result is
/// empty.
pub fn staircase(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut sorted: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|&(x, y)| (x.clamp(0.0, 1.0), y.clamp(0.0, 1.0)))
        .collect();
    if sorted.is_empty() {
        return sorted;
    }
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    sorted.push((1.0, 1.0));
    let mut path = vec![(0.0, 0.0)];
    for (x, y) in sorted {
        let (_, last_y) = path[path.len() - 1];
        path.push((x, last_y));
        path.push((x, y));
    }
    path.dedup();
    path
}

/// The legend text of a curve: "label (AUROC 0.973)", or "label (AUROC n/a)"
/// when the AUROC is not finite.
fn legend_text(curve: &RocCurve) -> String {
    if curve.auroc.is_finite() {
        format!("{} (AUROC {:.3})", curve.label, curve.auroc)
    } else {
        format!("{} (AUROC n/a)", curve.label)
    }
}

impl Figure for RocFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        let below_title = root.titled(&self.title, title_font()).map_err(e)?;
        // Square plot: as wide as it is high, centred horizontally.
        let (width, height) = below_title.dim_in_pixel();
        let side = height.saturating_sub(X_LABEL_AREA + 2 * MARGIN);
        let chart_width = (side + Y_LABEL_AREA + 2 * MARGIN).min(width);
        let (_, right) = below_title.split_horizontally((width - chart_width) / 2);
        let (area, _) = right.split_horizontally(chart_width);
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("false positive rate")
            .y_desc("true positive rate")
            .axis_desc_style(label_font())
            .label_style(("sans-serif", 16))
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .draw()
            .map_err(e)?;
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                8,
                6,
                grey.stroke_width(1),
            ))
            .map_err(e)?
            .label("chance (AUROC 0.5)")
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new([(0, 0), (7, 0)], grey)
                    + PathElement::new([(11, 0), (18, 0)], grey)
            });
        for (i, curve) in self.curves.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    staircase(&curve.points),
                    color.stroke_width(2),
                ))
                .map_err(e)?
                .label(legend_text(curve))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        // ROC curves hug the upper left; the lower right is empty.
        super::draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The empirical ROC points of `scores` (`true` = positive) at every
    /// distinct threshold, from the highest score down.
    fn roc_points(scores: &[(f64, bool)]) -> Vec<(f64, f64)> {
        let pos = scores.iter().filter(|s| s.1).count() as f64;
        let neg = scores.len() as f64 - pos;
        let mut sorted = scores.to_vec();
        sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (mut tp, mut fp) = (0.0, 0.0);
        let mut points = vec![(0.0, 0.0)];
        for (_, positive) in sorted {
            if positive {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            points.push((fp / neg, tp / pos));
        }
        points
    }

    /// Brute-force Mann–Whitney AUROC: the fraction of (positive, negative)
    /// pairs in which the positive scores higher.
    fn mann_whitney(scores: &[(f64, bool)]) -> f64 {
        let (mut wins, mut pairs) = (0.0, 0.0);
        for p in scores.iter().filter(|s| s.1) {
            for n in scores.iter().filter(|s| !s.1) {
                pairs += 1.0;
                if p.0 > n.0 {
                    wins += 1.0;
                }
            }
        }
        wins / pairs
    }

    fn area_under(path: &[(f64, f64)]) -> f64 {
        path.windows(2)
            .map(|w| (w[1].0 - w[0].0) * 0.5 * (w[0].1 + w[1].1))
            .sum()
    }

    fn scores() -> Vec<(f64, bool)> {
        // Distinct scores; positives tend to score higher.
        (0..40)
            .map(|i| {
                let positive = i % 3 != 0;
                let s = (i as f64 * 0.37).sin() + if positive { 0.6 } else { 0.0 };
                (s, positive)
            })
            .collect()
    }

    #[test]
    fn staircase_is_axis_parallel_and_its_area_is_the_mann_whitney_auroc() {
        let scores = scores();
        let mut points = roc_points(&scores);
        points.reverse(); // order must not matter
        let path = staircase(&points);
        assert_eq!(path[0], (0.0, 0.0));
        assert_eq!(path[path.len() - 1], (1.0, 1.0));
        for w in path.windows(2) {
            assert!(w[0].0 == w[1].0 || w[0].1 == w[1].1, "diagonal step {w:?}");
            assert!(w[1].0 >= w[0].0);
        }
        // Exact up to summation rounding: 26 positives × 14 negatives.
        let auroc = mann_whitney(&scores);
        assert!((area_under(&path) - auroc).abs() < 1e-12);
        assert!(auroc > 0.6, "test data should separate the classes");
    }

    #[test]
    fn staircase_of_subsampled_points_lies_below_them() {
        let path = staircase(&[(0.5, 0.8), (0.1, 0.4)]);
        assert_eq!(
            path,
            vec![
                (0.0, 0.0),
                (0.1, 0.0),
                (0.1, 0.4),
                (0.5, 0.4),
                (0.5, 0.8),
                (1.0, 0.8),
                (1.0, 1.0)
            ]
        );
    }

    #[test]
    fn staircase_skips_non_finite_and_clamps() {
        assert!(staircase(&[]).is_empty());
        assert!(staircase(&[(f64::NAN, 0.5), (0.2, f64::INFINITY)]).is_empty());
        assert_eq!(
            staircase(&[(-0.5, 1.5)]),
            vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
        );
    }

    fn assert_saved(figure: &RocFigure, dir: &std::path::Path, name: &str) {
        let (png, svg) = super::super::save(figure, &dir.join(name)).unwrap();
        // A blank 900×620 PNG compresses to well under 5 kB; axes, ticks and
        // text push it far above that. The SVG carries the embedded text.
        assert!(std::fs::metadata(&png).unwrap().len() > 5_000);
        let svg_text = std::fs::read_to_string(&svg).unwrap();
        assert!(svg_text.len() > 2_000 && svg_text.contains("true positive rate"));
    }

    #[test]
    fn saves_png_and_svg_including_degenerate_input() {
        let dir = tempfile::tempdir().unwrap();
        let scores = scores();
        let good = RocFigure {
            title: "detecting adversarial inputs".into(),
            curves: vec![
                RocCurve {
                    label: "barrier height".into(),
                    auroc: mann_whitney(&scores),
                    points: roc_points(&scores),
                },
                RocCurve {
                    label: "softmax margin".into(),
                    auroc: 0.973,
                    points: vec![(0.0, 0.0), (0.02, 0.9), (0.1, 0.97), (1.0, 1.0)],
                },
            ],
        };
        assert_saved(&good, dir.path(), "roc");
        let degenerate = RocFigure {
            title: String::new(),
            curves: vec![
                RocCurve {
                    label: "empty".into(),
                    auroc: f64::NAN,
                    points: vec![],
                },
                RocCurve {
                    label: "nan".into(),
                    auroc: 0.5,
                    points: vec![(f64::NAN, f64::NAN), (0.5, f64::NAN)],
                },
                RocCurve {
                    label: "single".into(),
                    auroc: 1.0,
                    points: vec![(0.0, 1.0)],
                },
                RocCurve {
                    label: "all equal".into(),
                    auroc: 0.5,
                    points: vec![(0.3, 0.3); 4],
                },
            ],
        };
        assert_saved(&degenerate, dir.path(), "roc-degenerate");
        let none = RocFigure {
            title: "no curves".into(),
            curves: vec![],
        };
        assert_saved(&none, dir.path(), "roc-none");
    }
}
