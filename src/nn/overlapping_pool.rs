//! Max-pooling whose windows may overlap (kernel `k`, stride `s < k`, e.g.
//! SqueezeNet's 3×3 windows at stride 2), with a backward pass.
//!
//! candle 0.11 refuses the backward pass of `max_pool2d` unless the stride
//! equals the kernel, and [`super::ops::max_pool2d`] covers only that case.
//! Here every output `y[i, j] = max_{a, c < k} x[s·i + a, s·j + c]` (floor
//! mode, no padding: `h' = ⌊(h − k)/s⌋ + 1`) routes its whole gradient to the
//! first maximum of its window in row-major order (PyTorch's convention; a
//! NaN counts as the maximum); where windows overlap, an input collects the
//! gradients of every window it wins. Planes run in parallel, one task each,
//! so results do not depend on the number of threads.

use candle_core::{
    CpuStorage, CustomOp1, DType, Layout, Result, Shape, Storage, Tensor, WithDType,
};
use rayon::prelude::*;

struct Pool {
    k: usize,
    stride: usize,
}

/// Whether `v` replaces the running maximum `best` (strictly greater keeps
/// the first maximum; NaN wins over a number).
#[inline(always)]
fn beats<T: WithDType>(v: T, best: T) -> bool {
    #[allow(clippy::eq_op)]
    let (v_nan, b_nan) = (v != v, best != best);
    v > best || (v_nan && !b_nan)
}

impl Pool {
    fn out_dims(&self, dims: &[usize]) -> Result<(usize, usize, usize, usize, usize, usize)> {
        let (n, c, h, w) = match dims {
            [n, c, h, w] => (*n, *c, *h, *w),
            _ => candle_core::bail!("max_pool2d_strided: input must be [n, c, h, w], got {dims:?}"),
        };
        if h < self.k || w < self.k {
            candle_core::bail!(
                "max_pool2d_strided: input {h}x{w} smaller than the {0}x{0} window",
                self.k
            );
        }
        Ok((
            n,
            c,
            h,
            w,
            (h - self.k) / self.stride + 1,
            (w - self.k) / self.stride + 1,
        ))
    }

    /// Visits (output index, input index of the window's first maximum,
    /// maximum) for every output of one plane.
    #[inline(always)]
    fn argmax<T: WithDType>(
        &self,
        x: &[T],
        (w, oh, ow): (usize, usize, usize),
        mut visit: impl FnMut(usize, usize, T),
    ) {
        for i in 0..oh {
            for j in 0..ow {
                let mut best = self.stride * i * w + self.stride * j;
                let mut bv = x[best];
                for a in 0..self.k {
                    let row = (self.stride * i + a) * w + self.stride * j;
                    for (c, &v) in x[row..row + self.k].iter().enumerate() {
                        if beats(v, bv) {
                            bv = v;
                            best = row + c;
                        }
                    }
                }
                visit(i * ow + j, best, bv);
            }
        }
    }

    fn fwd<T: WithDType>(&self, x: &[T], dims: &[usize]) -> Result<(Vec<T>, Shape)> {
        let (n, c, h, w, oh, ow) = self.out_dims(dims)?;
        let mut y = vec![T::from_f64(0.0); n * c * oh * ow];
        y.par_chunks_mut(oh * ow)
            .zip(x.par_chunks(h * w))
            .for_each(|(yo, xp)| self.argmax(xp, (w, oh, ow), |o, _, v| yo[o] = v));
        Ok((y, Shape::from((n, c, oh, ow))))
    }

    fn bwd_typed<T: WithDType>(&self, x: &Tensor, g: &Tensor) -> Result<Tensor> {
        let (_, _, h, w, oh, ow) = self.out_dims(x.dims())?;
        let x = x.detach().contiguous()?;
        let g = g.detach().contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (gs, gl) = g.storage_and_layout();
        let (xv, gv) = match (&*xs, &*gs, xl.contiguous_offsets(), gl.contiguous_offsets()) {
            (Storage::Cpu(a), Storage::Cpu(b), Some((a0, a1)), Some((b0, b1))) => {
                (&a.as_slice::<T>()?[a0..a1], &b.as_slice::<T>()?[b0..b1])
            }
            _ => candle_core::bail!("max_pool2d_strided: expected contiguous CPU tensors"),
        };
        let mut gx = vec![T::from_f64(0.0); xv.len()];
        gx.par_chunks_mut(h * w)
            .zip(xv.par_chunks(h * w))
            .zip(gv.par_chunks(oh * ow))
            .for_each(|((gxp, xp), gp)| {
                self.argmax(xp, (w, oh, ow), |o, i, _| gxp[i] += gp[o]);
            });
        Tensor::from_vec(gx, x.shape(), x.device())
    }
}

impl CustomOp1 for Pool {
    fn name(&self) -> &'static str {
        "ismc-max-pool2d-strided"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (a, b) = match layout.contiguous_offsets() {
            Some(o) => o,
            None => candle_core::bail!("max_pool2d_strided: input must be contiguous"),
        };
        match storage {
            CpuStorage::F32(v) => {
                let (y, s) = self.fwd(&v[a..b], layout.dims())?;
                Ok((CpuStorage::F32(y), s))
            }
            CpuStorage::F64(v) => {
                let (y, s) = self.fwd(&v[a..b], layout.dims())?;
                Ok((CpuStorage::F64(y), s))
            }
            _ => candle_core::bail!("max_pool2d_strided: only f32 and f64 are supported"),
        }
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        match arg.dtype() {
            DType::F32 => self.bwd_typed::<f32>(arg, grad_res).map(Some),
            DType::F64 => self.bwd_typed::<f64>(arg, grad_res).map(Some),
            d => candle_core::bail!("max_pool2d_strided: unsupported dtype {d:?}"),
        }
    }
}

/// `k`×`k` max-pooling at `stride` (floor mode, no padding) of `x`
/// `[n, c, h, w]`, output `[n, c, ⌊(h − k)/stride⌋ + 1, ⌊(w − k)/stride⌋ + 1]`,
/// with the backward pass described in the module docs.
pub fn max_pool2d_strided(x: &Tensor, k: usize, stride: usize) -> Result<Tensor> {
    if k == 0 || stride == 0 {
        candle_core::bail!("max_pool2d_strided: kernel and stride must be positive");
    }
    x.contiguous()?.apply_op1(Pool { k, stride })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn forward_and_gradient_on_a_worked_example() {
        // One 5×5 plane, 3×3 windows at stride 2 → 2×2 outputs.
        #[rustfmt::skip]
        let x: Vec<f32> = vec![
            1., 2., 3., 0., 0.,
            0., 0., 9., 0., 4.,
            0., 0., 0., 0., 0.,
            5., 0., 0., 0., 0.,
            0., 0., 7., 7., 0.,
        ];
        let t =
            Var::from_tensor(&Tensor::from_vec(x, (1, 1, 5, 5), &Device::Cpu).unwrap()).unwrap();
        let y = max_pool2d_strided(&t, 3, 2).unwrap();
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            [9., 9., 7., 7.]
        );
        // Weight the outputs 1, 10, 100, 1000: the 9 (row 1, column 2, shared
        // by the two upper windows) wins windows 0 and 1;
        // the first 7 (row 4, column 2) wins windows 2 and 3 (ties keep the
        // first maximum).
        let wts =
            Tensor::from_vec(vec![1f32, 10., 100., 1000.], (1, 1, 2, 2), &Device::Cpu).unwrap();
        let g = (y * wts).unwrap().sum_all().unwrap().backward().unwrap();
        let gx = g.get(t.as_tensor()).unwrap().flatten_all().unwrap();
        let gx = gx.to_vec1::<f32>().unwrap();
        let mut want = vec![0f32; 25];
        want[7] = 11.0;
        want[22] = 1100.0;
        assert_eq!(gx, want);
    }

    #[test]
    fn output_side_is_floor_mode() {
        let x = Tensor::zeros((2, 3, 113, 113), DType::F32, &Device::Cpu).unwrap();
        let y = max_pool2d_strided(&x, 3, 2).unwrap();
        assert_eq!(y.dims(), [2, 3, 56, 56]);
        let y = max_pool2d_strided(&y, 3, 2).unwrap();
        assert_eq!(y.dims(), [2, 3, 27, 27]);
        assert!(max_pool2d_strided(&y.narrow(2, 0, 2).unwrap(), 3, 2).is_err());
    }
}
