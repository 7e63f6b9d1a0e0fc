//! `ismc slice dense` and `ismc slice invade`: a random slice through two
//! data items, evaluated densely and stored, or searched lazily by invasion.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ismc::bridge::sweep_loss_order;
use ismc::bridge::{evaluate_dense, DenseOptions, StoredField};
use ismc::bridge::{invade, ModelSites};
use ismc::bridge::{invade_goal_first, SearchOrder};
use ismc::bridge::{GridSpec, Slice};
use ismc::nn::Network;
use serde_json::json;

/// The slice shared by `dense` and `invade`.
#[derive(Debug, Args)]
pub struct SliceArgs {
    /// Model: bundled name, untrained:ARCH:INIT:SEED, or a weights file.
    #[arg(long, default_value = "lenet5-mnist")]
    pub model: String,
    /// Data set of the endpoints.
    #[arg(long, default_value = "mnist")]
    pub data: String,
    /// Data index of endpoint A.
    #[arg(long)]
    pub a: usize,
    /// Data index of endpoint C (same label as A unless --class is given).
    #[arg(long)]
    pub c: usize,
    /// Target class of the loss (default: the label of A and C).
    #[arg(long)]
    pub class: Option<u32>,
    /// Slice dimension k (axis 0 along C − A, the others random).
    #[arg(long)]
    pub k: usize,
    /// Points per axis L of the grid (≥ 2).
    #[arg(long)]
    pub side: usize,
    /// Extent of axes 1..k−1 in units of |C − A|.
    #[arg(long, default_value_t = 1.0)]
    pub span: f64,
    /// Seed of the random directions.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Arguments of `ismc slice dense`.
#[derive(Debug, Args)]
pub struct DenseArgs {
    #[command(flatten)]
    pub(super) slice: SliceArgs,
    /// Directory for field.npy, axes.npy, endpoints.npy, slice.json, sweep.csv.
    #[arg(long)]
    pub(super) out: PathBuf,
}

/// Arguments of `ismc slice invade`.
#[derive(Debug, Args)]
pub struct InvadeArgs {
    #[command(flatten)]
    pub(super) slice: SliceArgs,
    /// Give up (exit code 2) after this many model evaluations.
    #[arg(long, default_value_t = 3_000_000)]
    pub(super) max_evaluations: u64,
    /// Invade in strict loss order (Prim's algorithm, which absorbs A's
    /// whole basin below the barrier) instead of goal-first.
    #[arg(long)]
    pub(super) loss_order: bool,
}

fn build(a: &SliceArgs) -> anyhow::Result<(Network, Slice, u32)> {
    let data = ismc::data::load(&a.data)?;
    for (name, i) in [("--a", a.a), ("--c", a.c)] {
        if i >= data.len() {
            return Err(ismc::Error::invalid(
                name,
                i,
                format!("expected an index below {} ({})", data.len(), a.data),
            )
            .into());
        }
    }
    let (la, lc) = (data.labels()[a.a] as u32, data.labels()[a.c] as u32);
    let class = match a.class {
        Some(c) => c,
        None if la == lc => la,
        None => {
            return Err(ismc::Error::invalid(
                "--c",
                a.c,
                format!(
                    "has label {lc} but A has label {la}; pass --class to compare across classes"
                ),
            )
            .into())
        }
    };
    let model = ismc::nn::zoo::load_spec(&a.model, data.item_shape(), data.classes())?;
    if class as usize >= data.classes() {
        return Err(ismc::Error::invalid("--class", class, "class id out of range").into());
    }
    let grid = GridSpec::cube(a.k, a.side, a.span);
    let slice = Slice::random(&data.item(a.a), &data.item(a.c), &grid, a.seed)?;
    Ok((model, slice, class))
}

pub(super) fn dense(a: DenseArgs) -> anyhow::Result<ExitCode> {
    let (model, slice, class) = build(&a.slice)?;
    let eval = evaluate_dense(&model, &slice, class, &DenseOptions::default())?;
    let ia = eval.field.index(slice.a_coords()) as u32;
    let ic = eval.field.index(slice.c_coords()) as u32;
    let sweep = sweep_loss_order(&eval.field, ia, ic, 400)?;
    let (evaluations, seconds, per_sec) =
        (eval.evaluations, eval.seconds, eval.evaluations_per_sec());
    StoredField::of_evaluation(eval, slice, class, &a.slice.model).save(&a.out)?;
    ismc::experiment::store::write_csv(&a.out.join("sweep.csv"), &sweep.curve)?;
    println!(
        "{}",
        json!({
            "k": a.slice.k, "side": a.slice.side, "sites": evaluations,
            "evaluations": evaluations, "seconds": seconds,
            "evaluations_per_sec": per_sec,
            "minimax_barrier": sweep.minimax_barrier, "p_star": sweep.p_star,
            "spanning_fraction": sweep.spanning_fraction, "class": class,
        })
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn invade_cmd(a: InvadeArgs) -> anyhow::Result<ExitCode> {
    let (model, slice, class) = build(&a.slice)?;
    let mut sites = ModelSites::new(&model, &slice, class)?;
    let (ca, cc) = (slice.a_coords(), slice.c_coords());
    let grid_sites = slice.n_sites() as f64;
    let k = a.slice.k.max(1);
    // `grown`: sites invaded (loss order) or expanded (goal-first).
    let summary =
        |order: &str, barrier: f32, grown: u64, evaluations: u64, seconds: f64, path: &[u32]| {
            json!({
                "k": a.slice.k, "side": a.slice.side, "grid_sites": grid_sites, "order": order,
                "minimax_barrier": barrier, "invaded": grown, "evaluations": evaluations,
                "fraction_evaluated": evaluations as f64 / grid_sites, "seconds": seconds,
                "evaluations_per_sec": evaluations as f64 / seconds.max(1e-12),
                "path_sites": path.len() / k, "class": class,
            })
        };
    let v = if a.loss_order {
        let r = invade(&mut sites, ca, cc, a.max_evaluations)?;
        summary(
            "loss",
            r.minimax_barrier,
            r.invaded,
            r.evaluations,
            r.seconds,
            &r.path,
        )
    } else {
        let (b, r) = invade_goal_first(&mut sites, ca, cc, a.max_evaluations, SearchOrder::Deep)?
            .into_exact(a.max_evaluations)?;
        summary("goal", b, r.expanded, r.evaluations, r.seconds, &r.path)
    };
    println!("{v}");
    Ok(ExitCode::SUCCESS)
}
