//! `ismc demo`: the main job behind the README's first command — four quick
//! experiments on the bundled assets, each a resumable run directory, and one
//! combined report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use ismc::experiment::registry::RunConfig;
use ismc::experiment::runner::Shard;

/// Arguments of `ismc demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output directory: `lattice/`, `adversarial/`, `untrained/`,
    /// `slices/` (run directories) and the combined `report.md`.
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
}

/// The demo's experiments: (subdirectory, title, configuration text). The
/// texts are the committed quick configurations, compiled in so that the
/// demo runs from any directory.
const PARTS: [(&str, &str, &str); 4] = [
    (
        "lattice",
        "Lattice percolation: p_c(d) for d = 2, 3, 4, 6, 8, 13",
        include_str!("../../experiments/lattice-quick.toml"),
    ),
    (
        "adversarial",
        "Barriers and the barrier detector on the bundled LeNet5 (quick)",
        include_str!("../../experiments/mnist-lenet5-adversarial-quick.toml"),
    ),
    (
        "untrained",
        "Synthetic modes of an untrained MLP joined by free bends (quick)",
        include_str!("../../experiments/untrained-connectivity-quick.toml"),
    ),
    (
        "slices",
        "Slice percolation over k = 1..4 (quick)",
        include_str!("../../experiments/slice-percolation-quick.toml"),
    ),
];

/// Runs the experiments and writes `OUT/report.md`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let mut report = String::from(
        "# ismc demo report\n\nFour short experiments on the bundled assets; each \
         subdirectory is a run directory of `ismc run` (config.toml, manifest.json, \
         summary.json, CSV tables, figures/). Regenerate figures with \
         `ismc figures DIR`.\n\n",
    );
    for (dir, title, text) in PARTS {
        let cfg = RunConfig::parse(text)?;
        let out = args.out.join(dir);
        eprintln!("== {title}");
        let code = crate::cli::run::execute(&cfg, &out, Shard::ALL)?;
        if code != ExitCode::SUCCESS {
            return Ok(code);
        }
        report.push_str(&format!("## {title}\n\n"));
        report.push_str(&embed(&out.join("report.md"), dir)?);
    }
    let path = args.out.join("report.md");
    ismc::atomic::write_atomic(&path, report.as_bytes())?;
    eprintln!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// A sub-report with its headings demoted one level and its relative links
/// prefixed with its directory.
fn embed(path: &Path, dir: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| ismc::Error::io(path, e))?;
    Ok(text
        .lines()
        .map(|l| {
            let l = if l.starts_with('#') {
                format!("#{l}")
            } else {
                l.to_string()
            };
            l.replace("](figures/", &format!("]({dir}/figures/"))
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n\n")
}
