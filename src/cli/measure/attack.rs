//! `ismc attack`: one adversarial input by any of ismc's attacks
//! ([`AttackKind`]), with its success, norms and losses — the record of
//! [`measure_attack`], printed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use ismc::data::input::{resolve, write_inputs_npy, InputRef};
use ismc::inputspace::attack::{
    measure_attack, AdaptiveConfig, Attack, AttackKind, Goal, LocalAdaptiveConfig,
    PaperAttackConfig, PgdConfig,
};
use ismc::nn::Classifier;
use serde_json::json;

use crate::cli::inputs::{load_model_and_data, predicted_class};

/// Parses `--method`: one of [`AttackKind::names`].
fn attack_kind() -> impl TypedValueParser<Value = AttackKind> {
    PossibleValuesParser::new(AttackKind::names())
        .map(|s| s.parse::<AttackKind>().expect("a listed attack name"))
}

/// Arguments of `ismc attack`.
#[derive(Debug, Args)]
pub struct AttackArgs {
    /// Model (as for `ismc path`).
    #[arg(long, default_value = "lenet5-mnist")]
    pub(super) model: String,
    /// Data set of the indices.
    #[arg(long, default_value = "mnist")]
    pub(super) data: String,
    /// The input to perturb: data index or .npy file.
    #[arg(long)]
    pub(super) source: InputRef,
    /// A real image of the target class (data index or .npy). Required by
    /// `paper` and `adaptive`: its loss is the stop criterion, and
    /// `adaptive` uses it as a reference; for the others it gives the class.
    #[arg(long)]
    pub(super) target: Option<InputRef>,
    /// Target class (default: the label of --target); fgsm/pgd without
    /// either attack untargeted (away from the source's class);
    /// adaptive_local needs one of the two.
    #[arg(long)]
    pub(super) target_class: Option<u32>,
    /// More real target-class references for `adaptive` (data indices).
    #[arg(long, value_delimiter = ',')]
    pub(super) references: Vec<usize>,
    /// Attack: paper (the paper's input optimisation), adaptive (plus a
    /// barrier penalty against the detector), fgsm, pgd, or adaptive_local
    /// (PGD against the local barriers).
    #[arg(long, default_value = "paper", value_parser = attack_kind())]
    pub(super) method: AttackKind,
    /// L∞ radius of fgsm/pgd/adaptive_local, in input units (inputs lie in [0, 1]).
    #[arg(long, default_value_t = 0.3)]
    pub(super) eps: f64,
    /// PGD step size (pgd, adaptive_local).
    #[arg(long, default_value_t = 0.01)]
    pub(super) step: f64,
    /// Iterations (paper/adaptive: most Adam steps, default 512;
    /// pgd/adaptive_local: steps, default 40).
    #[arg(long)]
    pub(super) iterations: Option<usize>,
    /// Weight of the adaptive barrier penalty (adaptive) or of the noisy
    /// copies (adaptive_local).
    #[arg(long, default_value_t = 1.0)]
    pub(super) mu: f64,
    /// Radii of adaptive_local's noisy copies, as fractions of the input
    /// range.
    #[arg(long, value_delimiter = ',', default_value = "0.05,0.1,0.2")]
    pub(super) radii: Vec<f64>,
    /// Seed of the random start (pgd, adaptive_local) and noise (adaptive_local).
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// Write the adversarial input here (.npy).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub(super) json: bool,
}

/// Runs `ismc attack`.
pub fn attack(args: AttackArgs) -> anyhow::Result<ExitCode> {
    let (model, data) = load_model_and_data(&args.model, &args.data)?;
    let spec = model.spec().clone();
    let len = spec.item_len();
    let source = resolve(&args.source, &data, len, "--source")?;
    let target = args
        .target
        .as_ref()
        .map(|t| resolve(t, &data, len, "--target"))
        .transpose()?;
    let class = match (args.target_class, &target) {
        (Some(y), _) => Some(y),
        (None, Some(t)) => Some(match t.label {
            Some(l) => l,
            None => predicted_class(&model, &t.values)?,
        }),
        (None, None) => None,
    };
    if let Some(y) = class {
        if y as usize >= spec.classes {
            return Err(ismc::Error::invalid(
                "--target-class",
                y,
                format!("expected a class id below {}", spec.classes),
            )
            .into());
        }
    }
    let source_class = match source.label {
        Some(l) => l,
        None => predicted_class(&model, &source.values)?,
    };
    let kind = args.method;
    if kind.needs_stop_loss() && target.is_none() {
        return Err(ismc::Error::invalid(
            "--target",
            "missing",
            "the paper and adaptive attacks need a real image of the target class \
             (--target J): its loss is where the optimisation stops",
        )
        .into());
    }
    if kind.is_targeted_only() && class.is_none() {
        return Err(ismc::Error::invalid(
            "--target-class",
            "missing",
            format!("{kind} is a targeted attack: give --target-class Y or --target J"),
        )
        .into());
    }
    let (goal, y) = match class {
        Some(y) => (Goal::Targeted, y),
        None => (Goal::Untargeted, source_class),
    };
    let stop_loss = match &target {
        Some(t) if kind.needs_stop_loss() => vec![model.loss_flat(&t.values, &[y], 1)?[0]],
        _ => vec![],
    };
    let mut references = Vec::new();
    if kind == AttackKind::Adaptive {
        references.extend_from_slice(&target.as_ref().expect("checked above").values);
        for &j in &args.references {
            references.extend(resolve(&InputRef::Item(j), &data, len, "--references")?.values);
        }
    }
    let paper = PaperAttackConfig {
        iterations: args.iterations.unwrap_or(512),
        ..PaperAttackConfig::default()
    };
    let pgd = PgdConfig {
        eps: args.eps,
        step: args.step,
        iterations: args.iterations.unwrap_or(40),
        random_start: true,
    };
    let attack = match kind {
        AttackKind::Paper => Attack::Paper {
            config: paper,
            stop_losses: &stop_loss,
        },
        AttackKind::Adaptive => Attack::Adaptive {
            config: AdaptiveConfig {
                base: paper,
                mu: args.mu,
                ..AdaptiveConfig::default()
            },
            stop_losses: &stop_loss,
            references: &references,
        },
        AttackKind::Fgsm => Attack::Fgsm {
            eps: args.eps,
            goal,
        },
        AttackKind::Pgd => Attack::Pgd {
            config: pgd,
            goal,
            seed: args.seed,
        },
        AttackKind::AdaptiveLocal => Attack::AdaptiveLocal {
            config: pgd,
            radii: &args.radii,
            local: LocalAdaptiveConfig {
                mu: args.mu,
                ..LocalAdaptiveConfig::default()
            },
            seed: args.seed,
        },
    };
    let record = measure_attack(&model, &attack, &source.values, &[y], 1)?;
    let o = record.outcomes[0];
    if let Some(out) = &args.out {
        write_inputs_npy(out, &record.inputs, &spec.item_shape)?;
    }
    if args.json {
        println!(
            "{}",
            json!({
                "model": args.model, "method": kind.name(), "source": source.name,
                "source_class": source_class, "target_class": class,
                "goal": record.goal,
                "loss_before": o.loss_before, "loss_after": o.loss_after,
                "predicted": o.predicted, "success": o.success, "linf": o.linf, "l2": o.l2,
                "iterations": o.iterations,
                "out": args.out.as_ref().map(|p| p.display().to_string()),
            })
        );
    } else {
        println!(
            "{kind}: {} (class {source_class}) → predicted {} ({}); \
             CE to class {y} {:.3e} → {:.3e}; |δ|∞ {:.3}, |δ|₂ {:.3}",
            source.name,
            o.predicted,
            if o.success { "success" } else { "failed" },
            o.loss_before,
            o.loss_after,
            o.linf,
            o.l2
        );
    }
    Ok(ExitCode::SUCCESS)
}
