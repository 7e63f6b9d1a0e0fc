//! Loss heatmaps of 2-D slices of input space: the loss field on the grid,
//! the low-loss cluster that joins the two modes, and the minimax path.
//!
//! Each grid site is a cell coloured by `log10` of its loss on a perceptual
//! (viridis-like) scale, with a colour bar on the right. The cluster of sites
//! with loss `≤ level` that contains A is outlined: a black edge is drawn
//! wherever a cluster cell meets a cell outside it (or the grid's border).
//! At the minimax level this is the first cluster holding both A and C. The
//! path is a polyline through the cell centres; A and C are marked.
//!
//! Axis 0 of the slice (along C − A) runs left to right, axis 1 bottom to
//! top; the field is stored in C order (`index = i0 · L1 + i1`).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{label_font, title_font, Figure};

/// Width in pixels of the colour bar.
const BAR_WIDTH: i32 = 22;
/// Space in pixels reserved right of the plot for the colour bar and labels.
const BAR_AREA: u32 = 120;
/// Margin in pixels around the chart.
const MARGIN: u32 = 16;

/// A 2-D slice's loss field and what was found on it.
#[derive(Debug, Clone)]
pub struct SliceHeatmap {
    /// Caption drawn above the heatmap.
    pub title: String,
    /// Points along axis 0 (x) and axis 1 (y).
    pub sides: [usize; 2],
    /// Loss per site, C order (`sides[0] · sides[1]` values).
    pub values: Vec<f32>,
    /// Sites of the outlined cluster (same layout), e.g. A's cluster at the
    /// minimax level.
    pub cluster: Vec<bool>,
    /// Level of the cluster, shown in the legend text.
    pub level: f32,
    /// The path to draw, as grid coordinates `(i0, i1)`.
    pub path: Vec<(u32, u32)>,
    /// Grid coordinates of A and C.
    pub endpoints: [(u32, u32); 2],
}

/// A viridis-like colour for `t ∈ [0, 1]` (piecewise linear through five
/// of matplotlib's viridis samples).
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |u: f64, v: f64| (u + f * (v - u)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl SliceHeatmap {
    /// The range of `log10` loss shown: the finite positive values' extremes
    /// (losses ≤ 0 are drawn at the bottom of the scale).
    pub fn log_range(&self) -> (f64, f64) {
        let logs = self
            .values
            .iter()
            .filter(|v| v.is_finite() && **v > 0.0)
            .map(|&v| (v as f64).log10());
        let (lo, hi) = logs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        if !lo.is_finite() {
            (-1.0, 0.0)
        } else if hi - lo < 1e-9 {
            (lo - 0.5, hi + 0.5)
        } else {
            (lo, hi)
        }
    }

    fn at(&self, i0: usize, i1: usize) -> usize {
        i0 * self.sides[1] + i1
    }
}

impl Figure for SliceHeatmap {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let [l0, l1] = self.sides;
        if l0 == 0 || l1 == 0 || self.values.len() != l0 * l1 || self.cluster.len() != l0 * l1 {
            return Err(format!(
                "heatmap of {l0}×{l1} sites needs {} values and cluster flags",
                l0 * l1
            ));
        }
        let (w, _) = root.dim_in_pixel();
        let (plot_area, bar_area) = root.split_horizontally(w - BAR_AREA);
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(&self.title, title_font())
            .margin(MARGIN)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..l0 as f64, 0f64..l1 as f64)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc("axis 0 (along C − A), grid index")
            .y_desc("axis 1, grid index")
            .axis_desc_style(label_font())
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(|x| e(&x))?;
        let (lo, hi) = self.log_range();
        let colour = |v: f32| {
            let t = if v > 0.0 && v.is_finite() {
                ((v as f64).log10() - lo) / (hi - lo)
            } else {
                0.0
            };
            viridis(t)
        };
        chart
            .draw_series((0..l0).flat_map(|i0| {
                (0..l1).map(move |i1| (i0, i1)).map(|(i0, i1)| {
                    Rectangle::new(
                        [(i0 as f64, i1 as f64), (i0 as f64 + 1.0, i1 as f64 + 1.0)],
                        colour(self.values[self.at(i0, i1)]).filled(),
                    )
                })
            }))
            .map_err(|x| e(&x))?;
        // Cluster outline: every cell edge between a member and a non-member.
        let member = |i0: isize, i1: isize| {
            i0 >= 0
                && i1 >= 0
                && (i0 as usize) < l0
                && (i1 as usize) < l1
                && self.cluster[self.at(i0 as usize, i1 as usize)]
        };
        let mut edges = Vec::new();
        for i0 in 0..l0 as isize {
            for i1 in 0..l1 as isize {
                if !member(i0, i1) {
                    continue;
                }
                let (x, y) = (i0 as f64, i1 as f64);
                if !member(i0 - 1, i1) {
                    edges.push([(x, y), (x, y + 1.0)]);
                }
                if !member(i0 + 1, i1) {
                    edges.push([(x + 1.0, y), (x + 1.0, y + 1.0)]);
                }
                if !member(i0, i1 - 1) {
                    edges.push([(x, y), (x + 1.0, y)]);
                }
                if !member(i0, i1 + 1) {
                    edges.push([(x, y + 1.0), (x + 1.0, y + 1.0)]);
                }
            }
        }
        let outline = BLACK.stroke_width(2);
        chart
            .draw_series(
                edges
                    .into_iter()
                    .map(|s| PathElement::new(s.to_vec(), outline)),
            )
            .map_err(|x| e(&x))?
            .label(format!("cluster of A at loss ≤ {:.3e}", self.level))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], outline));
        let centre = |(a, b): (u32, u32)| (a as f64 + 0.5, b as f64 + 0.5);
        let path_style = RGBColor(213, 94, 0).stroke_width(3);
        chart
            .draw_series(std::iter::once(PathElement::new(
                self.path.iter().copied().map(centre).collect::<Vec<_>>(),
                path_style,
            )))
            .map_err(|x| e(&x))?
            .label("minimax path")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], path_style));
        for (p, name) in self.endpoints.iter().zip(["A", "C"]) {
            let (x, y) = centre(*p);
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, y))
                        + Circle::new((0, 0), 7, WHITE.filled())
                        + Circle::new((0, 0), 7, BLACK.stroke_width(2))
                        + Text::new(name, (10, -10), ("sans-serif", 20).into_font()),
                ))
                .map_err(|x| e(&x))?;
        }
        super::draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        // Colour bar: log10 loss from lo (bottom) to hi (top).
        let (_, bh) = bar_area.dim_in_pixel();
        let top = MARGIN as i32 + 40;
        let bottom = bh as i32 - 50 - MARGIN as i32;
        let steps = (bottom - top).max(1);
        for s in 0..steps {
            let t = 1.0 - s as f64 / steps as f64;
            bar_area
                .draw(&Rectangle::new(
                    [(10, top + s), (10 + BAR_WIDTH, top + s + 1)],
                    viridis(t).filled(),
                ))
                .map_err(|x| e(&x))?;
        }
        bar_area
            .draw(&Rectangle::new(
                [(10, top), (10 + BAR_WIDTH, bottom)],
                BLACK.stroke_width(1),
            ))
            .map_err(|x| e(&x))?;
        let ticks = 5;
        let font = ("sans-serif", 15)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for j in 0..=ticks {
            let v = lo + (hi - lo) * j as f64 / ticks as f64;
            let y = bottom - ((bottom - top) as f64 * j as f64 / ticks as f64).round() as i32;
            bar_area
                .draw(&Text::new(format!("{v:.1}"), (14 + BAR_WIDTH, y), &font))
                .map_err(|x| e(&x))?;
        }
        bar_area
            .draw(&Text::new(
                "log10 loss",
                (4, top - 24),
                ("sans-serif", 16).into_font(),
            ))
            .map_err(|x| e(&x))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_runs_from_dark_purple_to_yellow_and_clamps() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        // Brightness (sum of channels) increases along the scale.
        let b = |t: f64| {
            let c = viridis(t);
            c.0 as u32 + c.1 as u32 + c.2 as u32
        };
        assert!((0..10).all(|i| b(i as f64 / 10.0) < b((i + 1) as f64 / 10.0)));
    }

    #[test]
    fn renders_to_png_and_svg_and_refuses_a_wrong_size() {
        let (l0, l1) = (7, 5);
        let values: Vec<f32> = (0..l0 * l1).map(|i| 1e-4 * (1 + i) as f32).collect();
        let cluster: Vec<bool> = values.iter().map(|&v| v <= 2e-3).collect();
        let fig = SliceHeatmap {
            title: "test".into(),
            sides: [l0, l1],
            values,
            cluster,
            level: 2e-3,
            path: vec![(0, 0), (1, 0), (2, 0)],
            endpoints: [(0, 0), (2, 0)],
        };
        let dir = tempfile::tempdir().unwrap();
        let (png, svg) = crate::plot::save(&fig, &dir.path().join("h")).unwrap();
        assert!(std::fs::metadata(png).unwrap().len() > 1000);
        let text = std::fs::read_to_string(svg).unwrap();
        assert!(text.contains("minimax path") && text.contains("log10 loss"));
        let (lo, hi) = fig.log_range();
        assert!((lo - (-4.0)).abs() < 1e-6 && (hi - (35e-4f64).log10()).abs() < 1e-6);
        let bad = SliceHeatmap {
            values: vec![1.0; 3],
            ..fig
        };
        assert!(crate::plot::save(&bad, &dir.path().join("bad")).is_err());
    }
}
