//! Real photographs for the ImageNet classifiers, and any PNG or JPEG the
//! user names, turned into model inputs: RGB in [0, 1], `[3, side, side]`.
//!
//! # The photos
//!
//! `ismc assets fetch photos` takes five photographs from the PyPI wheel
//! `scikit-image==0.26.0` (`skimage/data/`, package licence BSD-3-Clause;
//! the images themselves are CC0 or public domain, except the Middlebury
//! stereo pair, see [`PHOTOS`]) into the cache under `photos/`, checking
//! each file's sha256.
//!
//! # Preprocessing, exactly
//!
//! 1. Decode with the `image` crate (PNG, JPEG); grey or alpha images become
//!    RGB (alpha dropped); 8-bit values `v` become `v/255`.
//! 2. Resize so that the *shorter* side is `side`; the longer side becomes
//!    `⌊long · side / short + ½⌋` (rounded half up).
//! 3. Resampling is separable (rows first, then columns, in f64) with the
//!    antialiased triangle (bilinear) filter of PIL and of the `image`
//!    crate's `FilterType::Triangle`: output pixel `o` of an axis scaled by
//!    `r = in/out` is centred at `c = (o + ½)·r` in input coordinates and
//!    averages input pixels `i` with weights `max(0, 1 − |i + ½ − c| / σ)`,
//!    `σ = max(r, 1)`, over `i ∈ [⌊c − σ⌋, ⌈c + σ⌉)` clipped to the image,
//!    normalised to sum 1. Values stay in [0, 1] (the weights are convex).
//! 4. Crop the centre `side`×`side` square (offset `⌊(len − side)/2⌋` on each
//!    axis) and round to f32.
//!
//! `scripts/imagenet_reference_logits.py` re-implements these steps in numpy
//! for the exactness fixture.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use crate::assets::cache_dir;
use crate::error::{Error, Result};

/// Name of the asset that `ismc assets fetch` knows the photos by.
pub const ASSET: &str = "photos";

/// One fetched photograph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Photo {
    /// Short name (`chelsea`, `coffee`, …), usable wherever a photo path is.
    pub name: &'static str,
    /// Path inside the package.
    pub source: &'static str,
    /// Path in the cache directory.
    pub file: &'static str,
    /// sha256 of the file.
    pub sha256: &'static str,
    /// What it shows, its size, and the image's own licence as scikit-image
    /// documents it.
    pub note: &'static str,
}

/// The photos of scikit-image 0.26.0.
pub const PHOTOS: [Photo; 5] = [
    Photo {
        name: "chelsea",
        source: "skimage/data/chelsea.png",
        file: "photos/chelsea.png",
        sha256: "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
        note: "Chelsea the cat, 451x300; CC0 (Stefan van der Walt)",
    },
    Photo {
        name: "coffee",
        source: "skimage/data/coffee.png",
        file: "photos/coffee.png",
        sha256: "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
        note: "a cup of coffee, 600x400; CC0 (Rachel Michetti)",
    },
    Photo {
        name: "astronaut",
        source: "skimage/data/astronaut.png",
        file: "photos/astronaut.png",
        sha256: "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        note: "astronaut Eileen Collins, 512x512; public domain (NASA)",
    },
    Photo {
        name: "motorcycle",
        source: "skimage/data/motorcycle_left.png",
        file: "photos/motorcycle_left.png",
        sha256: "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
        note: "a motorcycle (left view of a stereo pair), 741x500; Middlebury 2014 stereo benchmark (Scharstein et al.), terms of that benchmark",
    },
    Photo {
        name: "rocket",
        source: "skimage/data/rocket.jpg",
        file: "photos/rocket.jpg",
        sha256: "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
        note: "launch of DSCOVR on Falcon 9, 640x427 JPEG; public domain (SpaceX)",
    },
];

/// The photo named `name`, if any.
pub fn photo(name: &str) -> Option<&'static Photo> {
    PHOTOS.iter().find(|p| p.name == name)
}

/// Cache path of the photo named `name`; [`Error::AssetMissing`] (naming
/// `ismc assets fetch photos`) if not fetched, [`Error::UnknownName`] if
/// no such photo.
pub fn path_of(name: &str) -> Result<PathBuf> {
    let p = photo(name).ok_or_else(|| Error::UnknownName {
        kind: "photo",
        name: name.into(),
        known: PHOTOS.iter().map(|p| p.name.to_string()).collect(),
    })?;
    let path = cache_dir().join(p.file);
    if !path.exists() {
        return Err(Error::AssetMissing {
            name: ASSET.into(),
            path,
        });
    }
    Ok(path)
}

/// A decoded image: `channels` planes of `height`×`width` values in [0, 1],
/// row-major, plane after plane.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Number of planes (3 for RGB, 1 for grey).
    pub channels: usize,
    /// Number of rows (pixels from top to bottom) of each plane.
    pub height: usize,
    /// Number of columns (pixels from left to right) of each plane.
    pub width: usize,
    /// `channels · height · width` values.
    pub data: Vec<f64>,
}

impl Image {
    /// Decodes PNG or JPEG bytes into RGB; `path` names the source in
    /// errors (a file that is neither gives [`Error::Corrupt`]).
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Image> {
        let img = image::load_from_memory(bytes)
            .map_err(|e| Error::corrupt(path, format!("not a readable PNG or JPEG image: {e}")))?;
        let rgb = img.to_rgb8();
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        if w == 0 || h == 0 {
            return Err(Error::corrupt(path, "image has no pixels"));
        }
        let raw = rgb.into_raw();
        let mut data = vec![0.0; 3 * h * w];
        for (i, px) in raw.chunks_exact(3).enumerate() {
            for c in 0..3 {
                data[c * h * w + i] = px[c] as f64 / 255.0;
            }
        }
        Ok(Image {
            channels: 3,
            height: h,
            width: w,
            data,
        })
    }

    /// Reads and decodes an image file.
    pub fn open(path: &Path) -> Result<Image> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Image::decode(&bytes, path)
    }

    /// Luma `0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601) of an RGB image,
    /// one plane.
    pub fn to_grey(&self) -> Image {
        if self.channels != 3 {
            return self.clone();
        }
        let n = self.height * self.width;
        let data = (0..n)
            .map(|i| 0.299 * self.data[i] + 0.587 * self.data[n + i] + 0.114 * self.data[2 * n + i])
            .collect();
        Image {
            channels: 1,
            data,
            ..*self
        }
    }

    /// Resized to `height`×`width` with the triangle filter (module docs).
    pub fn resize(&self, height: usize, width: usize) -> Image {
        let rows = axis_weights(self.height, height);
        let cols = axis_weights(self.width, width);
        let (h, w) = (self.height, self.width);
        let mut out = Vec::with_capacity(self.channels * height * width);
        let mut tmp = vec![0.0; height * w];
        for c in 0..self.channels {
            let plane = &self.data[c * h * w..(c + 1) * h * w];
            // Rows (vertical pass): tmp[o, x] = Σ_i wr[i] · plane[i, x].
            for (o, (first, ws)) in rows.iter().enumerate() {
                let dst = &mut tmp[o * w..(o + 1) * w];
                dst.iter_mut().for_each(|v| *v = 0.0);
                for (k, &wt) in ws.iter().enumerate() {
                    let src = &plane[(first + k) * w..(first + k + 1) * w];
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d += wt * s;
                    }
                }
            }
            // Columns (horizontal pass).
            for o in 0..height {
                let src = &tmp[o * w..(o + 1) * w];
                for (first, ws) in &cols {
                    let v: f64 = ws
                        .iter()
                        .enumerate()
                        .map(|(k, &wt)| wt * src[first + k])
                        .sum();
                    out.push(v);
                }
            }
        }
        Image {
            channels: self.channels,
            height,
            width,
            data: out,
        }
    }

    /// Resized so that the shorter side is `side` (module docs, step 2).
    pub fn resize_shorter_side(&self, side: usize) -> Image {
        let (h, w) = (self.height, self.width);
        let long =
            |l: usize, s: usize| ((l as f64 * side as f64 / s as f64) + 0.5).floor() as usize;
        let (nh, nw) = if h <= w {
            (side, long(w, h).max(side))
        } else {
            (long(h, w).max(side), side)
        };
        self.resize(nh, nw)
    }

    /// The centre `side`×`side` square (`self` must be at least that big).
    pub fn center_crop(&self, side: usize) -> Image {
        let (top, left) = (
            self.height.saturating_sub(side) / 2,
            self.width.saturating_sub(side) / 2,
        );
        let (h, w) = (self.height, self.width);
        let mut data = Vec::with_capacity(self.channels * side * side);
        for c in 0..self.channels {
            for y in top..(top + side).min(h) {
                let row = &self.data[c * h * w + y * w..c * h * w + (y + 1) * w];
                data.extend_from_slice(&row[left..(left + side).min(w)]);
            }
        }
        Image {
            channels: self.channels,
            height: side.min(h),
            width: side.min(w),
            data,
        }
    }

    /// Steps 2–4 of the module docs: the model input of side `side`, as f32
    /// values `[channels, side, side]`.
    pub fn to_input(&self, side: usize) -> Vec<f32> {
        self.resize_shorter_side(side)
            .center_crop(side)
            .data
            .iter()
            .map(|&v| v as f32)
            .collect()
    }
}

/// For each output index of an axis resized from `len_in` to `len_out`, the
/// first input index and the normalised triangle weights from there on.
fn axis_weights(len_in: usize, len_out: usize) -> Vec<(usize, Vec<f64>)> {
    let ratio = len_in as f64 / len_out as f64;
    let sigma = ratio.max(1.0);
    (0..len_out)
        .map(|o| {
            let centre = (o as f64 + 0.5) * ratio;
            let left = ((centre - sigma).floor().max(0.0) as usize).min(len_in - 1);
            let right = ((centre + sigma).ceil() as usize).clamp(left + 1, len_in);
            let mut ws: Vec<f64> = (left..right)
                .map(|i| (1.0 - ((i as f64 + 0.5 - centre) / sigma).abs()).max(0.0))
                .collect();
            let sum: f64 = ws.iter().sum();
            ws.iter_mut().for_each(|v| *v /= sum);
            (left, ws)
        })
        .collect()
}

/// Where an image argument points: a file path if it exists, else a
/// fetched photo's name.
pub fn resolve(arg: &str) -> Result<PathBuf> {
    let p = Path::new(arg);
    if p.exists() {
        return Ok(p.to_path_buf());
    }
    if photo(arg).is_some() {
        return path_of(arg);
    }
    Err(Error::UnknownName {
        kind: "image (a PNG/JPEG path or a photo name)",
        name: arg.into(),
        known: PHOTOS.iter().map(|p| p.name.to_string()).collect(),
    })
}

/// The model input of shape `item_shape` (`[c, side, side]`, c = 3 for
/// RGB or 1 for grey, [`Image::to_grey`]) from the file at `path`: a PNG or
/// JPEG, preprocessed as the module docs say, or a `.npy` array of f32 or
/// f64 values with exactly as many elements as one input (taken in C
/// order, unchanged).
pub fn input_for(path: &Path, item_shape: &[usize]) -> Result<Vec<f32>> {
    let len: usize = item_shape.iter().product();
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        use ndarray_npy::ReadNpyExt;
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let values: Vec<f32> = match ndarray::ArrayD::<f32>::read_npy(&bytes[..]) {
            Ok(a) => a.iter().copied().collect(),
            Err(_) => ndarray::ArrayD::<f64>::read_npy(&bytes[..])
                .map_err(|e| {
                    Error::corrupt(path, format!("expected an f32 or f64 .npy array: {e}"))
                })?
                .iter()
                .map(|&v| v as f32)
                .collect(),
        };
        if values.len() != len {
            return Err(Error::DataLength {
                path: path.into(),
                unit: "values",
                expected: len,
                found: values.len(),
            });
        }
        return Ok(values);
    }
    let (c, side) = match item_shape {
        [c @ (1 | 3), h, w] if h == w => (*c, *h),
        _ => {
            return Err(Error::invalid(
                "image input",
                format!("{item_shape:?}"),
                "images feed models of input shape [1 or 3, side, side]",
            ))
        }
    };
    let img = Image::open(path)?;
    let img = if c == 1 { img.to_grey() } else { img };
    Ok(img.to_input(side))
}

/// A batch `[n, 3, side, side]` of the images at `paths`, preprocessed as
/// the module docs say.
pub fn batch(paths: &[PathBuf], side: usize) -> Result<Tensor> {
    let mut data = Vec::with_capacity(paths.len() * 3 * side * side);
    for p in paths {
        data.extend(Image::open(p)?.to_input(side));
    }
    Ok(Tensor::from_vec(
        data,
        (paths.len(), 3, side, side),
        &Device::Cpu,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(h: usize, w: usize, f: impl Fn(usize, usize) -> f64) -> Image {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.push(f(y, x));
            }
        }
        Image {
            channels: 1,
            height: h,
            width: w,
            data,
        }
    }

    #[test]
    fn halving_averages_pairs_with_triangle_weights() {
        // Downscaling 4 → 2: σ = 2, centres 1 and 3; output 0 weighs pixels
        // 0, 1, 2 by (1 − |i + ½ − 1|/2) = ¾, ¾, ¼, normalised by 7/4.
        let a = img(1, 4, |_, x| x as f64);
        let r = a.resize(1, 2);
        let want0 = (0.75 * 0.0 + 0.75 * 1.0 + 0.25 * 2.0) / 1.75;
        let want1 = (0.25 * 1.0 + 0.75 * 2.0 + 0.75 * 3.0) / 1.75;
        assert!((r.data[0] - want0).abs() < 1e-15 && (r.data[1] - want1).abs() < 1e-15);
    }

    #[test]
    fn constant_stays_constant_and_values_stay_in_range() {
        let a = img(30, 45, |_, _| 0.7);
        let r = a.resize(17, 23);
        assert!(r.data.iter().all(|v| (v - 0.7).abs() < 1e-12));
        let b = img(30, 45, |y, x| ((y * 7 + x * 3) % 2) as f64);
        let r = b.resize(11, 16);
        assert!(r.data.iter().all(|v| (0.0..=1.0).contains(v)));
        // Upscaling interpolates linearly between pixel centres.
        let c = img(1, 2, |_, x| x as f64);
        let u = c.resize(1, 4);
        assert_eq!(u.data, [0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn shorter_side_then_centre_crop() {
        let a = img(300, 451, |y, x| (y * 1000 + x) as f64);
        let r = a.resize_shorter_side(227);
        // 451 · 227/300 = 341.28 → 341.
        assert_eq!((r.height, r.width), (227, 341));
        let c = r.center_crop(227);
        assert_eq!((c.height, c.width, c.data.len()), (227, 227, 227 * 227));
        // 600 × 400 at 227: 340.5 rounds half up to 341.
        let b = img(400, 600, |_, _| 0.0).resize_shorter_side(227);
        assert_eq!((b.height, b.width), (227, 341));
        // Crop offset ⌊(341 − 227)/2⌋ = 57 columns.
        let d = img(2, 5, |_, x| x as f64).center_crop(2);
        assert_eq!(d.data, [1.0, 2.0, 1.0, 2.0]);
    }

    #[test]
    fn non_images_are_corrupt_user_errors() {
        let e = Image::decode(b"definitely not a png", Path::new("x.png")).unwrap_err();
        assert!(
            matches!(e, Error::Corrupt { .. }) && e.is_user_error(),
            "{e}"
        );
    }
}
