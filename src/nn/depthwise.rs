//! Depthwise 2-d convolution (one k×k filter per channel, `groups =
//! channels`) with any stride and asymmetric zero padding, forward and
//! backward, as a candle custom op.
//!
//! # Why not candle's
//!
//! candle 0.11 runs a grouped convolution as `groups` separate convolutions
//! on `chunk`s of the input and concatenates the results; for a depthwise
//! layer of 1,152 channels that is 1,152 im2col products per call, and the
//! backward pass through `chunk` materialises a full-size zero tensor per
//! channel. A depthwise filter touches only its own plane, so direct loops
//! over each plane are both simpler and far cheaper.
//!
//! # Method
//!
//! For a plane `x` `[h, w]` with filter `W` `[k, k]`, stride `s` and padding
//! (top `pt`, left `pl`; bottom and right only widen the output), the output
//! `y` `[h', w']` with `h' = ⌊(h + pt + pb − k)/s⌋ + 1` is
//!
//! ```text
//! y[i, j] = b + Σ_{a, c} W[a, c] · x[s·i + a − pt, s·j + c − pl]
//! ```
//!
//! (terms outside the plane are zero). Given `G = ∂L/∂y`, the input gradient
//! scatters the same products back, `∂L/∂x[s·i + a − pt, s·j + c − pl] +=
//! W[a, c] · G[i, j]`, and the weight and bias gradients sum `G · x` and `G`
//! over images and positions. Each is computed only when its operand is
//! tracked (frozen weights get none).
//!
//! # Determinism
//!
//! Planes are processed in parallel, each by one task; the weight and bias
//! gradients sum over images in image order. Results are bit-identical for
//! any number of threads.

use candle_core::{
    CpuStorage, CustomOp3, DType, Layout, Result, Shape, Storage, Tensor, WithDType,
};
use rayon::prelude::*;

/// Zero padding on each side of a plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Padding {
    /// Rows added above.
    pub top: usize,
    /// Rows added below.
    pub bottom: usize,
    /// Columns added on the left.
    pub left: usize,
    /// Columns added on the right.
    pub right: usize,
}

impl Padding {
    /// The same padding `p` on every side.
    pub fn symmetric(p: usize) -> Self {
        Padding {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }

    /// TensorFlow's `SAME` padding for a `h`×`w` input, kernel `k` and
    /// `stride`: the output is `⌈h/stride⌉ × ⌈w/stride⌉` and the total
    /// padding `max((⌈h/s⌉ − 1)·s + k − h, 0)` is split with the smaller half
    /// first (top, left), as in TensorFlow and the PyTorch ports of
    /// EfficientNet (`Conv2dStaticSamePadding`).
    pub fn same(h: usize, w: usize, k: usize, stride: usize) -> Self {
        let total = |i: usize| {
            let o = i.div_ceil(stride);
            ((o.max(1) - 1) * stride + k).saturating_sub(i)
        };
        let (th, tw) = (total(h), total(w));
        Padding {
            top: th / 2,
            bottom: th - th / 2,
            left: tw / 2,
            right: tw - tw / 2,
        }
    }

    /// Whether every side is zero.
    pub fn is_zero(&self) -> bool {
        *self == Padding::default()
    }
}

/// Shape of one depthwise convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DwShape {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    stride: usize,
    pad: Padding,
    oh: usize,
    ow: usize,
}

impl DwShape {
    fn new(x: &[usize], wk: &[usize], stride: usize, pad: Padding) -> Result<Self> {
        let (n, c, h, w) = match x {
            [n, c, h, w] => (*n, *c, *h, *w),
            _ => candle_core::bail!("depthwise_conv2d: input must be [n, c, h, w], got {x:?}"),
        };
        let k = match wk {
            [o, 1, k, k2] if *o == c && k == k2 => *k,
            _ => candle_core::bail!(
                "depthwise_conv2d: kernel must be [{c}, 1, k, k] for {c} channels, got {wk:?}"
            ),
        };
        if stride == 0 || k == 0 {
            candle_core::bail!("depthwise_conv2d: stride and kernel must be positive");
        }
        let (ph, pw) = (h + pad.top + pad.bottom, w + pad.left + pad.right);
        if ph < k || pw < k {
            candle_core::bail!("depthwise_conv2d: padded input {ph}x{pw} smaller than kernel {k}");
        }
        Ok(DwShape {
            n,
            c,
            h,
            w,
            k,
            stride,
            pad,
            oh: (ph - k) / stride + 1,
            ow: (pw - k) / stride + 1,
        })
    }

    /// The output columns `j` whose tap `c` lands inside the row: `0 ≤ s·j +
    /// c − pl < w`, as a range.
    fn cols(&self, tap: usize) -> std::ops::Range<usize> {
        let lo = self.pad.left.saturating_sub(tap).div_ceil(self.stride);
        // s·j + tap − pl ≤ w − 1  ⇔  j ≤ (w − 1 + pl − tap)/s
        let hi = if self.w + self.pad.left > tap {
            ((self.w - 1 + self.pad.left - tap) / self.stride + 1).min(self.ow)
        } else {
            0
        };
        lo..hi.max(lo)
    }

    /// The input row of output row `i` and tap row `a`, if inside.
    fn row(&self, i: usize, tap: usize) -> Option<usize> {
        (self.stride * i + tap)
            .checked_sub(self.pad.top)
            .filter(|&r| r < self.h)
    }
}

/// Visits every (output index, input index, tap index) triple of one plane
/// in a fixed order: output rows, tap rows, tap columns, output columns.
#[inline(always)]
fn for_each_tap(s: &DwShape, mut f: impl FnMut(usize, usize, usize)) {
    for i in 0..s.oh {
        for a in 0..s.k {
            let Some(r) = s.row(i, a) else { continue };
            for c in 0..s.k {
                for j in s.cols(c) {
                    let col = s.stride * j + c - s.pad.left;
                    f(i * s.ow + j, r * s.w + col, a * s.k + c);
                }
            }
        }
    }
}

fn forward<T: WithDType>(x: &[T], wk: &[T], b: &[T], s: &DwShape) -> Vec<T> {
    let (in_plane, out_plane, kk) = (s.h * s.w, s.oh * s.ow, s.k * s.k);
    let mut y = vec![T::from_f64(0.0); s.n * s.c * out_plane];
    if out_plane == 0 {
        return y;
    }
    y.par_chunks_mut(out_plane)
        .zip(x.par_chunks(in_plane))
        .enumerate()
        .for_each(|(p, (yo, xp))| {
            let ch = p % s.c;
            let wc = &wk[ch * kk..(ch + 1) * kk];
            yo.iter_mut().for_each(|v| *v = b[ch]);
            for_each_tap(s, |o, i, t| yo[o] += wc[t] * xp[i]);
        });
    y
}

fn input_grad<T: WithDType>(g: &[T], wk: &[T], s: &DwShape) -> Vec<T> {
    let (in_plane, out_plane, kk) = (s.h * s.w, s.oh * s.ow, s.k * s.k);
    let mut gx = vec![T::from_f64(0.0); s.n * s.c * in_plane];
    if in_plane == 0 {
        return gx;
    }
    gx.par_chunks_mut(in_plane)
        .zip(g.par_chunks(out_plane.max(1)))
        .enumerate()
        .for_each(|(p, (gxp, gp))| {
            let ch = p % s.c;
            let wc = &wk[ch * kk..(ch + 1) * kk];
            for_each_tap(s, |o, i, t| gxp[i] += wc[t] * gp[o]);
        });
    gx
}

/// Weight gradient `[c, 1, k, k]` and bias gradient `[c]`.
fn param_grads<T: WithDType>(x: &[T], g: &[T], s: &DwShape) -> (Vec<T>, Vec<T>) {
    let (in_plane, out_plane, kk) = (s.h * s.w, s.oh * s.ow, s.k * s.k);
    let per: Vec<(Vec<T>, T)> = (0..s.c)
        .into_par_iter()
        .map(|ch| {
            let mut gw = vec![T::from_f64(0.0); kk];
            let mut gb = T::from_f64(0.0);
            for img in 0..s.n {
                let p = img * s.c + ch;
                let xp = &x[p * in_plane..(p + 1) * in_plane];
                let gp = &g[p * out_plane..(p + 1) * out_plane];
                for_each_tap(s, |o, i, t| gw[t] += gp[o] * xp[i]);
                gp.iter().for_each(|&v| gb += v);
            }
            (gw, gb)
        })
        .collect();
    let mut gw = Vec::with_capacity(s.c * kk);
    let mut gb = Vec::with_capacity(s.c);
    for (w, b) in per {
        gw.extend(w);
        gb.push(b);
    }
    (gw, gb)
}

struct DepthwiseOp {
    stride: usize,
    pad: Padding,
}

fn slice_of<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&s.as_slice::<T>()?[a..b]),
        None => candle_core::bail!("depthwise_conv2d: operands must be contiguous"),
    }
}

fn with_slice<T: WithDType, R>(t: &Tensor, f: impl FnOnce(&[T]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (st, l) = t.storage_and_layout();
    match &*st {
        Storage::Cpu(c) => f(slice_of(c, l)?),
        _ => candle_core::bail!("depthwise_conv2d: only CPU tensors are supported"),
    }
}

impl DepthwiseOp {
    fn bwd_typed<T: WithDType>(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let s = DwShape::new(x.dims(), w.dims(), self.stride, self.pad)?;
        let dev = x.device();
        with_slice::<T, _>(&g.detach(), |gv| {
            let gx = if x.track_op() {
                let v = with_slice::<T, _>(&w.detach(), |wv| Ok(input_grad(gv, wv, &s)))?;
                Some(Tensor::from_vec(v, x.shape(), dev)?)
            } else {
                None
            };
            let (gw, gb) = if w.track_op() || b.track_op() {
                let (gw, gb) = with_slice::<T, _>(&x.detach(), |xv| Ok(param_grads(xv, gv, &s)))?;
                (
                    w.track_op()
                        .then(|| Tensor::from_vec(gw, w.shape(), dev))
                        .transpose()?,
                    b.track_op()
                        .then(|| Tensor::from_vec(gb, b.shape(), dev))
                        .transpose()?,
                )
            } else {
                (None, None)
            };
            Ok((gx, gw, gb))
        })
    }
}

impl CustomOp3 for DepthwiseOp {
    fn name(&self) -> &'static str {
        "ismc-depthwise-conv2d"
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
        let s = DwShape::new(l1.dims(), l2.dims(), self.stride, self.pad)?;
        if l3.dims() != [s.c] {
            candle_core::bail!(
                "depthwise_conv2d: bias must be [{}], got {:?}",
                s.c,
                l3.dims()
            );
        }
        let shape = Shape::from((s.n, s.c, s.oh, s.ow));
        let out = match s1 {
            CpuStorage::F32(_) => CpuStorage::F32(forward(
                slice_of::<f32>(s1, l1)?,
                slice_of(s2, l2)?,
                slice_of(s3, l3)?,
                &s,
            )),
            CpuStorage::F64(_) => CpuStorage::F64(forward(
                slice_of::<f64>(s1, l1)?,
                slice_of(s2, l2)?,
                slice_of(s3, l3)?,
                &s,
            )),
            _ => candle_core::bail!("depthwise_conv2d: only f32 and f64 are supported"),
        };
        Ok((out, shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        match x.dtype() {
            DType::F32 => self.bwd_typed::<f32>(x, w, b, g),
            DType::F64 => self.bwd_typed::<f64>(x, w, b, g),
            d => candle_core::bail!("depthwise_conv2d: unsupported dtype {d:?}"),
        }
    }
}

/// Depthwise convolution of `x` `[n, c, h, w]` with `weight` `[c, 1, k, k]`
/// and `bias` `[c]`, `stride` and zero padding `pad`; output `[n, c, h', w']`
/// with `h' = ⌊(h + top + bottom − k)/stride⌋ + 1` (likewise `w'`). The same
/// as `conv2d(…, groups = c)` of PyTorch on the padded input.
pub fn depthwise_conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    stride: usize,
    pad: Padding,
) -> Result<Tensor> {
    x.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        DepthwiseOp { stride, pad },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn data(n: usize, seed: usize) -> Vec<f64> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 104729) % 1000) as f64) / 500.0 - 1.0)
            .collect()
    }

    /// The reference: candle's grouped conv2d on an explicitly padded input.
    fn reference(x: &Tensor, w: &Tensor, b: &Tensor, stride: usize, p: Padding) -> Tensor {
        let c = x.dim(1).unwrap();
        let xp = x
            .pad_with_zeros(2, p.top, p.bottom)
            .unwrap()
            .pad_with_zeros(3, p.left, p.right)
            .unwrap();
        xp.conv2d(w, 0, stride, 1, c)
            .unwrap()
            .broadcast_add(&b.reshape((1, c, 1, 1)).unwrap())
            .unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        assert_eq!(a.dims(), b.dims());
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    #[test]
    fn matches_grouped_conv_forward_and_gradients() {
        let dev = Device::Cpu;
        let cases = [
            (3, 1, Padding::symmetric(1), 6, 7),
            (3, 2, Padding::same(7, 6, 3, 2), 7, 6),
            (5, 2, Padding::same(9, 9, 5, 2), 9, 9),
            (5, 1, Padding::symmetric(2), 5, 5),
            // (candle's strided backward, the reference, needs the same
            // remainder (side − k) mod stride on both axes.)
            (3, 2, Padding::default(), 7, 5),
            (1, 1, Padding::default(), 3, 4),
        ];
        for (ci, &(k, stride, pad, h, w)) in cases.iter().enumerate() {
            let (n, c) = (2, 3);
            let x = Var::from_tensor(
                &Tensor::from_vec(data(n * c * h * w, ci), (n, c, h, w), &dev).unwrap(),
            )
            .unwrap();
            let wt = Var::from_tensor(
                &Tensor::from_vec(data(c * k * k, ci + 10), (c, 1, k, k), &dev).unwrap(),
            )
            .unwrap();
            let b =
                Var::from_tensor(&Tensor::from_vec(data(c, ci + 20), c, &dev).unwrap()).unwrap();
            let got = depthwise_conv2d(&x, &wt, &b, stride, pad).unwrap();
            let want = reference(&x, &wt, &b, stride, pad);
            assert!(max_diff(&got, &want) < 1e-12, "case {ci}: forward");
            // A loss that weights outputs unevenly.
            let wl = Tensor::from_vec(data(got.elem_count(), ci + 30), got.shape(), &dev).unwrap();
            let g1 = (got * &wl).unwrap().sum_all().unwrap().backward().unwrap();
            let g2 = (want * &wl).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, v) in [
                ("x", x.as_tensor()),
                ("w", wt.as_tensor()),
                ("b", b.as_tensor()),
            ] {
                let d = max_diff(g1.get(v).unwrap(), g2.get(v).unwrap());
                assert!(d < 1e-12, "case {ci}: gradient of {name} differs by {d}");
            }
        }
    }

    #[test]
    fn same_padding_matches_tensorflow() {
        // 224 → 112 with k3 s2: total 1, all bottom/right.
        assert_eq!(
            Padding::same(224, 224, 3, 2),
            Padding {
                top: 0,
                bottom: 1,
                left: 0,
                right: 1
            }
        );
        // 56 → 28 with k5 s2: total 3 split 1/2; stride 1 k5: 2/2.
        assert_eq!(Padding::same(56, 56, 5, 2).top, 1);
        assert_eq!(Padding::same(56, 56, 5, 2).bottom, 2);
        assert_eq!(Padding::same(14, 14, 5, 1), Padding::symmetric(2));
    }

    #[test]
    fn frozen_weights_get_no_gradient_and_bad_shapes_fail() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::ones((1, 2, 4, 4), DType::F32, &dev).unwrap()).unwrap();
        let w = Tensor::ones((2, 1, 3, 3), DType::F32, &dev).unwrap();
        let b = Tensor::zeros(2, DType::F32, &dev).unwrap();
        let y = depthwise_conv2d(&x, &w, &b, 1, Padding::symmetric(1)).unwrap();
        let g = y.sum_all().unwrap().backward().unwrap();
        assert!(g.get(x.as_tensor()).is_some() && g.get(&w).is_none());
        let bad = Tensor::ones((3, 1, 3, 3), DType::F32, &dev).unwrap();
        assert!(depthwise_conv2d(&x, &bad, &b, 1, Padding::default()).is_err());
    }
}
