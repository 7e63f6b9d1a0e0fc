//! One interface for every frozen classifier: batched logits, per-input
//! cross-entropy, and the gradient of that loss with respect to the inputs.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use serde::Serialize;

use super::arch::{Arch, BoxedModule, ARCH_METADATA_KEY};
use super::weights::{self, check_against};
use crate::error::{Error, Result};

/// What a classifier takes and returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputSpec {
    /// Shape of one input, e.g. `[1, 28, 28]`.
    pub item_shape: Vec<usize>,
    /// Number of classes (width of the logits).
    pub classes: usize,
    /// Valid range of every input value, inclusive.
    pub range: (f32, f32),
}

impl InputSpec {
    /// Number of values in one input.
    pub fn item_len(&self) -> usize {
        self.item_shape.iter().product()
    }
}

/// Per-input loss and its gradient with respect to the inputs.
#[derive(Debug, Clone)]
pub struct LossGrad {
    /// Cross-entropy of each input against its target, `n` values.
    pub loss: Vec<f32>,
    /// d loss_i / d x_i, same shape as the input batch.
    pub grad: Tensor,
    /// The logits `[n, classes]`.
    pub logits: Tensor,
}

/// A frozen classifier (eval mode, no parameter gradients).
///
/// Batches are tensors `[n, item_shape…]` of f32 on the CPU. The checked
/// methods reject batches of the wrong shape and non-finite values with a
/// user error; [`Classifier::forward_unchecked`] is the raw network.
pub trait Classifier: Send + Sync {
    /// Input shape, classes and valid range.
    fn spec(&self) -> &InputSpec;

    /// The network's logits without input checks.
    fn forward_unchecked(&self, x: &Tensor) -> candle_core::Result<Tensor>;

    /// Logits `[n, classes]` of a checked batch.
    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        check_batch(self.spec(), x)?;
        Ok(self.forward_unchecked(x)?)
    }

    /// Cross-entropy of each input against `targets` (one class per input).
    fn loss(&self, x: &Tensor, targets: &[u32]) -> Result<Vec<f32>> {
        let logits = self.logits(x)?;
        Ok(cross_entropy(&logits, targets)?
            .to_dtype(DType::F32)?
            .to_vec1()?)
    }

    /// Per-input loss and its gradient with respect to the inputs, batched:
    /// one forward and one backward pass for the whole batch (inputs do not
    /// interact in a frozen network, so d(Σ loss)/dx_i = d loss_i/dx_i).
    fn loss_and_input_grad(&self, x: &Tensor, targets: &[u32]) -> Result<LossGrad> {
        check_batch(self.spec(), x)?;
        let xv = Var::from_tensor(x)?;
        let logits = self.forward_unchecked(xv.as_tensor())?;
        let per = cross_entropy(&logits, targets)?;
        let grads = per.sum_all()?.backward()?;
        let grad = grads
            .get(xv.as_tensor())
            .cloned()
            .unwrap_or(xv.as_tensor().zeros_like()?);
        Ok(LossGrad {
            loss: per.to_dtype(DType::F32)?.to_vec1()?,
            grad,
            logits: logits.detach(),
        })
    }

    /// Loss of many flat inputs (`xs.len() = n · item_len`, row-major, one
    /// input after another) against `targets` (one per input, or a single
    /// target for all), evaluated `batch` inputs at a time. The hot path of
    /// paths, slices and pair statistics: no tensor handling for callers.
    fn loss_flat(&self, xs: &[f32], targets: &[u32], batch: usize) -> Result<Vec<f32>> {
        let (n, len) = flat_count(self.spec(), xs, targets)?;
        let mut out = Vec::with_capacity(n);
        for start in (0..n).step_by(batch.max(1)) {
            let end = (start + batch.max(1)).min(n);
            let x = flat_batch(self.spec(), &xs[start * len..end * len], end - start)?;
            out.extend(self.loss(&x, &target_slice(targets, start, end))?);
        }
        Ok(out)
    }

    /// Loss and input gradient of many flat inputs, batched like
    /// [`Classifier::loss_flat`]; the gradient is flat in the same layout.
    fn loss_grad_flat(
        &self,
        xs: &[f32],
        targets: &[u32],
        batch: usize,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let (n, len) = flat_count(self.spec(), xs, targets)?;
        let mut loss = Vec::with_capacity(n);
        let mut grad = Vec::with_capacity(xs.len());
        for start in (0..n).step_by(batch.max(1)) {
            let end = (start + batch.max(1)).min(n);
            let x = flat_batch(self.spec(), &xs[start * len..end * len], end - start)?;
            let lg = self.loss_and_input_grad(&x, &target_slice(targets, start, end))?;
            loss.extend(lg.loss);
            grad.extend(lg.grad.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok((loss, grad))
    }

    /// Logits of many flat inputs (layout as in [`Classifier::loss_flat`]),
    /// `n · classes` values, row after row, evaluated `batch` at a time.
    fn logits_flat(&self, xs: &[f32], batch: usize) -> Result<Vec<f32>> {
        let (n, len) = flat_count(self.spec(), xs, &[0])?;
        let mut out = Vec::with_capacity(n * self.spec().classes);
        for start in (0..n).step_by(batch.max(1)) {
            let end = (start + batch.max(1)).min(n);
            let x = flat_batch(self.spec(), &xs[start * len..end * len], end - start)?;
            out.extend(
                self.logits(&x)?
                    .to_dtype(DType::F32)?
                    .flatten_all()?
                    .to_vec1::<f32>()?,
            );
        }
        Ok(out)
    }

    /// Predicted class (the first largest logit) of many flat inputs,
    /// evaluated `batch` at a time.
    fn predict_flat(&self, xs: &[f32], batch: usize) -> Result<Vec<u32>> {
        let classes = self.spec().classes;
        let logits = self.logits_flat(xs, batch)?;
        Ok(logits
            .chunks_exact(classes)
            .map(|z| {
                let mut arg = 0;
                for (k, &v) in z.iter().enumerate() {
                    if v > z[arg] {
                        arg = k;
                    }
                }
                arg as u32
            })
            .collect())
    }
}

/// Number of inputs in a flat buffer and the length of one, after checking
/// that the buffer holds whole inputs and that there is one target per input
/// (or one for all).
fn flat_count(spec: &InputSpec, xs: &[f32], targets: &[u32]) -> Result<(usize, usize)> {
    let len = spec.item_len();
    if len == 0 || xs.len() % len != 0 {
        return Err(Error::invalid(
            "inputs",
            xs.len(),
            format!("expected a multiple of the input length {len}"),
        ));
    }
    let n = xs.len() / len;
    if targets.len() != n && targets.len() != 1 {
        return Err(Error::invalid(
            "targets",
            targets.len(),
            format!("expected one target per input ({n}) or a single one"),
        ));
    }
    Ok((n, len))
}

/// The targets of inputs `start..end`: a slice of `targets`, or the single
/// shared target repeated.
fn target_slice(targets: &[u32], start: usize, end: usize) -> Vec<u32> {
    if targets.len() == 1 {
        vec![targets[0]; end - start]
    } else {
        targets[start..end].to_vec()
    }
}

/// A `[n, item_shape…]` tensor over a flat slice.
fn flat_batch(spec: &InputSpec, xs: &[f32], n: usize) -> Result<Tensor> {
    let mut shape = Vec::with_capacity(spec.item_shape.len() + 1);
    shape.push(n);
    shape.extend_from_slice(&spec.item_shape);
    Ok(Tensor::from_slice(xs, shape, &Device::Cpu)?)
}

/// Per-row cross-entropy `logsumexp(z) − z[target]` of logits `[n, k]`, in
/// the logits' dtype.
///
/// The log-softmax is taken in f64 whatever the logits' dtype. In f32 the CE
/// of a confident row, `log(1 + Σ_{c≠y} e^{z_c − z_y})`, is a multiple of
/// the ulp of 1 (1.19e-7): below about 6e-8 it is exactly 0, and at 1e-6 it
/// has only a handful of levels, which turns low-loss valleys into plateaus
/// and ties (and zeroes the gradient of very confident inputs). In f64 the
/// absolute resolution is 1.1e-16, and the cast back keeps f32's seven
/// significant digits at every magnitude above that. The logits are only
/// `[n, k]`, so the cost is nothing next to the network; gradients flow
/// through both casts.
pub fn cross_entropy(logits: &Tensor, targets: &[u32]) -> Result<Tensor> {
    let (n, k) = logits.dims2()?;
    if targets.len() != n {
        return Err(Error::invalid(
            "targets",
            targets.len(),
            format!("expected one target per input ({n})"),
        ));
    }
    if let Some((index, &t)) = targets.iter().enumerate().find(|(_, &t)| t as usize >= k) {
        return Err(Error::TargetOutOfRange {
            index,
            target: t as usize,
            classes: k,
        });
    }
    let t = Tensor::from_slice(targets, (n, 1), logits.device())?;
    let lsm = candle_nn::ops::log_softmax(&logits.to_dtype(DType::F64)?, 1)?;
    Ok(lsm
        .gather(&t, 1)?
        .squeeze(1)?
        .neg()?
        .to_dtype(logits.dtype())?)
}

/// Checks that `x` is `[n, spec.item_shape…]` and finite.
pub fn check_batch(spec: &InputSpec, x: &Tensor) -> Result<()> {
    let dims = x.dims();
    if dims.len() != spec.item_shape.len() + 1 || dims[1..] != spec.item_shape[..] {
        return Err(Error::InputShape {
            what: "input batch".into(),
            expected: spec.item_shape.clone(),
            found: dims.to_vec(),
        });
    }
    // x − x is 0 for finite values and NaN otherwise: one cheap reduction.
    let s = x
        .sub(x)?
        .sum_all()?
        .to_dtype(DType::F32)?
        .to_scalar::<f32>()?;
    if !s.is_finite() || s != 0.0 {
        let v: Vec<f32> = x.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
        crate::error::check_finite("input batch", &v)?;
    }
    Ok(())
}

/// A frozen network of a known architecture.
pub struct Network {
    arch: Arch,
    spec: InputSpec,
    module: BoxedModule,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("arch", &self.arch).finish()
    }
}

impl Network {
    /// Builds the network from checked tensors, computing in f32.
    pub fn from_tensors(arch: Arch, tensors: weights::NamedTensors) -> Result<Self> {
        Network::from_tensors_with_dtype(arch, tensors, DType::F32)
    }

    /// Builds the network from checked tensors, computing in `dtype` (f32,
    /// or f64 for reference computations; inputs must then be f64 too).
    pub fn from_tensors_with_dtype(
        arch: Arch,
        tensors: weights::NamedTensors,
        dtype: DType,
    ) -> Result<Self> {
        arch.validate()?;
        let expected = arch.parameter_shapes()?;
        let checked = check_against(&expected, tensors)?;
        let vb = candle_nn::VarBuilder::from_tensors(checked, dtype, &Device::Cpu);
        let module = arch.build(vb)?;
        Ok(Network {
            spec: arch.spec(),
            arch,
            module,
        })
    }

    /// Loads a weights file (safetensors, PyTorch zip or legacy). The
    /// architecture comes from `arch` or, failing that, from the file's
    /// safetensors metadata.
    pub fn load(path: &Path, arch: Option<Arch>) -> Result<Self> {
        let (tensors, meta) = weights::read_any(path)?;
        let arch = match arch {
            Some(a) => a,
            None => arch_from_metadata(&meta, path)?,
        };
        Network::from_tensors(arch, tensors)
    }

    /// Saves the weights (and the architecture as metadata) as safetensors.
    pub fn save(
        &self,
        path: &Path,
        extra: &HashMap<String, String>,
        tensors: &[(String, Tensor)],
    ) -> Result<()> {
        let mut meta = extra.clone();
        meta.insert(ARCH_METADATA_KEY.into(), self.arch.to_json());
        weights::write_safetensors(path, tensors, &meta)
    }

    /// Architecture (with widths) the network was built from.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }
}

/// Reads the architecture stored in safetensors metadata.
pub fn arch_from_metadata(meta: &HashMap<String, String>, path: &Path) -> Result<Arch> {
    match meta.get(ARCH_METADATA_KEY) {
        Some(j) => serde_json::from_str(j)
            .map_err(|e| Error::corrupt(path, format!("bad {ARCH_METADATA_KEY}: {e}"))),
        None => Err(Error::invalid(
            "--arch",
            "(none)",
            format!(
                "{} does not record its architecture; pass --arch",
                path.display()
            ),
        )),
    }
}

impl Classifier for Network {
    fn spec(&self) -> &InputSpec {
        &self.spec
    }

    fn forward_unchecked(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.module.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row `[z, 0, …, 0]` of `k` classes has CE = ln(1 + (k−1)e^{−z}) and
    /// d CE / d z_c = softmax_c for c ≠ 0. In plain f32 the CE of z = 20
    /// (1.9e-8) rounds to 0 and so does its gradient; in f64 the CE is exact
    /// to f32 precision while it is well above f64's resolution 1.1e-16, and
    /// to 1e-3 at z = 30 (8.4e-13).
    #[test]
    fn confident_rows_keep_their_tiny_loss_and_gradient() {
        let k = 10usize;
        for (z, tol) in [(5.0f64, 1e-6), (12.0, 1e-6), (20.0, 1e-6), (30.0, 2e-3)] {
            let mut row = vec![0f32; k];
            row[0] = z as f32;
            let v =
                Var::from_tensor(&Tensor::from_vec(row, (1, k), &Device::Cpu).unwrap()).unwrap();
            let ce = cross_entropy(v.as_tensor(), &[0]).unwrap();
            assert_eq!(ce.dtype(), DType::F32);
            let got = ce.to_vec1::<f32>().unwrap()[0] as f64;
            let want = ((k - 1) as f64 * (-z).exp()).ln_1p();
            assert!(
                ((got - want) / want).abs() < tol,
                "z = {z}: CE {got:e}, exact {want:e}"
            );
            let grads = ce.sum_all().unwrap().backward().unwrap();
            let g: Vec<f32> = grads
                .get(v.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let p = (-z).exp() / (1.0 + (k - 1) as f64 * (-z).exp());
            assert!(
                ((g[1] as f64 - p) / p).abs() < 1e-5,
                "z = {z}: dCE/dz_1 {} vs {p:e}",
                g[1]
            );
            assert!(((g[0] as f64 + (k - 1) as f64 * p) / ((k - 1) as f64 * p)).abs() < 1e-5);
        }
    }

    /// An unconfident row is unchanged by the f64 detour (to f32 rounding).
    #[test]
    fn ordinary_rows_match_the_f32_log_softmax() {
        let row = [0.3f32, -1.2, 2.5, 0.0];
        let t = Tensor::from_slice(&row, (1, 4), &Device::Cpu).unwrap();
        let got = cross_entropy(&t, &[1]).unwrap().to_vec1::<f32>().unwrap()[0];
        let lse = row.iter().map(|&z| (z as f64).exp()).sum::<f64>().ln();
        assert!((got as f64 - (lse + 1.2)).abs() < 1e-6);
    }
}
