//! `ismc run`, `ismc merge` and `ismc report`: declarative experiments.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use ismc::experiment::registry::{self, RunConfig};
use ismc::experiment::runner::{RunOptions, RunOutcome, Shard};
use ismc::progress::Bar;

/// Arguments of `ismc run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment's TOML file (see experiments/ for every kind). Unknown
    /// keys, wrong types and out-of-range values are refused before anything
    /// is written.
    pub config: PathBuf,
    /// The run directory. Rerunning the same command resumes an interrupted
    /// run: finished units are kept, the rest are computed.
    #[arg(long)]
    pub out: PathBuf,
    /// Run only shard I of N (units whose index is I mod N), e.g. `0/3`;
    /// combine the shard directories with `ismc merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

/// Arguments of `ismc merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard directories of one run (same configuration).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where the merged run is written (may be one of the shard directories).
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `ismc check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The experiment's TOML file.
    pub config: PathBuf,
}

/// Runs `ismc check`: the configuration parsed, validated and its
/// experiment built, its plan printed as JSON; nothing is written.
pub fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let cfg = RunConfig::from_file(&args.config)?;
    let plan = registry::plan(&cfg)?;
    println!("{}", serde_json::to_string_pretty(&plan)?);
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `ismc report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A finished run directory.
    pub dir: PathBuf,
}

/// Runs `ismc run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let cfg = RunConfig::from_file(&args.config)?;
    let shard = match &args.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::ALL,
    };
    execute(&cfg, &args.out, shard)
}

/// Runs (or resumes) `cfg` in `out`, with a progress bar and Ctrl-C handling:
/// the first Ctrl-C lets running units finish, the second exits at once.
pub fn execute(cfg: &RunConfig, out: &Path, shard: Shard) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Only the first handler of the process can be installed; a second
        // run in the same process keeps the first (tests call this once).
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupt: finishing the running units (Ctrl-C again to abort)");
        });
    }
    let bar = Bar::new(0, cfg.kind.name());
    let outcome = registry::run(
        cfg,
        &RunOptions {
            out,
            shard,
            stop: Some(&stop),
            progress: Some(&bar),
        },
    )?;
    bar.finish();
    match outcome {
        RunOutcome::Complete => {
            eprintln!("done: {} (summary.json, report.md)", out.display());
            Ok(ExitCode::SUCCESS)
        }
        RunOutcome::ShardDone { done, total } => {
            eprintln!(
                "shard done: {done} of {total} units in {}; merge all shards with `ismc merge`",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        RunOutcome::Interrupted { done, total } => {
            eprintln!(
                "interrupted: {done} of {total} units done; rerun the same command to resume"
            );
            Ok(ExitCode::from(130))
        }
    }
}

/// Runs `ismc merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    registry::merge(&args.dirs, &args.out)?;
    eprintln!(
        "merged {} directories into {}",
        args.dirs.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `ismc report`.
pub fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let path = registry::report(&args.dir)?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
