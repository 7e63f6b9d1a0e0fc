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

use candle_core::{CpuStorage, Device, Layout, Result, Storage, Tensor, WithDType};

mod conv_op;
mod linear;
mod pool;
#[cfg(test)]
mod tests;

pub use conv_op::{
    conv2d, conv2d_bias, conv2d_bias_strided, conv2d_input_grad, conv2d_strided, Conv2d,
};
pub use linear::{linear, Linear};
pub use pool::{max_pool2d, max_pool2d_relu, max_pool2d_strided};

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
