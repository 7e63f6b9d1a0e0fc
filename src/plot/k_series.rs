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

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{label_font, title_font, Figure, PALETTE};

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

/// The figure.
#[derive(Debug, Clone)]
pub struct KSeriesFigure {
    /// Title.
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

/// Where the legend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegendPlace {
    /// Inside the plot, in this corner.
    Inside(Corner),
    /// In a column right of the plot.
    Outside,
}

/// A corner of the plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    /// Upper right.
    UpperRight,
    /// Upper left.
    UpperLeft,
    /// Lower right.
    LowerRight,
    /// Lower left.
    LowerLeft,
}

/// Chooses the legend's place: the first corner (in [`Corner`]'s order) whose
/// box of `size` — width and height as fractions of the plot, plus a small
/// margin — contains none of `points`, given as fractions of the plot
/// (`(0, 0)` lower left, `(1, 1)` upper right); otherwise outside.
pub fn legend_place(points: &[(f64, f64)], size: (f64, f64)) -> LegendPlace {
    const MARGIN: f64 = 0.03;
    let (w, h) = (size.0 + MARGIN, size.1 + MARGIN);
    if w >= 1.0 || h >= 1.0 {
        return LegendPlace::Outside;
    }
    let corners = [
        (Corner::UpperRight, 1.0 - w..=1.0, 1.0 - h..=1.0),
        (Corner::UpperLeft, 0.0..=w, 1.0 - h..=1.0),
        (Corner::LowerRight, 1.0 - w..=1.0, 0.0..=h),
        (Corner::LowerLeft, 0.0..=w, 0.0..=h),
    ];
    corners
        .into_iter()
        .find(|(_, xs, ys)| !points.iter().any(|(x, y)| xs.contains(x) && ys.contains(y)))
        .map_or(LegendPlace::Outside, |(corner, _, _)| {
            LegendPlace::Inside(corner)
        })
}

/// A tick label: plain decimals with trailing zeros trimmed for moderate
/// magnitudes, scientific notation for very small or large ones. Shared with
/// the other figures of this crate.
pub(super) fn tick(v: f64) -> String {
    if v == 0.0 || (1e-3..1e4).contains(&v.abs()) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.into()
        }
    } else {
        // Four significant digits, then trimmed: 9.9999999e-5 → "1e-4".
        let s = format!("{v:.3e}");
        match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.')),
            None => s,
        }
    }
}

/// A tick label on a log axis: the multiples 1, 2, 3 and 5 of a power of
/// ten get one (the bold ticks of [`log_ticks`]); the other multiples
/// `1..=9`, which crowd together towards the top of each decade, keep only
/// their grid line. Shared with the other figures.
pub(super) fn log_tick(v: f64) -> String {
    let mantissa = v / 10f64.powf(v.log10().floor());
    let nearest = mantissa.round();
    if (mantissa - nearest).abs() < 1e-6 && [1.0, 2.0, 3.0, 5.0, 10.0].contains(&nearest) {
        tick(v)
    } else {
        String::new()
    }
}

/// The tick positions of a log axis over `lo..hi` (data units, `0 < lo <
/// hi`): bold (labelled by [`log_tick`]) at the multiples 1, 2, 3 and 5 of
/// every power of ten in range, light (grid lines) at all multiples 1..9.
/// Beyond [`LOG_TICK_DETAIL_DECADES`] decades only the powers of ten are
/// bold. Plotters' own log axis starts its ticks at the first power of ten
/// at or above `lo`, which leaves the lowest part of a narrow range without
/// labels, and repeats each inner power of ten. Shared with the other
/// figures.
pub(super) fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let detailed = (hi / lo).log10() <= LOG_TICK_DETAIL_DECADES;
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    for e in first..=last {
        // `10^e` by parsing, not `powi`, so that ticks are the exact
        // decimal values the labels name.
        let decade: f64 = format!("1e{e}").parse().expect("a float literal");
        for m in 1..=9u32 {
            let v = f64::from(m) * decade;
            if v < lo * (1.0 - 1e-12) || v > hi * (1.0 + 1e-12) {
                continue;
            }
            light.push(v);
            if m == 1 || (detailed && [2, 3, 5].contains(&m)) {
                bold.push(v);
            }
        }
    }
    (bold, light)
}

/// Log ranges wider than this (in decades) label only their powers of ten.
const LOG_TICK_DETAIL_DECADES: f64 = 4.0;

/// `lo..hi` widened by 5 % of the span on each side; a zero span is widened
/// to ±10 % of the value (±0.5 around zero). Shared with the other figures.
pub(super) fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    let pad = if span > 0.0 {
        0.05 * span
    } else if lo != 0.0 {
        0.1 * lo.abs()
    } else {
        0.5
    };
    (lo - pad, hi + pad)
}

/// A log-axis range in decades (`log10` of the bounds): `lo..hi` padded, or
/// — when it spans less than a decade, and so may hold no labelled tick of
/// [`log_ticks`] — snapped out to the enclosing powers of ten, at least
/// one decade apart, and widened by [`SNAP_SLACK`] so that rounding in
/// `log10(10^lo)` cannot drop the end ticks. Shared with the other figures.
pub(super) fn log_decades(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = padded(lo, hi);
    if hi - lo >= 1.0 {
        return (lo, hi);
    }
    let (lo, hi) = (lo.floor(), hi.ceil());
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    (lo - SNAP_SLACK, hi + SNAP_SLACK)
}

/// Slack in decades added to snapped log ranges (invisible: 1e-6 decades).
const SNAP_SLACK: f64 = 1e-6;

/// The data the figure draws, cleaned, in data units.
struct Cleaned {
    /// Per series: `(x, y, y_low, y_high)`.
    series: Vec<Vec<(f64, f64, f64, f64)>>,
    /// Per reference: `(x, y)`.
    references: Vec<Vec<(f64, f64)>>,
}

impl KSeriesFigure {
    fn cleaned(&self) -> Cleaned {
        let shown = |x: f64, y: f64| x.is_finite() && y.is_finite() && (!self.log_y || y > 0.0);
        let series = self
            .series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .enumerate()
                    .filter(|&(_, &(x, y, _))| shown(x, y))
                    .map(
                        |(i, &(x, y, err))| match s.intervals.as_ref().and_then(|v| v.get(i)) {
                            Some(&(lo, hi)) if lo.is_finite() && hi.is_finite() => {
                                (x, y, lo.min(y), hi.max(y))
                            }
                            _ => {
                                let err = if err.is_finite() { err.max(0.0) } else { 0.0 };
                                (x, y, y - err, y + err)
                            }
                        },
                    )
                    .collect()
            })
            .collect();
        let references = self
            .references
            .iter()
            .map(|r| {
                r.points
                    .iter()
                    .copied()
                    .filter(|&(x, y)| shown(x, y))
                    .collect()
            })
            .collect();
        Cleaned { series, references }
    }

    /// Axis ranges `(x, y)` covering all cleaned data (y in log10 units when
    /// `log_y`), padded; defaults when there is no data.
    fn ranges(&self, data: &Cleaned) -> ((f64, f64), (f64, f64)) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for s in &data.series {
            for &(x, y, lo, hi) in s {
                xs.push(x);
                ys.extend([y, hi]);
                if !self.log_y || lo > 0.0 {
                    ys.push(lo);
                }
            }
        }
        for r in &data.references {
            for &(x, y) in r {
                xs.push(x);
                ys.push(y);
            }
        }
        let to = |y: f64| if self.log_y { y.log10() } else { y };
        let bounds = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi)
        };
        let (x_lo, x_hi) = bounds(&xs);
        let ys: Vec<f64> = ys.into_iter().map(to).filter(|y| y.is_finite()).collect();
        let (y_lo, y_hi) = bounds(&ys);
        let x = if x_lo.is_finite() {
            padded(x_lo, x_hi)
        } else {
            (0.0, 1.0)
        };
        let y = if y_lo.is_finite() && self.log_y {
            log_decades(y_lo, y_hi)
        } else if y_lo.is_finite() {
            padded(y_lo, y_hi)
        } else if self.log_y {
            (-1.0, 1.0)
        } else {
            (0.0, 1.0)
        };
        (x, y)
    }

    /// Legend entries: label, colour, dashed, with marker.
    fn entries(&self) -> Vec<(String, RGBColor, bool, bool)> {
        let mut entries: Vec<_> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.label.clone(), series_color(i), false, true))
            .collect();
        entries.extend(
            self.references
                .iter()
                .enumerate()
                .map(|(j, r)| (r.label.clone(), r.color(j), r.dashed, false)),
        );
        entries
    }
}

fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn reference_color(j: usize) -> RGBColor {
    PALETTE[PALETTE.len() - 1 - j % PALETTE.len()]
}

impl Reference {
    /// The colour of reference `j`: its series' colour when it has one.
    fn color(&self, j: usize) -> RGBColor {
        self.color_of_series
            .map_or_else(|| reference_color(j), series_color)
    }
}

/// All drawn points and lines, sampled, as fractions of the plot.
fn occupied(data: &Cleaned, x: (f64, f64), y: (f64, f64), log_y: bool) -> Vec<(f64, f64)> {
    let frac = |(px, py): (f64, f64)| {
        let py = if log_y {
            py.max(f64::MIN_POSITIVE).log10()
        } else {
            py
        };
        ((px - x.0) / (x.1 - x.0), (py - y.0) / (y.1 - y.0))
    };
    let mut out = Vec::new();
    let mut polyline = |points: Vec<(f64, f64)>| {
        let points: Vec<(f64, f64)> = points.into_iter().map(frac).collect();
        out.extend(points.iter().copied());
        for w in points.windows(2) {
            for k in 1..SEGMENT_SAMPLES {
                let t = k as f64 / SEGMENT_SAMPLES as f64;
                out.push((
                    w[0].0 + t * (w[1].0 - w[0].0),
                    w[0].1 + t * (w[1].1 - w[0].1),
                ));
            }
        }
    };
    for s in &data.series {
        polyline(s.iter().map(|&(x, y, _, _)| (x, y)).collect());
        for &(x, _, lo, hi) in s {
            polyline(vec![(x, lo), (x, hi)]);
        }
    }
    for r in &data.references {
        polyline(r.clone());
    }
    out
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

impl KSeriesFigure {
    fn draw_chart<'a, DB: DrawingBackend + 'a, Y>(
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
                super::draw_legend(chart, position)
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
fn chart_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA);
    builder
}

/// Draws the legend box in the house style into `area`, starting `top`
/// pixels below its upper edge.
fn draw_outside_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor, bool, bool)],
    top: i32,
    font: &TextStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, _) = area.dim_in_pixel();
    let height = (LEGEND_ROW * entries.len() as u32 + 12) as i32;
    let right = width.saturating_sub(MARGIN) as i32;
    area.draw(&Rectangle::new(
        [(0, top), (right, top + height)],
        WHITE.mix(0.85).filled(),
    ))?;
    area.draw(&Rectangle::new(
        [(0, top), (right, top + height)],
        BLACK.mix(0.3),
    ))?;
    let style = font.pos(Pos::new(HPos::Left, VPos::Center));
    for (k, (label, color, dashed, marker)) in entries.iter().enumerate() {
        let y = top + 6 + LEGEND_ROW as i32 * k as i32 + LEGEND_ROW as i32 / 2;
        let (x0, x1) = (8, 8 + 22);
        let line = if *marker {
            color.stroke_width(2)
        } else {
            color.mix(0.8).stroke_width(1)
        };
        if *dashed {
            area.draw(&PathElement::new([(x0, y), (x0 + 8, y)], line))?;
            area.draw(&PathElement::new([(x0 + 13, y), (x1, y)], line))?;
        } else {
            area.draw(&PathElement::new([(x0, y), (x1, y)], line))?;
        }
        if *marker {
            area.draw(&Circle::new(
                ((x0 + x1) / 2, y),
                MARKER_RADIUS,
                color.filled(),
            ))?;
        }
        area.draw(&Text::new(
            label.clone(),
            (x0 + LEGEND_SAMPLE as i32, y),
            style.clone(),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legend_goes_to_the_first_free_corner_or_outside() {
        let size = (0.3, 0.2);
        assert_eq!(
            legend_place(&[], size),
            LegendPlace::Inside(Corner::UpperRight)
        );
        // A point in the upper right pushes it upper left, and so on.
        let ur = (0.9, 0.9);
        let ul = (0.1, 0.95);
        let lr = (0.95, 0.05);
        let ll = (0.0, 0.0);
        assert_eq!(
            legend_place(&[ur], size),
            LegendPlace::Inside(Corner::UpperLeft)
        );
        assert_eq!(
            legend_place(&[ur, ul], size),
            LegendPlace::Inside(Corner::LowerRight)
        );
        assert_eq!(
            legend_place(&[ur, ul, lr], size),
            LegendPlace::Inside(Corner::LowerLeft)
        );
        assert_eq!(legend_place(&[ur, ul, lr, ll], size), LegendPlace::Outside);
        // A point just outside the box (box + margin = 0.33 wide) is no
        // obstacle; a legend as large as the plot never fits.
        assert_eq!(
            legend_place(&[(0.66, 0.9)], size),
            LegendPlace::Inside(Corner::UpperRight)
        );
        assert_eq!(legend_place(&[], (1.0, 0.1)), LegendPlace::Outside);
    }

    #[test]
    fn occupied_samples_lines_between_points() {
        // A segment whose ends lie in no corner box but whose middle crosses
        // the upper right one (x ≥ 0.67, y ≥ 0.77): at x = 0.7 it is at
        // y = 0.81.
        let size = (0.3, 0.2);
        let ends = [(0.5, 0.95), (1.0, 0.6)];
        assert_eq!(
            legend_place(&ends, size),
            LegendPlace::Inside(Corner::UpperRight)
        );
        let data = Cleaned {
            series: vec![],
            references: vec![ends.to_vec()],
        };
        let points = occupied(&data, (0.0, 1.0), (0.0, 1.0), false);
        assert_eq!(points.len(), 2 + SEGMENT_SAMPLES - 1);
        assert_eq!(
            legend_place(&points, size),
            LegendPlace::Inside(Corner::UpperLeft)
        );
        // The same in data units on a log axis: y from 10 to 1000 is 1..3
        // decades, so 10^2.9 sits at fraction 0.95.
        let data = Cleaned {
            series: vec![],
            references: vec![vec![(5.0, 10f64.powf(2.9)), (10.0, 10f64.powf(2.2))]],
        };
        let points = occupied(&data, (0.0, 10.0), (1.0, 3.0), true);
        assert!((points[0].0 - 0.5).abs() < 1e-12 && (points[0].1 - 0.95).abs() < 1e-12);
        assert_eq!(
            legend_place(&points, size),
            LegendPlace::Inside(Corner::UpperLeft)
        );
    }

    #[test]
    fn log_ranges_always_hold_a_power_of_ten() {
        // Wide ranges are only padded by 5 % of their span.
        let (lo, hi) = log_decades(-6.0, 2.0);
        assert!((lo + 6.4).abs() < 1e-12 && (hi - 2.4).abs() < 1e-12);
        // Narrow ones snap out to whole decades.
        let snapped = |r: (f64, f64), lo: f64, hi: f64| r == (lo - SNAP_SLACK, hi + SNAP_SLACK);
        assert!(snapped(log_decades(0.45, 0.5), 0.0, 1.0));
        assert!(snapped(log_decades(-1.2, -0.6), -2.0, 0.0));
        // A single value 1 (log10 1 = 0, a zero span padded by ±0.5): one
        // full decade always holds a power of ten, so it is kept ...
        assert_eq!(log_decades(0.0, 0.0), (-0.5, 0.5));
        // ... while 100 alone (padded by ±10 % to 1.8..2.2) snaps out.
        assert!(snapped(log_decades(2.0, 2.0), 1.0, 3.0));
    }

    #[test]
    fn log_ticks_cover_the_whole_range_once() {
        // 2.4e-3 .. 3.9e-2: labelled from 3e-3 on, not only from 1e-2 on.
        let (bold, light) = log_ticks(2.4e-3, 3.9e-2);
        assert_eq!(bold, vec![3e-3, 5e-3, 1e-2, 2e-2, 3e-2]);
        assert_eq!(light.len(), 7 + 3);
        assert!(light.windows(2).all(|w| w[0] < w[1]), "{light:?}");
        // Ends that are ticks are kept; wide ranges label powers only.
        assert_eq!(
            log_ticks(1.0, 100.0).0,
            vec![1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0]
        );
        assert_eq!(
            log_ticks(1e-6, 1e2).0,
            vec![1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
        );
        // Every bold tick gets a label, and only those.
        assert!(bold.iter().all(|&v| !log_tick(v).is_empty()));
        assert!(light
            .iter()
            .filter(|v| !bold.contains(v))
            .all(|&v| log_tick(v).is_empty()));
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(-0.0), "0");
        assert_eq!(tick(0.5927), "0.5927");
        assert_eq!(tick(1e-6), "1e-6");
        assert_eq!(tick(1e5), "1e5");
        assert_eq!(log_tick(0.3), "0.3");
        assert_eq!(log_tick(0.7), "");
        assert_eq!(log_tick(1e-6), "1e-6");
        assert_eq!(log_tick(5e-6), "5e-6");
        assert_eq!(log_tick(9.0), "");
        assert_eq!(tick(9.9999999e-5), "1e-4");
        assert_eq!(tick(2.5e-7), "2.5e-7");
    }

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
