//! Convolutions as candle custom ops on the kernels of [`crate::nn::conv`]:
//! im2col + matrix product over bounded blocks of images forward,
//! `col2im(Wᵀ · G)` for the input gradient, each gradient only when its
//! operand is tracked, the bias added in the same pass; and the
//! [`Conv2d`] layer built on them.

use candle_core::{
    CpuStorage, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType,
};

use super::{slice_of, with_slice};
use crate::nn::conv::{self, ConvShape};

/// Convolution, optionally with a bias: `CustomOp2` on (x, w) and
/// `CustomOp3` on (x, w, b), computed by [`conv`].
struct Conv2dOp {
    padding: usize,
    stride: usize,
}

impl Conv2dOp {
    fn fwd_typed<T: WithDType>(
        &self,
        x: (&CpuStorage, &Layout),
        w: (&CpuStorage, &Layout),
        b: Option<(&CpuStorage, &Layout)>,
    ) -> Result<(Vec<T>, Shape)> {
        let s = ConvShape::strided(x.1.dims(), w.1.dims(), self.padding, self.stride)?;
        let bias = match b {
            Some((bs, bl)) => Some(slice_of::<T>(bs, bl)?),
            None => None,
        };
        let y = conv::forward(slice_of::<T>(x.0, x.1)?, slice_of(w.0, w.1)?, bias, &s)?;
        let shape = Shape::from((s.batch, s.c_out, s.out_height(), s.out_width()));
        Ok((y, shape))
    }

    fn fwd(
        &self,
        x: (&CpuStorage, &Layout),
        w: (&CpuStorage, &Layout),
        b: Option<(&CpuStorage, &Layout)>,
    ) -> Result<(CpuStorage, Shape)> {
        match x.0 {
            CpuStorage::F32(_) => {
                let (y, sh) = self.fwd_typed::<f32>(x, w, b)?;
                Ok((CpuStorage::F32(y), sh))
            }
            CpuStorage::F64(_) => {
                let (y, sh) = self.fwd_typed::<f64>(x, w, b)?;
                Ok((CpuStorage::F64(y), sh))
            }
            _ => candle_core::bail!("ismc conv2d: only f32 and f64 are supported"),
        }
    }

    /// Gradients of (x, w, b), each only when that operand is tracked.
    fn bwd_typed<T: WithDType>(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: Option<&Tensor>,
        g: &Tensor,
    ) -> Result<ConvGrads> {
        let s = ConvShape::strided(x.dims(), w.dims(), self.padding, self.stride)?;
        let dev = x.device();
        with_slice::<T, _>(&g.detach(), |gy| {
            let gx = if x.track_op() {
                let v = with_slice::<T, _>(&w.detach(), |wv| conv::input_grad(gy, wv, &s))?;
                Some(Tensor::from_vec(v, x.shape(), dev)?)
            } else {
                None
            };
            let gw = if w.track_op() {
                let v = with_slice::<T, _>(&x.detach(), |xv| conv::weight_grad(xv, gy, &s))?;
                Some(Tensor::from_vec(v, w.shape(), dev)?)
            } else {
                None
            };
            let gb = match b {
                Some(b) if b.track_op() => {
                    Some(Tensor::from_vec(conv::bias_grad(gy, &s)?, b.shape(), dev)?)
                }
                _ => None,
            };
            Ok((gx, gw, gb))
        })
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>, g: &Tensor) -> Result<ConvGrads> {
        match x.dtype() {
            DType::F32 => self.bwd_typed::<f32>(x, w, b, g),
            DType::F64 => self.bwd_typed::<f64>(x, w, b, g),
            d => candle_core::bail!("ismc conv2d: unsupported dtype {d:?}"),
        }
    }
}

/// Gradients of a convolution's input, kernel and bias.
type ConvGrads = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

impl CustomOp2 for Conv2dOp {
    fn name(&self) -> &'static str {
        "ismc-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.fwd((s1, l1), (s2, l2), None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (gx, gw, _) = Conv2dOp::bwd(self, x, w, None, g)?;
        Ok((gx, gw))
    }
}

impl CustomOp3 for Conv2dOp {
    fn name(&self) -> &'static str {
        "ismc-conv2d-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.fwd((s1, l1), (s2, l2), Some((s3, l3)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<ConvGrads> {
        Conv2dOp::bwd(self, x, w, Some(b), g)
    }
}

/// Gradient with respect to the input of a stride-1 convolution with
/// kernel `w` `[o, i, k, k]` and `padding`, given the output gradient `g`
/// `[n, o, h', w']`, computed as `col2im(Wᵀ · G)` (see [`conv`]).
pub fn conv2d_input_grad(g: &Tensor, w: &Tensor, padding: usize) -> Result<Tensor> {
    let (n, _, oh, ow) = g.dims4()?;
    let (_, ci, k, _) = w.dims4()?;
    if oh + k < 1 + 2 * padding || ow + k < 1 + 2 * padding {
        candle_core::bail!(
            "conv2d_input_grad: output {oh}x{ow} too small for kernel {k}, padding {padding}"
        );
    }
    let (h, wd) = (oh + k - 1 - 2 * padding, ow + k - 1 - 2 * padding);
    let s = ConvShape::new(&[n, ci, h, wd], w.dims(), padding)?;
    let gx = match g.dtype() {
        DType::F32 => with_slice::<f32, _>(g, |gy| {
            with_slice::<f32, _>(w, |wv| conv::input_grad(gy, wv, &s))
        })
        .map(|v| Tensor::from_vec(v, (n, ci, h, wd), g.device()))??,
        DType::F64 => with_slice::<f64, _>(g, |gy| {
            with_slice::<f64, _>(w, |wv| conv::input_grad(gy, wv, &s))
        })
        .map(|v| Tensor::from_vec(v, (n, ci, h, wd), g.device()))??,
        d => candle_core::bail!("conv2d_input_grad: unsupported dtype {d:?}"),
    };
    Ok(gx)
}

/// Stride-1 2-d convolution (no bias) of `x` `[n, i, h, w]` with `w`
/// `[o, i, k, k]`, with the fast backward pass described in the module docs.
pub fn conv2d(x: &Tensor, w: &Tensor, padding: usize) -> Result<Tensor> {
    conv2d_strided(x, w, padding, 1)
}

/// [`conv2d`] plus a bias `[o]` added to every output channel, in one pass.
pub fn conv2d_bias(x: &Tensor, w: &Tensor, b: &Tensor, padding: usize) -> Result<Tensor> {
    conv2d_bias_strided(x, w, b, padding, 1)
}

/// [`conv2d`] with a `stride` ≥ 1: output side `⌊(h + 2p − k)/s⌋ + 1`, as
/// `torch.nn.Conv2d(…, stride=s, padding=p)`.
pub fn conv2d_strided(x: &Tensor, w: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&w.contiguous()?, Conv2dOp { padding, stride })
}

/// [`conv2d_bias`] with a `stride` ≥ 1.
pub fn conv2d_bias_strided(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    padding: usize,
    stride: usize,
) -> Result<Tensor> {
    x.contiguous()?.apply_op3(
        &w.contiguous()?,
        &b.contiguous()?,
        Conv2dOp { padding, stride },
    )
}

/// A convolution layer (stride 1, square kernel) with parameters `weight`
/// `[out, in, k, k]` and `bias` `[out]`, named like `torch.nn.Conv2d`.
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Tensor,
    bias: Tensor,
    padding: usize,
}

impl Conv2d {
    /// Creates or loads the layer's parameters from `vb`.
    pub fn new(
        cin: usize,
        cout: usize,
        k: usize,
        padding: usize,
        vb: candle_nn::VarBuilder,
    ) -> Result<Self> {
        let bound = 1.0 / ((cin * k * k) as f64).sqrt();
        let init = candle_nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Ok(Conv2d {
            weight: vb.get_with_hints((cout, cin, k, k), "weight", init)?,
            bias: vb.get_with_hints(cout, "bias", init)?,
            padding,
        })
    }
}

impl candle_core::Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        conv2d_bias(x, &self.weight, &self.bias, self.padding)
    }
}
