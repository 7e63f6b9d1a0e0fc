//! The detector's L2-regularised logistic regression on standardised
//! features, fitted by Newton's method (IRLS).

use serde::{Deserialize, Serialize};

use crate::inputspace::check_positive;
use crate::{Error, Result};

/// An L2-regularised logistic regression on standardised features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Per-feature mean of the training data.
    pub mean: Vec<f64>,
    /// Per-feature standard deviation of the training data (1 where 0).
    pub scale: Vec<f64>,
    /// Weights on the standardised features.
    pub weights: Vec<f64>,
    /// Intercept added to the weighted sum of the standardised features.
    pub bias: f64,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Solves the symmetric positive-definite system `a x = b` by Cholesky.
fn solve_spd(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

impl LogisticRegression {
    /// Fits rows `x` (all of one length) with labels `y` (true = positive)
    /// and L2 strength `l2 > 0` by Newton's method until the step is below
    /// 1e-10 or 100 iterations.
    pub fn fit(x: &[Vec<f64>], y: &[bool], l2: f64) -> Result<Self> {
        let n = x.len();
        if n == 0 || y.len() != n {
            return Err(Error::invalid(
                "training data",
                format!("{n} rows, {} labels", y.len()),
                "expected at least one row and one label per row",
            ));
        }
        check_positive("l2", l2)?;
        let d = x[0].len();
        if x.iter()
            .any(|r| r.len() != d || r.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::invalid(
                "training data",
                "ragged or non-finite rows",
                format!("expected {d} finite features in every row"),
            ));
        }
        let mean: Vec<f64> = (0..d)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64)
            .collect();
        let scale: Vec<f64> = (0..d)
            .map(|j| {
                let v = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64;
                if v > 0.0 {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        // Design rows [1, z_1 … z_d]; parameter θ = [b, w].
        let z: Vec<Vec<f64>> = x
            .iter()
            .map(|r| {
                std::iter::once(1.0)
                    .chain((0..d).map(|j| (r[j] - mean[j]) / scale[j]))
                    .collect()
            })
            .collect();
        let p = d + 1;
        let mut theta = vec![0.0; p];
        for _ in 0..100 {
            let mut grad = vec![0.0; p];
            let mut hess = vec![vec![0.0; p]; p];
            for (zi, &yi) in z.iter().zip(y) {
                let s = sigmoid(zi.iter().zip(&theta).map(|(a, b)| a * b).sum());
                let r = s - if yi { 1.0 } else { 0.0 };
                let w = s * (1.0 - s);
                for a in 0..p {
                    grad[a] += r * zi[a];
                    for b in 0..=a {
                        hess[a][b] += w * zi[a] * zi[b];
                    }
                }
            }
            for a in 1..p {
                grad[a] += l2 * theta[a];
                hess[a][a] += l2;
            }
            // Tiny ridge on the intercept keeps one-class data solvable.
            hess[0][0] += 1e-12;
            #[allow(clippy::needless_range_loop)]
            for a in 0..p {
                for b in 0..a {
                    hess[b][a] = hess[a][b];
                }
            }
            let step = solve_spd(&hess, &grad).ok_or_else(|| Error::Numerical {
                context: "logistic regression".into(),
                reason: "Hessian is not positive definite".into(),
            })?;
            let mut size: f64 = 0.0;
            for a in 0..p {
                theta[a] -= step[a];
                size = size.max(step[a].abs());
            }
            if size < 1e-10 {
                break;
            }
        }
        Ok(LogisticRegression {
            mean,
            scale,
            weights: theta[1..].to_vec(),
            bias: theta[0],
        })
    }

    /// The linear score `w·z + b` of a raw feature row (monotone in P(adv)).
    pub fn score(&self, row: &[f64]) -> f64 {
        self.bias
            + row
                .iter()
                .zip(&self.mean)
                .zip(&self.scale)
                .zip(&self.weights)
                .map(|(((v, m), s), w)| w * (v - m) / s)
                .sum::<f64>()
    }

    /// P(positive | row).
    pub fn probability(&self, row: &[f64]) -> f64 {
        sigmoid(self.score(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn logistic_regression_separates_and_hits_a_known_optimum() {
        // Separable 2-D data: positives have x0 + x1 > 1.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut x = Vec::new();
        let mut y = Vec::new();
        while x.len() < 200 {
            let p = [rng.random_range(-1.0..2.0), rng.random_range(-1.0..2.0)];
            let s: f64 = p[0] + p[1] - 1.0;
            if s.abs() < 0.1 {
                continue;
            }
            x.push(p.to_vec());
            y.push(s > 0.0);
        }
        let m = LogisticRegression::fit(&x, &y, 1e-3).unwrap();
        let correct = x
            .iter()
            .zip(&y)
            .filter(|(r, &l)| (m.probability(r) > 0.5) == l)
            .count();
        assert_eq!(correct, x.len());

        // One feature, values ±1 with labels (+1: 3 pos, 1 neg; −1: 1 pos,
        // 3 neg). Standardised z = x; symmetry gives b = 0 and the optimum
        // solves 4·(σ(w) − ¾)·2 + λw = 0 ⇔ 8σ(w) − 6 + λw = 0. For λ = 1
        // the root is found by bisection and compared.
        let x: Vec<Vec<f64>> = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0]
            .iter()
            .map(|&v| vec![v])
            .collect();
        let y = [true, true, true, false, true, false, false, false];
        let m = LogisticRegression::fit(&x, &y, 1.0).unwrap();
        let f = |w: f64| 8.0 * sigmoid(w) - 6.0 + w;
        let (mut lo, mut hi) = (0.0, 5.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if f(mid) > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        assert!(m.bias.abs() < 1e-9);
        assert!((m.weights[0] - lo).abs() < 1e-9, "{} vs {lo}", m.weights[0]);
    }
}
