//! Fashion-MNIST (Xiao, Rasul & Vollgraf 2017; MIT), fetched from the Debian
//! package `dataset-fashion-mnist` by `ismc assets fetch fashion-mnist`: the
//! four standard gzipped IDX files, copied into the cache after their sha256
//! is checked. Values decode as `byte / 255`.

use std::path::Path;

use super::idx::IdxU8;
use super::{decode_div255, Dataset};
use crate::assets::cache_dir;
use crate::error::{Error, Result};

/// Directory of the files inside the cache.
pub const DIR: &str = "fashion-mnist";
/// The class names, in label order.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Which split of Fashion-MNIST to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// 60,000 training images.
    Train,
    /// 10,000 test images.
    Test,
}

impl Split {
    /// File-name prefix and item count.
    pub fn prefix_and_len(self) -> (&'static str, usize) {
        match self {
            Split::Train => ("train", 60_000),
            Split::Test => ("t10k", 10_000),
        }
    }
}

/// The four file names, as in the Debian package.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// Loads a split from the cache.
pub fn load(split: Split) -> Result<Dataset> {
    let dir = cache_dir().join(DIR);
    if !dir.join(FILES[0]).exists() {
        return Err(Error::AssetMissing {
            name: "fashion-mnist".into(),
            path: dir,
        });
    }
    load_from(&dir, split)
}

/// Loads a split from `dir`, checking dimensions.
pub fn load_from(dir: &Path, split: Split) -> Result<Dataset> {
    let (prefix, len) = split.prefix_and_len();
    let ip = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
    let lp = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
    let images = IdxU8::read(&ip)?;
    let labels = IdxU8::read(&lp)?;
    if images.dims != [len, 28, 28] {
        return Err(Error::DataLength {
            path: ip,
            unit: "images of 28x28",
            expected: len,
            found: images.dims.first().copied().unwrap_or(0),
        });
    }
    if labels.dims != [len] {
        return Err(Error::DataLength {
            path: lp,
            unit: "labels",
            expected: len,
            found: labels.dims.first().copied().unwrap_or(0),
        });
    }
    let name = match split {
        Split::Train => "fashion-mnist-train",
        Split::Test => "fashion-mnist",
    };
    Dataset::new(
        name,
        vec![1, 28, 28],
        images.values,
        labels.values,
        10,
        decode_div255(),
    )
}
