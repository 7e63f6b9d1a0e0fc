//! A quantity against an integer-like parameter `k` — e.g. the estimated
//! input-space threshold `p*(k)` against the neighbourhood size `k`, or
//! minimax barriers against `k` — as markers joined by lines with vertical
//! error bars, plus thin reference curves such as the lattice site
//! threshold `p_c^site(k)`, the `1/(2k − 1)` series or horizontal reference
//! barriers.
//!
//! Non-finite points are skipped (and, on a log axis, points with `y ≤ 0`);
//! a negative or non-finite error bar is drawn as none. On a log axis an
//! error bar reaching below zero is cut at the bottom of the plot.
//!
//! The legend goes into the first corner of the plot — upper right, upper
//! left, lower right, lower left — whose box would cover no data point or
//! line; when every corner is taken it is drawn in a column right of the plot.

mod chart;
mod cleaned;
mod legend;

pub use legend::{legend_place, Corner, LegendPlace};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::log_ticks;
use super::{title_font, Figure};
use chart::chart_builder;
use legend::occupied;

/// Margin in pixels around the chart.
const MARGIN: u32 = 16;
/// Height in pixels of the area below the plot that holds the x tick labels.
const X_LABEL_AREA: u32 = 50;
/// Width in pixels of the area left of the plot that holds the y tick labels.
const Y_LABEL_AREA: u32 = 80;
/// Height in pixels taken by the title above the chart.
const TITLE_HEIGHT: u32 = 40;
/// Font size and row height in pixels of a legend entry.
const LEGEND_FONT_SIZE: u32 = 16;
/// Row height in pixels of a legend entry.
const LEGEND_ROW: u32 = 22;
/// Width in pixels of a legend entry's line sample plus the gap to its text.
const LEGEND_SAMPLE: u32 = 36;
/// Radius in pixels of a data marker.
const MARKER_RADIUS: i32 = 4;
/// Half width in pixels of an error bar's cap.
const CAP_HALF_WIDTH: i32 = 4;
/// Points sampled along each line segment when looking for a free corner.
const SEGMENT_SAMPLES: usize = 16;

/// One measured series: markers joined by lines with vertical error bars.
#[derive(Debug, Clone)]
pub struct KSeries {
    /// Legend text, e.g. "p* (LeNet5, MNIST)".
    pub label: String,
    /// `(x, y, error bar)` points, the error bar `≥ 0` drawn as `y ± error`.
    pub points: Vec<(f64, f64, f64)>,
    /// Asymmetric error bars `(low, high)` per point (e.g. bootstrap
    /// intervals of a median), drawn instead of `y ± error` when given.
    pub intervals: Option<Vec<(f64, f64)>>,
}

/// A reference curve: a thin line without markers.
#[derive(Debug, Clone)]
pub struct Reference {
    /// Legend text, e.g. "lattice p_c^site(k)".
    pub label: String,
    /// `(x, y)` points joined in order.
    pub points: Vec<(f64, f64)>,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// Drawn in the colour of series `i` (e.g. a fit to that series)
    /// instead of a reference colour.
    pub color_of_series: Option<usize>,
}

/// A figure of measured series (markers, lines, error bars) and reference curves,
/// with its title, axis labels and legend.
#[derive(Debug, Clone)]
pub struct KSeriesFigure {
    /// Caption drawn above the chart.
    pub title: String,
    /// What is on the x axis, e.g. "neighbourhood size k".
    pub x_label: String,
    /// What is on the y axis, e.g. "threshold p*".
    pub y_label: String,
    /// Logarithmic y axis (non-positive values are then skipped).
    pub log_y: bool,
    /// Measured series, drawn in the palette's colours from the first on.
    pub series: Vec<KSeries>,
    /// Reference curves, drawn thin in the palette's colours from the last
    /// (black) backwards.
    pub references: Vec<Reference>,
}

impl Figure for KSeriesFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        let data = self.cleaned();
        let (x_range, y_range) = self.ranges(&data);
        let entries = self.entries();
        let font: TextStyle = ("sans-serif", LEGEND_FONT_SIZE).into_font().into();
        let mut text_width = 0;
        for (label, ..) in &entries {
            text_width = text_width.max(root.estimate_text_size(label, &font).map_err(e)?.0);
        }
        let legend_size = (
            text_width + LEGEND_SAMPLE + 20,
            LEGEND_ROW * entries.len() as u32 + 12,
        );
        let (width, height) = root.dim_in_pixel();
        let plot_size = (
            width.saturating_sub(2 * MARGIN + Y_LABEL_AREA).max(1) as f64,
            height
                .saturating_sub(2 * MARGIN + X_LABEL_AREA + TITLE_HEIGHT)
                .max(1) as f64,
        );
        let place = if entries.is_empty() {
            LegendPlace::Inside(Corner::UpperRight)
        } else {
            legend_place(
                &occupied(&data, x_range, y_range, self.log_y),
                (
                    legend_size.0 as f64 / plot_size.0,
                    legend_size.1 as f64 / plot_size.1,
                ),
            )
        };
        let below_title = root.titled(&self.title, title_font()).map_err(e)?;
        let (chart_area, legend_area) = match place {
            LegendPlace::Inside(_) => (below_title, None),
            LegendPlace::Outside => {
                let chart_width = width.saturating_sub(legend_size.0 + MARGIN);
                let (chart, legend) = below_title.split_horizontally(chart_width);
                (chart, Some(legend))
            }
        };
        let x = x_range.0..x_range.1;
        if self.log_y {
            let y = 10f64.powf(y_range.0)..10f64.powf(y_range.1);
            let (bold, light) = log_ticks(y.start, y.end);
            let mut chart = chart_builder(&chart_area)
                .build_cartesian_2d(
                    x,
                    y.clone()
                        .log_scale()
                        .with_key_points(bold)
                        .with_light_points(light),
                )
                .map_err(e)?;
            self.draw_chart(
                &mut chart,
                &data,
                y.start,
                place,
                legend_area.as_ref(),
                &font,
            )
        } else {
            let y = y_range.0..y_range.1;
            let mut chart = chart_builder(&chart_area)
                .build_cartesian_2d(x, y.clone())
                .map_err(e)?;
            self.draw_chart(
                &mut chart,
                &data,
                y.start,
                place,
                legend_area.as_ref(),
                &font,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_saved(figure: &KSeriesFigure, dir: &std::path::Path, name: &str) {
        let (png, svg) = super::super::save(figure, &dir.join(name)).unwrap();
        // A blank 900×620 PNG compresses to well under 5 kB; axes, ticks and
        // text push it far above that.
        assert!(std::fs::metadata(&png).unwrap().len() > 5_000);
        let svg_text = std::fs::read_to_string(&svg).unwrap();
        assert!(svg_text.len() > 2_000 && svg_text.contains(&figure.y_label));
    }

    fn p_star_figure() -> KSeriesFigure {
        let ks = 2..=8;
        let lattice = |k: f64| 1.0 / (2.0 * k - 1.0) + 0.5 / (2.0 * k - 1.0).powi(2);
        KSeriesFigure {
            title: "input-space threshold against k".into(),
            x_label: "neighbourhood size k".into(),
            y_label: "threshold p*".into(),
            log_y: true,
            series: vec![
                KSeries {
                    label: "p* LeNet5 (MNIST)".into(),
                    points: ks
                        .clone()
                        .map(|k| (k as f64, 1.1 * lattice(k as f64), 0.01))
                        .collect(),
                    intervals: None,
                },
                KSeries {
                    label: "p* LeNet5-adv (MNIST)".into(),
                    points: ks
                        .clone()
                        .map(|k| (k as f64, 0.9 * lattice(k as f64), 0.005))
                        .collect(),
                    intervals: None,
                },
            ],
            references: vec![
                Reference {
                    label: "lattice p_c^site(k)".into(),
                    points: ks.clone().map(|k| (k as f64, lattice(k as f64))).collect(),
                    dashed: false,
                    color_of_series: None,
                },
                Reference {
                    label: "1/(2k − 1)".into(),
                    points: ks
                        .map(|k| (k as f64, 1.0 / (2.0 * k as f64 - 1.0)))
                        .collect(),
                    dashed: true,
                    color_of_series: None,
                },
            ],
        }
    }

    #[test]
    fn saves_png_and_svg_including_degenerate_input() {
        let dir = tempfile::tempdir().unwrap();
        let figure = p_star_figure();
        assert_saved(&figure, dir.path(), "p-star");
        let mut linear = figure.clone();
        linear.log_y = false;
        assert_saved(&linear, dir.path(), "p-star-linear");
        // Crowded: data everywhere, the legend must go outside.
        let mut crowded = figure.clone();
        crowded.series.push(KSeries {
            label: "zigzag".into(),
            points: (0..=12)
                .map(|i| {
                    (
                        2.0 + 0.5 * i as f64,
                        if i % 2 == 0 { 0.05 } else { 0.9 },
                        0.0,
                    )
                })
                .collect(),
            intervals: None,
        });
        assert_saved(&crowded, dir.path(), "p-star-crowded");
        let degenerate = KSeriesFigure {
            title: String::new(),
            x_label: "k".into(),
            y_label: "barrier".into(),
            log_y: true,
            series: vec![
                KSeries {
                    label: "empty".into(),
                    points: vec![],
                    intervals: None,
                },
                KSeries {
                    label: "nan".into(),
                    points: vec![(f64::NAN, 1.0, 0.1), (2.0, f64::INFINITY, f64::NAN)],
                    intervals: None,
                },
                KSeries {
                    label: "single".into(),
                    points: vec![(3.0, 0.5, 2.0)],
                    intervals: None,
                },
                KSeries {
                    label: "non-positive".into(),
                    points: vec![(4.0, 0.0, 1.0), (5.0, -1.0, -1.0)],
                    intervals: None,
                },
            ],
            references: vec![Reference {
                label: "flat".into(),
                points: vec![(3.0, 0.5); 3],
                dashed: true,
                color_of_series: None,
            }],
        };
        assert_saved(&degenerate, dir.path(), "degenerate");
        let mut degenerate_linear = degenerate.clone();
        degenerate_linear.log_y = false;
        assert_saved(&degenerate_linear, dir.path(), "degenerate-linear");
        let none = KSeriesFigure {
            title: "nothing".into(),
            x_label: "k".into(),
            y_label: "barrier".into(),
            log_y: false,
            series: vec![],
            references: vec![],
        };
        assert_saved(&none, dir.path(), "none");
    }
}
