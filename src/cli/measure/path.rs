//! `ismc path`: the loss along the straight segment between two inputs and
//! its barrier.

use std::process::ExitCode;

use clap::Args;
use ismc::inputspace::barrier::BarrierMetrics;
use ismc::inputspace::path::{loss_along, Path};
use serde_json::json;

use super::{endpoint_warnings, load_pair, PairArgs};

/// Arguments of `ismc path`.
#[derive(Debug, Args)]
pub struct PathArgs {
    #[command(flatten)]
    pub(super) pair: PairArgs,
    /// Points along the straight segment A → C (both ends included).
    #[arg(long, default_value_t = 500)]
    pub(super) points: usize,
}

/// Runs `ismc path`.
pub fn path(args: PathArgs) -> anyhow::Result<ExitCode> {
    let (model, a, c, class) = load_pair(&args.pair)?;
    let p = Path::linear(a.values.clone(), c.values.clone())?;
    let curve = loss_along(&model, &p, class, args.points, 256)?;
    let b = BarrierMetrics::of(&curve)?;
    let warnings = endpoint_warnings(&b, args.pair.low_loss);
    if args.pair.json {
        println!(
            "{}",
            json!({
                "model": args.pair.model, "a": a.name, "c": c.name, "class": class,
                "points": args.points, "alpha": curve.alpha, "losses": curve.loss,
                "barrier_max": b.max, "barrier_gap": b.gap, "alpha_max": b.location,
                "area": b.area, "endpoint_losses": b.endpoint_losses,
                "warnings": warnings,
            })
        );
    } else {
        println!(
            "{} → {} (class {class}): barrier max {:.4e}, gap {:.4e} at α = {:.3}; \
             endpoint losses {:.3e} / {:.3e}",
            a.name, c.name, b.max, b.gap, b.location, b.endpoint_losses[0], b.endpoint_losses[1]
        );
    }
    Ok(ExitCode::SUCCESS)
}
