//! `p_c(d)` against `d` on a log scale: measured thresholds with error bars,
//! published values, and the `1/(2d−1)` series, for site and bond percolation.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::log_ticks;
use super::{label_font, title_font, Figure, PALETTE};
use crate::percolation::Kind;
use crate::scaling::literature::{series_real, table};

/// One measured threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredThreshold {
    /// Lattice dimension d, the x coordinate.
    pub dim: usize,
    /// Percolation kind, site or bond; picks the series and colour.
    pub kind: Kind,
    /// Estimated threshold p_c, the y coordinate.
    pub p_c: f64,
    /// Standard error of `p_c`; the error bar spans ±2 of them.
    pub stderr: f64,
}

/// The figure of `p_c(d)` against `d`: measured thresholds, published values and
/// the `1/(2d−1)` series.
#[derive(Debug, Clone)]
pub struct ThresholdFigure {
    /// Thresholds measured by ismc, drawn as filled dots over the published values.
    pub measured: Vec<MeasuredThreshold>,
}

impl Figure for ThresholdFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        let (bold, light) = log_ticks(0.03, 0.8);
        let mut chart = ChartBuilder::on(root)
            .caption("percolation thresholds of Z^d", title_font())
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(
                1.5f64..13.5f64,
                (0.03f64..0.8f64)
                    .log_scale()
                    .with_key_points(bold)
                    .with_light_points(light),
            )
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("dimension d")
            .y_desc("p_c")
            .axis_desc_style(label_font())
            .label_style(("sans-serif", 16))
            .x_labels(12)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()
            .map_err(e)?;
        let published = table();
        for (i, kind) in [Kind::Site, Kind::Bond].into_iter().enumerate() {
            let color = PALETTE[i];
            let curve = (40..=270)
                .map(|k| k as f64 * 0.05)
                .map(|d| (d, series_real(d, kind)));
            chart
                .draw_series(LineSeries::new(curve, color.mix(0.6).stroke_width(1)))
                .map_err(e)?
                .label(format!("{kind}: 1/(2d−1) series"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.mix(0.6)));
            chart
                .draw_series(
                    published
                        .iter()
                        .filter(|p| p.kind == kind)
                        .map(|p| Circle::new((p.dim as f64, p.value), 7, color.stroke_width(2))),
                )
                .map_err(e)?
                .label(format!("{kind}: literature"))
                .legend(move |(x, y)| Circle::new((x + 9, y), 6, color.stroke_width(2)));
            let ours: Vec<&MeasuredThreshold> =
                self.measured.iter().filter(|m| m.kind == kind).collect();
            chart
                .draw_series(
                    ours.iter()
                        .map(|m| Circle::new((m.dim as f64, m.p_c), 3, color.filled())),
                )
                .map_err(e)?
                .label(format!("{kind}: ismc"))
                .legend(move |(x, y)| Circle::new((x + 9, y), 3, color.filled()));
            chart
                .draw_series(ours.iter().map(|m| {
                    PathElement::new(
                        [
                            (m.dim as f64, m.p_c - 2.0 * m.stderr),
                            (m.dim as f64, m.p_c + 2.0 * m.stderr),
                        ],
                        color,
                    )
                }))
                .map_err(e)?;
        }
        super::draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
