//! Single input-space measurements (pillar 3) outside experiments:
//! `ismc path`, `ismc bypass`, `ismc attack` and `ismc fvo`.
//!
//! Each takes a model (`--model`: bundled name, `untrained:ARCH:INIT:SEED`
//! or a weights file), a data set fixing the input shape (`--data`), and
//! inputs named by data index or `.npy` file (see [`super::inputs`]). With
//! `--json` the result is one JSON object on stdout; otherwise a short
//! human summary. Inputs that are produced (`--out`) are `.npy` files that
//! the other commands take back.
use clap::Args;
use ismc::data::input::{resolve, Input, PairRef};
use ismc::inputspace::barrier::BarrierMetrics;
use ismc::nn::{Classifier, Network};

use super::inputs::{load_model_and_data, pair_class};

mod attack;
mod bypass;
mod fvo;
mod path;

pub use attack::{attack, AttackArgs};
pub use bypass::{bypass, BypassArgs};
pub use fvo::{fvo, FvoArgs};
pub use path::{path, PathArgs};

/// Model, data set and the pair shared by `path` and `bypass`.
#[derive(Debug, Args)]
pub struct PairArgs {
    /// Model: bundled name (lenet5-mnist, lenet5-mnist-adv),
    /// untrained:ARCH:INIT:SEED, or a weights file written by ismc.
    #[arg(long, default_value = "lenet5-mnist")]
    pub model: String,
    /// Data set the indices refer to; it also fixes the input shape.
    #[arg(long, default_value = "mnist")]
    pub data: String,
    /// The endpoints A,C: data indices or .npy files, e.g. `0,17` or `3,adv.npy`.
    #[arg(long, value_name = "I,J")]
    pub pair: PairRef,
    /// Target class of the loss (default: the shared label, or for .npy
    /// files the model's predicted class, of A and C).
    #[arg(long)]
    pub class: Option<u32>,
    /// Warn (and record) when an endpoint's loss exceeds this: it is then
    /// not a low-loss mode and its barrier means little.
    #[arg(long, default_value_t = 0.1)]
    pub low_loss: f64,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// Loads model, data and both endpoints, and fixes the target class.
pub(super) fn load_pair(a: &PairArgs) -> anyhow::Result<(Network, Input, Input, u32)> {
    if !(a.low_loss.is_finite() && a.low_loss >= 0.0) {
        return Err(
            ismc::Error::invalid("--low-loss", a.low_loss, "expected a finite loss ≥ 0").into(),
        );
    }
    let (model, data) = load_model_and_data(&a.model, &a.data)?;
    let len = model.spec().item_len();
    let ea = resolve(&a.pair.0, &data, len, "--pair (A)")?;
    let ec = resolve(&a.pair.1, &data, len, "--pair (C)")?;
    if ea.values == ec.values {
        return Err(ismc::Error::invalid(
            "--pair",
            format!("{},{}", ea.name, ec.name),
            "the endpoints coincide; a path needs two different inputs",
        )
        .into());
    }
    let class = pair_class(&model, &ea, &ec, a.class)?;
    Ok((model, ea, ec, class))
}

/// Warnings for endpoints that are not low-loss (the library's
/// [`BarrierMetrics::endpoint_warnings`]), also printed on stderr.
pub(super) fn endpoint_warnings(b: &BarrierMetrics, threshold: f64) -> Vec<String> {
    let w: Vec<String> = b
        .endpoint_warnings(threshold)
        .iter()
        .map(ToString::to_string)
        .collect();
    for line in &w {
        eprintln!("warning: {line}");
    }
    w
}
