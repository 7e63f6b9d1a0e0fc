//! The flat form: one slice measured by `measure_slice` (the function the
//! slice study's units call), then printed as a summary or JSON, or stored.

use std::process::ExitCode;

use ismc::bridge::SearchOrder;
use ismc::bridge::StoredField;
use ismc::bridge::SurrogateOptions;
use ismc::bridge::{measure_slice, Frame, Method, PairLabel, SlicePlan};
use ismc::bridge::{principal_directions, DirectionKind};
use ismc::data::input::resolve;
use ismc::nn::Classifier;
use serde_json::json;

use super::flat_args::{Directions, OneSliceArgs, SearchMethod, SearchOrderArg};
use super::graph::write_graph;
use crate::cli::inputs::{load_model_and_data, pair_class};

/// Grids up to this many sites are searched densely by `--method auto`.
const AUTO_DENSE_SITES: u64 = 1 << 22;

/// The flat form: one slice measured by [`measure_slice`] (the function
/// the slice study's units call), then printed or stored.
pub(super) fn one(a: OneSliceArgs) -> anyhow::Result<ExitCode> {
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
    plan.validate("--").map_err(|e| match e {
        ismc::Error::InvalidParameter {
            name,
            value,
            reason,
        } => ismc::Error::InvalidParameter {
            name: flag_of(&name),
            value,
            reason,
        },
        other => other,
    })?;
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

/// The command-line flag of a [`SlicePlan`] field named `--field` by its
/// validation, e.g. `--path_points_per_edge` → `--path-points`.
fn flag_of(field: &str) -> String {
    match field {
        "--path_points_per_edge" => "--path-points".into(),
        "--max_invasion_evaluations" => "--max-evaluations".into(),
        f => f.replace('_', "-"),
    }
}
