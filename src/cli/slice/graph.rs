//! `ismc slice graph`: the low-loss graph of a stored field as GraphML or
//! DOT (petgraph), and the writer the flat form's `--graph` shares.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ismc::bridge::graph::low_loss_graph;
use ismc::bridge::StoredField;

/// Arguments of `ismc slice graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// A directory written by `ismc slice dense`.
    #[arg(long)]
    pub(super) field: PathBuf,
    /// Loss level: sites with loss ≤ LEVEL are nodes (e.g. the minimax barrier).
    #[arg(long)]
    pub(super) level: f32,
    /// Output file, `.graphml` or `.dot`.
    #[arg(long)]
    pub(super) out: PathBuf,
    /// Refuse graphs with more nodes.
    #[arg(long, default_value_t = 200_000)]
    pub(super) max_nodes: usize,
}

/// Writes the graph of sites with loss ≤ `level` (GraphML or DOT by the
/// extension of `file`), atomically, and says how large it is.
pub(super) fn write_graph(
    field: &ismc::bridge::LossField,
    level: f32,
    ia: u32,
    ic: u32,
    file: &std::path::Path,
    max_nodes: usize,
) -> anyhow::Result<()> {
    let g = low_loss_graph(field, level, ia, ic, max_nodes)?;
    ismc::bridge::graph::write_graph(&g, file, "--graph/--out")?;
    eprintln!(
        "{} nodes, {} edges → {}",
        g.node_count(),
        g.edge_count(),
        file.display()
    );
    Ok(())
}

pub(super) fn graph(a: GraphArgs) -> anyhow::Result<ExitCode> {
    let stored = StoredField::load(&a.field)?;
    let ia = stored.field.index(stored.slice.a_coords()) as u32;
    let ic = stored.field.index(stored.slice.c_coords()) as u32;
    write_graph(&stored.field, a.level, ia, ic, &a.out, a.max_nodes)?;
    Ok(ExitCode::SUCCESS)
}
