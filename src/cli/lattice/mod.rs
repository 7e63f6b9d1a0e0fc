//! `ismc lattice …`: thresholds, sweeps and labelling on Z^d.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

mod sweep;

use ismc::percolation::Kind;
use ismc::progress::Bar;
pub use sweep::SweepArgs;

/// Lattice subcommands.
#[derive(Debug, Subcommand)]
pub enum LatticeCommand {
    /// Estimate the percolation threshold p_c(d) with an error bar and compare
    /// it with the literature.
    ///
    /// `fss` runs Newman–Ziff sweeps on tori of several sides and extrapolates
    /// the mean wrapping point; `invasion` grows invasion-percolation clusters
    /// on the unbounded lattice and extrapolates the fraction of examined sites
    /// that were invaded; `auto` picks fss for d ≤ 3 and invasion above.
    Threshold(ThresholdArgs),
    /// Newman–Ziff sweeps on one lattice: canonical observables on a p grid
    /// (CSV), per-sample first wrap/span counts (.npy) and a JSON summary.
    Sweep(SweepArgs),
    /// Label the clusters of your own boolean grid (.npy, any dimension).
    Label(crate::cli::label::LabelArgs),
    /// Thresholds for many dimensions plus crossing curves, from a TOML
    /// config (see experiments/lattice-thresholds.toml): CSV, figures, report.
    Study(StudyArgs),
}

/// Arguments of `ismc lattice study`.
#[derive(Debug, Args)]
pub struct StudyArgs {
    /// Experiment file with `kind = "lattice"` and a [params] table: dims,
    /// kinds, budget_secs, crossing_dim, crossing_sides, crossing_samples,
    /// samples_per_unit, seed, and optional [[params.budgets]] dim/secs
    /// overrides (see experiments/lattice-thresholds.toml). The same as
    /// `ismc run CONFIG --out DIR`.
    #[arg(long)]
    pub config: PathBuf,
    /// Output directory: thresholds.csv, crossing.csv, figures/, report.md.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `ismc lattice threshold`.
#[derive(Debug, Args)]
pub struct ThresholdArgs {
    /// Dimension d of the lattice Z^d (1..=16).
    #[arg(long)]
    pub dim: usize,
    /// `site` or `bond` percolation.
    #[arg(long, default_value = "site")]
    pub kind: Kind,
    /// Estimation method: `fss`, `invasion` or `auto`.
    #[arg(long, default_value = "auto")]
    pub method: ismc::scaling::threshold::Method,
    /// Wall-clock budget in seconds; the sample counts are planned to fill it.
    #[arg(long, default_value_t = 20.0)]
    pub budget_secs: f64,
    /// Master seed every sample's or run's seed derives from (same seed, same
    /// estimate).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs a lattice subcommand.
pub fn run(cmd: LatticeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LatticeCommand::Threshold(a) => threshold(a),
        LatticeCommand::Sweep(a) => sweep::sweep(a),
        LatticeCommand::Label(a) => crate::cli::label::run(a),
        LatticeCommand::Study(a) => {
            let run = ismc::experiment::registry::RunConfig::from_file(&a.config)?;
            match &run.experiment {
                ismc::experiment::registry::ExperimentConfig::Lattice(cfg) => study(cfg, &a.out)?,
                #[allow(unreachable_patterns)]
                _ => {
                    return Err(ismc::Error::invalid(
                        "kind",
                        run.kind,
                        "`ismc lattice study` runs kind = \"lattice\"; use `ismc run`",
                    )
                    .into())
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn threshold(a: ThresholdArgs) -> anyhow::Result<ExitCode> {
    let cfg = ismc::scaling::threshold::ThresholdConfig {
        dim: a.dim,
        kind: a.kind,
        method: a.method,
        budget_secs: a.budget_secs,
        seed: a.seed,
    };
    let plan = cfg.plan()?;
    let bar = Bar::new(1000, "threshold");
    let est = ismc::scaling::threshold::estimate(&plan, Some(&bar))?;
    bar.finish();
    if a.json {
        println!("{}", serde_json::to_string(&est)?);
    } else {
        println!(
            "p_c({}, {}) = {:.8} ± {:.8}  [{}; {} samples; {:.1} s]",
            est.dim, est.kind, est.p_c, est.stderr, est.method, est.samples, est.seconds
        );
        if let (Some(lit), Some(err), Some(z)) = (est.literature, est.literature_err, est.z) {
            println!("literature     {lit:.8} ± {err:.1e}   z = {z:+.2}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a lattice study into `out` and draws its figures and report.
pub fn study(
    cfg: &ismc::experiment::studies::lattice::LatticeStudyConfig,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use ismc::experiment::registry::{ExperimentConfig, ExperimentKind, RunConfig};
    use ismc::experiment::runner::Shard;
    let run = RunConfig::from_experiment(
        ExperimentKind::Lattice,
        Some("ismc lattice study".into()),
        ExperimentConfig::Lattice(cfg.clone()),
    )?;
    let code = crate::cli::run::execute(&run, out, Shard::ALL)?;
    if code != ExitCode::SUCCESS {
        anyhow::bail!("the lattice study did not finish");
    }
    let rows: Vec<ismc::experiment::studies::lattice::ThresholdRow> =
        ismc::experiment::store::read_csv(&out.join("thresholds.csv"))?;
    for r in &rows {
        eprintln!(
            "d = {:>2} {:<4} p_c = {:.7} ± {:.1e}  (literature {:.7}, z = {:+.2})  [{}, {:.1} s]",
            r.dim, r.kind, r.p_c, r.stderr, r.literature, r.z, r.method, r.seconds
        );
    }
    eprintln!("wrote {}", out.join("report.md").display());
    Ok(())
}
