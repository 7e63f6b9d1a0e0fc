//! Paths between inputs and the loss along them.
//!
//! A **polygonal chain** through vertices `v₀, …, v_s` (s segments; the
//! linear path is s = 1) is parametrised by `α ∈ [0, 1]`, segment `i`
//! covering `α ∈ [i/s, (i+1)/s]` linearly:
//! `x(α) = (1 − u) vᵢ + u vᵢ₊₁` with `u = sα − i`.
//! A **quadratic Bézier curve** with start `A`, control `B` and end `C` is
//! `x(α) = (1 − α)² A + 2α(1 − α) B + α² C` (one segment).
//!
//! Sampling takes `points` points per segment including both of its ends;
//! neighbouring segments share their common vertex, so a chain of `s`
//! segments gives `s (points − 1) + 1` samples. Each sample carries the path
//! parameter α and its **arc position**: the length of the sampled polyline
//! up to it, divided by the polyline's total length (exact for chains, a
//! chord approximation for the curve).
//!
//! [`loss_along`] evaluates `CE(f(x(α)), target)` at every sample in batches
//! of `batch`, materialising one batch of points at a time.

use serde::{Deserialize, Serialize};

use crate::nn::Classifier;
use crate::{Error, Result};

/// A path in input space.
#[derive(Debug, Clone, PartialEq)]
pub enum Path {
    /// Polygonal chain through its vertices (at least two).
    Polygon {
        /// The vertices, each one flat input.
        vertices: Vec<Vec<f32>>,
    },
    /// Quadratic Bézier curve.
    Bezier {
        /// Start point A (α = 0).
        start: Vec<f32>,
        /// Control point B.
        control: Vec<f32>,
        /// End point C (α = 1).
        end: Vec<f32>,
    },
}

fn same_len(what: &str, a: &[f32], b: &[f32]) -> Result<()> {
    if a.len() != b.len() || a.is_empty() {
        return Err(Error::invalid(
            what,
            format!("{} values", b.len()),
            format!(
                "every point of a path must have the same, non-zero length ({})",
                a.len()
            ),
        ));
    }
    Ok(())
}

impl Path {
    /// The straight segment from `a` to `c`.
    pub fn linear(a: Vec<f32>, c: Vec<f32>) -> Result<Self> {
        Path::polygon(vec![a, c])
    }

    /// A polygonal chain through `vertices` (at least two, all of one length).
    pub fn polygon(vertices: Vec<Vec<f32>>) -> Result<Self> {
        if vertices.len() < 2 {
            return Err(Error::invalid(
                "vertices",
                vertices.len(),
                "a polygonal path needs at least two vertices",
            ));
        }
        for v in &vertices[1..] {
            same_len("vertices", &vertices[0], v)?;
        }
        Ok(Path::Polygon { vertices })
    }

    /// The quadratic Bézier curve from `start` to `end` with `control`.
    pub fn bezier(start: Vec<f32>, control: Vec<f32>, end: Vec<f32>) -> Result<Self> {
        same_len("control", &start, &control)?;
        same_len("end", &start, &end)?;
        Ok(Path::Bezier {
            start,
            control,
            end,
        })
    }

    /// Length of one point.
    pub fn item_len(&self) -> usize {
        match self {
            Path::Polygon { vertices } => vertices[0].len(),
            Path::Bezier { start, .. } => start.len(),
        }
    }

    /// Number of segments (1 for a curve).
    pub fn segments(&self) -> usize {
        match self {
            Path::Polygon { vertices } => vertices.len() - 1,
            Path::Bezier { .. } => 1,
        }
    }

    /// The first point (α = 0).
    pub fn start(&self) -> &[f32] {
        match self {
            Path::Polygon { vertices } => &vertices[0],
            Path::Bezier { start, .. } => start,
        }
    }

    /// The last point (α = 1).
    pub fn end(&self) -> &[f32] {
        match self {
            Path::Polygon { vertices } => vertices.last().expect("≥ 2 vertices"),
            Path::Bezier { end, .. } => end,
        }
    }

    /// Number of samples with `points` per segment: `s (points − 1) + 1`.
    pub fn sample_count(&self, points: usize) -> usize {
        self.segments() * (points.max(2) - 1) + 1
    }

    /// Path parameter α of sample `k` with `points` per segment.
    pub fn sample_alpha(&self, points: usize, k: usize) -> f64 {
        let per = points.max(2) - 1;
        k as f64 / (self.segments() * per) as f64
    }

    /// Writes the point at parameter α ∈ [0, 1] into `out`.
    pub fn point(&self, alpha: f64, out: &mut [f32]) {
        let alpha = alpha.clamp(0.0, 1.0);
        match self {
            Path::Polygon { vertices } => {
                let s = vertices.len() - 1;
                let pos = alpha * s as f64;
                let i = (pos.floor() as usize).min(s - 1);
                let u = (pos - i as f64) as f32;
                let (p, q) = (&vertices[i], &vertices[i + 1]);
                for k in 0..out.len() {
                    out[k] = (1.0 - u) * p[k] + u * q[k];
                }
            }
            Path::Bezier {
                start,
                control,
                end,
            } => {
                let t = alpha as f32;
                let (w0, w1, w2) = ((1.0 - t) * (1.0 - t), 2.0 * t * (1.0 - t), t * t);
                for k in 0..out.len() {
                    out[k] = w0 * start[k] + w1 * control[k] + w2 * end[k];
                }
            }
        }
    }

    /// Writes sample `k` (with `points` per segment) into `out`. Vertices of a
    /// chain are reproduced exactly.
    pub fn sample(&self, points: usize, k: usize, out: &mut [f32]) {
        let per = points.max(2) - 1;
        match self {
            Path::Polygon { vertices } => {
                let s = vertices.len() - 1;
                let (i, j) = if k >= s * per {
                    (s - 1, per)
                } else {
                    (k / per, k % per)
                };
                let u = j as f32 / per as f32;
                let (p, q) = (&vertices[i], &vertices[i + 1]);
                if j == 0 {
                    out.copy_from_slice(p);
                } else if j == per {
                    out.copy_from_slice(q);
                } else {
                    for m in 0..out.len() {
                        out[m] = (1.0 - u) * p[m] + u * q[m];
                    }
                }
            }
            Path::Bezier { .. } => self.point(self.sample_alpha(points, k), out),
        }
    }
}

/// The loss at the samples of a path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossCurve {
    /// Path parameter α of each sample, increasing from 0 to 1.
    pub alpha: Vec<f64>,
    /// Arc position of each sample in [0, 1] (see the module docs).
    pub arc: Vec<f64>,
    /// Cross-entropy against the target at each sample.
    pub loss: Vec<f64>,
}

/// Loss of `model` against `target` at `points` samples per segment of
/// `path`, evaluated `batch` points at a time (only one batch of points is
/// held in memory).
pub fn loss_along<C: Classifier + ?Sized>(
    model: &C,
    path: &Path,
    target: u32,
    points: usize,
    batch: usize,
) -> Result<LossCurve> {
    let spec = model.spec();
    let len = spec.item_len();
    if path.item_len() != len {
        return Err(Error::invalid(
            "path",
            format!("points of {} values", path.item_len()),
            format!(
                "the model needs inputs of shape {:?} ({len} values)",
                spec.item_shape
            ),
        ));
    }
    super::check_class(spec, target, "target")?;
    if points < 2 {
        return Err(Error::invalid(
            "points",
            points,
            "expected at least 2 per segment",
        ));
    }
    let batch = batch.max(1);
    // Three f64 per sample, and one batch of inputs.
    let samples = (path.segments() as u64).saturating_mul(points as u64 - 1) + 1;
    crate::memory::ensure_array_fits(
        format!("a loss curve of {samples} samples"),
        samples.saturating_add(batch as u64 * len as u64 / 6),
        24,
        "use fewer points",
    )?;
    let n = path.sample_count(points);
    let mut alpha = Vec::with_capacity(n);
    let mut arc = Vec::with_capacity(n);
    let mut loss = Vec::with_capacity(n);
    let mut buf = vec![0.0f32; batch.min(n) * len];
    let mut prev: Option<Vec<f32>> = None;
    let mut length = 0.0f64;
    for start in (0..n).step_by(batch) {
        let end = (start + batch).min(n);
        let m = end - start;
        for (r, k) in (start..end).enumerate() {
            let out = &mut buf[r * len..(r + 1) * len];
            path.sample(points, k, out);
            if let Some(p) = &prev {
                length += p
                    .iter()
                    .zip(out.iter())
                    .map(|(a, b)| ((b - a) as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
            }
            prev = Some(out.to_vec());
            alpha.push(path.sample_alpha(points, k));
            arc.push(length);
        }
        let l = model.loss_flat(&buf[..m * len], &[target], m)?;
        loss.extend(l.into_iter().map(f64::from));
    }
    if length > 0.0 {
        for a in &mut arc {
            *a /= length;
        }
    } else {
        arc.clone_from(&alpha);
    }
    Ok(LossCurve { alpha, arc, loss })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_samples_share_vertices_and_hit_them_exactly() {
        let v = vec![vec![0.0f32, 0.0], vec![1.0, 0.0], vec![1.0, 3.0]];
        let p = Path::polygon(v.clone()).unwrap();
        assert_eq!(p.sample_count(5), 9);
        let mut out = [0.0f32; 2];
        p.sample(5, 4, &mut out);
        assert_eq!(out.to_vec(), v[1]);
        p.sample(5, 8, &mut out);
        assert_eq!(out.to_vec(), v[2]);
        p.sample(5, 6, &mut out);
        assert_eq!(out, [1.0, 1.5]);
        assert_eq!(p.sample_alpha(5, 6), 0.75);
        p.point(0.25, &mut out);
        assert_eq!(out, [0.5, 0.0]);
    }

    #[test]
    fn bezier_endpoints_and_midpoint() {
        let p = Path::bezier(vec![0.0], vec![1.0], vec![0.0]).unwrap();
        let mut out = [0.0f32];
        p.point(0.5, &mut out);
        // (1/4)·0 + (1/2)·1 + (1/4)·0
        assert_eq!(out[0], 0.5);
        p.point(1.0, &mut out);
        assert_eq!(out[0], 0.0);
    }

    #[test]
    fn mismatched_points_are_user_errors() {
        let e = Path::linear(vec![0.0; 3], vec![0.0; 4]).unwrap_err();
        assert!(e.is_user_error());
        assert!(Path::polygon(vec![vec![1.0]]).unwrap_err().is_user_error());
    }
}
