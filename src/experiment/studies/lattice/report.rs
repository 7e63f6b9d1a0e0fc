//! The Markdown report of a lattice study: the thresholds table against
//! the published values, and the figure links.

use std::path::{Path, PathBuf};

use super::ThresholdRow;
use crate::atomic::write_atomic;
use crate::error::Result;

/// Writes `report.md` in `dir`: the thresholds table and the figures.
pub fn write_report(dir: &Path, rows: &[ThresholdRow], figures: &[PathBuf]) -> Result<()> {
    let mut md = String::from("# ismc lattice study\n\n## Percolation thresholds of Z^d\n\n");
    md.push_str(
        "| d | kind | method | p_c (ismc) | stderr | literature | z | rel. error | samples | s |\n",
    );
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {:.7} | {:.1e} | {:.7} | {:+.2} | {:+.1e} | {} | {:.1} |\n",
            r.dim,
            r.kind,
            r.method,
            r.p_c,
            r.stderr,
            r.literature,
            r.z,
            r.relative_error,
            r.samples,
            r.seconds
        ));
    }
    md.push_str("\n## Figures\n\n");
    for f in figures
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
    {
        let rel = f.strip_prefix(dir).unwrap_or(f);
        md.push_str(&format!("![{}]({})\n\n", rel.display(), rel.display()));
    }
    write_atomic(&dir.join("report.md"), md.as_bytes())
}
