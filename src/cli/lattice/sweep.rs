//! `ismc lattice sweep`: Newman–Ziff sweeps of one lattice and their
//! canonical curves ([`sweep_curve`]: crossing probability, largest-cluster
//! fraction, cluster density and susceptibility over p), written as CSV,
//! with the first-event table (.npy) and a JSON summary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ismc::lattice::{Boundary, Lattice};
use ismc::percolation::curve::sweep_curve;
use ismc::percolation::{run_sweeps, Kind, SweepConfig};
use ismc::progress::Bar;

/// Arguments of `ismc lattice sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Dimension d of the lattice (1..=16).
    #[arg(long)]
    pub dim: usize,
    /// Side L of the hypercube (≥ 2), or one side per axis: `--size 64,32`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub size: Vec<usize>,
    /// `site` or `bond`.
    #[arg(long, default_value = "site")]
    pub kind: Kind,
    /// `periodic` (clusters wrap) or `open` (clusters span).
    #[arg(long, default_value = "periodic", value_parser = parse_boundary)]
    pub boundary: Boundary,
    /// Number of independent samples.
    #[arg(long, default_value_t = 1000)]
    pub samples: u64,
    /// Number of p values in the output table, spread over the window where
    /// the crossing probability rises from 0.1 % to 99.9 %.
    #[arg(long, default_value_t = 101)]
    pub points: usize,
    /// Master seed every sample's seed derives from.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (created; existing files of the same names are replaced).
    #[arg(long)]
    pub out: PathBuf,
}

fn parse_boundary(s: &str) -> Result<Boundary, String> {
    match s {
        "periodic" => Ok(Boundary::Periodic),
        "open" => Ok(Boundary::Open),
        _ => Err("expected `periodic` or `open`".into()),
    }
}

pub(super) fn sweep(a: SweepArgs) -> anyhow::Result<ExitCode> {
    if !(2..=1_000_000).contains(&a.points) {
        return Err(ismc::Error::invalid(
            "--points",
            a.points,
            "expected 2..=1000000 rows in the output table",
        )
        .into());
    }
    let lattice = match a.size.as_slice() {
        [side] => Lattice::hypercube(a.dim, *side, a.boundary)?,
        sides if sides.len() == a.dim => Lattice::new(sides, a.boundary)?,
        sides => {
            return Err(ismc::Error::invalid(
                "--size",
                format!("{sides:?}"),
                format!("expected one side or {} sides (one per axis)", a.dim),
            )
            .into())
        }
    };
    let cfg = SweepConfig {
        kind: a.kind,
        samples: a.samples,
        seed: a.seed,
        track_observables: true,
    };
    let bar = Bar::new(a.samples, "sweeps");
    let sweeps = run_sweeps(&lattice, &cfg, Some(&bar))?;
    bar.finish();
    let curve = sweep_curve(&sweeps, a.points)?;
    let mut csv = String::from("p,crossing_any,crossing_any_err,largest_fraction,largest_fraction_err,clusters_per_site,chi\n");
    for r in &curve.points {
        csv.push_str(&format!(
            "{:.8},{:.8},{:.8},{:.8},{:.8},{:.8},{:.8}\n",
            r.p,
            r.crossing_any,
            r.crossing_any_err,
            r.largest_fraction,
            r.largest_fraction_err,
            r.clusters_per_site,
            r.chi
        ));
    }
    let p_av = curve.p_av;
    let summary = serde_json::json!({
        "dim": a.dim, "sides": lattice.sides(), "kind": a.kind, "boundary": a.boundary,
        "event": sweeps.event, "samples": a.samples, "seed": a.seed, "n_elements": sweeps.n_elements,
        "p_av": p_av.mean, "p_av_err": p_av.stderr, "p_av_per_axis": curve.p_av_per_axis,
        "ismc_version": env!("CARGO_PKG_VERSION"),
        "files": {"table": "sweep.csv", "first_events": "first_events.npy"},
    });
    let events = sweeps.first_event_table();
    let mut npy = Vec::new();
    ndarray_npy::WriteNpyExt::write_npy(&events, &mut npy)?;
    ismc::atomic::write_atomic(&a.out.join("sweep.csv"), csv.as_bytes())?;
    ismc::atomic::write_atomic(&a.out.join("first_events.npy"), &npy)?;
    ismc::atomic::write_atomic(
        &a.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    eprintln!(
        "wrote {}/{{sweep.csv, first_events.npy, summary.json}}; p_av = {:.6} ± {:.6}",
        a.out.display(),
        p_av.mean,
        p_av.stderr
    );
    Ok(ExitCode::SUCCESS)
}
