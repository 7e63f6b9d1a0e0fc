//! Batch normalisation folded into the convolution before it.
//!
//! A frozen network in eval mode applies BatchNorm as a fixed per-channel
//! affine map of the convolution's output `z`:
//!
//! ```text
//! bn(z)[o] = γ[o] · (z[o] − μ[o]) / √(σ²[o] + ε) + β[o]
//! ```
//!
//! with the running mean `μ` and variance `σ²`. Since `z = W ∗ x (+ b)` is
//! linear, the pair is one convolution with
//!
//! ```text
//! s[o]  = γ[o] / √(σ²[o] + ε)
//! W'[o] = s[o] · W[o]              (every input channel and tap of filter o)
//! b'[o] = s[o] · (b[o] − μ[o]) + β[o]
//! ```
//!
//! exactly (up to rounding). The fold is computed in f64 and the result cast
//! back to the weights' dtype, so an f32 model loses nothing beyond the
//! final rounding. Grouped and depthwise kernels (`[o, i/groups, kh, kw]`)
//! fold the same way: each output channel has its own filter.

use candle_core::{DType, Result, Tensor};
use candle_nn::VarBuilder;

/// The four tensors of a `torch.nn.BatchNorm2d` in eval mode, each `[c]`.
#[derive(Debug, Clone)]
pub struct BatchNormStats {
    /// Scale `γ` (`weight`).
    pub gamma: Tensor,
    /// Shift `β` (`bias`).
    pub beta: Tensor,
    /// Running mean `μ` (`running_mean`).
    pub mean: Tensor,
    /// Running variance `σ²` (`running_var`).
    pub var: Tensor,
    /// The ε added to the variance (PyTorch default 1e-5; TensorFlow ports
    /// such as EfficientNet use 1e-3).
    pub eps: f64,
}

impl BatchNormStats {
    /// Loads `weight`, `bias`, `running_mean`, `running_var` of `channels`
    /// channels from `vb` (named as PyTorch names them). Fresh variables
    /// start as the identity map (γ = 1, β = 0, μ = 0, σ² = 1).
    pub fn new(channels: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        use candle_nn::Init::Const;
        Ok(BatchNormStats {
            gamma: vb.get_with_hints(channels, "weight", Const(1.0))?,
            beta: vb.get_with_hints(channels, "bias", Const(0.0))?,
            mean: vb.get_with_hints(channels, "running_mean", Const(0.0))?,
            var: vb.get_with_hints(channels, "running_var", Const(1.0))?,
            eps,
        })
    }
}

/// Folds `bn` into a convolution with kernel `weight` `[o, …]` and optional
/// bias `[o]`; returns the folded kernel and bias, in `weight`'s dtype.
pub fn fold_batch_norm(
    weight: &Tensor,
    bias: Option<&Tensor>,
    bn: &BatchNormStats,
) -> Result<(Tensor, Tensor)> {
    let dtype = weight.dtype();
    let o = weight.dim(0)?;
    for (name, t) in [
        ("weight", &bn.gamma),
        ("bias", &bn.beta),
        ("running_mean", &bn.mean),
        ("running_var", &bn.var),
    ] {
        if t.dims() != [o] {
            candle_core::bail!(
                "batch norm {name} has shape {:?}, the convolution has {o} output channels",
                t.dims()
            );
        }
    }
    let f = |t: &Tensor| t.to_dtype(DType::F64);
    let scale = f(&bn.gamma)?.div(&(f(&bn.var)? + bn.eps)?.sqrt()?)?;
    let mut shape = vec![1usize; weight.rank()];
    shape[0] = o;
    let w = f(weight)?.broadcast_mul(&scale.reshape(shape)?)?;
    let b0 = match bias {
        Some(b) => f(b)?,
        None => Tensor::zeros(o, DType::F64, weight.device())?,
    };
    let b = ((b0 - f(&bn.mean)?)? * &scale)?.add(&f(&bn.beta)?)?;
    Ok((w.to_dtype(dtype)?, b.to_dtype(dtype)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f64], shape: &[usize]) -> Tensor {
        Tensor::from_slice(v, shape, &Device::Cpu).unwrap()
    }

    /// conv → BN equals the folded conv on a random-ish input, both in f64.
    #[test]
    fn folded_conv_equals_conv_then_batch_norm() {
        let (o, i, k) = (3, 2, 3);
        let wv: Vec<f64> = (0..o * i * k * k)
            .map(|j| ((j * 37 % 11) as f64 - 5.0) / 7.0)
            .collect();
        let w = t(&wv, &[o, i, k, k]);
        let b = t(&[0.3, -0.2, 0.1], &[o]);
        let bn = BatchNormStats {
            gamma: t(&[1.5, 0.5, -2.0], &[o]),
            beta: t(&[0.1, 0.2, -0.3], &[o]),
            mean: t(&[0.4, -1.0, 2.0], &[o]),
            var: t(&[0.25, 4.0, 1.0], &[o]),
            eps: 1e-3,
        };
        let xv: Vec<f64> = (0..2 * i * 5 * 5)
            .map(|j| ((j * 13 % 17) as f64) / 17.0)
            .collect();
        let x = t(&xv, &[2, i, 5, 5]);
        let z = x
            .conv2d(&w, 1, 1, 1, 1)
            .unwrap()
            .broadcast_add(&b.reshape((1, o, 1, 1)).unwrap())
            .unwrap();
        let r = |v: &Tensor| v.reshape((1, o, 1, 1)).unwrap();
        let want = z
            .broadcast_sub(&r(&bn.mean))
            .unwrap()
            .broadcast_div(&r(&(bn.var.clone() + bn.eps).unwrap().sqrt().unwrap()))
            .unwrap()
            .broadcast_mul(&r(&bn.gamma))
            .unwrap()
            .broadcast_add(&r(&bn.beta))
            .unwrap();
        let (fw, fb) = fold_batch_norm(&w, Some(&b), &bn).unwrap();
        let got = x
            .conv2d(&fw, 1, 1, 1, 1)
            .unwrap()
            .broadcast_add(&r(&fb))
            .unwrap();
        let diff = (got - want)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(diff < 1e-12, "max diff {diff}");
    }

    #[test]
    fn mismatched_channels_are_rejected() {
        let w = t(&[1.0; 8], &[2, 1, 2, 2]);
        let one = t(&[1.0; 3], &[3]);
        let bn = BatchNormStats {
            gamma: one.clone(),
            beta: one.clone(),
            mean: one.clone(),
            var: one,
            eps: 1e-5,
        };
        let e = fold_batch_norm(&w, None, &bn).unwrap_err().to_string();
        assert!(
            e.contains("weight") && e.contains("2 output channels"),
            "{e}"
        );
    }
}
