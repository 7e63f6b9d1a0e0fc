//! The slice-percolation study as units of work for an experiment runner.
//!
//! One unit is one (model, pair A–C, slice dimension k): build the slice,
//! find its minimax barrier `ℓ*` (dense loss-order sweep, or lazy invasion
//! when the grid is larger than `dense_site_limit`), re-evaluate the minimax
//! grid path at full resolution, compare with the straight segment's barrier
//! and, for dense slices, with the shuffled-field null model `p*_null`. The
//! runner calls [`run_unit`] per unit with a seed derived from (master seed,
//! unit id), stores the [`SliceRecord`]s and finally calls [`summarise`].
//!
//! The config is what a TOML experiment file holds ([`SliceStudyConfig`],
//! unknown keys refused); [`SliceStudyConfig::quick`] is the smoke-test
//! variant (k = 1..4, small grids).
//!
//! ```
//! use ismc::bridge::study::SliceStudyConfig;
//! let cfg: SliceStudyConfig = toml::from_str("dims = [1, 2]\nsides = [17, 9]").unwrap();
//! cfg.validate().unwrap();
//! assert_eq!(cfg.side_for(2).unwrap(), 9);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::certify::{invade_goal_first, SearchOrder};
use super::field::{evaluate_dense, DenseOptions};
use super::invasion::ModelSites;
use super::minimax::{minimax_path_coords, reevaluate_path, sweep_loss_order};
use super::null::null_p_star;
use super::slice::{gradient_directions, DirectionKind, GridSpec, Slice};
use crate::error::{Error, Result};
use crate::nn::Classifier;
use crate::percolation::Kind;
use crate::rng::{derive_seed, stream};
use crate::stats::{quantile, MeanError};

/// How the barrier of a slice is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Dense up to `dense_site_limit` sites, goal-first invasion above.
    #[default]
    Auto,
    /// Always the dense sweep (refused above the memory limit).
    Dense,
    /// Always (goal-first) invasion, [`super::certify::invade_goal_first`].
    Invasion,
}

/// The study's parameters, as written in an experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SliceStudyConfig {
    /// Slice dimensions k to study.
    pub dims: Vec<usize>,
    /// Points per axis for each entry of `dims` (same length); empty = from
    /// `site_budget`.
    pub sides: Vec<usize>,
    /// Sites per slice when `sides` is empty: `L = ⌊budget^(1/k)⌋`, clamped
    /// to `3..=max_side`.
    pub site_budget: u64,
    /// Largest side chosen from `site_budget`.
    pub max_side: usize,
    /// Extent of axis 0 in units of `|C − A|` (≥ 1).
    pub axis0_span: f64,
    /// Extent of the other axes in units of `|C − A|`.
    pub span: f64,
    /// Directions of axes `1..k` (`pca` needs [`run_unit_with_directions`]).
    pub directions: DirectionKind,
    /// Shuffles of the null model per dense slice (0 = none).
    pub null_shuffles: usize,
    /// Dense sweep or invasion.
    pub method: Method,
    /// Largest grid evaluated densely under `method = "auto"`.
    pub dense_site_limit: u64,
    /// Evaluation limit of one invasion.
    pub max_invasion_evaluations: u64,
    /// Points on the straight segment A–C for the linear-path barrier.
    pub linear_points: usize,
    /// Points per grid edge when re-evaluating the minimax path.
    pub path_points_per_edge: usize,
}

impl Default for SliceStudyConfig {
    fn default() -> Self {
        SliceStudyConfig {
            dims: (1..=10).collect(),
            sides: Vec::new(),
            site_budget: 1_000_000,
            max_side: 257,
            axis0_span: 1.0,
            span: 1.0,
            directions: DirectionKind::Random,
            null_shuffles: 20,
            method: Method::Auto,
            dense_site_limit: 2_000_000,
            max_invasion_evaluations: 3_000_000,
            linear_points: 1000,
            path_points_per_edge: 8,
        }
    }
}

impl SliceStudyConfig {
    /// The quick variant: k = 1..4 on small grids (33, 17², 9³, 6⁴ sites),
    /// 10 null shuffles — seconds per pair on LeNet5.
    pub fn quick() -> Self {
        SliceStudyConfig {
            dims: vec![1, 2, 3, 4],
            sides: vec![33, 17, 9, 6],
            null_shuffles: 10,
            linear_points: 200,
            path_points_per_edge: 4,
            ..Self::default()
        }
    }

    /// Checks every field, naming the field and the expected form.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, value: &dyn std::fmt::Debug, why: &str| {
            Err(Error::invalid(name, format!("{value:?}"), why))
        };
        if self.dims.is_empty()
            || self
                .dims
                .iter()
                .any(|&k| k == 0 || k > crate::lattice::MAX_DIM)
        {
            return bad(
                "dims",
                &self.dims,
                "expected a non-empty list of dimensions in 1..=16",
            );
        }
        if !self.sides.is_empty() && self.sides.len() != self.dims.len() {
            return bad(
                "sides",
                &self.sides,
                "expected one side per entry of dims, or none",
            );
        }
        if self.sides.iter().any(|&s| s < 2) {
            return bad("sides", &self.sides, "expected sides of at least 2 points");
        }
        if self.sides.is_empty() && self.site_budget < 3 {
            return bad(
                "site_budget",
                &self.site_budget,
                "expected at least 3 sites",
            );
        }
        if self.max_side < 3 {
            return bad("max_side", &self.max_side, "expected at least 3");
        }
        if !(self.axis0_span.is_finite() && self.axis0_span >= 1.0) {
            return bad(
                "axis0_span",
                &self.axis0_span,
                "expected a finite number ≥ 1",
            );
        }
        if !(self.span.is_finite() && self.span > 0.0) {
            return bad("span", &self.span, "expected a positive finite number");
        }
        if self.linear_points < 2 {
            return bad("linear_points", &self.linear_points, "expected at least 2");
        }
        if self.path_points_per_edge == 0 {
            return bad(
                "path_points_per_edge",
                &self.path_points_per_edge,
                "expected at least 1",
            );
        }
        if self.max_invasion_evaluations == 0 {
            return bad("max_invasion_evaluations", &0, "expected at least 1");
        }
        Ok(())
    }

    /// Points per axis for slice dimension `k`.
    pub fn side_for(&self, k: usize) -> Result<usize> {
        if !self.sides.is_empty() {
            return self
                .dims
                .iter()
                .position(|&d| d == k)
                .map(|i| self.sides[i])
                .ok_or_else(|| Error::invalid("dims", k, "not among the configured dims"));
        }
        let mut side = (self.site_budget as f64).powf(1.0 / k as f64).floor() as usize;
        // Guard against the floating root landing just below an exact power.
        while ((side + 1) as f64).powi(k as i32) <= self.site_budget as f64 {
            side += 1;
        }
        Ok(side.clamp(3, self.max_side))
    }
}

/// One unit's result: a flat, serialisable row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceRecord {
    /// Model name, as given by the runner.
    pub model: String,
    /// Pair kind (e.g. `real-real`, `real-adversarial`, `synthetic`).
    pub pair_kind: String,
    /// Slice dimension.
    pub k: usize,
    /// Points per axis.
    pub side: usize,
    /// Grid sites `L^k` (as f64: may exceed 2⁶⁴).
    pub sites: f64,
    /// `dense` or `invasion`.
    pub method: String,
    /// Model evaluations spent on the grid.
    pub evaluations: u64,
    /// `evaluations / sites`.
    pub fraction_evaluated: f64,
    /// Class of A and C (the loss target).
    pub class: u32,
    /// Minimax barrier of the slice.
    pub minimax_barrier: f32,
    /// Occupied fraction at the join (dense only).
    pub p_star: Option<f64>,
    /// Mean `p*` of the shuffled field (dense with shuffles only).
    pub p_star_null: Option<f64>,
    /// Standard error of `p_star_null`.
    pub p_star_null_stderr: Option<f64>,
    /// Max loss on the straight segment A–C (`linear_points` points).
    pub linear_barrier: f32,
    /// Max loss on the minimax grid path re-evaluated between grid points.
    pub path_max: f32,
    /// Grid steps of the minimax path.
    pub path_steps: usize,
    /// Loss at A.
    pub loss_a: f32,
    /// Loss at C.
    pub loss_c: f32,
    /// Seed of the unit.
    pub seed: u64,
}

/// Max loss on `points` evenly spaced points of the segment A–C.
pub fn linear_barrier<C: Classifier + ?Sized>(
    model: &C,
    a: &[f32],
    c: &[f32],
    class: u32,
    points: usize,
) -> Result<f32> {
    let points = points.max(2);
    let mut xs = Vec::with_capacity(points * a.len());
    for i in 0..points {
        let t = i as f32 / (points - 1) as f32;
        xs.extend(a.iter().zip(c).map(|(&x, &y)| (1.0 - t) * x + t * y));
    }
    let losses = super::field::loss_blocked(model, &xs, class)?;
    Ok(losses.into_iter().fold(f32::NEG_INFINITY, f32::max))
}

/// Runs one unit with directions chosen by `cfg.directions` (random or
/// gradient; `pca` is refused here — use [`run_unit_with_directions`]).
#[allow(clippy::too_many_arguments)]
pub fn run_unit<C: Classifier + ?Sized>(
    model: &C,
    model_name: &str,
    a: &[f32],
    c: &[f32],
    class: u32,
    pair_kind: &str,
    k: usize,
    cfg: &SliceStudyConfig,
    seed: u64,
) -> Result<SliceRecord> {
    run_unit_with_directions(
        model, model_name, a, c, class, pair_kind, k, cfg, seed, None,
    )
}

/// Like [`run_unit`], with explicit candidate directions for axes `1..k`
/// (e.g. [`super::slice::principal_directions`] of the data, needed for
/// `directions = "pca"`).
#[allow(clippy::too_many_arguments)]
pub fn run_unit_with_directions<C: Classifier + ?Sized>(
    model: &C,
    model_name: &str,
    a: &[f32],
    c: &[f32],
    class: u32,
    pair_kind: &str,
    k: usize,
    cfg: &SliceStudyConfig,
    seed: u64,
    given: Option<&[Vec<f32>]>,
) -> Result<SliceRecord> {
    cfg.validate()?;
    let side = cfg.side_for(k)?;
    let mut spans = vec![cfg.span; k];
    spans[0] = cfg.axis0_span;
    let grid = GridSpec {
        sides: vec![side; k],
        spans,
    };
    let dir_seed = derive_seed(seed, &[stream::INPUT_SPACE, 0x51, k as u64]);
    let slice = match (given, cfg.directions) {
        (Some(d), kind) => Slice::with_directions(a, c, &grid, d, kind)?,
        (None, DirectionKind::Random) => Slice::random(a, c, &grid, dir_seed)?,
        (None, DirectionKind::Gradient) => {
            let d = gradient_directions(model, a, c, class, k.saturating_sub(1))?;
            Slice::with_directions(a, c, &grid, &d, DirectionKind::Gradient)?
        }
        (None, DirectionKind::Pca) => {
            return Err(Error::invalid(
                "directions",
                "pca",
                "principal directions need data: call run_unit_with_directions with them",
            ))
        }
    };
    let sites = slice.n_sites() as f64;
    let dense = match cfg.method {
        Method::Dense => true,
        Method::Invasion => false,
        Method::Auto => sites <= cfg.dense_site_limit as f64,
    };
    let ends = super::field::loss_blocked(model, &[a, c].concat(), class)?;
    let (method, evaluations, barrier, p_star, null, path) = if dense {
        let eval = evaluate_dense(
            model,
            &slice,
            class,
            &DenseOptions {
                chunk_sites: 1024,
                ..DenseOptions::default()
            },
        )?;
        let field = &eval.field;
        let (ia, ic) = (field.index(slice.a_coords()), field.index(slice.c_coords()));
        let sweep = sweep_loss_order(field, ia as u32, ic as u32, 1)?;
        let path = minimax_path_coords(field, &slice, ia as u32, ic as u32, sweep.minimax_barrier)?;
        let null = if cfg.null_shuffles > 0 {
            let s = derive_seed(seed, &[stream::INPUT_SPACE, 0x52, k as u64]);
            Some(null_p_star(field, ia as u32, ic as u32, cfg.null_shuffles, s)?.p_star)
        } else {
            None
        };
        (
            "dense",
            eval.evaluations,
            sweep.minimax_barrier,
            Some(sweep.p_star),
            null,
            path,
        )
    } else {
        let mut oracle = ModelSites::new(model, &slice, class)?;
        let (barrier, inv) = invade_goal_first(
            &mut oracle,
            slice.a_coords(),
            slice.c_coords(),
            cfg.max_invasion_evaluations,
            SearchOrder::Deep,
        )?
        .into_exact(cfg.max_invasion_evaluations)?;
        ("invasion", inv.evaluations, barrier, None, None, inv.path)
    };
    let profile = reevaluate_path(model, &slice, &path, class, cfg.path_points_per_edge)?;
    let linear = linear_barrier(model, a, c, class, cfg.linear_points)?;
    Ok(SliceRecord {
        model: model_name.to_string(),
        pair_kind: pair_kind.to_string(),
        k,
        side,
        sites,
        method: method.to_string(),
        evaluations,
        fraction_evaluated: evaluations as f64 / sites,
        class,
        minimax_barrier: barrier,
        p_star,
        p_star_null: null.map(|m| m.mean),
        p_star_null_stderr: null.map(|m| m.stderr),
        linear_barrier: linear,
        path_max: profile.max_loss,
        path_steps: path.len() / k - 1,
        loss_a: ends[0],
        loss_c: ends[1],
        seed,
    })
}

/// Median, mean and count of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Median.
    pub median: f64,
    /// Mean.
    pub mean: f64,
    /// Number of values.
    pub n: usize,
}

impl Summary {
    fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Summary {
            median: quantile(&v, 0.5),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            n: v.len(),
        }
    }
}

/// Mean of the units' `p*_null` with its standard error across units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NullSummary {
    /// Mean over units.
    pub mean: f64,
    /// Standard error of the mean across units (0 for one unit).
    pub stderr: f64,
    /// Number of units.
    pub n: usize,
}

/// Per k → per model → per pair kind.
pub type Nested = BTreeMap<usize, BTreeMap<String, BTreeMap<String, Summary>>>;

/// The study's summary (what `summary.json` holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceSummary {
    /// `p*` per k, model and pair kind (dense units only).
    pub p_star: Nested,
    /// Minimax barrier per k, model and pair kind.
    pub minimax_barrier: Nested,
    /// Linear-path barrier per k, model and pair kind.
    pub linear_barrier: Nested,
    /// Mean over units of `p*_null` per k, with the standard error across units.
    pub p_star_null: BTreeMap<usize, NullSummary>,
    /// Lattice site threshold p_c^site(k): published values (exact 1 for
    /// k = 1), the σ = 2k − 1 series beyond the table.
    pub lattice_pc_site: BTreeMap<usize, f64>,
}

/// Summarises records (order-independent).
pub fn summarise(records: &[SliceRecord]) -> SliceSummary {
    let mut groups: BTreeMap<(usize, String, String), Vec<&SliceRecord>> = BTreeMap::new();
    for r in records {
        groups
            .entry((r.k, r.model.clone(), r.pair_kind.clone()))
            .or_default()
            .push(r);
    }
    let nest = |f: &dyn Fn(&SliceRecord) -> Option<f64>| {
        let mut out: Nested = BTreeMap::new();
        for ((k, m, p), rs) in &groups {
            let v: Vec<f64> = rs.iter().filter_map(|r| f(r)).collect();
            if !v.is_empty() {
                out.entry(*k)
                    .or_default()
                    .entry(m.clone())
                    .or_default()
                    .insert(p.clone(), Summary::of(&v));
            }
        }
        out
    };
    let p_star = nest(&|r| r.p_star);
    let minimax_barrier = nest(&|r| Some(r.minimax_barrier as f64));
    let linear_barrier = nest(&|r| Some(r.linear_barrier as f64));
    let mut nulls: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for r in records {
        if let Some(v) = r.p_star_null {
            nulls.entry(r.k).or_default().push(v);
        }
    }
    let p_star_null = nulls
        .into_iter()
        .map(|(k, v)| {
            let m = MeanError::of(&v);
            (
                k,
                NullSummary {
                    mean: m.mean,
                    stderr: m.stderr,
                    n: m.n,
                },
            )
        })
        .collect();
    let lattice_pc_site = records
        .iter()
        .map(|r| r.k)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|k| {
            let pc = crate::scaling::literature::published(k, Kind::Site)
                .map(|p| p.value)
                .unwrap_or_else(|| crate::scaling::literature::series(k, Kind::Site));
            (k, pc)
        })
        .collect();
    SliceSummary {
        p_star,
        minimax_barrier,
        linear_barrier,
        p_star_null,
        lattice_pc_site,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_refuses_unknown_keys_and_names_bad_fields() {
        assert!(toml::from_str::<SliceStudyConfig>("dimz = [1]").is_err());
        let cfg = SliceStudyConfig {
            sides: vec![3],
            ..SliceStudyConfig::quick()
        };
        match cfg.validate().unwrap_err() {
            Error::InvalidParameter { name, .. } => assert_eq!(name, "sides"),
            e => panic!("{e}"),
        }
        SliceStudyConfig::quick().validate().unwrap();
        SliceStudyConfig::default().validate().unwrap();
    }

    #[test]
    fn budget_sides_are_the_largest_fitting_root() {
        let cfg = SliceStudyConfig {
            site_budget: 1_000_000,
            ..SliceStudyConfig::default()
        };
        assert_eq!(cfg.side_for(2).unwrap(), 257); // 1000 capped at max_side
        assert_eq!(cfg.side_for(3).unwrap(), 100);
        assert_eq!(cfg.side_for(6).unwrap(), 10);
        assert_eq!(cfg.side_for(16).unwrap(), 3);
    }

    #[test]
    fn summary_groups_by_k_model_and_pair_kind() {
        let rec = |k, model: &str, pk: &str, b: f32, p: f64| SliceRecord {
            model: model.into(),
            pair_kind: pk.into(),
            k,
            side: 5,
            sites: 25.0,
            method: "dense".into(),
            evaluations: 25,
            fraction_evaluated: 1.0,
            class: 0,
            minimax_barrier: b,
            p_star: Some(p),
            p_star_null: Some(p + 0.1),
            p_star_null_stderr: Some(0.01),
            linear_barrier: 2.0 * b,
            path_max: b,
            path_steps: 4,
            loss_a: 0.0,
            loss_c: 0.0,
            seed: 1,
        };
        let rs = vec![
            rec(2, "m", "rr", 1.0, 0.2),
            rec(2, "m", "rr", 3.0, 0.4),
            rec(2, "m", "rr", 8.0, 0.9),
            rec(2, "m", "ra", 5.0, 0.5),
            rec(3, "n", "rr", 2.0, 0.3),
        ];
        let s = summarise(&rs);
        let g = s.minimax_barrier[&2]["m"]["rr"];
        assert_eq!((g.median, g.mean, g.n), (3.0, 4.0, 3));
        assert_eq!(s.p_star[&2]["m"]["ra"].n, 1);
        assert_eq!(s.p_star[&3]["n"]["rr"].median, 0.3);
        assert_eq!(s.p_star_null[&2].n, 4);
        assert!((s.lattice_pc_site[&2] - 0.5927).abs() < 1e-3);
        assert!((s.lattice_pc_site[&3] - 0.3116).abs() < 1e-3);
        // Serialises to JSON with k as keys.
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["p_star"]["2"]["m"]["rr"]["median"].is_number());
    }
}
