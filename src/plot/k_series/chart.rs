//! The chart of a k-series figure: the mesh with its tick labels, the
//! reference curves, the series with their error bars, and the legend in
//! its place; and the colours of series and references.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::cleaned::Cleaned;
use super::legend::{draw_outside_legend, Corner, LegendPlace};
use super::{
    KSeriesFigure, Reference, CAP_HALF_WIDTH, MARGIN, MARKER_RADIUS, X_LABEL_AREA, Y_LABEL_AREA,
};
use crate::plot::axis::{log_tick, tick};
use crate::plot::{label_font, PALETTE};

pub(super) fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn reference_color(j: usize) -> RGBColor {
    PALETTE[PALETTE.len() - 1 - j % PALETTE.len()]
}

impl Reference {
    /// The colour of reference `j`: its series' colour when it has one.
    pub(super) fn color(&self, j: usize) -> RGBColor {
        self.color_of_series
            .map_or_else(|| reference_color(j), series_color)
    }
}

impl KSeriesFigure {
    pub(super) fn draw_chart<'a, DB: DrawingBackend + 'a, Y>(
        &self,
        chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
        data: &Cleaned,
        y_bottom: f64,
        place: LegendPlace,
        legend_area: Option<&DrawingArea<DB, Shift>>,
        font: &TextStyle,
    ) -> Result<(), String>
    where
        Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        // An integer axis (k, a few dimensions): one label per integer and
        // none in between, instead of plotters' fractional "nice" steps.
        let x_range = chart.x_range();
        let span = x_range.end - x_range.start;
        let integer_x = span <= 24.0
            && data
                .series
                .iter()
                .flatten()
                .map(|p| p.0)
                .chain(data.references.iter().flatten().map(|p| p.0))
                .all(|x| x.fract() == 0.0);
        let x_tick = |x: &f64| {
            if !integer_x {
                tick(*x)
            } else if (x - x.round()).abs() < 1e-9 {
                format!("{}", x.round() as i64)
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .axis_desc_style(label_font())
            .label_style(("sans-serif", 16))
            .x_labels(if integer_x {
                span.ceil() as usize + 1
            } else {
                10
            })
            .x_label_formatter(&x_tick)
            .y_label_formatter(&|y| if self.log_y { log_tick(*y) } else { tick(*y) })
            .draw()
            .map_err(e)?;
        // Legend entries first, series before references; the drawing below
        // puts references underneath the series.
        let nothing = || std::iter::empty::<PathElement<(f64, f64)>>();
        for (i, series) in self.series.iter().enumerate() {
            let color = series_color(i);
            let line = color.stroke_width(2);
            chart
                .draw_series(nothing())
                .map_err(e)?
                .label(series.label.as_str())
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new([(0, 0), (18, 0)], line)
                        + Circle::new((9, 0), MARKER_RADIUS, color.filled())
                });
        }
        for (j, reference) in self.references.iter().enumerate() {
            let style = reference.color(j).mix(0.8).stroke_width(1);
            let gap = if reference.dashed { 4 } else { 0 };
            chart
                .draw_series(nothing())
                .map_err(e)?
                .label(reference.label.as_str())
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new([(0, 0), (9 - gap / 2, 0)], style)
                        + PathElement::new([(9 + gap / 2, 0), (18, 0)], style)
                });
        }
        for (j, (reference, points)) in self.references.iter().zip(&data.references).enumerate() {
            let style = reference.color(j).mix(0.8).stroke_width(1);
            if reference.dashed {
                chart
                    .draw_series(DashedLineSeries::new(points.iter().copied(), 8, 5, style))
                    .map_err(e)?;
            } else {
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), style))
                    .map_err(e)?;
            }
        }
        for (i, points) in data.series.iter().enumerate() {
            let color = series_color(i);
            let line = color.stroke_width(2);
            let bottom = |lo: f64| if lo > y_bottom { lo } else { y_bottom };
            chart
                .draw_series(points.iter().flat_map(|&(x, _, lo, hi)| {
                    let cap = [(-CAP_HALF_WIDTH, 0), (CAP_HALF_WIDTH, 0)];
                    [
                        EmptyElement::at((x, bottom(lo))) + PathElement::new(cap, line),
                        EmptyElement::at((x, hi)) + PathElement::new(cap, line),
                    ]
                }))
                .map_err(e)?;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&(x, _, lo, hi)| PathElement::new([(x, bottom(lo)), (x, hi)], line)),
                )
                .map_err(e)?;
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|&(x, y, _, _)| (x, y)),
                    line,
                ))
                .map_err(e)?;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&(x, y, _, _)| Circle::new((x, y), MARKER_RADIUS, color.filled())),
                )
                .map_err(e)?;
        }
        match (place, legend_area) {
            (LegendPlace::Inside(corner), _) => {
                if self.series.is_empty() && self.references.is_empty() {
                    return Ok(());
                }
                let position = match corner {
                    Corner::UpperRight => SeriesLabelPosition::UpperRight,
                    Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
                    Corner::LowerRight => SeriesLabelPosition::LowerRight,
                    Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
                };
                crate::plot::draw_legend(chart, position)
            }
            (LegendPlace::Outside, Some(area)) => {
                // Top aligned with the plot's top edge.
                let top = chart.plotting_area().get_pixel_range().1.start - area.get_base_pixel().1;
                draw_outside_legend(area, &self.entries(), top, font).map_err(e)
            }
            (LegendPlace::Outside, None) => Ok(()),
        }
    }
}

/// A chart builder with the house margins and label areas.
pub(super) fn chart_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA);
    builder
}
