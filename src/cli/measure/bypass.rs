//! `ismc bypass`: bend the segment between two inputs around its barrier,
//! round by round, and report each round's barrier.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ismc::data::input::write_inputs_npy;
use ismc::inputspace::bypass::{bypass_many, BendMode, BypassConfig, RoundsConfig};
use ismc::nn::Classifier;
use serde_json::json;

use super::{endpoint_warnings, load_pair, PairArgs};

/// Arguments of `ismc bypass`.
#[derive(Debug, Args)]
pub struct BypassArgs {
    #[command(flatten)]
    pub(super) pair: PairArgs,
    /// Most bends (each round bends the segment holding the current barrier).
    #[arg(long, default_value_t = 1)]
    pub(super) rounds: usize,
    /// Stop once the barrier gap is at most this.
    #[arg(long, default_value_t = 0.0)]
    pub(super) gap_tolerance: f64,
    /// Free bends (no projection, no penalties), as for untrained networks;
    /// default: the paper's projected bend with MSE and TV penalties.
    #[arg(long)]
    pub(super) free: bool,
    /// Adam iterations per bend.
    #[arg(long, default_value_t = 1024)]
    pub(super) iterations: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.005)]
    pub(super) lr: f64,
    /// Points per segment when evaluating the path.
    #[arg(long, default_value_t = 500)]
    pub(super) points: usize,
    /// Write the final chain's vertices (A, bends…, C) as one .npy
    /// `[m, item_shape…]`.
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
}

/// Runs `ismc bypass`.
pub fn bypass(args: BypassArgs) -> anyhow::Result<ExitCode> {
    let (model, a, c, class) = load_pair(&args.pair)?;
    let base = if args.free {
        BypassConfig::free()
    } else {
        BypassConfig::default()
    };
    let cfg = BypassConfig {
        lr: args.lr,
        iterations: args.iterations,
        points: args.points,
        mode: if args.free {
            BendMode::Free
        } else {
            BendMode::Projected
        },
        ..base
    };
    let rounds = RoundsConfig {
        max_rounds: args.rounds,
        gap_tolerance: args.gap_tolerance,
    };
    let bar = ismc::progress::Bar::spinner("bypass");
    let report = bypass_many(&model, &a.values, &c.values, &[class], &cfg, &rounds)?
        .pop()
        .expect("one pair in, one report out");
    bar.finish();
    let warnings = endpoint_warnings(&report.rounds[0].barrier, args.pair.low_loss);
    if let Some(out) = &args.out {
        write_inputs_npy(out, &report.vertices.concat(), &model.spec().item_shape)?;
    }
    if args.pair.json {
        let rounds: Vec<_> = report
            .rounds
            .iter()
            .map(|r| {
                json!({
                    "round": r.round, "barrier_max": r.barrier.max, "barrier_gap": r.barrier.gap,
                    "alpha_max": r.barrier.location, "segment": r.segment,
                    "relative_bend": r.relative_bend,
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "model": args.pair.model, "a": a.name, "c": c.name, "class": class,
                "mode": if args.free { "free" } else { "projected" },
                "rounds": rounds, "vertices": report.vertices.len(),
                "warnings": warnings,
            })
        );
    } else {
        for r in &report.rounds {
            println!(
                "round {}: barrier max {:.4e}, gap {:.4e}, relative bend {:.4}",
                r.round, r.barrier.max, r.barrier.gap, r.relative_bend
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
