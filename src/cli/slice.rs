//! `ismc slice …`: one k-dimensional slice of input space through two data
//! items — dense evaluation stored as .npy, lazy invasion, graph export.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use ismc::bridge::certify::{invade_goal_first, SearchOrder};
use ismc::bridge::field::{evaluate_dense, DenseOptions, StoredField};
use ismc::bridge::graph::{low_loss_graph, to_dot, to_graphml};
use ismc::bridge::invasion::{invade, ModelSites};
use ismc::bridge::measure::{measure_slice, Frame, Method, PairLabel, SlicePlan};
use ismc::bridge::minimax::{path_below, sweep_loss_order};
use ismc::bridge::slice::{principal_directions, DirectionKind, GridSpec, Slice};
use ismc::bridge::surrogate::SurrogateOptions;
use ismc::nn::Classifier;

use super::inputs::{load_model_and_data, pair_class};
use ismc::data::input::{resolve, PairRef};
use ismc::nn::Network;
use serde_json::json;

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

/// How the slice's grid is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchMethod {
    /// Evaluate every site, then union-find in loss order (gives p*).
    Dense,
    /// Grow from A by goal-first invasion, evaluating only where the
    /// cluster reaches: the exact minimax barrier. Sites below the current
    /// invasion level are absorbed nearest to C first, and the level rises
    /// (to the lowest boundary loss) only once A's cluster at that level is
    /// exhausted, so a barrier equal to max(ℓ(A), ℓ(C)) costs a walk to C,
    /// not A's whole basin.
    Invasion,
    /// Bracket the minimax barrier within a budget: goal-first invasion
    /// first (exact if it reaches C; otherwise the level it reached is a
    /// lower bound), then bisect the level (--bisect-steps), each search
    /// either finding a path at or below it (an upper bound), refuting it
    /// (a lower bound) or running out of its share of --max-evaluations.
    /// Reports lower_bound, upper_bound and the searches.
    Certify,
    /// Dense when the grid has at most 2²² sites; otherwise certify (goal-first
    /// invasion, then bisection within --max-evaluations).
    Auto,
}

/// Arguments of the flat form `ismc slice --pair I,J --dims K --side L`.
#[derive(Debug, Args)]
pub struct OneSliceArgs {
    /// Model: bundled name, untrained:ARCH:INIT:SEED, or a weights file.
    #[arg(long, default_value = "lenet5-mnist")]
    model: String,
    /// Data set the indices refer to (and the PCA directions come from).
    #[arg(long, default_value = "mnist")]
    data: String,
    /// Endpoints A,C: data indices or .npy files, e.g. `0,17`.
    #[arg(long, value_name = "I,J", required = true)]
    pair: Option<PairRef>,
    /// Target class of the loss (default: the shared class of A and C).
    #[arg(long)]
    class: Option<u32>,
    /// Slice dimension k: axis 0 along C − A, axes 1..k−1 from --directions.
    #[arg(long, required = true)]
    dims: Option<usize>,
    /// Points per axis.
    #[arg(long, required = true)]
    side: Option<usize>,
    /// Extent of axes 1..k−1 in units of |C − A| (axis 0 spans A to C).
    #[arg(long, default_value_t = 1.0)]
    span: f64,
    /// Where axes 1..k−1 come from: seeded Gaussian vectors, the principal
    /// components of the data, or input gradients along the segment.
    #[arg(long, value_enum, default_value_t = Directions::Random)]
    directions: Directions,
    /// Data items (the first N) whose principal components give `pca` axes.
    #[arg(long, default_value_t = 2000)]
    pca_items: usize,
    /// Dense, invasion, certify, or auto (dense up to 2²² sites, else
    /// invasion).
    #[arg(long, value_enum, default_value_t = SearchMethod::Auto)]
    method: SearchMethod,
    /// Also measure the fair nulls (dense only): the i.i.d. pinned null (A
    /// and C occupied first, every other site in uniform random order) and
    /// IAAFT surrogates of the field (its histogram and power spectrum,
    /// random phases, A and C pinned): `p_star_null`, `p_span_null_iid`,
    /// `p_star_surrogate`, `p_span_surrogate`.
    #[arg(long)]
    null: bool,
    /// Orders of the i.i.d. pinned null.
    #[arg(long, default_value_t = 20)]
    null_shuffles: usize,
    /// IAAFT surrogates.
    #[arg(long, default_value_t = 4)]
    surrogates: usize,
    /// IAAFT iterations at most per surrogate.
    #[arg(long, default_value_t = 100)]
    surrogate_iterations: usize,
    /// Directions in the pair's frame (default k − 1). Random frames nest
    /// whatever the size; gradient and PCA frames depend on it, so pass the
    /// study's largest k − 1 to reproduce a study's slice.
    #[arg(long)]
    frame: Option<usize>,
    /// Points on the straight segment A–C for the linear barrier.
    #[arg(long, default_value_t = 500)]
    linear_points: usize,
    /// Write the low-loss graph at --level (GraphML or DOT by extension;
    /// dense only).
    #[arg(long)]
    graph: Option<PathBuf>,
    /// Loss level of --graph (default: the minimax barrier, where A and C
    /// first share a cluster).
    #[arg(long)]
    level: Option<f32>,
    /// Store the dense field here (as `ismc slice dense` does).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Give up (exit code 2) after this many model evaluations (invasion
    /// and certify, together).
    #[arg(long, default_value_t = 3_000_000)]
    max_evaluations: u64,
    /// Order of the goal-first searches (invasion and certify) below their
    /// level: depth-first (follows one way round an obstacle far) or
    /// best-first by grid distance to C.
    #[arg(long, value_enum, default_value_t = SearchOrderArg::Deep, alias = "certify-order")]
    search_order: SearchOrderArg,
    /// Bisection steps of `certify` after its first search (goal-first
    /// invasion); each search gets --max-evaluations / (steps + 1).
    #[arg(long, default_value_t = 8)]
    bisect_steps: usize,
    /// Sites sampled uniformly to estimate p* (the fraction of the grid at
    /// or below the barrier) when the grid is not evaluated densely and ℓ*
    /// is exact (0: none).
    #[arg(long, default_value_t = 4096)]
    p_star_samples: usize,
    /// Points per grid edge when the minimax path is re-evaluated.
    #[arg(long, default_value_t = 8)]
    path_points: usize,
    /// The pair's seed: the frame of random directions, the null orders and
    /// the surrogates derive from it (a study's `slices.csv` records it per
    /// pair, so `--seed` reproduces that row).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

/// `--search-order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchOrderArg {
    /// Depth-first, nearest to C among the newest sites.
    Deep,
    /// Best-first by grid distance to C.
    Nearest,
}

/// Direction sources of `--directions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Directions {
    /// Seeded isotropic Gaussian vectors.
    Random,
    /// Principal components of the data.
    Pca,
    /// Input gradients of the loss along the segment A–C.
    Gradient,
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

/// Arguments of `ismc slice heatmap`.
#[derive(Debug, Args)]
pub struct HeatmapArgs {
    /// A directory written by `ismc slice dense` (or `ismc slice --out`) with k = 2.
    #[arg(long)]
    field: PathBuf,
    /// Output stem: writes STEM.png and STEM.svg.
    #[arg(long)]
    out: PathBuf,
    /// Outline the cluster of A at this loss level (default: the minimax
    /// barrier, where A and C first join).
    #[arg(long)]
    level: Option<f32>,
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
    /// Invade in strict loss order (Prim's algorithm, which absorbs A's
    /// whole basin below the barrier) instead of goal-first.
    #[arg(long)]
    loss_order: bool,
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

/// Runs `ismc slice` (flat form or a subcommand).
pub fn run(cli: SliceCli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Some(SliceCommand::Dense(a)) => dense(a),
        Some(SliceCommand::Invade(a)) => invade_cmd(a),
        Some(SliceCommand::Graph(a)) => graph(a),
        Some(SliceCommand::Heatmap(a)) => heatmap(a),
        None => one(cli.one),
    }
}

/// Grids up to this many sites are searched densely by `--method auto`.
const AUTO_DENSE_SITES: u64 = 1 << 22;

/// The flat form: one slice measured by [`measure_slice`] (the function
/// the slice study's units call), then printed or stored.
fn one(a: OneSliceArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let (pair, k, side) = match (a.pair.clone(), a.dims, a.side) {
        (Some(p), Some(k), Some(l)) => (p, k, l),
        _ => unreachable!("clap requires --pair, --dims and --side"),
    };
    let (model, data) = load_model_and_data(&a.model, &a.data)?;
    let len = model.spec().item_len();
    let ea = resolve(&pair.0, &data, len, "--pair (A)")?;
    let ec = resolve(&pair.1, &data, len, "--pair (C)")?;
    let class = pair_class(&model, &ea, &ec, a.class)?;
    if k == 0 || k > len {
        return Err(ismc::Error::invalid(
            "--dims",
            k,
            format!("expected 1 ≤ k ≤ {len}, the input dimension"),
        )
        .into());
    }
    let frame_size = a.frame.unwrap_or(k - 1).max(k - 1);
    let frame = match a.directions {
        Directions::Random => Frame::for_pair(
            &model,
            &ea.values,
            &ec.values,
            class,
            DirectionKind::Random,
            frame_size,
            a.seed,
        )?,
        Directions::Gradient => Frame::for_pair(
            &model,
            &ea.values,
            &ec.values,
            class,
            DirectionKind::Gradient,
            frame_size,
            a.seed,
        )?,
        Directions::Pca => {
            if data.item_len() != len {
                return Err(ismc::Error::invalid(
                    "--directions",
                    "pca",
                    format!(
                        "needs a --data set of the model's input shape; `{}` has {} values \
                         per item, the model takes {len}",
                        data.name(),
                        data.item_len()
                    ),
                )
                .into());
            }
            let n = a.pca_items.min(data.len());
            let idx: Vec<usize> = (0..n).collect();
            let d = principal_directions(&data.values(&idx), len, frame_size)?;
            Frame::given(d, DirectionKind::Pca)
        }
    };
    let plan = SlicePlan {
        span: a.span,
        method: match a.method {
            SearchMethod::Dense => Method::Dense,
            SearchMethod::Invasion => Method::Invasion,
            SearchMethod::Certify => Method::Certify,
            SearchMethod::Auto => Method::Auto,
        },
        dense_site_limit: AUTO_DENSE_SITES,
        max_evaluations: a.max_evaluations,
        bisect_steps: a.bisect_steps,
        search_order: match a.search_order {
            SearchOrderArg::Deep => SearchOrder::Deep,
            SearchOrderArg::Nearest => SearchOrder::Nearest,
        },
        null_shuffles: if a.null { a.null_shuffles } else { 0 },
        surrogates: if a.null { a.surrogates } else { 0 },
        surrogate: SurrogateOptions {
            max_iterations: a.surrogate_iterations,
            ..SurrogateOptions::default()
        },
        linear_points: a.linear_points,
        path_points_per_edge: a.path_points,
        p_star_samples: a.p_star_samples,
        ..SlicePlan::new(k, side)
    };
    plan.validate("--")?;
    let dense = plan.is_dense();
    for (flag, given) in [
        ("--null", a.null),
        ("--graph", a.graph.is_some()),
        ("--out", a.out.is_some()),
    ] {
        if given && !dense {
            return Err(ismc::Error::invalid(
                flag,
                "with a lazy method",
                "needs the dense field: pass --method dense (and a grid that fits)",
            )
            .into());
        }
    }
    if let Some(level) = a.level {
        if !level.is_finite() {
            return Err(ismc::Error::invalid("--level", level, "expected a finite loss").into());
        }
    }
    let label = PairLabel {
        model: &a.model,
        pair_kind: "given",
        pair: 0,
    };
    let m = measure_slice(
        &model, &label, &ea.values, &ec.values, class, &frame, &plan, a.seed,
    )?;
    let r = &m.record;
    let mut out = match serde_json::to_value(r)? {
        serde_json::Value::Object(o) => o,
        _ => unreachable!("a record serialises to an object"),
    };
    if let Some(eval) = &m.field {
        let field = &eval.field;
        let ia = field.index(m.slice.a_coords()) as u32;
        let ic = field.index(m.slice.c_coords()) as u32;
        if let Some(file) = &a.graph {
            let level = a.level.unwrap_or(r.barrier_upper);
            write_graph(field, level, ia, ic, file, 200_000)?;
            out.insert("graph_level".into(), json!(level));
        }
    }
    if let (Some(dir), Some(eval)) = (&a.out, m.field) {
        StoredField::of_evaluation(eval, m.slice.clone(), class, &a.model).save(dir)?;
    }
    out.insert("a".into(), json!(ea.name));
    out.insert("c".into(), json!(ec.name));
    out.insert("span".into(), json!(a.span));
    out.insert("seconds".into(), json!(started.elapsed().as_secs_f64()));
    if a.json {
        println!("{}", serde_json::Value::Object(out));
    } else {
        let level = match r.minimax_barrier {
            Some(b) => format!("minimax barrier {b:.4e}"),
            None => format!(
                "minimax barrier in [{:.4e}, {:.4e}]",
                r.barrier_lower, r.barrier_upper
            ),
        };
        let opt =
            |name: &str, v: Option<f64>| v.map(|v| format!(", {name} {v:.4}")).unwrap_or_default();
        println!(
            "k = {k}, L = {side} ({}): {level} (τ₀ {:.4e}, linear {:.4e}, path re-evaluated {:.4e}); \
             {} sites evaluated{}{}{}{}{}{}",
            r.method,
            r.tau0,
            r.linear_barrier,
            r.path_max,
            r.evaluations,
            opt("gap fraction", r.gap_fraction),
            opt("p_span", r.p_span),
            opt("p_span i.i.d.", r.p_span_null_iid),
            opt("p_span IAAFT", r.p_span_surrogate),
            opt("p* pinned", r.p_star_pinned),
            opt("p* i.i.d.", r.p_star_null),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the graph of sites with loss ≤ `level` (GraphML or DOT by the
/// extension of `file`), atomically.
fn write_graph(
    field: &ismc::bridge::field::LossField,
    level: f32,
    ia: u32,
    ic: u32,
    file: &std::path::Path,
    max_nodes: usize,
) -> anyhow::Result<()> {
    let g = low_loss_graph(field, level, ia, ic, max_nodes)?;
    let text = match file.extension().and_then(|e| e.to_str()) {
        Some("graphml") => to_graphml(&g),
        Some("dot") | Some("gv") => to_dot(&g),
        _ => {
            return Err(ismc::Error::invalid(
                "--graph/--out",
                file.display(),
                "expected a file name ending in .graphml or .dot",
            )
            .into())
        }
    };
    ismc::atomic::write_atomic(file, text.as_bytes())?;
    eprintln!(
        "{} nodes, {} edges → {}",
        g.node_count(),
        g.edge_count(),
        file.display()
    );
    Ok(())
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

fn dense(a: DenseArgs) -> anyhow::Result<ExitCode> {
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

fn invade_cmd(a: InvadeArgs) -> anyhow::Result<ExitCode> {
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

fn graph(a: GraphArgs) -> anyhow::Result<ExitCode> {
    let stored = StoredField::load(&a.field)?;
    let ia = stored.field.index(stored.slice.a_coords()) as u32;
    let ic = stored.field.index(stored.slice.c_coords()) as u32;
    write_graph(&stored.field, a.level, ia, ic, &a.out, a.max_nodes)?;
    Ok(ExitCode::SUCCESS)
}

fn heatmap(a: HeatmapArgs) -> anyhow::Result<ExitCode> {
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
    let cluster = ismc::bridge::minimax::cluster_below(field, ia, level)?;
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
