//! Bypass: bending a path around its barrier (science.md §1, §3).
//!
//! Given a segment from P to Q with barrier point B (the sample of highest
//! loss), the paper optimises a bend `B' = B + δ` with Adam on
//!
//! ```text
//! J(δ) = CE(f(B + δ), y) + λ_mse · mean(δ²) + λ_tv · TV(δ)
//! ```
//!
//! (defaults lr 0.005, 1024 iterations, λ_mse = 0.1, λ_tv = 1e-8) and removes
//! from every gradient its component along `d = Q − P`:
//! `g ← g − (g·d / d·d) d`. Because Adam rescales each coordinate, a
//! projected gradient does not give a projected step; this implementation
//! therefore also projects the displacement after every step, so that δ
//! stays in the hyperplane through B orthogonal to `d` to f32 rounding
//! (`|δ·d| ≤ 1e-6 |δ||d|`). The new path is P → B' → Q.
//!
//! **Free mode** (used for untrained networks, §3) drops both the projection
//! and the penalties: plain Adam on `CE(f(B + δ), y)`.
//!
//! **Rounds**: starting from the chain A → C, each round evaluates the loss
//! along the current chain, stops when the barrier gap is at most a
//! tolerance, and otherwise bends the segment holding the barrier point.
//! The report lists the barrier of the chain before the first bend (round 0)
//! and after each bend, with the bend's relative size
//! `max|B' − B| / (range.1 − range.0)`.
//!
//! Many independent bends (of different pairs) are optimised together: each
//! Adam step costs one forward and one backward pass for all of them. The
//! bend is not clipped to the input range (clipping would leave the
//! hyperplane).

use serde::{Deserialize, Serialize};

use super::adam::{Adam, AdamConfig};
use super::barrier::BarrierMetrics;
use super::path::{loss_along, Path};
use super::penalty;
use crate::nn::Classifier;
use crate::{Error, Result};

/// How a bend is optimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BendMode {
    /// The paper's: penalties on δ and δ kept orthogonal to the segment.
    Projected,
    /// No projection and no penalty.
    Free,
}

/// Parameters of one bend optimisation and of the path evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BypassConfig {
    /// Adam learning rate.
    pub lr: f64,
    /// Adam iterations per bend.
    pub iterations: usize,
    /// Weight of mean((B' − B)²) (projected mode only).
    pub lambda_mse: f64,
    /// Weight of TV(B' − B) (projected mode only).
    pub lambda_tv: f64,
    /// Projected (paper) or free.
    pub mode: BendMode,
    /// Points per segment when evaluating the loss along the path.
    pub points: usize,
    /// Batch size of the path evaluation.
    pub batch: usize,
}

impl Default for BypassConfig {
    fn default() -> Self {
        BypassConfig {
            lr: 0.005,
            iterations: 1024,
            lambda_mse: 0.1,
            lambda_tv: 1e-8,
            mode: BendMode::Projected,
            points: 500,
            batch: 256,
        }
    }
}

/// Deserialises a bypass table whose missing fields come from
/// [`BypassConfig::free`] instead of the projected [`Default`], for config
/// sections that bend in the free mode unless told otherwise: use as
/// `#[serde(default = "BypassConfig::free", deserialize_with = "free_defaults")]`.
/// Unknown fields are still rejected.
pub fn free_defaults<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<BypassConfig, D::Error> {
    use serde::de::Error as _;
    let given = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    let mut merged = match serde_json::to_value(BypassConfig::free()) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => unreachable!("a BypassConfig serialises to a JSON object"),
    };
    merged.extend(given);
    serde_json::from_value(serde_json::Value::Object(merged)).map_err(D::Error::custom)
}

impl BypassConfig {
    /// The free mode with the same step size and iterations.
    pub fn free() -> Self {
        BypassConfig {
            mode: BendMode::Free,
            lambda_mse: 0.0,
            lambda_tv: 0.0,
            ..BypassConfig::default()
        }
    }

    /// Checks every field; `prefix` names the config section in errors.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        super::check_positive(&format!("{prefix}.lr"), self.lr)?;
        super::check_non_negative(&format!("{prefix}.lambda_mse"), self.lambda_mse)?;
        super::check_non_negative(&format!("{prefix}.lambda_tv"), self.lambda_tv)?;
        if self.points < 2 {
            return Err(Error::invalid(
                format!("{prefix}.points"),
                self.points,
                "expected at least 2 points per segment",
            ));
        }
        if self.batch == 0 {
            return Err(Error::invalid(format!("{prefix}.batch"), 0, "expected ≥ 1"));
        }
        Ok(())
    }
}

/// `v − (v·d / d·d) d` in place, computed in f64; no-op when `d = 0`.
pub fn project_out(v: &mut [f32], d: &[f32]) {
    let dd: f64 = d.iter().map(|&x| (x as f64) * (x as f64)).sum();
    if dd == 0.0 {
        return;
    }
    let vd: f64 = v.iter().zip(d).map(|(&a, &b)| a as f64 * b as f64).sum();
    let k = vd / dd;
    for (a, &b) in v.iter_mut().zip(d) {
        *a = (*a as f64 - k * b as f64) as f32;
    }
}

/// Optimises `n` bends together: `barrier_points` and `directions` hold `n`
/// inputs each (B and the segment direction Q − P), `targets` one class per
/// bend or one shared. Returns the bends B' (n inputs).
pub fn bend<C: Classifier + ?Sized>(
    model: &C,
    barrier_points: &[f32],
    directions: &[f32],
    targets: &[u32],
    cfg: &BypassConfig,
) -> Result<Vec<f32>> {
    cfg.validate("bypass")?;
    let spec = model.spec();
    let n = super::count_inputs(spec, barrier_points, "barrier_points")?;
    if directions.len() != barrier_points.len() {
        return Err(Error::invalid(
            "directions",
            format!("{} values", directions.len()),
            format!(
                "expected one direction per barrier point ({} values)",
                barrier_points.len()
            ),
        ));
    }
    super::check_targets(spec, targets, n, "targets")?;
    let len = spec.item_len();
    let shape = spec.item_shape.clone();
    let projected = cfg.mode == BendMode::Projected;
    let mut adam = Adam::new(AdamConfig::with_lr(cfg.lr), n, len);
    let mut delta = vec![0.0f32; n * len];
    let mut x = barrier_points.to_vec();
    let rows: Vec<usize> = (0..n).collect();
    for _ in 0..cfg.iterations {
        for (k, xv) in x.iter_mut().enumerate() {
            *xv = barrier_points[k] + delta[k];
        }
        let (_, mut grad) = model.loss_grad_flat(&x, targets, n)?;
        if projected {
            for i in 0..n {
                let r = i * len..(i + 1) * len;
                penalty::add_penalties(
                    &delta[r.clone()],
                    &shape,
                    cfg.lambda_mse,
                    cfg.lambda_tv,
                    &mut grad[r.clone()],
                );
                project_out(&mut grad[r.clone()], &directions[r]);
            }
        }
        adam.step(&rows, &mut delta, &grad);
        if projected {
            for i in 0..n {
                let r = i * len..(i + 1) * len;
                project_out(&mut delta[r.clone()], &directions[r]);
            }
        }
    }
    Ok(barrier_points
        .iter()
        .zip(&delta)
        .map(|(b, d)| b + d)
        .collect())
}

/// When the recursive bending stops.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoundsConfig {
    /// Most bends per pair.
    pub max_rounds: usize,
    /// Stop once the barrier gap is at most this.
    pub gap_tolerance: f64,
}

impl Default for RoundsConfig {
    fn default() -> Self {
        RoundsConfig {
            max_rounds: 1,
            gap_tolerance: 0.0,
        }
    }
}

/// The state of a pair's path after one round.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    /// 0 for the primary (linear) path, k after the k-th bend.
    pub round: usize,
    /// Barrier of the whole chain A → … → C after this round.
    pub barrier: BarrierMetrics,
    /// The bent segment's index in the chain before the bend (none in round 0).
    pub segment: Option<usize>,
    /// `max|B' − B| / (range.1 − range.0)` of this round's bend (0 in round 0).
    pub relative_bend: f64,
}

/// Result of recursive bending for one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct BypassReport {
    /// One report per round, round 0 first.
    pub rounds: Vec<RoundReport>,
    /// The final chain's vertices, A first and C last.
    pub vertices: Vec<Vec<f32>>,
}

/// Recursive bypass for many pairs: `starts` and `ends` hold `n` inputs
/// each, `targets` one class per pair or one shared. In each round all pairs
/// whose gap still exceeds the tolerance are bent together.
pub fn bypass_many<C: Classifier + ?Sized>(
    model: &C,
    starts: &[f32],
    ends: &[f32],
    targets: &[u32],
    cfg: &BypassConfig,
    rounds: &RoundsConfig,
) -> Result<Vec<BypassReport>> {
    cfg.validate("bypass")?;
    super::check_non_negative("rounds.gap_tolerance", rounds.gap_tolerance)?;
    let spec = model.spec();
    let n = super::count_inputs(spec, starts, "starts")?;
    if ends.len() != starts.len() {
        return Err(Error::invalid(
            "ends",
            format!("{} values", ends.len()),
            format!(
                "endpoints must have the same shape as the starts ({} values)",
                starts.len()
            ),
        ));
    }
    super::count_inputs(spec, ends, "ends")?;
    super::check_targets(spec, targets, n, "targets")?;
    let len = spec.item_len();
    let width = (spec.range.1 - spec.range.0) as f64;
    let mut reports: Vec<BypassReport> = (0..n)
        .map(|i| BypassReport {
            rounds: Vec::new(),
            vertices: vec![
                starts[i * len..(i + 1) * len].to_vec(),
                ends[i * len..(i + 1) * len].to_vec(),
            ],
        })
        .collect();
    // (pair, segment, barrier point) of the pairs that still need a bend.
    let mut pending: Vec<(usize, usize, Vec<f32>)> = Vec::new();
    let evaluate = |rep: &BypassReport, t: u32| -> Result<(BarrierMetrics, usize, Vec<f32>)> {
        let path = Path::polygon(rep.vertices.clone())?;
        let curve = loss_along(model, &path, t, cfg.points, cfg.batch)?;
        let b = BarrierMetrics::of(&curve)?;
        let seg = (b.index / (cfg.points - 1)).min(path.segments() - 1);
        let mut point = vec![0.0f32; len];
        path.sample(cfg.points, b.index, &mut point);
        Ok((b, seg, point))
    };
    for (i, rep) in reports.iter_mut().enumerate() {
        let (b, seg, point) = evaluate(rep, super::target_of(targets, i))?;
        rep.rounds.push(RoundReport {
            round: 0,
            barrier: b,
            segment: None,
            relative_bend: 0.0,
        });
        if b.gap > rounds.gap_tolerance && rounds.max_rounds > 0 {
            pending.push((i, seg, point));
        }
    }
    for round in 1..=rounds.max_rounds {
        if pending.is_empty() {
            break;
        }
        let mut bs = Vec::with_capacity(pending.len() * len);
        let mut ds = Vec::with_capacity(pending.len() * len);
        let mut ts = Vec::with_capacity(pending.len());
        for (i, seg, point) in &pending {
            let v = &reports[*i].vertices;
            bs.extend_from_slice(point);
            ds.extend(v[seg + 1].iter().zip(&v[*seg]).map(|(q, p)| q - p));
            ts.push(super::target_of(targets, *i));
        }
        let bent = bend(model, &bs, &ds, &ts, cfg)?;
        let mut next = Vec::new();
        for (r, (i, seg, point)) in pending.iter().enumerate() {
            let new = bent[r * len..(r + 1) * len].to_vec();
            let max_disp = new
                .iter()
                .zip(point)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max) as f64;
            let rep = &mut reports[*i];
            rep.vertices.insert(seg + 1, new);
            let (b, nseg, npoint) = evaluate(rep, ts[r])?;
            rep.rounds.push(RoundReport {
                round,
                barrier: b,
                segment: Some(*seg),
                relative_bend: max_disp / width,
            });
            if b.gap > rounds.gap_tolerance {
                next.push((*i, nseg, npoint));
            }
        }
        pending = next;
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_defaults_fill_missing_fields_from_the_free_mode() {
        #[derive(Deserialize)]
        struct Section {
            #[serde(default = "BypassConfig::free", deserialize_with = "free_defaults")]
            bypass: BypassConfig,
        }
        let parse = |s: &str| toml::from_str::<Section>(s).map(|x| x.bypass);
        let partial = parse("[bypass]\niterations = 64\n").unwrap();
        assert_eq!(
            partial,
            BypassConfig {
                iterations: 64,
                ..BypassConfig::free()
            }
        );
        assert_eq!(parse("").unwrap(), BypassConfig::free());
        let projected = parse("[bypass]\nmode = \"projected\"\n").unwrap();
        assert_eq!(projected.mode, BendMode::Projected);
        let err = parse("[bypass]\nbogus = 1\n").unwrap_err().to_string();
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn projection_removes_the_component() {
        let d = [1.0f32, 2.0, -2.0];
        let mut v = [3.0f32, 0.5, 1.0];
        project_out(&mut v, &d);
        let dot: f32 = v.iter().zip(&d).map(|(a, b)| a * b).sum();
        assert!(dot.abs() < 1e-6);
        // The orthogonal part is untouched: (2, −1, 0) ⟂ d.
        let mut w = [2.0f32, -1.0, 0.0];
        project_out(&mut w, &d);
        assert_eq!(w, [2.0, -1.0, 0.0]);
    }
}
