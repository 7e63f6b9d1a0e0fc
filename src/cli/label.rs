//! `ismc lattice label`: the clusters of a user's boolean grid stored as .npy.
//!
//! Everything is computed before anything is printed, so an error leaves
//! stdout empty.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ismc::percolation::label::{label, npy, LabelResult};

/// Arguments of `ismc lattice label`.
///
/// Clusters are sets of occupied sites joined through faces (2d neighbours in
/// d dimensions), as in `scipy.ndimage.label` with its default structure.
#[derive(Debug, clap::Args)]
pub struct LabelArgs {
    /// The grid: a .npy file (numpy.save) holding a bool or uint8 array of 0s
    /// and 1s (1 = occupied) with 1 to 16 axes, C or Fortran order.
    #[arg(long, value_name = "FILE.npy")]
    pub input: PathBuf,
    /// Identify opposite faces (a torus) and report, per axis, whether a
    /// cluster wraps around it. Spanning is always reported with open
    /// boundaries.
    #[arg(long)]
    pub periodic: bool,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The JSON document printed with `--json`.
#[derive(serde::Serialize)]
struct Report<'a> {
    input: &'a std::path::Path,
    #[serde(flatten)]
    result: &'a LabelResult,
}

/// Runs `ismc lattice label`.
pub fn run(args: LabelArgs) -> anyhow::Result<ExitCode> {
    // Format errors already say what was expected; I/O errors do not.
    let grid = npy::read_grid(&args.input).map_err(|e| match e {
        ismc::Error::Io { .. } => anyhow::Error::new(e).context(
            "reading --input (expected a .npy file holding a bool or uint8 array of 0s and 1s)",
        ),
        e => e.into(),
    })?;
    let result = label(&grid.occupied, &grid.shape, args.periodic)?;
    drop(grid);
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&Report {
            input: &args.input,
            result: &result,
        })?;
        s.push('\n');
        s
    } else {
        render_text(&args.input, &result)
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// How many of the smallest and of the largest sizes the text report lists.
const SIZES_SHOWN: usize = 8;

/// The human-readable report.
fn render_text(input: &std::path::Path, r: &LabelResult) -> String {
    let yes_no = |flags: &[bool]| {
        flags
            .iter()
            .enumerate()
            .map(|(axis, &f)| format!("axis {axis}: {}", if f { "yes" } else { "no" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let percent = |x: u64| 100.0 * x as f64 / r.n_sites.max(1) as f64;
    let shape = r
        .shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" × ");
    let mut s = String::new();
    let _ = writeln!(s, "input      {}", input.display());
    let _ = writeln!(
        s,
        "grid       {shape} ({} sites), {} boundaries",
        r.n_sites,
        if r.periodic { "periodic" } else { "open" }
    );
    let _ = writeln!(
        s,
        "occupied   {} ({:.2} %)",
        r.n_occupied,
        percent(r.n_occupied)
    );
    let _ = writeln!(
        s,
        "clusters   {}, largest {} sites ({:.2} % of the grid)",
        r.n_clusters,
        r.largest,
        percent(r.largest)
    );
    let _ = writeln!(s, "spans      {}", yes_no(&r.spans));
    if let Some(wraps) = &r.wraps {
        let _ = writeln!(s, "wraps      {}", yes_no(wraps));
    }
    let pairs: Vec<String> = r
        .sizes
        .iter()
        .map(|(size, count)| format!("{size}×{count}"))
        .collect();
    let listed = if pairs.len() <= 2 * SIZES_SHOWN {
        pairs.join(", ")
    } else {
        format!(
            "{}, … {} more …, {}  (--json lists all)",
            pairs[..SIZES_SHOWN].join(", "),
            pairs.len() - 2 * SIZES_SHOWN,
            pairs[pairs.len() - SIZES_SHOWN..].join(", ")
        )
    };
    let _ = writeln!(
        s,
        "sizes      size×count: {}",
        if listed.is_empty() { "none" } else { &listed }
    );
    s
}
