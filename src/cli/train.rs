//! `ismc train`: train an MLP, small CNN or LeNet5 with candle-nn.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ismc::nn::init::Init;
use ismc::nn::train::{train, OptimizerKind, TrainConfig};
use ismc::progress::Bar;

use super::eval::parse_arch;

/// Arguments of `ismc train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// `mlp` (784-256-256-10), `cnn` (small CNN), `lenet5`, or a JSON
    /// architecture (see `ismc eval --help`).
    #[arg(long)]
    pub arch: String,
    /// `mnist` (the bundled 10,000 digits; 2,000 held out as test by a split
    /// seeded from --seed) or `fashion-mnist` (its own 60k/10k splits).
    #[arg(long, default_value = "mnist")]
    pub data: String,
    /// Epochs [default: the architecture's recipe: 30 for cnn and mlp, else 10].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Mini-batch size [default: 64].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Peak learning rate, cosine decay [default: 1e-3].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Weight decay, AdamW [default: 1e-4].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Optimiser: `adamw` or `sgd`.
    #[arg(long, default_value = "adamw")]
    pub optimizer: String,
    /// Initialisation: `pytorch`, `kaiming-normal`, `xavier-uniform`,
    /// `torchvision`, `gaussian:STD`.
    #[arg(long, default_value = "pytorch")]
    pub init: String,
    /// Random translation of training images by up to this many pixels
    /// [default: 2 for cnn and mlp, else 0].
    #[arg(long)]
    pub shift: Option<usize>,
    /// Random rotation of training images by up to this many degrees
    /// [default: 10 for cnn, else 0].
    #[arg(long)]
    pub rotate: Option<f64>,
    /// Random rescaling of training images by a factor in 1 ± this
    /// [default: 0.1 for cnn, else 0].
    #[arg(long)]
    pub scale: Option<f64>,
    /// Master seed (initialisation, split, shuffling, augmentation).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory: model.safetensors, log.json, snapshots/.
    #[arg(long)]
    pub out: PathBuf,
    /// Save weights every N batches (0: never).
    #[arg(long, default_value_t = 0)]
    pub snapshot_every: usize,
}

/// Runs `ismc train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let (train_set, test_set) =
        ismc::data::train_test(&args.data, args.seed).map_err(|e| match e {
            ismc::Error::UnknownName { name, .. } => {
                ismc::Error::invalid("--data", name, "expected mnist or fashion-mnist")
            }
            e => e,
        })?;
    let arch = parse_arch(&args.arch, train_set.item_shape(), train_set.classes())?;
    let optimizer = match args.optimizer.as_str() {
        "adamw" => OptimizerKind::Adamw,
        "sgd" => OptimizerKind::Sgd,
        o => return Err(ismc::Error::invalid("--optimizer", o, "expected adamw or sgd").into()),
    };
    let init: Init = args.init.parse()?;
    // The architecture's recipe, with every flag given overriding it.
    let recipe = TrainConfig::for_arch(arch, args.seed);
    let cfg = TrainConfig {
        init,
        epochs: args.epochs.unwrap_or(recipe.epochs),
        batch: args.batch.unwrap_or(recipe.batch),
        lr: args.lr.unwrap_or(recipe.lr),
        weight_decay: args.weight_decay.unwrap_or(recipe.weight_decay),
        optimizer,
        shift: args.shift.unwrap_or(recipe.shift),
        rotate_degrees: args.rotate.unwrap_or(recipe.rotate_degrees),
        scale: args.scale.unwrap_or(recipe.scale),
        snapshot_every: args.snapshot_every,
        ..recipe
    };
    let bar = Bar::new(0, "train");
    let log = train(&cfg, &train_set, &test_set, &args.out, &bar)?;
    bar.finish();
    for e in &log.epochs {
        println!(
            "epoch {:>3}: train loss {:.4} acc {:.2}% | test loss {:.4} acc {:.2}% | {:.1} s",
            e.epoch,
            e.train_loss,
            100.0 * e.train_accuracy,
            e.test_loss,
            100.0 * e.test_accuracy,
            e.seconds
        );
    }
    println!("wrote {}", args.out.join(&log.model_file).display());
    Ok(ExitCode::SUCCESS)
}
