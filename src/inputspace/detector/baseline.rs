//! The baselines the detector is compared with: the model's maximum softmax
//! probability and the distance to the nearest reference.

use crate::inputspace::count_inputs;
use crate::nn::Classifier;
use crate::Result;

/// Maximum softmax probability and predicted class of each input (n inputs
/// back to back).
pub fn max_softmax<C: Classifier + ?Sized>(
    model: &C,
    xs: &[f32],
    batch: usize,
) -> Result<Vec<(f64, u32)>> {
    let spec = model.spec();
    let n = count_inputs(spec, xs, "inputs")?;
    let len = spec.item_len();
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(batch.max(1)) {
        let end = (start + batch.max(1)).min(n);
        let mut shape = vec![end - start];
        shape.extend_from_slice(&spec.item_shape);
        let t = candle_core::Tensor::from_slice(
            &xs[start * len..end * len],
            shape,
            &candle_core::Device::Cpu,
        )
        .map_err(crate::Error::from)?;
        let logits: Vec<Vec<f32>> = model.logits(&t)?.to_vec2().map_err(crate::Error::from)?;
        for z in logits {
            let mut arg = 0;
            for (k, &v) in z.iter().enumerate() {
                if v > z[arg] {
                    arg = k;
                }
            }
            let top = z[arg] as f64;
            let s: f64 = z.iter().map(|&v| (v as f64 - top).exp()).sum();
            out.push((1.0 / s, arg as u32));
        }
    }
    Ok(out)
}

/// Euclidean distance from `x` to the nearest of `references`.
pub fn nearest_distance(x: &[f32], references: &[f32]) -> f64 {
    references
        .chunks(x.len().max(1))
        .map(|r| {
            r.iter()
                .zip(x)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .fold(f64::INFINITY, f64::min)
}
