//! `ismc figures DIR`: redraw figures from stored results, never recomputing.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `ismc figures`.
#[derive(Debug, Args)]
pub struct FiguresArgs {
    /// A run directory of `ismc run` (any experiment), or a results
    /// directory of `ismc lattice study` / `ismc demo` (its `lattice/`
    /// subdirectory is used when present).
    pub dir: PathBuf,
    /// Where to write the PNG and SVG files (default: DIR/figures).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Redraws the figures.
pub fn run(args: FiguresArgs) -> anyhow::Result<ExitCode> {
    if args.dir.join("config.toml").exists() {
        let out = args.out.unwrap_or_else(|| args.dir.join("figures"));
        for path in ismc::experiment::registry::figures(&args.dir, &out)? {
            println!("{}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let dir = if args.dir.join("lattice").join("thresholds.csv").exists() {
        args.dir.join("lattice")
    } else {
        args.dir
    };
    let out = args.out.unwrap_or_else(|| dir.join("figures"));
    for path in ismc::experiment::studies::lattice::draw_figures(&dir, &out)? {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
