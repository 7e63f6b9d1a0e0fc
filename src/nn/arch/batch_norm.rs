//! Batch normalisation of 2-d feature maps in inference form, as
//! `torch.nn.BatchNorm2d` in `eval()` mode.
//!
//! A frozen BatchNorm layer with learned scale `γ`, shift `β`, running mean
//! `μ` and running variance `σ²` maps each channel `c` affinely:
//!
//! ```text
//! y = (x − μ_c) / √(σ²_c + ε) · γ_c + β_c  =  a_c · x + b_c,
//! a_c = γ_c / √(σ²_c + ε),   b_c = β_c − μ_c · a_c,
//! ```
//!
//! with ε = [`EPS`] (PyTorch's default). Because the map is affine per output
//! channel, a convolution without bias followed by it is the same as one
//! convolution with kernel `a_c · W[c]` and bias `b_c`
//! ([`BatchNorm2d::fold_into`]); frozen networks use that form, which saves
//! a pass over every activation in the forward and the backward pass.
//!
//! Tensors are named as in PyTorch's state dicts: `weight` (γ), `bias` (β),
//! `running_mean`, `running_var` (PyTorch's `num_batches_tracked` counter is
//! not needed in eval mode and is ignored when present). Created fresh they
//! start as PyTorch initialises them: γ = 1, β = 0, μ = 0, σ² = 1.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// The ε added to the running variance (PyTorch's default `eps=1e-5`).
pub const EPS: f64 = 1e-5;

/// A frozen BatchNorm2d, held as its per-channel affine map.
#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    /// `a_c = γ_c / √(σ²_c + ε)`, shape `[channels]`.
    scale: Tensor,
    /// `b_c = β_c − μ_c · a_c`, shape `[channels]`.
    shift: Tensor,
}

impl BatchNorm2d {
    /// Creates or loads `weight`, `bias`, `running_mean` and `running_var`
    /// (each `[channels]`) from `vb`.
    pub fn new(channels: usize, vb: VarBuilder) -> Result<Self> {
        let gamma = vb.get_with_hints(channels, "weight", candle_nn::Init::Const(1.0))?;
        let beta = vb.get_with_hints(channels, "bias", candle_nn::Init::Const(0.0))?;
        let mean = vb.get_with_hints(channels, "running_mean", candle_nn::Init::Const(0.0))?;
        let var = vb.get_with_hints(channels, "running_var", candle_nn::Init::Const(1.0))?;
        let scale = gamma.div(&var.affine(1.0, EPS)?.sqrt()?)?;
        let shift = beta.sub(&mean.mul(&scale)?)?;
        Ok(BatchNorm2d { scale, shift })
    }

    /// The per-channel factor `a_c`.
    pub fn scale(&self) -> &Tensor {
        &self.scale
    }

    /// The per-channel offset `b_c`.
    pub fn shift(&self) -> &Tensor {
        &self.shift
    }

    /// Folds the layer into the bias-free convolution before it: returns
    /// the kernel `a_c · W[c]` (same shape as `weight`, `[c, …]`) and the
    /// bias `b_c`.
    pub fn fold_into(&self, weight: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut shape = vec![1usize; weight.rank()];
        shape[0] = self.scale.elem_count();
        let w = weight.broadcast_mul(&self.scale.reshape(shape)?)?;
        Ok((w, self.shift.clone()))
    }
}

impl Module for BatchNorm2d {
    /// `a_c · x + b_c` on `[n, c, h, w]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = self.scale.elem_count();
        x.broadcast_mul(&self.scale.reshape((1, c, 1, 1))?)?
            .broadcast_add(&self.shift.reshape((1, c, 1, 1))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use std::collections::HashMap;

    fn layer(gamma: &[f64], beta: &[f64], mean: &[f64], var: &[f64]) -> BatchNorm2d {
        let t = |v: &[f64]| Tensor::new(v, &Device::Cpu).unwrap();
        let map = HashMap::from([
            ("bn.weight".to_string(), t(gamma)),
            ("bn.bias".to_string(), t(beta)),
            ("bn.running_mean".to_string(), t(mean)),
            ("bn.running_var".to_string(), t(var)),
        ]);
        let vb = VarBuilder::from_tensors(map, DType::F64, &Device::Cpu);
        BatchNorm2d::new(gamma.len(), vb.pp("bn")).unwrap()
    }

    /// The affine form equals the textbook formula, value by value, and the
    /// folded convolution equals convolution then BatchNorm.
    #[test]
    fn affine_form_and_folding_match_the_formula() {
        let (g, b, m, v) = ([1.5, -0.5], [0.25, 2.0], [0.1, -3.0], [4.0, 0.01]);
        let bn = layer(&g, &b, &m, &v);
        let x = Tensor::new(&[[[[1.0f64, -2.0]], [[0.5, 7.0]]]], &Device::Cpu).unwrap();
        let y: Vec<f64> = bn
            .forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let xs = [1.0, -2.0, 0.5, 7.0];
        for (i, (&yi, &xi)) in y.iter().zip(&xs).enumerate() {
            let c = i / 2;
            let want = (xi - m[c]) / (v[c] + EPS).sqrt() * g[c] + b[c];
            assert!((yi - want).abs() < 1e-12, "{i}: {yi} vs {want}");
        }
        let x = Tensor::randn(0f64, 1.0, (2, 3, 5, 5), &Device::Cpu).unwrap();
        let w = Tensor::randn(0f64, 1.0, (2, 3, 3, 3), &Device::Cpu).unwrap();
        let (wf, bf) = bn.fold_into(&w).unwrap();
        let folded = crate::nn::ops::conv2d_bias(&x, &wf, &bf, 1).unwrap();
        let separate = bn
            .forward(&crate::nn::ops::conv2d(&x, &w, 1).unwrap())
            .unwrap();
        let d = (folded - separate)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(d.to_scalar::<f64>().unwrap() < 1e-10);
    }

    /// Fresh layers start as PyTorch's: the identity up to 1/√(1 + ε).
    #[test]
    fn fresh_layer_is_pytorch_initialisation() {
        let vm = candle_nn::VarMap::new();
        let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
        let bn = BatchNorm2d::new(3, vb.pp("bn")).unwrap();
        let a: Vec<f32> = bn.scale().to_vec1().unwrap();
        let b: Vec<f32> = bn.shift().to_vec1().unwrap();
        let want = (1.0 / (1.0 + EPS).sqrt()) as f32;
        assert!(a.iter().all(|&v| (v - want).abs() < 1e-7), "{a:?}");
        assert_eq!(b, vec![0.0; 3]);
        let data = vm.data().lock().unwrap();
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        assert_eq!(
            names,
            ["bn.bias", "bn.running_mean", "bn.running_var", "bn.weight"]
        );
    }
}
