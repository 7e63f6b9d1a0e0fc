//! Tensor operations that candle lacks, gets wrong, or makes slow.
//!
//! [`conv2d`]: candle's backward pass of `conv2d` computes the input gradient
//! with its CPU `conv_transpose2d` (several times slower than the forward
//! convolution) and always computes the kernel gradient, even for frozen
//! weights. This version computes the input gradient of a stride-1
//! convolution as the forward convolution of the output gradient with the
//! flipped, transposed kernel (candle's im2col + gemm path), and each
//! gradient only when its operand is tracked.
//!
//! [`linear`]: candle's backward pass of `matmul` always computes both
//! operands' gradients; this version skips the weight gradient of frozen
//! layers.
//!
//! [`max_pool2d`]: candle 0.11's backward pass of `max_pool2d` multiplies the
//! incoming gradient by the fraction of maxima in each window instead of
//! dividing by their count, so a k×k pool scales input gradients by 1/k²
//! (tested below). This version routes the whole gradient to the first
//! maximum of each window, as PyTorch does.

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, Device, Layout, Result, Shape, Storage, Tensor, WithDType,
};

struct MaxPool {
    k: usize,
}

fn dims4(shape: &[usize]) -> Result<(usize, usize, usize, usize)> {
    match shape {
        [n, c, h, w] => Ok((*n, *c, *h, *w)),
        _ => candle_core::bail!("max_pool2d expects [n, c, h, w], got {shape:?}"),
    }
}

/// For each output cell, the flat input index of the first maximum of its
/// window, and the maximum.
fn pool_argmax<T: WithDType>(
    x: &[T],
    (n, c, h, w): (usize, usize, usize, usize),
    k: usize,
    mut visit: impl FnMut(usize, usize, T),
) {
    let (oh, ow) = (h / k, w / k);
    for plane in 0..n * c {
        let base = plane * h * w;
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = base + oy * k * w + ox * k;
                let mut bv = x[best];
                for dy in 0..k {
                    let row = base + (oy * k + dy) * w + ox * k;
                    for (dx, &v) in x[row..row + k].iter().enumerate() {
                        // `v > bv` keeps the first maximum; NaN propagates like PyTorch.
                        #[allow(clippy::eq_op)]
                        let (v_nan, b_nan) = (v != v, bv != bv);
                        if v > bv || (v_nan && !b_nan) {
                            bv = v;
                            best = row + dx;
                        }
                    }
                }
                visit((plane * oh + oy) * ow + ox, best, bv);
            }
        }
    }
}

impl CustomOp1 for MaxPool {
    fn name(&self) -> &'static str {
        "ismc-max-pool2d"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let d = dims4(layout.dims())?;
        let (start, end) = match layout.contiguous_offsets() {
            Some(o) => o,
            None => candle_core::bail!("max_pool2d: input must be contiguous"),
        };
        let out = match storage {
            CpuStorage::F32(v) => fwd(&v[start..end], d, self.k),
            CpuStorage::F64(v) => fwd(&v[start..end], d, self.k),
            _ => candle_core::bail!("max_pool2d: only f32 and f64 are supported"),
        };
        Ok((out, Shape::from((d.0, d.1, d.2 / self.k, d.3 / self.k))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        match arg.dtype() {
            candle_core::DType::F64 => bwd::<f64>(arg, grad_res, self.k).map(Some),
            _ => bwd::<f32>(arg, grad_res, self.k).map(Some),
        }
    }
}

fn fwd<T: WithDType>(x: &[T], d: (usize, usize, usize, usize), k: usize) -> CpuStorage {
    let mut out = vec![T::from_f64(0.0); d.0 * d.1 * (d.2 / k) * (d.3 / k)];
    pool_argmax(x, d, k, |o, _, v| out[o] = v);
    T::to_cpu_storage_owned(out)
}

fn bwd<T: WithDType>(arg: &Tensor, grad_res: &Tensor, k: usize) -> Result<Tensor> {
    let d = dims4(arg.dims())?;
    let x: Vec<T> = arg.detach().flatten_all()?.to_vec1()?;
    let g: Vec<T> = grad_res.detach().flatten_all()?.to_vec1()?;
    let mut out = vec![T::from_f64(0.0); x.len()];
    pool_argmax(&x, d, k, |o, i, _| out[i] += g[o]);
    Tensor::from_vec(out, arg.shape(), arg.device())
}

/// k×k max-pooling with stride k (output side ⌊side/k⌋) on f32 `[n, c, h, w]`,
/// with a correct backward pass.
pub fn max_pool2d(x: &Tensor, k: usize) -> Result<Tensor> {
    if k == 0 {
        candle_core::bail!("max_pool2d: kernel must be positive");
    }
    x.contiguous()?.apply_op1(MaxPool { k })
}

/// A contiguous copy of a CPU storage view as a tensor.
fn tensor_of(s: &CpuStorage, l: &Layout) -> Result<Tensor> {
    let (a, b) = match l.contiguous_offsets() {
        Some(o) => o,
        None => candle_core::bail!("ismc conv2d: operands must be contiguous"),
    };
    match s {
        CpuStorage::F32(v) => Tensor::from_slice(&v[a..b], l.shape(), &Device::Cpu),
        CpuStorage::F64(v) => Tensor::from_slice(&v[a..b], l.shape(), &Device::Cpu),
        _ => candle_core::bail!("ismc conv2d: only f32 and f64 are supported"),
    }
}

struct Conv2dOp {
    padding: usize,
}

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
        let y = tensor_of(s1, l1)?.conv2d(&tensor_of(s2, l2)?, self.padding, 1, 1, 1)?;
        let (st, l) = y.storage_and_layout();
        match (&*st, l.contiguous_offsets()) {
            (Storage::Cpu(c), Some((0, _))) => Ok((c.clone(), l.shape().clone())),
            _ => candle_core::bail!("ismc conv2d: unexpected output layout"),
        }
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (g, xd, wd) = (g.detach(), x.detach(), w.detach());
        let gx = if x.track_op() {
            Some(conv2d_input_grad(&g, &wd, self.padding)?)
        } else {
            None
        };
        let gw = if w.track_op() {
            let k = wd.dims()[2..].to_vec();
            let gw = xd
                .transpose(0, 1)?
                .contiguous()?
                .conv2d(&g.transpose(0, 1)?.contiguous()?, self.padding, 1, 1, 1)?
                .transpose(0, 1)?;
            Some(gw.narrow(2, 0, k[0])?.narrow(3, 0, k[1])?.contiguous()?)
        } else {
            None
        };
        Ok((gx, gw))
    }
}

/// Gradient with respect to the input of a stride-1 convolution with
/// kernel `w` `[o, i, kh, kw]` and `padding`, given the output gradient `g`:
/// the convolution of `g` with the kernel transposed (i ↔ o) and flipped in
/// both spatial axes, with padding `k − 1 − padding`.
pub fn conv2d_input_grad(g: &Tensor, w: &Tensor, padding: usize) -> Result<Tensor> {
    let (_, _, kh, kw) = w.dims4()?;
    if kh != kw || padding + 1 > kh {
        candle_core::bail!("conv2d_input_grad: needs a square kernel with padding < k (k {kh}x{kw}, padding {padding})");
    }
    let rev = Tensor::from_vec((0..kh as u32).rev().collect::<Vec<u32>>(), kh, w.device())?;
    let flipped = w
        .transpose(0, 1)?
        .contiguous()?
        .index_select(&rev, 2)?
        .index_select(&rev, 3)?
        .contiguous()?;
    g.contiguous()?.conv2d(&flipped, kh - 1 - padding, 1, 1, 1)
}

/// Stride-1 2-d convolution (no bias) of `x` `[n, i, h, w]` with `w`
/// `[o, i, k, k]`, with the fast backward pass described in the module docs.
pub fn conv2d(x: &Tensor, w: &Tensor, padding: usize) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&w.contiguous()?, Conv2dOp { padding })
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
        let y = conv2d(x, &self.weight, self.padding)?;
        y.broadcast_add(&self.bias.reshape((1, (), 1, 1))?)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn grad_of(pool: impl Fn(&Tensor) -> Result<Tensor>) -> Vec<f32> {
        let x = Tensor::new(
            &[[[[1f32, 5.0, 0.0, 0.0], [2.0, 3.0, 7.0, 7.0]]]],
            &Device::Cpu,
        )
        .unwrap();
        let v = Var::from_tensor(&x).unwrap();
        let y = pool(v.as_tensor()).unwrap();
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![5.0, 7.0]
        );
        let g = y.sum_all().unwrap().backward().unwrap();
        g.get(v.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn gradient_goes_to_the_first_maximum() {
        assert_eq!(
            grad_of(|t| max_pool2d(t, 2)),
            vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
    }

    #[test]
    fn conv_gradients_match_candle_conv() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f64, 1.0, (2, 3, 7, 7), &dev).unwrap();
        let w = Tensor::randn(0f64, 1.0, (4, 3, 3, 3), &dev).unwrap();
        let g = Tensor::randn(0f64, 1.0, (2, 4, 7, 7), &dev).unwrap();
        let run = |mine: bool| {
            let (xv, wv) = (Var::from_tensor(&x).unwrap(), Var::from_tensor(&w).unwrap());
            let y = if mine {
                conv2d(xv.as_tensor(), wv.as_tensor(), 1).unwrap()
            } else {
                xv.as_tensor().conv2d(wv.as_tensor(), 1, 1, 1, 1).unwrap()
            };
            let grads = (y.clone() * &g)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            (
                flat(&y),
                flat(grads.get(xv.as_tensor()).unwrap()),
                flat(grads.get(wv.as_tensor()).unwrap()),
            )
        };
        let (a, b) = (run(true), run(false));
        for (u, v) in [(a.0, b.0), (a.1, b.1), (a.2, b.2)] {
            let worst = u
                .iter()
                .zip(&v)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-10, "{worst}");
        }
    }

    #[test]
    fn linear_gradients_match_candle_matmul() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f64, 1.0, (5, 7), &dev).unwrap();
        let w = Tensor::randn(0f64, 1.0, (3, 7), &dev).unwrap();
        let g = Tensor::randn(0f64, 1.0, (5, 3), &dev).unwrap();
        let run = |mine: bool| {
            let (xv, wv) = (Var::from_tensor(&x).unwrap(), Var::from_tensor(&w).unwrap());
            let y = if mine {
                linear(xv.as_tensor(), wv.as_tensor()).unwrap()
            } else {
                xv.as_tensor().matmul(&wv.as_tensor().t().unwrap()).unwrap()
            };
            let grads = (y.clone() * &g)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            (
                flat(&y),
                flat(grads.get(xv.as_tensor()).unwrap()),
                flat(grads.get(wv.as_tensor()).unwrap()),
            )
        };
        let (a, b) = (run(true), run(false));
        for (u, v) in [(a.0, b.0), (a.1, b.1), (a.2, b.2)] {
            let worst = u
                .iter()
                .zip(&v)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-12, "{worst}");
        }
    }

    #[test]
    fn candle_max_pool_backward_is_still_scaled() {
        // Documents the upstream bug this module works around: if this starts
        // failing, candle fixed it and max_pool2d could go back to candle's.
        let g = grad_of(|t| t.max_pool2d(2));
        assert_eq!(g[1], 0.25);
    }
}
