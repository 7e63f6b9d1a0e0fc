//! Box plots: the distribution of one quantity (e.g. barrier maxima along
//! paths between pairs of inputs) for several groups side by side
//! ("real-real", "real-adversarial", ...).
//!
//! Each box spans the quartiles `Q1..Q3` (linear interpolation between order
//! statistics, [`crate::stats::quantile`]) with a line at the median. With
//! `IQR = Q3 − Q1`, the whiskers reach the most extreme values inside the
//! Tukey fences
//!
//! ```text
//! Q1 − 1.5·IQR  ≤  v  ≤  Q3 + 1.5·IQR
//! ```
//!
//! and every value beyond them is drawn as a small circle (an outlier).
//!
//! On a logarithmic axis (`log_y`) quartiles, IQR and fences are computed on
//! `log10 v`, so the whiskers mean "1.5 IQR in decades" — the only reading
//! that makes sense for values spanning many decades (barrier maxima run from
//! about 1e-6 to 1e2). Values `≤ 0` cannot be shown on such an axis: they are
//! clamped to the smallest positive value in the figure (the lowest value
//! drawn) and still counted. Non-finite values are skipped everywhere; the
//! `n` in each group's label counts the finite values drawn.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{log_decades, log_tick, log_ticks, padded, tick};
use super::{label_font, title_font, Figure, PALETTE};
use crate::stats::quantile;

/// Width of a box as a fraction of the distance between groups.
const BOX_WIDTH: f64 = 0.5;
/// Width of the whisker caps as a fraction of the distance between groups.
const CAP_WIDTH: f64 = 0.25;
/// Radius in pixels of an outlier circle.
const OUTLIER_RADIUS: i32 = 3;
/// Text style size of the group labels under the x axis.
const GROUP_FONT_SIZE: u32 = 16;

/// One group: a label and its values.
#[derive(Debug, Clone)]
pub struct BoxGroup {
    /// Name of the group, e.g. "real-real"; drawn as "real-real (n=512)".
    pub label: String,
    /// The values; non-finite ones are skipped.
    pub values: Vec<f64>,
}

/// The figure: one box per group, left to right in the given order.
#[derive(Debug, Clone)]
pub struct BoxFigure {
    /// Title, e.g. "barrier maxima along linear paths".
    pub title: String,
    /// What is on the y axis, e.g. "max barrier".
    pub y_label: String,
    /// Logarithmic y axis; values `≤ 0` are then clamped (see the module doc).
    pub log_y: bool,
    /// Groups, one box each.
    pub groups: Vec<BoxGroup>,
}

/// The summary that one box draws, in data units.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxStats {
    /// Number of values summarised.
    pub n: usize,
    /// Lower quartile Q1 (linear interpolation between order statistics).
    pub q1: f64,
    /// Median of the values, drawn as the line across the box.
    pub median: f64,
    /// Upper quartile Q3 (linear interpolation between order statistics).
    pub q3: f64,
    /// Lower whisker end: the smallest value inside the lower fence.
    pub whisker_low: f64,
    /// Upper whisker end: the largest value inside the upper fence.
    pub whisker_high: f64,
    /// Values outside the fences, ascending.
    pub outliers: Vec<f64>,
}

impl BoxStats {
    /// Summarises the finite entries of `values`, or `None` if there are
    /// none. With `log_floor = Some(floor)` (`floor > 0`) values below `floor`
    /// are raised to it and the statistics are computed on `log10 v`, then
    /// mapped back; with `None` they are computed on `v` itself.
    pub fn of(values: &[f64], log_floor: Option<f64>) -> Option<Self> {
        let log = log_floor.is_some();
        let to = |v: f64| if log { v.log10() } else { v };
        let from = |t: f64| if log { 10f64.powf(t) } else { t };
        let mut t: Vec<f64> = values
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| to(log_floor.map_or(v, |floor| v.max(floor))))
            .collect();
        if t.is_empty() {
            return None;
        }
        t.sort_by(f64::total_cmp);
        let (q1, median, q3) = (quantile(&t, 0.25), quantile(&t, 0.5), quantile(&t, 0.75));
        let iqr = q3 - q1;
        let (fence_low, fence_high) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
        let mut inside = t.iter().filter(|&&v| v >= fence_low && v <= fence_high);
        // The quartiles lie inside the fences, so `inside` is never empty;
        // with a single element inside, both whiskers end on it.
        let whisker_low = inside.next().copied().unwrap_or(q1);
        let whisker_high = inside.next_back().copied().unwrap_or(whisker_low);
        let outliers = t
            .iter()
            .filter(|&&v| v < fence_low || v > fence_high)
            .map(|&v| from(v))
            .collect();
        Some(Self {
            n: t.len(),
            q1: from(q1),
            median: from(median),
            q3: from(q3),
            whisker_low: from(whisker_low),
            whisker_high: from(whisker_high),
            outliers,
        })
    }
}

impl BoxFigure {
    /// The smallest positive finite value of all groups (the clamp floor on a
    /// log axis), if any.
    fn smallest_positive(&self) -> Option<f64> {
        self.groups
            .iter()
            .flat_map(|g| g.values.iter().copied())
            .filter(|v| v.is_finite() && *v > 0.0)
            .min_by(f64::total_cmp)
    }

    /// The label under a group's box: "label (n=…)" on one line, or split
    /// over two lines when `one_line_fits` is false.
    fn group_label(group: &BoxGroup, stats: Option<&BoxStats>, one_line_fits: bool) -> Vec<String> {
        let n = format!("(n={})", stats.map_or(0, |s| s.n));
        if one_line_fits {
            vec![format!("{} {n}", group.label)]
        } else {
            vec![group.label.clone(), n]
        }
    }
}

impl Figure for BoxFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        let floor = if self.log_y {
            // Without any positive value nothing is drawn; 1 is as good a
            // floor as any for an empty axis.
            Some(self.smallest_positive().unwrap_or(1.0))
        } else {
            None
        };
        let stats: Vec<Option<BoxStats>> = self
            .groups
            .iter()
            .map(|g| BoxStats::of(&g.values, floor))
            .collect();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for s in stats.iter().flatten() {
            let first = s
                .outliers
                .first()
                .map_or(s.whisker_low, |&o| o.min(s.whisker_low));
            let last = s
                .outliers
                .last()
                .map_or(s.whisker_high, |&o| o.max(s.whisker_high));
            lo = lo.min(first);
            hi = hi.max(last);
        }
        let groups = self.groups.len().max(1) as f64;
        let x_range = -0.5..groups - 0.5;
        let group_font: TextStyle = ("sans-serif", GROUP_FONT_SIZE).into_font().into();
        let slot_width = root.dim_in_pixel().0 as f64 / groups;
        let one_line_fits = self.groups.iter().zip(&stats).all(|(g, s)| {
            let text = &Self::group_label(g, s.as_ref(), true)[0];
            root.estimate_text_size(text, &group_font)
                .is_ok_and(|(w, _)| (w as f64) < 0.9 * slot_width)
        });
        let label_lines = if one_line_fits { 1 } else { 2 };
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(&self.title, title_font())
            .margin(16)
            .x_label_area_size(16 + 22 * label_lines)
            .y_label_area_size(80);
        if self.log_y {
            let (lo, hi) = if lo.is_finite() {
                let (l, h) = log_decades(lo.log10(), hi.log10());
                (10f64.powf(l), 10f64.powf(h))
            } else {
                (0.1, 10.0)
            };
            let (bold, light) = log_ticks(lo, hi);
            let mut chart = builder
                .build_cartesian_2d(
                    x_range,
                    (lo..hi)
                        .log_scale()
                        .with_key_points(bold)
                        .with_light_points(light),
                )
                .map_err(e)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc(self.y_label.as_str())
                .axis_desc_style(label_font())
                .label_style(("sans-serif", 16))
                .y_label_formatter(&|y| log_tick(*y))
                .draw()
                .map_err(e)?;
            draw_boxes(&mut chart, &stats).map_err(e)?;
            draw_group_labels(root, &chart, self, &stats, one_line_fits, &group_font, lo).map_err(e)
        } else {
            let (lo, hi) = if lo.is_finite() {
                padded(lo, hi)
            } else {
                (0.0, 1.0)
            };
            let mut chart = builder.build_cartesian_2d(x_range, lo..hi).map_err(e)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc(self.y_label.as_str())
                .axis_desc_style(label_font())
                .label_style(("sans-serif", 16))
                .y_label_formatter(&|y| tick(*y))
                .draw()
                .map_err(e)?;
            draw_boxes(&mut chart, &stats).map_err(e)?;
            draw_group_labels(root, &chart, self, &stats, one_line_fits, &group_font, lo).map_err(e)
        }
    }
}

/// Draws boxes, medians, whiskers and outliers (group `i` centred at `x = i`).
fn draw_boxes<'a, DB: DrawingBackend + 'a, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    stats: &[Option<BoxStats>],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    Y: Ranged<ValueType = f64>,
{
    for (i, s) in stats.iter().enumerate() {
        let Some(s) = s else { continue };
        let color = PALETTE[i % PALETTE.len()];
        let x = i as f64;
        let (bl, br) = (x - BOX_WIDTH / 2.0, x + BOX_WIDTH / 2.0);
        let (cl, cr) = (x - CAP_WIDTH / 2.0, x + CAP_WIDTH / 2.0);
        let line = color.stroke_width(2);
        chart.draw_series([
            PathElement::new([(x, s.whisker_low), (x, s.q1)], line),
            PathElement::new([(x, s.q3), (x, s.whisker_high)], line),
            PathElement::new([(cl, s.whisker_low), (cr, s.whisker_low)], line),
            PathElement::new([(cl, s.whisker_high), (cr, s.whisker_high)], line),
        ])?;
        chart.draw_series([
            Rectangle::new([(bl, s.q1), (br, s.q3)], color.mix(0.25).filled()),
            Rectangle::new([(bl, s.q1), (br, s.q3)], line),
        ])?;
        chart.draw_series([PathElement::new(
            [(bl, s.median), (br, s.median)],
            BLACK.stroke_width(3),
        )])?;
        chart.draw_series(
            s.outliers
                .iter()
                .map(|&o| Circle::new((x, o), OUTLIER_RADIUS, color.stroke_width(1))),
        )?;
    }
    Ok(())
}

/// Writes each group's label, centred under its box, below the x axis.
fn draw_group_labels<'a, DB: DrawingBackend + 'a, Y>(
    root: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    figure: &BoxFigure,
    stats: &[Option<BoxStats>],
    one_line_fits: bool,
    font: &TextStyle,
    y_bottom: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    Y: Ranged<ValueType = f64>,
{
    let style = font.pos(Pos::new(HPos::Center, VPos::Top));
    for (i, (group, s)) in figure.groups.iter().zip(stats).enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64, y_bottom));
        let lines = BoxFigure::group_label(group, s.as_ref(), one_line_fits);
        for (k, line) in lines.iter().enumerate() {
            root.draw(&Text::new(
                line.clone(),
                (px, py + 8 + 22 * k as i32),
                style.clone(),
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tukey_summary_of_a_hand_computed_sample() {
        // 1..=9 plus 30: n = 10, positions (n−1)q = 2.25, 4.5, 6.75 give
        // Q1 = 3.25, median = 5.5, Q3 = 7.75; IQR = 4.5, fences −3.5 and
        // 14.5: 30 is an outlier, whiskers at 1 and 9. NaN is skipped.
        let mut values: Vec<f64> = (1..=9).map(f64::from).collect();
        values.extend([30.0, f64::NAN]);
        let s = BoxStats::of(&values, None).unwrap();
        assert_eq!(s.n, 10);
        assert_eq!((s.q1, s.median, s.q3), (3.25, 5.5, 7.75));
        assert_eq!((s.whisker_low, s.whisker_high), (1.0, 9.0));
        assert_eq!(s.outliers, vec![30.0]);
    }

    #[test]
    fn log_summary_works_in_decades_and_clamps_non_positive_values() {
        // Decades −6..=2 (9 values): in log10 Q1 = −4, median −2, Q3 = 0,
        // IQR 4 decades, fences at −10 and 6: no outliers. Adding 1e9 (9 > 6)
        // makes one; 0 and −1 are raised to the floor 1e-6.
        let mut values: Vec<f64> = (-6..=2).map(|k| 10f64.powi(k)).collect();
        let s = BoxStats::of(&values, Some(1e-6)).unwrap();
        let close = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-12;
        assert!(close(s.q1, 1e-4) && close(s.median, 1e-2) && close(s.q3, 1.0));
        assert!(close(s.whisker_low, 1e-6) && close(s.whisker_high, 1e2));
        assert!(s.outliers.is_empty());
        values.extend([1e9, 0.0, -1.0]);
        let s = BoxStats::of(&values, Some(1e-6)).unwrap();
        assert_eq!(s.n, 12);
        assert_eq!(s.outliers.len(), 1);
        assert!(close(s.outliers[0], 1e9));
        assert!(close(s.whisker_low, 1e-6));
        // On a linear scale the same data has 1e9 far out and 1e2 inside.
        let lin = BoxStats::of(&values, None).unwrap();
        assert_eq!(lin.whisker_low, -1.0);
    }

    #[test]
    fn summary_of_degenerate_samples() {
        assert_eq!(BoxStats::of(&[], None), None);
        assert_eq!(BoxStats::of(&[f64::NAN, f64::INFINITY], None), None);
        let s = BoxStats::of(&[2.0; 5], None).unwrap();
        assert_eq!((s.q1, s.median, s.q3), (2.0, 2.0, 2.0));
        assert_eq!((s.whisker_low, s.whisker_high), (2.0, 2.0));
        assert!(s.outliers.is_empty());
    }

    fn assert_saved(figure: &BoxFigure, dir: &std::path::Path, name: &str) {
        let (png, svg) = super::super::save(figure, &dir.join(name)).unwrap();
        // A blank 900×620 PNG compresses to well under 5 kB; axes, ticks and
        // text push it far above that.
        assert!(std::fs::metadata(&png).unwrap().len() > 5_000);
        let svg_text = std::fs::read_to_string(&svg).unwrap();
        assert!(svg_text.len() > 2_000 && svg_text.contains(&figure.y_label));
    }

    #[test]
    fn saves_png_and_svg_including_degenerate_input() {
        let dir = tempfile::tempdir().unwrap();
        let spread = |scale: f64, n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| scale * 10f64.powf(3.0 * ((i as f64 * 0.618).fract() - 0.5)))
                .collect()
        };
        let mut adversarial = spread(1e-3, 300);
        adversarial.extend([0.0, -1e-9, 1e2]);
        let groups = vec![
            BoxGroup {
                label: "real-real".into(),
                values: spread(1.0, 512),
            },
            BoxGroup {
                label: "real-adversarial".into(),
                values: adversarial,
            },
            BoxGroup {
                label: "adversarial-adversarial".into(),
                values: spread(1e-4, 64),
            },
        ];
        for log_y in [true, false] {
            let figure = BoxFigure {
                title: "barrier maxima along linear paths".into(),
                y_label: "max barrier".into(),
                log_y,
                groups: groups.clone(),
            };
            assert_saved(&figure, dir.path(), &format!("box-{log_y}"));
            let degenerate = BoxFigure {
                title: String::new(),
                y_label: "value".into(),
                log_y,
                groups: vec![
                    BoxGroup {
                        label: "empty".into(),
                        values: vec![],
                    },
                    BoxGroup {
                        label: "nan".into(),
                        values: vec![f64::NAN, f64::NEG_INFINITY],
                    },
                    BoxGroup {
                        label: "single".into(),
                        values: vec![3.0],
                    },
                    BoxGroup {
                        label: "all equal".into(),
                        values: vec![3.0; 7],
                    },
                    BoxGroup {
                        label: "non-positive".into(),
                        values: vec![0.0, -2.0],
                    },
                ],
            };
            assert_saved(&degenerate, dir.path(), &format!("box-degenerate-{log_y}"));
            let none = BoxFigure {
                title: "nothing".into(),
                y_label: "value".into(),
                log_y,
                groups: vec![],
            };
            assert_saved(&none, dir.path(), &format!("box-none-{log_y}"));
        }
    }
}
