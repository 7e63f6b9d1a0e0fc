//! Where the off-axis directions of a slice come from: seeded Gaussian
//! vectors, the principal components of data, or input gradients of the
//! loss along the segment.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::Classifier;

/// Where the directions of axes `1..k` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DirectionKind {
    /// Seeded isotropic Gaussian vectors.
    #[default]
    Random,
    /// Principal components of a data set.
    Pca,
    /// Input gradients of the loss at points along the A–C segment.
    Gradient,
}

impl std::fmt::Display for DirectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DirectionKind::Random => "random",
            DirectionKind::Pca => "pca",
            DirectionKind::Gradient => "gradient",
        })
    }
}

/// The leading `m` principal directions of `rows` (`n × item_len`, row-major),
/// by power iteration with deflation on the centred data (never forming the
/// `item_len²` covariance). Deterministic: starts from a fixed seeded vector.
pub fn principal_directions(rows: &[f32], item_len: usize, m: usize) -> Result<Vec<Vec<f32>>> {
    if item_len == 0 || rows.len() % item_len != 0 || rows.len() < 2 * item_len {
        return Err(Error::invalid(
            "data",
            rows.len(),
            format!("expected at least two rows of {item_len} values"),
        ));
    }
    if m > item_len {
        return Err(Error::invalid(
            "directions",
            m,
            format!("expected at most {item_len} principal directions"),
        ));
    }
    let n = rows.len() / item_len;
    let mut mean = vec![0f64; item_len];
    for r in rows.chunks_exact(item_len) {
        mean.iter_mut().zip(r).for_each(|(m, &x)| *m += x as f64);
    }
    mean.iter_mut().for_each(|x| *x /= n as f64);
    let centred: Vec<f64> = rows
        .chunks_exact(item_len)
        .flat_map(|r| r.iter().zip(&mean).map(|(&x, m)| x as f64 - m))
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5CA1_AB1E);
    let mut found: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut y = vec![0f64; n];
    for _ in 0..m {
        let mut v: Vec<f64> = (0..item_len)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        for _ in 0..200 {
            // v ← Xᵀ X v, deflated against the directions already found.
            for (yi, r) in y.iter_mut().zip(centred.chunks_exact(item_len)) {
                *yi = r.iter().zip(&v).map(|(a, b)| a * b).sum();
            }
            let mut w = vec![0f64; item_len];
            for (yi, r) in y.iter().zip(centred.chunks_exact(item_len)) {
                w.iter_mut().zip(r).for_each(|(w, x)| *w += yi * x);
            }
            for f in &found {
                let dot: f64 = w.iter().zip(f).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(f).for_each(|(x, y)| *x -= dot * y);
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 || !norm.is_finite() {
                return Err(Error::Numerical {
                    context: "principal directions".into(),
                    reason: format!("the data have rank below {}", found.len() + 1),
                });
            }
            w.iter_mut().for_each(|x| *x /= norm);
            let change: f64 = w.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            v = w;
            if change < 1e-9 {
                break;
            }
        }
        found.push(v);
    }
    Ok(found
        .into_iter()
        .map(|v| v.into_iter().map(|x| x as f32).collect())
        .collect())
}

/// `m` input-gradient directions: the gradient of the loss (to `class`) at
/// the points `A + (j/(m+1))·(C − A)`, `j = 1..=m`, of the segment.
pub fn gradient_directions<C: Classifier + ?Sized>(
    model: &C,
    a: &[f32],
    c: &[f32],
    class: u32,
    m: usize,
) -> Result<Vec<Vec<f32>>> {
    if m == 0 {
        return Ok(Vec::new());
    }
    let n = a.len();
    let mut xs = Vec::with_capacity(m * n);
    for j in 1..=m {
        let t = j as f32 / (m + 1) as f32;
        xs.extend(a.iter().zip(c).map(|(&x, &y)| (1.0 - t) * x + t * y));
    }
    let (_, grad) = model.loss_grad_flat(&xs, &[class], 64)?;
    Ok(grad.chunks_exact(n).map(|g| g.to_vec()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_directions_recover_a_planted_axis() {
        // Data spread mostly along e_3, a little along e_0: PC1 = ±e_3.
        let n = 8;
        let mut rows = Vec::new();
        for i in 0..40 {
            let mut r = vec![0f32; n];
            r[3] = (i as f32 - 20.0) * 1.0;
            r[0] = ((i * 7) % 5) as f32 * 0.1;
            rows.extend(r);
        }
        let pcs = principal_directions(&rows, n, 2).unwrap();
        assert!((pcs[0][3].abs() - 1.0).abs() < 1e-4, "{:?}", pcs[0]);
        let dot: f32 = pcs[0].iter().zip(&pcs[1]).map(|(a, b)| a * b).sum();
        assert!(dot.abs() < 1e-5);
    }
}
