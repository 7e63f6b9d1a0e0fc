//! `ismc fvo`: one synthetic input of a class by feature visualisation.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ismc::data::input::write_inputs_npy;
use ismc::inputspace::fvo::{synthesize, FvoConfig};
use ismc::nn::Classifier;
use serde_json::json;

use crate::cli::inputs::load_model_and_data;

/// Arguments of `ismc fvo`.
#[derive(Debug, Args)]
pub struct FvoArgs {
    /// Model (as for `ismc path`).
    #[arg(long, default_value = "lenet5-mnist")]
    pub(super) model: String,
    /// Data set fixing the input shape and class count.
    #[arg(long, default_value = "mnist")]
    pub(super) data: String,
    /// Class to synthesise.
    #[arg(long)]
    pub(super) class: u32,
    /// Seed of the N(0, init_std²) start.
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// Most Adam iterations.
    #[arg(long, default_value_t = 10_000)]
    pub(super) iterations: usize,
    /// Stop once CE is below this.
    #[arg(long, default_value_t = 5e-4)]
    pub(super) threshold: f64,
    /// Weight of a total-variation penalty on the input.
    #[arg(long, default_value_t = 0.0)]
    pub(super) lambda_tv: f64,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.05)]
    pub(super) lr: f64,
    /// Adam's L2 weight decay (added to the gradient, as in PyTorch). On a
    /// low-gain untrained network it balances the CE gradient before the
    /// threshold is reached; 0 removes that floor.
    #[arg(long, default_value_t = 1e-7)]
    pub(super) weight_decay: f64,
    /// Write the synthetic input here (.npy).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub(super) json: bool,
}

/// Runs `ismc fvo`.
pub fn fvo(args: FvoArgs) -> anyhow::Result<ExitCode> {
    let (model, _data) = load_model_and_data(&args.model, &args.data)?;
    let cfg = FvoConfig {
        iterations: args.iterations,
        loss_threshold: args.threshold,
        lambda_tv: args.lambda_tv,
        lr: args.lr,
        weight_decay: args.weight_decay,
        ..FvoConfig::default()
    };
    let bar = ismc::progress::Bar::spinner("fvo");
    let r = synthesize(&model, &[args.class], &[args.seed], &cfg)?;
    bar.finish();
    if let Some(out) = &args.out {
        write_inputs_npy(out, &r.inputs, &model.spec().item_shape)?;
    }
    if args.json {
        println!(
            "{}",
            json!({
                "model": args.model, "class": args.class, "seed": args.seed,
                "loss": r.losses[0], "iterations": r.iterations[0],
                "converged": r.converged[0],
                "out": args.out.as_ref().map(|p| p.display().to_string()),
            })
        );
    } else {
        println!(
            "class {}: CE {:.3e} after {} iterations ({})",
            args.class,
            r.losses[0],
            r.iterations[0],
            if r.converged[0] {
                "converged"
            } else {
                "did not reach the threshold"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
