//! Tensor operations that candle lacks, gets wrong, or makes slow.
//!
//! [`conv2d`] and [`conv2d_bias`]: candle's `conv2d` builds the im2col
//! matrix of the whole batch (231 MB for the second LeNet5 convolution at
//! batch 256), and its backward pass computes the input gradient with the
//! CPU `conv_transpose2d` and always computes the kernel gradient, even for
//! frozen weights. These versions run the kernels of [`super::conv`]:
//! im2col + matrix product over bounded blocks of images for the forward
//! pass, `col2im(Wᵀ · G)` for the input gradient, and each gradient only
//! when its operand is tracked; the bias is added in the same pass.
//!
//! [`linear`]: candle's backward pass of `matmul` always computes both
//! operands' gradients; this version skips the weight gradient of frozen
//! layers.
//!
//! [`max_pool2d`]: candle 0.11's backward pass of `max_pool2d` multiplies the
//! incoming gradient by the fraction of maxima in each window instead of
//! dividing by their count, so a k×k pool scales input gradients by 1/k²
//! (tested below). This version routes the whole gradient to the first
//! maximum of each window, as PyTorch does; [`max_pool2d_strided`] adds
//! PyTorch's stride and padding (overlapping windows).
//!
//! [`conv2d_strided`] and [`conv2d_bias_strided`]: the same convolutions with
//! a stride (ResNet's downsampling layers), by the same kernels.

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Device, Layout, Result, Shape, Storage,
    Tensor, WithDType,
};

use rayon::prelude::*;

use super::conv::{self, ConvShape};

/// Geometry of a max-pooling window: `k`×`k`, moved by `stride`, over the
/// input padded by `padding` on every side (padded cells never win, as if
/// they held −∞, as in PyTorch).
#[derive(Debug, Clone, Copy)]
struct Window {
    k: usize,
    stride: usize,
    padding: usize,
}

impl Window {
    /// Output side `⌊(side + 2p − k)/s⌋ + 1` (0 when the window does not fit).
    fn out(&self, side: usize) -> usize {
        if side + 2 * self.padding < self.k {
            0
        } else {
            (side + 2 * self.padding - self.k) / self.stride + 1
        }
    }

    /// The input rows (or columns) `lo..hi` under output position `o`.
    fn span(&self, o: usize, side: usize) -> (usize, usize) {
        let start = (o * self.stride) as isize - self.padding as isize;
        let lo = start.max(0) as usize;
        let hi = ((start + self.k as isize).max(0) as usize).min(side);
        (lo, hi)
    }
}

struct MaxPool {
    window: Window,
    /// Apply ReLU to the pooled values (and its derivative in `bwd`).
    relu: bool,
}

fn dims4(shape: &[usize]) -> Result<(usize, usize, usize, usize)> {
    match shape {
        [n, c, h, w] => Ok((*n, *c, *h, *w)),
        _ => candle_core::bail!("max_pool2d expects [n, c, h, w], got {shape:?}"),
    }
}

/// Whether `v` replaces the running maximum `best`: strictly greater keeps
/// the first maximum; a NaN wins over a number, as in PyTorch.
#[inline(always)]
fn beats<T: WithDType>(v: T, best: T) -> bool {
    #[allow(clippy::eq_op)]
    let (v_nan, b_nan) = (v != v, best != best);
    v > best || (v_nan && !b_nan)
}

/// For each output cell of one plane `x` `[h, w]`, the index in the plane of
/// the first maximum of its window (row by row), and the maximum.
#[inline(always)]
fn pool_argmax<T: WithDType>(
    x: &[T],
    (h, w): (usize, usize),
    win: Window,
    mut visit: impl FnMut(usize, usize, T),
) {
    let (oh, ow) = (win.out(h), win.out(w));
    if win.k == 2 && win.stride == 2 && win.padding == 0 {
        // The LeNet5 case, unrolled.
        for oy in 0..oh {
            let r0 = &x[2 * oy * w..2 * oy * w + 2 * ow];
            let r1 = &x[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
            for (ox, (p, q)) in r0.chunks_exact(2).zip(r1.chunks_exact(2)).enumerate() {
                let (mut bv, mut bi) = (p[0], 0);
                if beats(p[1], bv) {
                    (bv, bi) = (p[1], 1);
                }
                if beats(q[0], bv) {
                    (bv, bi) = (q[0], w);
                }
                if beats(q[1], bv) {
                    (bv, bi) = (q[1], w + 1);
                }
                visit(oy * ow + ox, 2 * oy * w + 2 * ox + bi, bv);
            }
        }
        return;
    }
    for oy in 0..oh {
        let (y0, y1) = win.span(oy, h);
        for ox in 0..ow {
            let (x0, x1) = win.span(ox, w);
            // Every window holds at least one real cell (padding ≤ k/2).
            let mut best = y0 * w + x0;
            let mut bv = x[best];
            for yy in y0..y1 {
                let row = yy * w;
                for (dx, &v) in x[row + x0..row + x1].iter().enumerate() {
                    if beats(v, bv) {
                        bv = v;
                        best = row + x0 + dx;
                    }
                }
            }
            visit(oy * ow + ox, best, bv);
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
            CpuStorage::F32(v) => fwd(&v[start..end], d, self.window, self.relu),
            CpuStorage::F64(v) => fwd(&v[start..end], d, self.window, self.relu),
            _ => candle_core::bail!("max_pool2d: only f32 and f64 are supported"),
        };
        let (oh, ow) = (self.window.out(d.2), self.window.out(d.3));
        Ok((out, Shape::from((d.0, d.1, oh, ow))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        match arg.dtype() {
            DType::F64 => bwd::<f64>(arg, grad_res, self.window, self.relu).map(Some),
            _ => bwd::<f32>(arg, grad_res, self.window, self.relu).map(Some),
        }
    }
}

fn fwd<T: WithDType>(
    x: &[T],
    d: (usize, usize, usize, usize),
    win: Window,
    relu: bool,
) -> CpuStorage {
    let (h, w) = (d.2, d.3);
    let plane = win.out(h) * win.out(w);
    let mut out = vec![T::from_f64(0.0); d.0 * d.1 * plane];
    if plane > 0 {
        // One task per plane: each output is written by exactly one task.
        out.par_chunks_mut(plane)
            .zip(x.par_chunks(h * w))
            .for_each(|(o, xp)| {
                let zero = T::from_f64(0.0);
                if relu {
                    // `v <= 0` is false for NaN, which passes through.
                    pool_argmax(xp, (h, w), win, |j, _, v| {
                        o[j] = if v <= zero { zero } else { v }
                    })
                } else {
                    pool_argmax(xp, (h, w), win, |j, _, v| o[j] = v)
                }
            });
    }
    T::to_cpu_storage_owned(out)
}

fn bwd<T: WithDType>(arg: &Tensor, grad_res: &Tensor, win: Window, relu: bool) -> Result<Tensor> {
    let (_, _, h, w) = dims4(arg.dims())?;
    let plane = win.out(h) * win.out(w);
    let mut out = vec![T::from_f64(0.0); arg.elem_count()];
    if plane > 0 {
        with_slice::<T, _>(&arg.detach(), |x| {
            with_slice::<T, _>(&grad_res.detach(), |g| {
                // Per plane, one task adds every output's gradient onto its
                // window's first maximum (overlapping windows may add
                // several onto one input, in output order).
                out.par_chunks_mut(h * w)
                    .zip(x.par_chunks(h * w))
                    .zip(g.par_chunks(plane))
                    .for_each(|((o, xp), gp)| {
                        let zero = T::from_f64(0.0);
                        // ReLU passes no gradient where its output is 0
                        // (PyTorch's convention at 0 too).
                        pool_argmax(xp, (h, w), win, |j, i, v| {
                            if !(relu && v <= zero) {
                                o[i] += gp[j]
                            }
                        })
                    });
                Ok(())
            })
        })?;
    }
    Tensor::from_vec(out, arg.shape(), arg.device())
}

/// k×k max-pooling with stride k (output side ⌊side/k⌋) on f32 `[n, c, h, w]`,
/// with a correct backward pass.
pub fn max_pool2d(x: &Tensor, k: usize) -> Result<Tensor> {
    pool(x, k, k, 0, false)
}

/// `relu(max_pool2d(x, k))` in one pass, equal to `max_pool2d(relu(x), k)`
/// (max and ReLU commute; a window whose maximum is ≤ 0 passes no gradient
/// either way) without the full-size ReLU temporaries.
pub fn max_pool2d_relu(x: &Tensor, k: usize) -> Result<Tensor> {
    pool(x, k, k, 0, true)
}

/// k×k max-pooling moved by `stride` over the input padded by `padding`
/// (≤ k/2) on every side, as `torch.nn.MaxPool2d(k, stride, padding)`:
/// output side `⌊(side + 2p − k)/s⌋ + 1`; padded cells never win; each
/// output's gradient goes to the first maximum of its window (windows may
/// overlap). ResNet's stem uses `(3, 2, 1)`.
pub fn max_pool2d_strided(x: &Tensor, k: usize, stride: usize, padding: usize) -> Result<Tensor> {
    pool(x, k, stride, padding, false)
}

fn pool(x: &Tensor, k: usize, stride: usize, padding: usize, relu: bool) -> Result<Tensor> {
    if k == 0 || stride == 0 {
        candle_core::bail!("max_pool2d: kernel and stride must be positive");
    }
    if padding > k / 2 {
        candle_core::bail!("max_pool2d: padding {padding} exceeds half the kernel {k}");
    }
    let window = Window { k, stride, padding };
    x.contiguous()?.apply_op1(MaxPool { window, relu })
}

/// A contiguous copy of a CPU storage view as a tensor.
fn tensor_of(s: &CpuStorage, l: &Layout) -> Result<Tensor> {
    let (a, b) = match l.contiguous_offsets() {
        Some(o) => o,
        None => candle_core::bail!("ismc op: operands must be contiguous"),
    };
    match s {
        CpuStorage::F32(v) => Tensor::from_slice(&v[a..b], l.shape(), &Device::Cpu),
        CpuStorage::F64(v) => Tensor::from_slice(&v[a..b], l.shape(), &Device::Cpu),
        _ => candle_core::bail!("ismc op: only f32 and f64 are supported"),
    }
}

/// The values of a contiguous CPU storage view.
fn slice_of<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&s.as_slice::<T>()?[a..b]),
        None => candle_core::bail!("ismc op: operands must be contiguous"),
    }
}

/// Runs `f` on the values of a CPU tensor (copied only if not contiguous).
fn with_slice<T: WithDType, R>(t: &Tensor, f: impl FnOnce(&[T]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (st, l) = t.storage_and_layout();
    match &*st {
        Storage::Cpu(c) => f(slice_of(c, l)?),
        _ => candle_core::bail!("ismc op: only CPU tensors are supported"),
    }
}

/// Convolution, optionally with a bias: `CustomOp2` on (x, w) and
/// `CustomOp3` on (x, w, b), computed by [`conv`](super::conv).
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
/// `[n, o, h', w']`, computed as `col2im(Wᵀ · G)` (see [`conv`](super::conv)).
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

    /// Output and gradients of `Σ g · op(x, w)` with respect to `x` and `w`,
    /// flattened.
    fn value_and_grads(
        op: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
        x: &Tensor,
        w: &Tensor,
        g: &Tensor,
    ) -> [Vec<f64>; 3] {
        let (xv, wv) = (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap());
        let y = op(xv.as_tensor(), wv.as_tensor()).unwrap();
        let grads = (y.clone() * g)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        [
            flat(&y),
            flat(grads.get(xv.as_tensor()).unwrap()),
            flat(grads.get(wv.as_tensor()).unwrap()),
        ]
    }

    /// Largest absolute difference between matching entries.
    fn worst(a: &[Vec<f64>; 3], b: &[Vec<f64>; 3]) -> f64 {
        a.iter()
            .zip(b)
            .flat_map(|(u, v)| u.iter().zip(v).map(|(p, q)| (p - q).abs()))
            .fold(0.0, f64::max)
    }

    /// In f64 the two implementations differ only in summation order over
    /// at most 27 terms of size ~1, far below 1e-10.
    #[test]
    fn conv_gradients_match_candle_conv() {
        let dev = Device::Cpu;
        for (k, pad) in [(3, 1), (3, 0), (5, 2), (5, 1)] {
            let x = Tensor::randn(0f64, 1.0, (2, 3, 7, 7), &dev).unwrap();
            let w = Tensor::randn(0f64, 1.0, (4, 3, k, k), &dev).unwrap();
            let side = 7 + 2 * pad + 1 - k;
            let g = Tensor::randn(0f64, 1.0, (2, 4, side, side), &dev).unwrap();
            let mine = value_and_grads(|x, w| conv2d(x, w, pad), &x, &w, &g);
            let theirs = value_and_grads(|x, w| x.conv2d(w, pad, 1, 1, 1), &x, &w, &g);
            assert!(worst(&mine, &theirs) < 1e-10, "k {k} pad {pad}");
            let gx = conv2d_input_grad(&g, &w, pad).unwrap();
            let gx = gx.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let d = gx.iter().zip(&theirs[1]).map(|(p, q)| (p - q).abs());
            assert!(d.fold(0.0, f64::max) < 1e-10);
        }
    }

    /// Strided convolutions (ResNet's 3×3/2, 1×1/2 and 7×7/2 layers, on
    /// even and odd sides) agree with candle's `conv2d` in values, input
    /// gradients and kernel gradients. This also pins that candle 0.11's own
    /// backward pass is right for stride 2 (its input gradient is a
    /// `conv_transpose2d` with an output padding that depends on the side):
    /// the two share no code, and [`super::conv`]'s kernels are checked
    /// against the defining sum on their own.
    #[test]
    fn strided_conv_matches_candle_conv() {
        let dev = Device::Cpu;
        for (k, pad, stride, side) in [
            (3, 1, 2, 8),
            (3, 1, 2, 7),
            (1, 0, 2, 8),
            (1, 0, 2, 7),
            (7, 3, 2, 12),
            (7, 3, 2, 11),
            (3, 0, 3, 10),
        ] {
            let x = Tensor::randn(0f64, 1.0, (2, 3, side, side), &dev).unwrap();
            let w = Tensor::randn(0f64, 1.0, (4, 3, k, k), &dev).unwrap();
            let out = (side + 2 * pad - k) / stride + 1;
            let g = Tensor::randn(0f64, 1.0, (2, 4, out, out), &dev).unwrap();
            let mine = value_and_grads(|x, w| conv2d_strided(x, w, pad, stride), &x, &w, &g);
            let theirs = value_and_grads(|x, w| x.conv2d(w, pad, stride, 1, 1), &x, &w, &g);
            assert_eq!(mine[0].len(), 2 * 4 * out * out);
            assert!(
                worst(&mine, &theirs) < 1e-10,
                "k {k} pad {pad} stride {stride} side {side}"
            );
            let b = Tensor::randn(0f64, 1.0, 4, &dev).unwrap();
            let with_bias = conv2d_bias_strided(&x, &w, &b, pad, stride).unwrap();
            let sep = x
                .conv2d(&w, pad, stride, 1, 1)
                .unwrap()
                .broadcast_add(&b.reshape((1, 4, 1, 1)).unwrap())
                .unwrap();
            let d = (with_bias - sep).unwrap().abs().unwrap().max_all().unwrap();
            assert!(d.to_scalar::<f64>().unwrap() < 1e-10);
        }
    }

    /// Strided, padded max-pooling against the definition: each output is
    /// the maximum over the real cells of its window, and its gradient goes
    /// to the first such maximum in row-major order (summed where windows
    /// overlap). Random values make ties improbable; one plane of equal
    /// values checks the first-maximum rule, and candle's pooling (no
    /// padding) must give the same values.
    #[test]
    fn strided_pool_matches_definition() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (k, stride, pad, h, w) in [
            (3, 2, 1, 8, 8),
            (3, 2, 1, 7, 9),
            (3, 2, 0, 9, 8),
            (2, 1, 0, 5, 6),
            (3, 3, 1, 7, 7),
            (2, 2, 0, 5, 7),
        ] {
            let (n, c) = (2, 3);
            let mut v: Vec<f64> = (0..n * c * h * w)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            // Plane 0 constant: every window ties.
            v[..h * w].iter_mut().for_each(|x| *x = 0.5);
            let x = Tensor::from_vec(v.clone(), (n, c, h, w), &Device::Cpu).unwrap();
            let (oh, ow) = (
                (h + 2 * pad - k) / stride + 1,
                (w + 2 * pad - k) / stride + 1,
            );
            let g: Vec<f64> = (0..n * c * oh * ow)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let mut want_y = vec![0.0; g.len()];
            let mut want_gx = vec![0.0; v.len()];
            for pl in 0..n * c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut best: Option<(f64, usize)> = None;
                        for a in 0..k {
                            for b in 0..k {
                                let yy = (oy * stride + a) as isize - pad as isize;
                                let xx = (ox * stride + b) as isize - pad as isize;
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                                    continue;
                                }
                                let i = pl * h * w + yy as usize * w + xx as usize;
                                if best.is_none_or(|(bv, _)| v[i] > bv) {
                                    best = Some((v[i], i));
                                }
                            }
                        }
                        let (bv, bi) = best.unwrap();
                        let o = (pl * oh + oy) * ow + ox;
                        want_y[o] = bv;
                        want_gx[bi] += g[o];
                    }
                }
            }
            let xv = Var::from_tensor(&x).unwrap();
            let y = max_pool2d_strided(xv.as_tensor(), k, stride, pad).unwrap();
            assert_eq!(y.dims(), &[n, c, oh, ow]);
            let gt = Tensor::from_vec(g, y.shape(), &Device::Cpu).unwrap();
            let grads = (y.clone() * gt)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let case = format!("k {k} s {stride} p {pad} {h}x{w}");
            assert_eq!(flat(&y), want_y, "{case}");
            let gx = flat(grads.get(xv.as_tensor()).unwrap());
            let err = gx.iter().zip(&want_gx).map(|(a, b)| (a - b).abs());
            assert!(err.fold(0.0, f64::max) < 1e-12, "{case}");
            if pad == 0 {
                let theirs = x.max_pool2d_with_stride(k, stride).unwrap();
                assert_eq!(flat(&theirs), want_y, "{case}");
            }
        }
        assert!(max_pool2d_strided(
            &Tensor::zeros((1, 1, 4, 4), DType::F32, &Device::Cpu).unwrap(),
            3,
            2,
            2
        )
        .is_err());
    }

    /// The bias gradient of the fused op is the per-channel sum of `g`, and
    /// its output is conv + bias.
    #[test]
    fn conv_bias_matches_separate_bias() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f64, 1.0, (2, 3, 6, 5), &dev).unwrap();
        let w = Tensor::randn(0f64, 1.0, (4, 3, 3, 3), &dev).unwrap();
        let b = Var::from_tensor(&Tensor::randn(0f64, 1.0, 4, &dev).unwrap()).unwrap();
        let g = Tensor::randn(0f64, 1.0, (2, 4, 6, 5), &dev).unwrap();
        let y = conv2d_bias(&x, &w, b.as_tensor(), 1).unwrap();
        let sep = conv2d(&x, &w, 1)
            .unwrap()
            .broadcast_add(&b.as_tensor().reshape((1, 4, 1, 1)).unwrap())
            .unwrap();
        let d = (y.clone() - sep).unwrap().abs().unwrap().max_all().unwrap();
        assert!(d.to_scalar::<f64>().unwrap() < 1e-12);
        let grads = (y * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = grads.get(b.as_tensor()).unwrap().to_vec1::<f64>().unwrap();
        let expect = g.sum((0, 2, 3)).unwrap().to_vec1::<f64>().unwrap();
        for (p, q) in gb.iter().zip(&expect) {
            assert!((p - q).abs() < 1e-10);
        }
    }

    #[test]
    fn linear_gradients_match_candle_matmul() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f64, 1.0, (5, 7), &dev).unwrap();
        let w = Tensor::randn(0f64, 1.0, (3, 7), &dev).unwrap();
        let g = Tensor::randn(0f64, 1.0, (5, 3), &dev).unwrap();
        let mine = value_and_grads(linear, &x, &w, &g);
        let theirs = value_and_grads(|x, w| x.matmul(&w.t()?), &x, &w, &g);
        assert!(worst(&mine, &theirs) < 1e-12);
    }

    /// The fused op equals ReLU then pooling (values and input gradients,
    /// exactly: both route each gradient to the same single input), for the
    /// unrolled k = 2 path and the general one, with sides not divisible by
    /// k; and the values agree with candle's own pooling.
    #[test]
    fn fused_pool_relu_matches_relu_then_pool() {
        let dev = Device::Cpu;
        for k in [2, 3] {
            let x = Tensor::randn(0f64, 1.0, (2, 3, 6, 7), &dev).unwrap();
            let g = Tensor::randn(0f64, 1.0, (2, 3, 6 / k, 7 / k), &dev).unwrap();
            let run = |f: &dyn Fn(&Tensor) -> Result<Tensor>| {
                let xv = Var::from_tensor(&x).unwrap();
                let y = f(xv.as_tensor()).unwrap();
                let grads = (y.clone() * &g)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
                (flat(&y), flat(grads.get(xv.as_tensor()).unwrap()))
            };
            let fused = run(&|t| max_pool2d_relu(t, k));
            let separate = run(&|t| max_pool2d(&t.relu()?, k));
            assert_eq!(fused, separate, "k {k}");
            let candle = x.max_pool2d(k).unwrap().relu().unwrap();
            let candle = candle.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            assert_eq!(fused.0, candle, "k {k}");
            assert!(fused.1.iter().filter(|v| **v != 0.0).count() > 0);
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
