//! Penalties on a displacement `d = x − x₀` and their gradients.
//!
//! * **Mean squared error** `MSE(d) = (1/n) Σᵢ dᵢ²`, gradient `2 dᵢ / n`.
//! * **Anisotropic total variation** over the last two axes (h, w) of the
//!   item shape, summed over all leading axes (channels):
//!   `TV(d) = Σ |d[.., i, j+1] − d[.., i, j]| + Σ |d[.., i+1, j] − d[.., i, j]|`.
//!   Its (sub)gradient adds `sign(Δ)` to the later pixel of each difference
//!   and `−sign(Δ)` to the earlier one, with `sign(0) = 0` (the choice of
//!   PyTorch's `abs` backward).
//!
//! The sums run in f64 so that the penalties of long inputs are exact to f32
//! rounding of the inputs.

/// `(1/n) Σ dᵢ²` of one displacement.
pub fn mse(d: &[f32]) -> f64 {
    if d.is_empty() {
        return 0.0;
    }
    d.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / d.len() as f64
}

/// Adds `scale · ∇MSE(d) = scale · 2d/n` to `grad`.
pub fn add_mse_grad(d: &[f32], scale: f64, grad: &mut [f32]) {
    let k = 2.0 * scale / d.len().max(1) as f64;
    for (g, &v) in grad.iter_mut().zip(d) {
        *g += (k * v as f64) as f32;
    }
}

/// The (planes, height, width) view of an item shape: the last two axes are
/// h and w, everything before them multiplies into planes. A 1-D shape is a
/// single row.
fn planes(shape: &[usize]) -> (usize, usize, usize) {
    match shape.len() {
        0 => (1, 1, 1),
        1 => (1, 1, shape[0]),
        k => (shape[..k - 2].iter().product(), shape[k - 2], shape[k - 1]),
    }
}

/// Anisotropic total variation of one displacement of item shape `shape`.
pub fn tv(d: &[f32], shape: &[usize]) -> f64 {
    let (p, h, w) = planes(shape);
    debug_assert_eq!(d.len(), p * h * w);
    let mut s = 0.0f64;
    for c in 0..p {
        let base = c * h * w;
        for i in 0..h {
            for j in 0..w {
                let v = d[base + i * w + j] as f64;
                if j + 1 < w {
                    s += (d[base + i * w + j + 1] as f64 - v).abs();
                }
                if i + 1 < h {
                    s += (d[base + (i + 1) * w + j] as f64 - v).abs();
                }
            }
        }
    }
    s
}

fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Adds `scale · ∇TV(d)` to `grad` (subgradient with `sign(0) = 0`).
pub fn add_tv_grad(d: &[f32], shape: &[usize], scale: f64, grad: &mut [f32]) {
    if scale == 0.0 {
        return;
    }
    let (p, h, w) = planes(shape);
    let k = scale as f32;
    for c in 0..p {
        let base = c * h * w;
        for i in 0..h {
            for j in 0..w {
                let a = base + i * w + j;
                if j + 1 < w {
                    let s = k * sign(d[a + 1] - d[a]);
                    grad[a + 1] += s;
                    grad[a] -= s;
                }
                if i + 1 < h {
                    let b = a + w;
                    let s = k * sign(d[b] - d[a]);
                    grad[b] += s;
                    grad[a] -= s;
                }
            }
        }
    }
}

/// `λ_mse · MSE(d) + λ_tv · TV(d)` of one displacement; adds its gradient to
/// `grad`.
pub fn add_penalties(
    d: &[f32],
    shape: &[usize],
    lambda_mse: f64,
    lambda_tv: f64,
    grad: &mut [f32],
) -> f64 {
    let mut value = 0.0;
    if lambda_mse != 0.0 {
        value += lambda_mse * mse(d);
        add_mse_grad(d, lambda_mse, grad);
    }
    if lambda_tv != 0.0 {
        value += lambda_tv * tv(d, shape);
        add_tv_grad(d, shape, lambda_tv, grad);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Central difference of `f` at `x` along coordinate `i`, in f64 on an
    /// f32 input (step small enough that no |Δ| changes sign for the random
    /// inputs used: their pairwise differences are ≫ h).
    fn central(f: &dyn Fn(&[f32]) -> f64, x: &[f32], i: usize, h: f32) -> f64 {
        let mut p = x.to_vec();
        p[i] += h;
        let up = f(&p);
        p[i] -= 2.0 * h;
        let down = f(&p);
        (up - down) / (2.0 * h as f64)
    }

    #[test]
    fn tv_of_a_known_image() {
        // One 2x3 plane: rows [0 1 3], [2 2 2]:
        // horizontal |1|+|2| + |0|+|0| = 3, vertical |2|+|1|+|−1| = 4.
        let d = [0.0, 1.0, 3.0, 2.0, 2.0, 2.0];
        assert_eq!(tv(&d, &[1, 2, 3]), 7.0);
        // Two planes add; a constant image has none.
        let two: Vec<f32> = d.iter().chain(d.iter()).copied().collect();
        assert_eq!(tv(&two, &[2, 2, 3]), 14.0);
        assert_eq!(tv(&[5.0; 12], &[3, 2, 2]), 0.0);
        assert!((mse(&[1.0, -3.0]) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn penalty_gradients_match_central_differences() {
        let shape = [2usize, 5, 4];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        // Values on a grid of spacing 1/64 plus distinct offsets keep every
        // difference at least ~1e-3 away from zero, far above h = 1e-4, so TV
        // is differentiable on the stencil.
        let d: Vec<f32> = (0..40)
            .map(|i| rng.random_range(-32i32..32) as f32 / 64.0 + i as f32 * 1e-3)
            .collect();
        let (lm, lt) = (0.1, 0.3);
        let f = |x: &[f32]| lm * mse(x) + lt * tv(x, &shape);
        let mut g = vec![0.0f32; 40];
        let v = add_penalties(&d, &shape, lm, lt, &mut g);
        assert!((v - f(&d)).abs() < 1e-12);
        for (i, &gi) in g.iter().enumerate() {
            let fd = central(&f, &d, i, 1e-4);
            // f32 perturbation of values ~0.5: h is exact to ~3e-8 relative,
            // the quotient to ~1e-3 relative of the TV part; tolerance 2e-3.
            assert!(
                (fd - gi as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                "coordinate {i}: fd {fd} vs analytic {gi}"
            );
        }
    }
}
