//! Crossing probabilities `R_L(p)` for several lattice sizes: the curves steepen
//! with `L` and cross near `p_c` — the picture behind finite-size scaling.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{label_font, title_font, Figure, PALETTE};

/// One curve `R_L(p)`.
#[derive(Debug, Clone)]
pub struct CrossingCurve {
    /// Lattice side `L`.
    pub side: usize,
    /// `(p, R, stderr)` points in ascending `p`.
    pub points: Vec<(f64, f64, f64)>,
}

/// The figure: curves, the estimated threshold band and the published value.
#[derive(Debug, Clone)]
pub struct CrossingFigure {
    /// Title, e.g. "site percolation, d = 2, periodic".
    pub title: String,
    /// What is on the y axis, e.g. "P(cluster wraps)".
    pub y_label: String,
    /// Curves for increasing `L`.
    pub curves: Vec<CrossingCurve>,
    /// Estimated threshold and its standard error, if any.
    pub estimate: Option<(f64, f64)>,
    /// Published threshold, if any.
    pub literature: Option<f64>,
}

impl Figure for CrossingFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for c in &self.curves {
            for &(p, _, _) in &c.points {
                lo = lo.min(p);
                hi = hi.max(p);
            }
        }
        if !lo.is_finite() {
            return Err("no curve points".into());
        }
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, title_font())
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(lo..hi, 0f64..1f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("occupation probability p")
            .y_desc(self.y_label.as_str())
            .axis_desc_style(label_font())
            .label_style(("sans-serif", 16))
            .x_label_formatter(&|x| format!("{x:.3}"))
            .draw()
            .map_err(e)?;
        if let Some((p, err)) = self.estimate {
            let band = (2.0 * err).max((hi - lo) * 0.002);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(p - band, 0.0), (p + band, 1.0)],
                    RGBColor(200, 200, 200).mix(0.6).filled(),
                )))
                .map_err(e)?
                .label(format!("estimate {p:.5} ± {err:.5}"))
                .legend(|(x, y)| {
                    Rectangle::new(
                        [(x, y - 5), (x + 18, y + 5)],
                        RGBColor(200, 200, 200).filled(),
                    )
                });
        }
        if let Some(p) = self.literature {
            chart
                .draw_series(LineSeries::new([(p, 0.0), (p, 1.0)], BLACK.stroke_width(1)))
                .map_err(e)?
                .label(format!("literature p_c = {p:.5}"))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK));
        }
        for (i, c) in self.curves.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    c.points.iter().map(|&(p, r, _)| (p, r)),
                    color.stroke_width(2),
                ))
                .map_err(e)?
                .label(format!("L = {}", c.side))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    c.points.iter().map(|&(p, r, s)| {
                        PathElement::new([(p, r - s), (p, r + s)], color.mix(0.5))
                    }),
                )
                .map_err(e)?;
        }
        super::draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
