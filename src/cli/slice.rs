//! `ismc slice …`: one k-dimensional slice of input space through two data
//! items — dense evaluation stored as .npy, lazy invasion, graph export.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ismc::bridge::field::{evaluate_dense, DenseOptions, FieldMeta, StoredField};
use ismc::bridge::graph::{low_loss_graph, to_dot, to_graphml};
use ismc::bridge::invasion::{invade, ModelSites};
use ismc::bridge::minimax::sweep_loss_order;
use ismc::bridge::slice::{GridSpec, Slice};
use ismc::nn::Network;
use serde_json::json;

/// `ismc slice` subcommands.
#[derive(Debug, Subcommand)]
pub enum SliceCommand {
    /// Evaluate the loss at every site of a slice (stored as DIR/field.npy
    /// with axes.npy, endpoints.npy and slice.json) and find its minimax
    /// barrier and p* by union-find in loss order.
    Dense(DenseArgs),
    /// Grow the low-loss cluster from A by invasion until C joins,
    /// evaluating the model only where the cluster reaches.
    Invade(InvadeArgs),
    /// Export the graph of sites with loss ≤ LEVEL of a stored field
    /// (GraphML or DOT by the file extension).
    Graph(GraphArgs),
}

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
    /// Points per axis.
    #[arg(long)]
    pub side: usize,
    /// Extent of axes 1..k in units of |C − A|.
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
    slice: SliceArgs,
    /// Directory for field.npy, axes.npy, endpoints.npy, slice.json, sweep.csv.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `ismc slice invade`.
#[derive(Debug, Args)]
pub struct InvadeArgs {
    #[command(flatten)]
    slice: SliceArgs,
    /// Give up (exit code 2) after this many model evaluations.
    #[arg(long, default_value_t = 3_000_000)]
    max_evaluations: u64,
}

/// Arguments of `ismc slice graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// A directory written by `ismc slice dense`.
    #[arg(long)]
    field: PathBuf,
    /// Loss level: sites with loss ≤ LEVEL are nodes (e.g. the minimax barrier).
    #[arg(long)]
    level: f32,
    /// Output file, `.graphml` or `.dot`.
    #[arg(long)]
    out: PathBuf,
    /// Refuse graphs with more nodes.
    #[arg(long, default_value_t = 200_000)]
    max_nodes: usize,
}

/// Runs a slice subcommand.
pub fn run(cmd: SliceCommand) -> anyhow::Result<ExitCode> {
    crate::cli::eval::sync_threads();
    match cmd {
        SliceCommand::Dense(a) => dense(a),
        SliceCommand::Invade(a) => invade_cmd(a),
        SliceCommand::Graph(a) => graph(a),
    }
}

fn build(a: &SliceArgs) -> anyhow::Result<(Network, Slice, u32)> {
    let data = ismc::data::load(&a.data).map_err(ismc::Error::from)?;
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
    let model = ismc::nn::zoo::load_spec(&a.model, data.item_shape(), data.classes())
        .map_err(ismc::Error::from)?;
    if class as usize >= data.classes() {
        return Err(ismc::Error::invalid("--class", class, "class id out of range").into());
    }
    let grid = GridSpec::cube(a.k, a.side, a.span);
    let slice = Slice::random(&data.item(a.a), &data.item(a.c), &grid, a.seed)?;
    Ok((model, slice, class))
}

fn dense(a: DenseArgs) -> anyhow::Result<ExitCode> {
    let (model, slice, class) = build(&a.slice)?;
    let eval = evaluate_dense(&model, &slice, class, &DenseOptions::default())?;
    let ia = eval.field.index(slice.a_coords()) as u32;
    let ic = eval.field.index(slice.c_coords()) as u32;
    let sweep = sweep_loss_order(&eval.field, ia, ic, 400)?;
    let stored = StoredField {
        meta: FieldMeta {
            slice: slice.definition().clone(),
            class,
            evaluations: eval.evaluations,
            seconds: eval.seconds,
            model: a.slice.model.clone(),
        },
        field: eval.field.clone(),
        slice,
    };
    stored.save(&a.out)?;
    ismc::experiment::lattice_study::write_csv(&a.out.join("sweep.csv"), &sweep.curve)?;
    println!(
        "{}",
        json!({
            "k": a.slice.k, "side": a.slice.side, "sites": eval.evaluations,
            "evaluations": eval.evaluations, "seconds": eval.seconds,
            "evaluations_per_sec": eval.evaluations_per_sec(),
            "minimax_barrier": sweep.minimax_barrier, "p_star": sweep.p_star,
            "spanning_fraction": sweep.spanning_fraction, "class": class,
        })
    );
    Ok(ExitCode::SUCCESS)
}

fn invade_cmd(a: InvadeArgs) -> anyhow::Result<ExitCode> {
    let (model, slice, class) = build(&a.slice)?;
    let mut sites = ModelSites::new(&model, &slice, class)?;
    let r = invade(
        &mut sites,
        slice.a_coords(),
        slice.c_coords(),
        a.max_evaluations,
    )?;
    println!(
        "{}",
        json!({
            "k": a.slice.k, "side": a.slice.side, "grid_sites": r.grid_sites,
            "minimax_barrier": r.minimax_barrier, "invaded": r.invaded,
            "evaluations": r.evaluations, "fraction_evaluated": r.fraction_evaluated,
            "seconds": r.seconds, "evaluations_per_sec": r.evaluations_per_sec(),
            "path_sites": r.path.len() / a.slice.k.max(1), "class": class,
        })
    );
    Ok(ExitCode::SUCCESS)
}

fn graph(a: GraphArgs) -> anyhow::Result<ExitCode> {
    let stored = StoredField::load(&a.field)?;
    let ia = stored.field.index(stored.slice.a_coords()) as u32;
    let ic = stored.field.index(stored.slice.c_coords()) as u32;
    let g = low_loss_graph(&stored.field, a.level, ia, ic, a.max_nodes)?;
    let text = match a.out.extension().and_then(|e| e.to_str()) {
        Some("graphml") => to_graphml(&g),
        Some("dot") | Some("gv") => to_dot(&g),
        _ => {
            return Err(ismc::Error::invalid(
                "--out",
                a.out.display(),
                "expected a file name ending in .graphml or .dot",
            )
            .into())
        }
    };
    ismc::atomic::write_atomic(&a.out, text.as_bytes())?;
    eprintln!(
        "{} nodes, {} edges → {}",
        g.node_count(),
        g.edge_count(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
