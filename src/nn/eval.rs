//! Accuracy and mean loss of a classifier on a data set.

use serde::Serialize;

use super::Classifier;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Result of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EvalReport {
    /// Fraction of items whose arg-max logit is the label.
    pub accuracy: f64,
    /// Mean per-item cross-entropy against the labels.
    pub mean_loss: f64,
    /// Number of items evaluated: the whole data set.
    pub n: usize,
}

/// Counts of (label, prediction) over a data set, with the summed loss:
/// everything accuracy, per-class accuracy and mean loss derive from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confusion {
    /// `counts[label][predicted]`.
    pub counts: Vec<Vec<u64>>,
    /// Sum of the per-item cross-entropies.
    pub loss_sum: f64,
    /// Number of items counted: the whole data set.
    pub n: usize,
}

impl Confusion {
    /// Items whose prediction is their label.
    pub fn correct(&self) -> u64 {
        (0..self.counts.len()).map(|c| self.counts[c][c]).sum()
    }

    /// Accuracy of each class (NaN for a class without items).
    pub fn per_class_accuracy(&self) -> Vec<f64> {
        self.counts
            .iter()
            .enumerate()
            .map(|(c, row)| row[c] as f64 / row.iter().sum::<u64>() as f64)
            .collect()
    }

    /// Accuracy and mean loss.
    pub fn report(&self) -> EvalReport {
        EvalReport {
            accuracy: self.correct() as f64 / self.n.max(1) as f64,
            mean_loss: self.loss_sum / self.n.max(1) as f64,
            n: self.n,
        }
    }
}

/// Evaluates `model` on every item of `data` in batches of `batch`.
pub fn evaluate(
    model: &dyn Classifier,
    data: &Dataset,
    batch: usize,
    progress: &dyn Progress,
) -> Result<EvalReport> {
    Ok(confusion(model, data, batch, progress)?.report())
}

/// The confusion counts and summed loss of `model` on every item of `data`,
/// in batches of `batch`.
pub fn confusion(
    model: &dyn Classifier,
    data: &Dataset,
    batch: usize,
    progress: &dyn Progress,
) -> Result<Confusion> {
    if batch == 0 {
        return Err(Error::invalid("batch", 0, "expected at least 1"));
    }
    if data.item_shape() != model.spec().item_shape.as_slice()
        || data.classes() != model.spec().classes
    {
        return Err(Error::InputShape {
            what: format!("data set `{}` ({} classes)", data.name(), data.classes()),
            expected: model.spec().item_shape.clone(),
            found: data.item_shape().to_vec(),
        });
    }
    progress.set_total(data.len() as u64);
    let classes = data.classes();
    let mut counts = vec![vec![0u64; classes]; classes];
    let mut loss_sum = 0f64;
    let idx: Vec<usize> = (0..data.len()).collect();
    for chunk in idx.chunks(batch) {
        let x = data.images(chunk)?;
        let targets: Vec<u32> = chunk.iter().map(|&i| data.labels()[i] as u32).collect();
        let logits = model.logits(&x)?;
        let loss: Vec<f32> = super::cross_entropy(&logits, &targets)?.to_vec1()?;
        let pred: Vec<u32> = logits.argmax(1)?.to_vec1()?;
        for (p, t) in pred.iter().zip(&targets) {
            counts[*t as usize][*p as usize] += 1;
        }
        loss_sum += loss.iter().map(|&l| l as f64).sum::<f64>();
        progress.advance(chunk.len() as u64);
    }
    Ok(Confusion {
        counts,
        loss_sum,
        n: data.len(),
    })
}
