//! `ismc slice …`: one k-dimensional slice of input space through two
//! inputs. The flat form (`ismc slice --pair I,J --dims K --side L`) measures
//! one slice with the library's `measure_slice` — the function every unit of
//! the slice-percolation study calls — and prints or stores its record; the
//! subcommands keep a dense field on disk (`dense`), search lazily
//! (`invade`), export the low-loss graph (`graph`) or draw it (`heatmap`).

use std::process::ExitCode;

use clap::{Args, Subcommand};

mod flat;
mod flat_args;
mod graph;
mod grid;
mod heatmap;

pub use flat_args::OneSliceArgs;
pub use graph::GraphArgs;
pub use grid::{DenseArgs, InvadeArgs};
pub use heatmap::HeatmapArgs;

/// `ismc slice`: one slice measured and summarised (the flat form,
/// `ismc slice --pair I,J --dims K --side L --json`), or a subcommand for
/// the stored-field workflow.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SliceCli {
    #[command(subcommand)]
    cmd: Option<SliceCommand>,
    #[command(flatten)]
    one: OneSliceArgs,
}

/// `ismc slice` subcommands.
#[derive(Debug, Subcommand)]
pub enum SliceCommand {
    /// Evaluate the loss at every site of a slice (stored as DIR/field.npy
    /// with axes.npy, endpoints.npy and slice.json) and find its minimax
    /// barrier and p* by union-find in loss order.
    Dense(DenseArgs),
    /// Grow the low-loss cluster from A by invasion until C joins,
    /// evaluating the model only where the cluster reaches: goal-first
    /// (default) or in strict loss order (--loss-order); both give the
    /// exact minimax barrier.
    Invade(InvadeArgs),
    /// Export the graph of sites with loss ≤ LEVEL of a stored field
    /// (GraphML or DOT by the file extension).
    Graph(GraphArgs),
    /// Draw a stored 2-D field as a loss heatmap with A's cluster at the
    /// minimax level (or --level) outlined and the minimax path (PNG + SVG).
    Heatmap(HeatmapArgs),
}

/// Runs `ismc slice` (flat form or a subcommand).
pub fn run(cli: SliceCli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Some(SliceCommand::Dense(a)) => grid::dense(a),
        Some(SliceCommand::Invade(a)) => grid::invade_cmd(a),
        Some(SliceCommand::Graph(a)) => graph::graph(a),
        Some(SliceCommand::Heatmap(a)) => heatmap::heatmap(a),
        None => flat::one(cli.one),
    }
}
