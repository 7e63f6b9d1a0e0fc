//! stub
use std::process::ExitCode;
/// Arguments of `ismc lattice label`.
#[derive(Debug, clap::Args)]
pub struct LabelArgs {}
/// Runs `ismc lattice label`.
pub fn run(_a: LabelArgs) -> anyhow::Result<ExitCode> { Ok(ExitCode::SUCCESS) }
