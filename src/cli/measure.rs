//! Single input-space measurements (pillar 3) outside experiments:
//! `ismc path`, `ismc bypass`, `ismc attack` and `ismc fvo`.
//!
//! Each takes a model (`--model`: bundled name, `untrained:ARCH:INIT:SEED`
//! or a weights file), a data set fixing the input shape (`--data`), and
//! inputs named by data index or `.npy` file (see [`super::inputs`]). With
//! `--json` the result is one JSON object on stdout; otherwise a short
//! human summary. Inputs that are produced (`--out`) are `.npy` files that
//! the other commands take back.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use ismc::inputspace::attack::{
    adaptive_attack, fgsm, paper_attack, pgd, AdaptiveConfig, Goal, PaperAttackConfig, PgdConfig,
};
use ismc::inputspace::barrier::BarrierMetrics;
use ismc::inputspace::bypass::{bypass_many, BendMode, BypassConfig, RoundsConfig};
use ismc::inputspace::fvo::{synthesize, FvoConfig};
use ismc::inputspace::path::{loss_along, Path};
use ismc::nn::{Classifier, Network};
use serde_json::json;

use super::inputs::{load_model_and_data, pair_class, predicted_class};
use ismc::data::input::{resolve, write_inputs_npy, Input, InputRef, PairRef};

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

/// Arguments of `ismc path`.
#[derive(Debug, Args)]
pub struct PathArgs {
    #[command(flatten)]
    pair: PairArgs,
    /// Points along the straight segment A → C (both ends included).
    #[arg(long, default_value_t = 500)]
    points: usize,
}

/// Arguments of `ismc bypass`.
#[derive(Debug, Args)]
pub struct BypassArgs {
    #[command(flatten)]
    pair: PairArgs,
    /// Most bends (each round bends the segment holding the current barrier).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Stop once the barrier gap is at most this.
    #[arg(long, default_value_t = 0.0)]
    gap_tolerance: f64,
    /// Free bends (no projection, no penalties), as for untrained networks;
    /// default: the paper's projected bend with MSE and TV penalties.
    #[arg(long)]
    free: bool,
    /// Adam iterations per bend.
    #[arg(long, default_value_t = 1024)]
    iterations: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.005)]
    lr: f64,
    /// Points per segment when evaluating the path.
    #[arg(long, default_value_t = 500)]
    points: usize,
    /// Write the final chain's vertices (A, bends…, C) as one .npy
    /// `[m, item_shape…]`.
    #[arg(long)]
    out: Option<PathBuf>,
}

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
    model: String,
    /// Data set of the indices.
    #[arg(long, default_value = "mnist")]
    data: String,
    /// The input to perturb: data index or .npy file.
    #[arg(long)]
    source: InputRef,
    /// A real image of the target class (data index or .npy). Required by
    /// `paper` and `adaptive`: its loss is the stop criterion, and
    /// `adaptive` uses it as a reference; for fgsm/pgd it gives the class.
    #[arg(long)]
    target: Option<InputRef>,
    /// Target class (default: the label of --target); fgsm/pgd without
    /// either attack untargeted (away from the source's class).
    #[arg(long)]
    target_class: Option<u32>,
    /// More real target-class references for `adaptive` (data indices).
    #[arg(long, value_delimiter = ',')]
    references: Vec<usize>,
    /// Attack method.
    #[arg(long, value_enum, default_value_t = AttackMethod::Paper)]
    method: AttackMethod,
    /// L∞ radius of fgsm/pgd, in input units (inputs lie in [0, 1]).
    #[arg(long, default_value_t = 0.3)]
    eps: f64,
    /// PGD step size.
    #[arg(long, default_value_t = 0.01)]
    step: f64,
    /// Iterations (paper/adaptive: most Adam steps, default 512; pgd: steps, default 40).
    #[arg(long)]
    iterations: Option<usize>,
    /// Weight of the adaptive barrier penalty.
    #[arg(long, default_value_t = 1.0)]
    mu: f64,
    /// Seed of PGD's random start.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the adversarial input here (.npy).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Arguments of `ismc fvo`.
#[derive(Debug, Args)]
pub struct FvoArgs {
    /// Model (as for `ismc path`).
    #[arg(long, default_value = "lenet5-mnist")]
    model: String,
    /// Data set fixing the input shape and class count.
    #[arg(long, default_value = "mnist")]
    data: String,
    /// Class to synthesise.
    #[arg(long)]
    class: u32,
    /// Seed of the N(0, init_std²) start.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Most Adam iterations.
    #[arg(long, default_value_t = 10_000)]
    iterations: usize,
    /// Stop once CE is below this.
    #[arg(long, default_value_t = 5e-4)]
    threshold: f64,
    /// Weight of a total-variation penalty on the input.
    #[arg(long, default_value_t = 0.0)]
    lambda_tv: f64,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.05)]
    lr: f64,
    /// Adam's L2 weight decay (added to the gradient, as in PyTorch). On a
    /// low-gain untrained network it balances the CE gradient before the
    /// threshold is reached; 0 removes that floor.
    #[arg(long, default_value_t = 1e-7)]
    weight_decay: f64,
    /// Write the synthetic input here (.npy).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Loads model, data and both endpoints, and fixes the target class.
fn load_pair(a: &PairArgs) -> anyhow::Result<(Network, Input, Input, u32)> {
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
fn endpoint_warnings(b: &BarrierMetrics, threshold: f64) -> Vec<String> {
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
