//! Accuracy and mean loss of a classifier on a data set.

use serde::Serialize;

use super::{Classifier, NnError, NnResult};
use crate::data::Dataset;
use crate::progress::Progress;

/// Result of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EvalReport {
    /// Fraction of items whose arg-max logit is the label.
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub mean_loss: f64,
    /// Number of items.
    pub n: usize,
}

/// Evaluates `model` on every item of `data` in batches of `batch`.
pub fn evaluate(
    model: &dyn Classifier,
    data: &Dataset,
    batch: usize,
    progress: &dyn Progress,
) -> NnResult<EvalReport> {
    if batch == 0 {
        return Err(NnError::invalid("batch", 0, "expected at least 1"));
    }
    if data.item_shape() != model.spec().item_shape.as_slice()
        || data.classes() != model.spec().classes
    {
        return Err(NnError::InputShape {
            what: format!("data set `{}` ({} classes)", data.name(), data.classes()),
            expected: model.spec().item_shape.clone(),
            found: data.item_shape().to_vec(),
        });
    }
    progress.set_total(data.len() as u64);
    let mut correct = 0usize;
    let mut loss_sum = 0f64;
    let idx: Vec<usize> = (0..data.len()).collect();
    for chunk in idx.chunks(batch) {
        let x = data.images(chunk)?;
        let targets: Vec<u32> = chunk.iter().map(|&i| data.labels()[i] as u32).collect();
        let logits = model.logits(&x)?;
        let loss: Vec<f32> = super::cross_entropy(&logits, &targets)?.to_vec1()?;
        let pred: Vec<u32> = logits.argmax(1)?.to_vec1()?;
        correct += pred.iter().zip(&targets).filter(|(p, t)| p == t).count();
        loss_sum += loss.iter().map(|&l| l as f64).sum::<f64>();
        progress.advance(chunk.len() as u64);
    }
    let n = data.len();
    Ok(EvalReport {
        accuracy: correct as f64 / n.max(1) as f64,
        mean_loss: loss_sum / n.max(1) as f64,
        n,
    })
}
