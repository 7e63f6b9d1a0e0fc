//! A linear map whose backward pass skips the weight gradient of frozen
//! layers (candle's `matmul` always computes both), and the [`Linear`]
//! layer built on it.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Storage, Tensor};

use super::tensor_of;

struct LinearOp;

impl CustomOp2 for LinearOp {
    fn name(&self) -> &'static str {
        "ismc-linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = tensor_of(s1, l1)?.matmul(&tensor_of(s2, l2)?.t()?)?;
        let (st, l) = y.storage_and_layout();
        match (&*st, l.contiguous_offsets()) {
            (Storage::Cpu(c), Some((0, _))) => Ok((c.clone(), l.shape().clone())),
            _ => candle_core::bail!("ismc linear: unexpected output layout"),
        }
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = g.detach();
        let gx = if x.track_op() {
            Some(g.matmul(&w.detach())?)
        } else {
            None
        };
        let gw = if w.track_op() {
            Some(g.t()?.matmul(&x.detach())?)
        } else {
            None
        };
        Ok((gx, gw))
    }
}

/// `x @ wᵀ` for `x` `[n, in]` and `w` `[out, in]`, whose backward pass
/// computes each operand's gradient only when that operand is tracked.
pub fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, LinearOp)
}

/// A fully connected layer with parameters `weight` `[out, in]` and `bias`
/// `[out]`, named like `torch.nn.Linear`.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    /// Creates or loads the layer's parameters from `vb`.
    pub fn new(din: usize, dout: usize, vb: candle_nn::VarBuilder) -> Result<Self> {
        let bound = 1.0 / (din as f64).sqrt();
        let init = candle_nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Ok(Linear {
            weight: vb.get_with_hints((dout, din), "weight", init)?,
            bias: vb.get_with_hints(dout, "bias", init)?,
        })
    }
}

impl candle_core::Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        linear(x, &self.weight)?.broadcast_add(&self.bias)
    }
}
