//! `ismc eval`: accuracy and mean loss of a model on a data set.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use ismc::nn::arch::Arch;
use ismc::nn::{eval::evaluate, zoo, Network};
use ismc::progress::Bar;

/// Arguments of `ismc eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A bundled model name (`lenet5-mnist`, `lenet5-mnist-adv`), a fetched
    /// one (`mnist-cnn-small`, `squeezenet-1.1`, … after `ismc assets fetch
    /// NAME`) or a weights file (safetensors, PyTorch zip or legacy
    /// checkpoint).
    #[arg(long)]
    pub model: String,
    /// Architecture of a weights FILE: `lenet5`, `mlp`, `cnn` (default
    /// widths for the data's shape) or a JSON object such as
    /// `{"arch":"mlp","input_shape":[1,28,28],"widths":[100],"activation":"relu","classes":10}`.
    /// Not needed for files written by `ismc train`.
    #[arg(long)]
    pub arch: Option<String>,
    /// Data set: `mnist` (bundled), `fashion-mnist`, `fashion-mnist-train`.
    #[arg(long, default_value = "mnist")]
    pub data: String,
    /// Images per forward pass.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Print one JSON object `{"accuracy", "mean_loss", "n"}`.
    #[arg(long)]
    pub json: bool,
}

/// Resolves `--arch` for inputs of `item_shape` with `classes` classes.
pub fn parse_arch(s: &str, item_shape: &[usize], classes: usize) -> Result<Arch, ismc::Error> {
    if s.trim_start().starts_with('{') {
        let a: Arch = serde_json::from_str(s)
            .map_err(|e| ismc::Error::invalid("--arch", s, e.to_string()))?;
        a.validate()?;
        Ok(a)
    } else {
        Arch::from_name(s, item_shape, classes)
    }
}

/// Loads `--model` (bundled or fetched name, or file) for `data`.
pub fn load_model(
    model: &str,
    arch: Option<&str>,
    data: &ismc::data::Dataset,
) -> Result<Network, ismc::Error> {
    if zoo::is_name(model) {
        return zoo::load_named(model);
    }
    if zoo::fetched_entry(model).is_some() {
        return zoo::load_fetched(model);
    }
    let path = Path::new(model);
    if !path.exists() {
        return Err(ismc::Error::UnknownName {
            kind: "model (not a bundled or fetched name nor an existing file)",
            name: model.into(),
            known: zoo::BUNDLED
                .iter()
                .chain(zoo::FETCHED.iter())
                .map(|e| e.name.to_string())
                .collect(),
        });
    }
    let arch = arch
        .map(|a| parse_arch(a, data.item_shape(), data.classes()))
        .transpose()?;
    Network::load(path, arch)
}

/// Runs `ismc eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let data = ismc::data::load(&args.data)?;
    let model = load_model(&args.model, args.arch.as_deref(), &data)?;
    let bar = Bar::new(data.len() as u64, "eval");
    let report = evaluate(&model, &data, args.batch, &bar)?;
    bar.finish();
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} on {}: accuracy {:.2}% ({} items), mean loss {:.4}",
            args.model,
            args.data,
            100.0 * report.accuracy,
            report.n,
            report.mean_loss
        );
    }
    Ok(ExitCode::SUCCESS)
}
