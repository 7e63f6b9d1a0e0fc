//! `ismc slice heatmap`: a stored 2-D field drawn as a loss heatmap with
//! A's cluster outlined and the minimax path (PNG + SVG).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ismc::bridge::StoredField;
use ismc::bridge::{path_below, sweep_loss_order};

/// Arguments of `ismc slice heatmap`.
#[derive(Debug, Args)]
pub struct HeatmapArgs {
    /// A directory written by `ismc slice dense` (or `ismc slice --out`) with k = 2.
    #[arg(long)]
    pub(super) field: PathBuf,
    /// Output stem: writes STEM.png and STEM.svg.
    #[arg(long)]
    pub(super) out: PathBuf,
    /// Outline the cluster of A at this loss level (default: the minimax
    /// barrier, where A and C first join).
    #[arg(long)]
    pub(super) level: Option<f32>,
}

pub(super) fn heatmap(a: HeatmapArgs) -> anyhow::Result<ExitCode> {
    let stored = StoredField::load(&a.field)?;
    let field = &stored.field;
    let sides = match field.sides[..] {
        [l0, l1] => [l0, l1],
        _ => {
            return Err(ismc::Error::invalid(
                "--field",
                a.field.display(),
                format!(
                    "holds a {}-dimensional field; a heatmap needs k = 2",
                    field.sides.len()
                ),
            )
            .into())
        }
    };
    let ia = field.index(stored.slice.a_coords()) as u32;
    let ic = field.index(stored.slice.c_coords()) as u32;
    let sweep = sweep_loss_order(field, ia, ic, 1)?;
    let level = a.level.unwrap_or(sweep.minimax_barrier);
    let cluster = ismc::bridge::cluster_below(field, ia, level)?;
    let path = path_below(field, ia, ic, sweep.minimax_barrier)?
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s / sides[1] as u32, s % sides[1] as u32))
        .collect();
    let pt = |c: &[u32]| (c[0], c[1]);
    let fig = ismc::plot::heatmap::SliceHeatmap {
        title: format!(
            "{}: loss on a 2-D slice, minimax barrier {:.3e}, p* = {:.3}",
            stored.meta.model, sweep.minimax_barrier, sweep.p_star
        ),
        sides,
        values: field.values.clone(),
        cluster,
        level,
        path,
        endpoints: [pt(stored.slice.a_coords()), pt(stored.slice.c_coords())],
    };
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ismc::Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    let (png, svg) = ismc::plot::save(&fig, &a.out)?;
    eprintln!("{} and {}", png.display(), svg.display());
    Ok(ExitCode::SUCCESS)
}
