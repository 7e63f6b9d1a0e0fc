//! Max pooling whose backward pass routes the whole gradient to the first
//! maximum of each window, as PyTorch does (candle 0.11 scales it by the
//! fraction of maxima), with PyTorch's stride and padding and an optional
//! fused ReLU.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor, WithDType};
use rayon::prelude::*;

use super::with_slice;

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
