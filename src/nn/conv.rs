//! 2-d convolution kernels on plain slices (square kernel, any stride):
//! forward pass, input gradient and weight gradient, batched in bounded
//! blocks of images.
//!
//! # Method
//!
//! For one image `x` `[c_in, h, w]`, a kernel `W` `[c_out, c_in, k, k]`,
//! padding `p` and stride `s`, the output side is `h' = ⌊(h + 2p − k)/s⌋ + 1`
//! (likewise `w'`; `h + 2p − k + 1` for stride 1) and
//!
//! ```text
//! y[o, i, j] = Σ_{c, a, b} W[o, c, a, b] · x[c, s·i + a − p, s·j + b − p]
//! ```
//!
//! (terms outside the image are zero). *im2col* lays the receptive fields
//! out as the columns of a matrix `X` `[c_in·k·k, h'·w']`, with
//! `X[(c, a, b), (i, j)] = x[c, s·i + a − p, s·j + b − p]`, so that the
//! convolution is one matrix product, `Y = W₂ · X`, with `W₂` the kernel
//! viewed as `[c_out, c_in·k·k]`. The two gradients of a scalar loss `L`
//! given `G = ∂L/∂Y` `[c_out, h'·w']` are matrix products too:
//!
//! * input gradient: `∂L/∂X = W₂ᵀ · G`, then *col2im* adds every column
//!   entry back onto the pixel it was copied from (`∂L/∂x[c, s·i + a − p,
//!   s·j + b − p] += ∂L/∂X[(c, a, b), (i, j)]`);
//! * weight gradient: `∂L/∂W₂ = Σ_images G · Xᵀ`;
//! * bias gradient: `∂L/∂b[o] = Σ_images Σ_{i, j} G[o, i, j]`.
//!
//! # Cost and memory
//!
//! The products run through candle's CPU matrix product (the `gemm` crate,
//! vectorised for the host at run time), batched over a *block* of images
//! that shares the kernel. Blocks hold at most [`COL_BUDGET_BYTES`] of
//! im2col matrix (at least one image), so memory stays bounded whatever the
//! batch size (candle's own `conv2d` builds the im2col matrix of the whole
//! batch: 231 MB for the second LeNet5 convolution at batch 256).
//!
//! # Determinism
//!
//! Blocks are processed in parallel with rayon, but every output value is
//! computed by one task, and the reductions over images (weight and bias
//! gradients) add per-block partial sums in block order, with block sizes
//! that depend only on the shapes. Results are therefore bit-identical for
//! any number of threads; the forward pass and the input gradient of an
//! image do not depend on the other images of its batch at all.

use candle_core::{Result, Tensor, WithDType};
use rayon::prelude::*;

/// Upper bound on the bytes of im2col matrix built per block of images.
pub const COL_BUDGET_BYTES: usize = 4 << 20;

/// Shape of a convolution with a square kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Number of images N in the input `[N, c_in, height, width]`.
    pub batch: usize,
    /// Channels of each input image.
    pub c_in: usize,
    /// Height of each input image, in pixels, before padding.
    pub height: usize,
    /// Width of each input image, in pixels, before padding.
    pub width: usize,
    /// Output channels: the number of filters.
    pub c_out: usize,
    /// Side of the square kernel, in pixels.
    pub kernel: usize,
    /// Zero padding on every side.
    pub padding: usize,
    /// Step between receptive fields, in pixels (1: every position).
    pub stride: usize,
}

impl ConvShape {
    /// The shape of `x` `[n, c_in, h, w]` convolved with `w`
    /// `[c_out, c_in, k, k]`, `padding` and stride 1, checked.
    pub fn new(x_dims: &[usize], w_dims: &[usize], padding: usize) -> Result<Self> {
        Self::strided(x_dims, w_dims, padding, 1)
    }

    /// [`ConvShape::new`] with a `stride` (≥ 1).
    pub fn strided(
        x_dims: &[usize],
        w_dims: &[usize],
        padding: usize,
        stride: usize,
    ) -> Result<Self> {
        if stride == 0 {
            candle_core::bail!("conv2d: stride must be positive");
        }
        let (batch, c_in, height, width) = match x_dims {
            [n, c, h, w] => (*n, *c, *h, *w),
            _ => candle_core::bail!("conv2d: input must be [n, c, h, w], got {x_dims:?}"),
        };
        let (c_out, kernel) = match w_dims {
            [o, i, kh, kw] if *i == c_in && kh == kw => (*o, *kh),
            _ => candle_core::bail!("conv2d: kernel must be [out, {c_in}, k, k], got {w_dims:?}"),
        };
        if kernel == 0 || height + 2 * padding < kernel || width + 2 * padding < kernel {
            candle_core::bail!(
                "conv2d: kernel {kernel} does not fit a {height}x{width} input with padding {padding}"
            );
        }
        Ok(ConvShape {
            batch,
            c_in,
            height,
            width,
            c_out,
            kernel,
            padding,
            stride,
        })
    }

    /// Output height `⌊(h + 2p − k)/s⌋ + 1`.
    pub fn out_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// Output width `⌊(w + 2p − k)/s⌋ + 1`.
    pub fn out_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// The output columns `j0..j1` whose input column `s·j + b − p` lies in
    /// the image, for kernel column `b`.
    fn valid_cols(&self, b: usize) -> (usize, usize) {
        let (s, p, ow) = (self.stride, self.padding, self.out_width());
        // s·j + b − p ≥ 0  ⇔  j ≥ ⌈(p − b)/s⌉;  s·j + b − p < w  ⇔  j < ⌈(w + p − b)/s⌉.
        let j0 = p.saturating_sub(b).div_ceil(s).min(ow);
        let j1 = (self.width + p)
            .saturating_sub(b)
            .div_ceil(s)
            .min(ow)
            .max(j0);
        (j0, j1)
    }

    /// Values in one input image.
    pub fn in_len(&self) -> usize {
        self.c_in * self.height * self.width
    }

    /// Values in one output image.
    pub fn out_len(&self) -> usize {
        self.c_out * self.out_height() * self.out_width()
    }

    /// Rows of the im2col matrix, `c_in · k²`.
    fn col_rows(&self) -> usize {
        self.c_in * self.kernel * self.kernel
    }

    /// Columns of the im2col matrix, `h' · w'`.
    fn col_cols(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// Images per block: as many as fit [`COL_BUDGET_BYTES`], at least one.
    fn block<T>(&self) -> usize {
        let per_image = self.col_rows() * self.col_cols() * std::mem::size_of::<T>();
        (COL_BUDGET_BYTES / per_image.max(1)).clamp(1, self.batch.max(1))
    }
}

/// Appends to `col` the im2col matrix `[c_in·k·k, h'·w']` (row-major) of
/// the receptive fields of one image `x` `[c_in, h, w]`. Appending instead
/// of filling a zeroed buffer writes every value once.
fn im2col<T: WithDType>(x: &[T], s: &ConvShape, col: &mut Vec<T>) {
    let (h, w, k, p, st) = (s.height, s.width, s.kernel, s.padding, s.stride);
    let (oh, ow) = (s.out_height(), s.out_width());
    let zero = T::from_f64(0.0);
    for c in 0..s.c_in {
        let plane = &x[c * h * w..(c + 1) * h * w];
        for a in 0..k {
            for b in 0..k {
                // Output columns j with 0 ≤ s·j + b − p < w.
                let (j0, j1) = s.valid_cols(b);
                for i in 0..oh {
                    let y = (st * i + a) as isize - p as isize;
                    if y < 0 || y >= h as isize || j0 == j1 {
                        col.resize(col.len() + ow, zero);
                        continue;
                    }
                    let src = &plane[y as usize * w..(y as usize + 1) * w];
                    col.resize(col.len() + j0, zero);
                    let first = st * j0 + b - p;
                    if st == 1 {
                        col.extend_from_slice(&src[first..first + j1 - j0]);
                    } else {
                        col.extend(src[first..].iter().step_by(st).take(j1 - j0));
                    }
                    col.resize(col.len() + ow - j1, zero);
                }
            }
        }
    }
}

/// Adds every entry of `col` `[c_in·k·k, h'·w']` onto the pixel of `gx`
/// `[c_in, h, w]` it was copied from by [`im2col`] (its adjoint).
fn col2im_add<T: WithDType>(col: &[T], s: &ConvShape, gx: &mut [T]) {
    let (h, w, k, p, st) = (s.height, s.width, s.kernel, s.padding, s.stride);
    let (oh, ow) = (s.out_height(), s.out_width());
    let mut rows = col.chunks_exact(oh * ow);
    for c in 0..s.c_in {
        let plane = &mut gx[c * h * w..(c + 1) * h * w];
        for a in 0..k {
            for b in 0..k {
                let row = rows.next().expect("col2im: col has c_in·k·k rows");
                let (j0, j1) = s.valid_cols(b);
                if j0 >= j1 {
                    continue;
                }
                for (i, src) in row.chunks_exact(ow).enumerate() {
                    let y = (st * i + a) as isize - p as isize;
                    if y < 0 || y >= h as isize {
                        continue;
                    }
                    let first = y as usize * w + st * j0 + b - p;
                    if st == 1 {
                        let dst = &mut plane[first..first + j1 - j0];
                        for (d, &v) in dst.iter_mut().zip(&src[j0..j1]) {
                            *d += v;
                        }
                    } else {
                        let dst = plane[first..].iter_mut().step_by(st);
                        for (d, &v) in dst.zip(&src[j0..j1]) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// The im2col matrices of images `first..first + count` of `x`, stacked as
/// a tensor `[count, c_in·k·k, h'·w']`.
fn col_block<T: WithDType>(x: &[T], s: &ConvShape, first: usize, count: usize) -> Result<Tensor> {
    let per = s.col_rows() * s.col_cols();
    let mut col = Vec::with_capacity(count * per);
    for img in first..first + count {
        im2col(&x[img * s.in_len()..(img + 1) * s.in_len()], s, &mut col);
    }
    debug_assert_eq!(col.len(), count * per);
    Tensor::from_vec(
        col,
        (count, s.col_rows(), s.col_cols()),
        &candle_core::Device::Cpu,
    )
}

/// Copies a contiguous CPU tensor's values into `dst`.
fn copy_out<T: WithDType>(t: &Tensor, dst: &mut [T]) -> Result<()> {
    let t = t.contiguous()?;
    let (st, l) = t.storage_and_layout();
    match (&*st, l.contiguous_offsets()) {
        (candle_core::Storage::Cpu(c), Some((a, b))) => {
            dst.copy_from_slice(&c.as_slice::<T>()?[a..b]);
            Ok(())
        }
        _ => candle_core::bail!("conv2d: expected a contiguous CPU tensor"),
    }
}

/// The kernel `w` (flat `[c_out, c_in, k, k]`) as a `[c_out, c_in·k·k]` tensor.
fn kernel_matrix<T: WithDType>(w: &[T], s: &ConvShape) -> Result<Tensor> {
    if w.len() != s.c_out * s.col_rows() {
        candle_core::bail!(
            "conv2d: kernel has {} values, expected {}",
            w.len(),
            s.c_out * s.col_rows()
        );
    }
    Tensor::from_slice(w, (s.c_out, s.col_rows()), &candle_core::Device::Cpu)
}

fn check_len<T>(what: &str, v: &[T], expected: usize) -> Result<()> {
    if v.len() != expected {
        candle_core::bail!("conv2d: {what} has {} values, expected {expected}", v.len());
    }
    Ok(())
}

/// Forward pass: `y` `[n, c_out, h', w']` of `x` `[n, c_in, h, w]` with
/// kernel `w` `[c_out, c_in, k, k]` and an optional bias `[c_out]`, all flat
/// row-major.
pub fn forward<T: WithDType>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    s: &ConvShape,
) -> Result<Vec<T>> {
    check_len("input", x, s.batch * s.in_len())?;
    if let Some(b) = bias {
        check_len("bias", b, s.c_out)?;
    }
    let wm = kernel_matrix(w, s)?;
    let (block, out_len, plane) = (s.block::<T>(), s.out_len(), s.col_cols());
    let mut y = vec![T::from_f64(0.0); s.batch * out_len];
    y.par_chunks_mut(block * out_len)
        .enumerate()
        .try_for_each(|(bi, dst)| -> Result<()> {
            let count = dst.len() / out_len;
            let col = col_block(x, s, bi * block, count)?;
            let prod = wm.broadcast_left(count)?.matmul(&col)?;
            copy_out(&prod, dst)?;
            if let Some(b) = bias {
                for (ch, &bv) in dst.chunks_exact_mut(plane).zip(b.iter().cycle()) {
                    ch.iter_mut().for_each(|v| *v += bv);
                }
            }
            Ok(())
        })?;
    Ok(y)
}

/// Input gradient `∂L/∂x` `[n, c_in, h, w]` given `gy = ∂L/∂y`
/// `[n, c_out, h', w']` and the kernel `w`: per image `col2im(W₂ᵀ · G)`.
pub fn input_grad<T: WithDType>(gy: &[T], w: &[T], s: &ConvShape) -> Result<Vec<T>> {
    check_len("output gradient", gy, s.batch * s.out_len())?;
    let wt = kernel_matrix(w, s)?.t()?;
    let (block, in_len, out_len) = (s.block::<T>(), s.in_len(), s.out_len());
    let per = s.col_rows() * s.col_cols();
    let mut gx = vec![T::from_f64(0.0); s.batch * in_len];
    gx.par_chunks_mut(block * in_len)
        .enumerate()
        .try_for_each(|(bi, dst)| -> Result<()> {
            let count = dst.len() / in_len;
            let first = bi * block;
            let g = Tensor::from_slice(
                &gy[first * out_len..(first + count) * out_len],
                (count, s.c_out, s.col_cols()),
                &candle_core::Device::Cpu,
            )?;
            let gcol = wt.broadcast_left(count)?.matmul(&g)?;
            let (st, l) = gcol.storage_and_layout();
            let gcol = match (&*st, l.contiguous_offsets()) {
                (candle_core::Storage::Cpu(c), Some((a, b))) => &c.as_slice::<T>()?[a..b],
                _ => candle_core::bail!("conv2d: expected a contiguous CPU tensor"),
            };
            for (img, gxi) in dst.chunks_exact_mut(in_len).enumerate() {
                col2im_add(&gcol[img * per..(img + 1) * per], s, gxi);
            }
            Ok(())
        })?;
    Ok(gx)
}

/// Weight gradient `∂L/∂W` `[c_out, c_in, k, k]` given the input `x` and
/// `gy = ∂L/∂y`: `Σ_images G · Xᵀ`, summed per block, then over blocks in
/// order.
pub fn weight_grad<T: WithDType>(x: &[T], gy: &[T], s: &ConvShape) -> Result<Vec<T>> {
    check_len("input", x, s.batch * s.in_len())?;
    check_len("output gradient", gy, s.batch * s.out_len())?;
    let (block, out_len) = (s.block::<T>(), s.out_len());
    let blocks = s.batch.div_ceil(block);
    let partial: Vec<Vec<T>> = (0..blocks)
        .into_par_iter()
        .map(|bi| -> Result<Vec<T>> {
            let first = bi * block;
            let count = block.min(s.batch - first);
            let col = col_block(x, s, first, count)?;
            let g = Tensor::from_slice(
                &gy[first * out_len..(first + count) * out_len],
                (count, s.c_out, s.col_cols()),
                &candle_core::Device::Cpu,
            )?;
            // [count, c_out, c_in·k·k], summed over images in order.
            let per_image = g.matmul(&col.transpose(1, 2)?)?;
            let mut sum = vec![T::from_f64(0.0); s.c_out * s.col_rows()];
            let mut one = vec![T::from_f64(0.0); sum.len()];
            for img in 0..count {
                copy_out(&per_image.get(img)?, &mut one)?;
                sum.iter_mut().zip(&one).for_each(|(a, &b)| *a += b);
            }
            Ok(sum)
        })
        .collect::<Result<_>>()?;
    let mut gw = vec![T::from_f64(0.0); s.c_out * s.col_rows()];
    for p in &partial {
        gw.iter_mut().zip(p).for_each(|(a, &b)| *a += b);
    }
    Ok(gw)
}

/// Bias gradient `∂L/∂b[o] = Σ_images Σ_{i,j} gy[image, o, i, j]`, summed
/// sequentially in a fixed order.
pub fn bias_grad<T: WithDType>(gy: &[T], s: &ConvShape) -> Result<Vec<T>> {
    check_len("output gradient", gy, s.batch * s.out_len())?;
    let plane = s.col_cols();
    let mut gb = vec![T::from_f64(0.0); s.c_out];
    for img in gy.chunks_exact(s.out_len()) {
        for (acc, ch) in gb.iter_mut().zip(img.chunks_exact(plane)) {
            let mut t = T::from_f64(0.0);
            for &v in ch {
                t += v;
            }
            *acc += t;
        }
    }
    Ok(gb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Direct evaluation of the defining sum and of its derivatives, in f64:
    /// every term `W[o,c,a,b] · x[n,c,s·i+a−p,s·j+b−p]` of `y[n,o,i,j]` adds to
    /// `y`, contributes `W · gy` to `∂L/∂x` and `x · gy` to `∂L/∂W` for
    /// `L = Σ gy · y`. Returns (y, ∂L/∂x, ∂L/∂W).
    fn naive(x: &[f64], w: &[f64], gy: &[f64], s: &ConvShape) -> [Vec<f64>; 3] {
        let (oh, ow, k, p) = (s.out_height(), s.out_width(), s.kernel, s.padding as isize);
        let st = s.stride as isize;
        let mut y = vec![0.0; s.batch * s.out_len()];
        let mut gx = vec![0.0; x.len()];
        let mut gw = vec![0.0; w.len()];
        for n in 0..s.batch {
            for o in 0..s.c_out {
                for i in 0..oh {
                    for j in 0..ow {
                        let yi = ((n * s.c_out + o) * oh + i) * ow + j;
                        for c in 0..s.c_in {
                            for a in 0..k {
                                for b in 0..k {
                                    let yy = st * i as isize + a as isize - p;
                                    let xx = st * j as isize + b as isize - p;
                                    if yy < 0
                                        || xx < 0
                                        || yy >= s.height as isize
                                        || xx >= s.width as isize
                                    {
                                        continue;
                                    }
                                    let xi = ((n * s.c_in + c) * s.height + yy as usize) * s.width
                                        + xx as usize;
                                    let wi = ((o * s.c_in + c) * k + a) * k + b;
                                    y[yi] += w[wi] * x[xi];
                                    gx[xi] += w[wi] * gy[yi];
                                    gw[wi] += x[xi] * gy[yi];
                                }
                            }
                        }
                    }
                }
            }
        }
        [y, gx, gw]
    }

    fn random(rng: &mut impl Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    fn worst(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max)
    }

    /// Random shapes: kernel 1/3/5/7, padding 0..=k/2, stride 1..=3
    /// (each stride with each kernel), channels 1..64, batch 1..5, sides
    /// that leave a ragged last window. In f64 the kernels and the
    /// references differ only by summation order (at most a few hundred
    /// terms of size ≤ 1), so 1e-10 is generous.
    #[test]
    fn kernels_match_naive_reference() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for case in 0..24 {
            let kernel = [3, 5, 1, 7][case % 4];
            let stride = 1 + (case / 4) % 3;
            let padding = rng.random_range(0..=kernel / 2);
            let big = case % 3 == 0;
            let s = ConvShape {
                batch: rng.random_range(1..=5),
                c_in: if big {
                    rng.random_range(16..=64)
                } else {
                    rng.random_range(1..=4)
                },
                height: rng.random_range(kernel..kernel + 4 * stride),
                width: rng.random_range(kernel..kernel + 4 * stride + 1),
                c_out: if big {
                    rng.random_range(1..=8)
                } else {
                    rng.random_range(1..=64)
                },
                kernel,
                padding,
                stride,
            };
            let x = random(&mut rng, s.batch * s.in_len());
            let w = random(&mut rng, s.c_out * s.c_in * kernel * kernel);
            let b = random(&mut rng, s.c_out);
            let gy = random(&mut rng, s.batch * s.out_len());
            let [mut expect, gx, gw] = naive(&x, &w, &gy, &s);
            for (i, v) in expect.iter_mut().enumerate() {
                *v += b[(i / (s.out_height() * s.out_width())) % s.c_out];
            }
            assert!(
                worst(&forward(&x, &w, Some(&b), &s).unwrap(), &expect) < 1e-10,
                "{s:?}"
            );
            assert!(
                worst(&input_grad(&gy, &w, &s).unwrap(), &gx) < 1e-10,
                "{s:?}"
            );
            assert!(
                worst(&weight_grad(&x, &gy, &s).unwrap(), &gw) < 1e-10,
                "{s:?}"
            );
            let gb: Vec<f64> = (0..s.c_out)
                .map(|o| {
                    gy.chunks_exact(s.out_height() * s.out_width())
                        .enumerate()
                        .filter(|(i, _)| i % s.c_out == o)
                        .flat_map(|(_, c)| c)
                        .sum()
                })
                .collect();
            assert!(worst(&bias_grad(&gy, &s).unwrap(), &gb) < 1e-10, "{s:?}");
        }
    }

    /// Batches larger than one block (several blocks, a ragged last one) give
    /// each image exactly what it gets alone, and the same bits for 1 and 2
    /// threads.
    #[test]
    fn blocks_and_threads_do_not_change_results() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let s = ConvShape {
            batch: 0,
            c_in: 32,
            height: 14,
            width: 14,
            c_out: 8,
            kernel: 3,
            padding: 1,
            stride: 1,
        };
        let block = ConvShape { batch: 1000, ..s }.block::<f32>();
        let s = ConvShape {
            batch: 2 * block + 3,
            ..s
        };
        let x: Vec<f32> = (0..s.batch * s.in_len())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let w: Vec<f32> = (0..s.c_out * s.c_in * 9)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let gy: Vec<f32> = (0..s.batch * s.out_len())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                (
                    forward(&x, &w, None, &s).unwrap(),
                    input_grad(&gy, &w, &s).unwrap(),
                    weight_grad(&x, &gy, &s).unwrap(),
                )
            })
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one, two);
        let single = ConvShape { batch: 1, ..s };
        let last = s.batch - 1;
        let y1 = forward(&x[last * s.in_len()..], &w, None, &single).unwrap();
        assert_eq!(&one.0[last * s.out_len()..], &y1[..]);
        let g1 = input_grad(&gy[last * s.out_len()..], &w, &single).unwrap();
        assert_eq!(&one.1[last * s.in_len()..], &g1[..]);
    }
}
