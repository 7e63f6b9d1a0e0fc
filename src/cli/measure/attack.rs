//! `ismc attack`: one adversarial input by the paper's attack, its adaptive
//! variant, FGSM or PGD, with its success, norms and losses.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use ismc::data::input::{resolve, write_inputs_npy, Input, InputRef};
use ismc::inputspace::attack::{
    adaptive_attack, fgsm, paper_attack, pgd, AdaptiveConfig, Goal, PaperAttackConfig, PgdConfig,
};
use ismc::nn::Classifier;
use serde_json::json;

use crate::cli::inputs::{load_model_and_data, predicted_class};

/// Attack methods of `ismc attack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AttackMethod {
    /// The paper's targeted input optimisation (Adam on CE + 0.1·MSE + TV),
    /// stopping once CE falls below that of the real target image.
    Paper,
    /// The paper's attack plus a penalty on the barrier to real
    /// target-class references (adaptive attacker against the detector).
    Adaptive,
    /// Fast gradient sign method, one step of size ε.
    Fgsm,
    /// Projected gradient descent in the L∞ ball of radius ε.
    Pgd,
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
    /// `adaptive` uses it as a reference; for fgsm/pgd it gives the class.
    #[arg(long)]
    pub(super) target: Option<InputRef>,
    /// Target class (default: the label of --target); fgsm/pgd without
    /// either attack untargeted (away from the source's class).
    #[arg(long)]
    pub(super) target_class: Option<u32>,
    /// More real target-class references for `adaptive` (data indices).
    #[arg(long, value_delimiter = ',')]
    pub(super) references: Vec<usize>,
    /// Attack method.
    #[arg(long, value_enum, default_value_t = AttackMethod::Paper)]
    pub(super) method: AttackMethod,
    /// L∞ radius of fgsm/pgd, in input units (inputs lie in [0, 1]).
    #[arg(long, default_value_t = 0.3)]
    pub(super) eps: f64,
    /// PGD step size.
    #[arg(long, default_value_t = 0.01)]
    pub(super) step: f64,
    /// Iterations (paper/adaptive: most Adam steps, default 512; pgd: steps, default 40).
    #[arg(long)]
    pub(super) iterations: Option<usize>,
    /// Weight of the adaptive barrier penalty.
    #[arg(long, default_value_t = 1.0)]
    pub(super) mu: f64,
    /// Seed of PGD's random start.
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
    let needs_target = matches!(args.method, AttackMethod::Paper | AttackMethod::Adaptive);
    if needs_target && target.is_none() {
        return Err(ismc::Error::invalid(
            "--target",
            "missing",
            "the paper and adaptive attacks need a real image of the target class \
             (--target J): its loss is where the optimisation stops",
        )
        .into());
    }
    let stop =
        |t: &Input, y: u32| -> anyhow::Result<f32> { Ok(model.loss_flat(&t.values, &[y], 1)?[0]) };
    let (adv, iterations) = match args.method {
        AttackMethod::Paper | AttackMethod::Adaptive => {
            let t = target.as_ref().expect("checked above");
            let y = class.expect("a target gives a class");
            let stop_loss = stop(t, y)?;
            let base = PaperAttackConfig {
                iterations: args.iterations.unwrap_or(512),
                ..PaperAttackConfig::default()
            };
            let r = if args.method == AttackMethod::Paper {
                paper_attack(&model, &source.values, &[y], &[stop_loss], &base)?
            } else {
                let mut refs = t.values.clone();
                for &j in &args.references {
                    refs.extend(resolve(&InputRef::Item(j), &data, len, "--references")?.values);
                }
                let cfg = AdaptiveConfig {
                    base,
                    mu: args.mu,
                    ..AdaptiveConfig::default()
                };
                adaptive_attack(&model, &source.values, &[y], &[stop_loss], &refs, &cfg)?
            };
            (r.inputs, Some(r.iterations[0]))
        }
        AttackMethod::Fgsm | AttackMethod::Pgd => {
            let (goal, y) = match class {
                Some(y) => (Goal::Targeted, y),
                None => (Goal::Untargeted, source_class),
            };
            if args.method == AttackMethod::Fgsm {
                (fgsm(&model, &source.values, &[y], goal, args.eps, 1)?, None)
            } else {
                let cfg = PgdConfig {
                    eps: args.eps,
                    step: args.step,
                    iterations: args.iterations.unwrap_or(40),
                    random_start: true,
                };
                (
                    pgd(&model, &source.values, &[y], goal, &cfg, args.seed, 1)?,
                    Some(cfg.iterations),
                )
            }
        }
    };
    let predicted = predicted_class(&model, &adv)?;
    let loss_class = class.unwrap_or(source_class);
    let before = model.loss_flat(&source.values, &[loss_class], 1)?[0];
    let after = model.loss_flat(&adv, &[loss_class], 1)?[0];
    let linf = adv
        .iter()
        .zip(&source.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let l2 = adv
        .iter()
        .zip(&source.values)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    if let Some(out) = &args.out {
        write_inputs_npy(out, &adv, &spec.item_shape)?;
    }
    let success = match class {
        Some(y) => predicted == y,
        None => predicted != source_class,
    };
    let method = format!("{:?}", args.method).to_lowercase();
    if args.json {
        println!(
            "{}",
            json!({
                "model": args.model, "method": method, "source": source.name,
                "source_class": source_class, "target_class": class,
                "goal": if class.is_some() { "targeted" } else { "untargeted" },
                "loss_before": before, "loss_after": after, "predicted": predicted,
                "success": success, "linf": linf, "l2": l2, "iterations": iterations,
                "out": args.out.as_ref().map(|p| p.display().to_string()),
            })
        );
    } else {
        println!(
            "{method}: {} (class {source_class}) → predicted {predicted} ({}); \
             CE to class {loss_class} {before:.3e} → {after:.3e}; |δ|∞ {linf:.3}, |δ|₂ {l2:.3}",
            source.name,
            if success { "success" } else { "failed" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
