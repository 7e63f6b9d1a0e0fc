//! `ismc lattice sweep`: Newman–Ziff sweeps of one lattice, convolved to a
//! curve of crossing probability, largest-cluster fraction, cluster density
//! and susceptibility over p, written as CSV.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ismc::lattice::{Boundary, Lattice};
use ismc::percolation::canonical::{crossing_probability, BinomialWindow};
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

/// One row of the sweep table.
#[derive(serde::Serialize)]
struct SweepRow {
    p: f64,
    crossing_any: f64,
    crossing_any_err: f64,
    largest_fraction: f64,
    largest_fraction_err: f64,
    clusters_per_site: f64,
    chi: f64,
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
    let n = sweeps.n_elements;
    let obs = sweeps
        .observables
        .as_ref()
        .context("observables were tracked")?;
    let firsts = sweeps.first_events(None);
    let lo = ismc::stats::quantile(&firsts.iter().map(|&x| x as f64).collect::<Vec<_>>(), 0.0)
        / n as f64;
    let hi = ismc::stats::quantile(&firsts.iter().map(|&x| x as f64).collect::<Vec<_>>(), 1.0)
        / n as f64;
    let width = (hi - lo).max(1.0 / n as f64);
    let (p_lo, p_hi) = ((lo - 0.5 * width).max(0.0), (hi + 0.5 * width).min(1.0));
    let samples = obs.samples as f64;
    let sites = lattice.n_sites() as f64;
    let mean = |v: &[u64]| v.iter().map(|&x| x as f64 / samples).collect::<Vec<_>>();
    let largest = mean(&obs.largest);
    let largest_sq: Vec<f64> = obs.largest_sq.iter().map(|&x| x as f64 / samples).collect();
    let clusters = mean(&obs.clusters);
    let second: Vec<f64> = obs
        .second_moment
        .iter()
        .map(|&x| x as f64 / samples)
        .collect();
    let mut rows = Vec::with_capacity(a.points);
    for i in 0..a.points {
        let p = p_lo + (p_hi - p_lo) * i as f64 / (a.points - 1) as f64;
        let w = BinomialWindow::new(n, p);
        let (r, r_err) = crossing_probability(&firsts, n, p);
        let l1 = w.average_on_grid(&obs.grid, &largest);
        let l2 = w.average_on_grid(&obs.grid, &largest_sq);
        rows.push(SweepRow {
            p,
            crossing_any: r,
            crossing_any_err: r_err,
            largest_fraction: l1 / sites,
            largest_fraction_err: ((l2 - l1 * l1).max(0.0) / samples).sqrt() / sites,
            clusters_per_site: w.average_on_grid(&obs.grid, &clusters) / sites,
            chi: w.average_on_grid(&obs.grid, &second) / sites,
        });
    }
    let mut csv = String::from("p,crossing_any,crossing_any_err,largest_fraction,largest_fraction_err,clusters_per_site,chi\n");
    for r in &rows {
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
    let fractions: Vec<f64> = firsts
        .iter()
        .map(|&x| x as f64 / (n as f64 + 1.0))
        .collect();
    let p_av = ismc::stats::MeanError::of(&fractions);
    let per_axis: Vec<f64> = (0..a.dim)
        .map(|ax| {
            let v: Vec<f64> = sweeps
                .first_events(Some(ax))
                .iter()
                .map(|&x| x as f64 / (n as f64 + 1.0))
                .collect();
            ismc::stats::MeanError::of(&v).mean
        })
        .collect();
    let summary = serde_json::json!({
        "dim": a.dim, "sides": lattice.sides(), "kind": a.kind, "boundary": a.boundary,
        "event": sweeps.event, "samples": a.samples, "seed": a.seed, "n_elements": n,
        "p_av": p_av.mean, "p_av_err": p_av.stderr, "p_av_per_axis": per_axis,
        "ismc_version": env!("CARGO_PKG_VERSION"),
        "files": {"table": "sweep.csv", "first_events": "first_events.npy"},
    });
    let mut events = ndarray::Array2::<u32>::zeros((sweeps.records.len(), a.dim + 1));
    for (s, r) in sweeps.records.iter().enumerate() {
        events[[s, 0]] = r.first_any;
        for ax in 0..a.dim {
            events[[s, ax + 1]] = r.first_axis[ax];
        }
    }
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
