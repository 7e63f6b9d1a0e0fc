//! The legend of a k-series figure: its entries, the choice of a free
//! corner of the plot (or a column beside it), and the legend box drawn
//! outside the plot.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::series_color;
use super::cleaned::Cleaned;
use super::{KSeriesFigure, LEGEND_ROW, LEGEND_SAMPLE, MARGIN, MARKER_RADIUS, SEGMENT_SAMPLES};

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

/// All drawn points and lines, sampled, as fractions of the plot.
pub(super) fn occupied(
    data: &Cleaned,
    x: (f64, f64),
    y: (f64, f64),
    log_y: bool,
) -> Vec<(f64, f64)> {
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

impl KSeriesFigure {
    /// Legend entries: label, colour, dashed, with marker.
    pub(super) fn entries(&self) -> Vec<(String, RGBColor, bool, bool)> {
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

/// Draws the legend box in the house style into `area`, starting `top`
/// pixels below its upper edge.
pub(super) fn draw_outside_legend<DB: DrawingBackend>(
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
}
