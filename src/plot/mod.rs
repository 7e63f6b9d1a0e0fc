//! Figures for papers: PNG (for a quick look) and SVG (for print) of the same
//! drawing, with DejaVu Sans embedded so no system fonts are needed. One
//! figure type per file; a figure is drawn from already-computed results and
//! never recomputes anything.
//!
//! Each figure type implements [`Figure`]; [`save`] renders it to
//! `STEM.png` and `STEM.svg`, each written to a temporary file and renamed.

mod axis;
pub mod boxplot;
pub mod crossing;
pub mod heatmap;
pub mod k_series;
pub mod roc;
pub mod threshold_vs_dim;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// Pixel size of the PNG (the SVG uses the same user units).
pub const SIZE: (u32, u32) = (900, 620);

/// Colours for successive series (colour-blind-safe Okabe–Ito palette).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// A drawable figure.
pub trait Figure {
    /// Draws onto `root` (already filled white).
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled font is valid; registration cannot fail for it.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Renders `figure` to `stem.png` and `stem.svg` atomically; returns both paths.
pub fn save(figure: &impl Figure, stem: &Path) -> Result<(PathBuf, PathBuf)> {
    register_font();
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    let err = |p: &Path, e: String| Error::Plot {
        path: p.to_path_buf(),
        reason: e,
    };
    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&svg, e.to_string()))?;
        figure.draw(&root).map_err(|e| err(&svg, e))?;
        root.present().map_err(|e| err(&svg, e.to_string()))?;
    }
    crate::atomic::write_atomic(&svg, svg_text.as_bytes())?;
    let dir = png
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = crate::atomic::temp_file_in(dir, ".png")?;
    {
        let root = BitMapBackend::new(tmp.path(), SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&png, e.to_string()))?;
        figure.draw(&root).map_err(|e| err(&png, e))?;
        // Presenting a bitmap only encodes it into the file: a failure here
        // is the file system's (a full disk), reported as such.
        root.present()
            .map_err(|e| Error::io(&png, std::io::Error::other(e.to_string())))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(&png, e))?;
    crate::atomic::crash_point();
    tmp.persist(&png).map_err(|e| Error::io(&png, e.error))?;
    Ok((png, svg))
}

/// Draws the series legend of `chart` in the house style.
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())
}

/// Text style of axis labels.
pub fn label_font() -> TextStyle<'static> {
    ("sans-serif", 20).into_font().into()
}

/// Text style of titles.
pub fn title_font() -> TextStyle<'static> {
    ("sans-serif", 24).into_font().into()
}
