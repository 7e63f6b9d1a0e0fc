//! `ismc demo`: the main job behind the README's first command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `ismc demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output directory for the report, tables and figures.
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs the demo: today the lattice study (thresholds for d = 2, 3, 4, 6, 8,
/// 13, site and bond, and crossing curves in 2-D).
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = ismc::experiment::lattice_study::LatticeStudyConfig::quick();
    cfg.seed = args.seed;
    crate::cli::lattice::study(&cfg, &args.out.join("lattice"))?;
    Ok(ExitCode::SUCCESS)
}
