//! Named models: the bundled advertorch LeNet5 pair.

use std::path::PathBuf;

use super::arch::{lenet5, Arch};
use super::{Network, NnError, NnResult};
use crate::data::asset::bundled_dir;

/// A named model: where its weights live and its architecture.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    /// The name used on the command line.
    pub name: &'static str,
    /// Weights file relative to the bundled assets directory.
    pub file: &'static str,
    /// One line on what it is.
    pub description: &'static str,
}

/// The bundled models.
pub const BUNDLED: [ModelEntry; 2] = [
    ModelEntry {
        name: "lenet5-mnist",
        file: "models/advertorch-0.2.3-mnist_lenet5_clntrained.safetensors",
        description: "advertorch LeNet5, normally trained on MNIST",
    },
    ModelEntry {
        name: "lenet5-mnist-adv",
        file: "models/advertorch-0.2.3-mnist_lenet5_advtrained.safetensors",
        description: "advertorch LeNet5, PGD-adversarially trained on MNIST (eps 0.3)",
    },
];

/// The entry named `name`.
pub fn entry(name: &str) -> NnResult<&'static ModelEntry> {
    BUNDLED
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| NnError::UnknownName {
            kind: "model",
            name: name.into(),
            known: BUNDLED.iter().map(|e| e.name.to_string()).collect(),
        })
}

/// Path of a bundled model's weights.
pub fn path_of(name: &str) -> NnResult<PathBuf> {
    Ok(bundled_dir().join(entry(name)?.file))
}

/// Loads a bundled model by name.
pub fn load_named(name: &str) -> NnResult<Network> {
    let path = path_of(name)?;
    Network::load(&path, Some(Arch::Lenet5(lenet5::Config::default())))
}

/// Whether `name` is a known model name.
pub fn is_name(name: &str) -> bool {
    BUNDLED.iter().any(|e| e.name == name)
}

/// Converts a PyTorch checkpoint (or any readable weights file) of `arch`
/// into safetensors at `dst`, after checking every tensor's name and shape;
/// `metadata` is stored alongside the architecture.
pub fn convert_to_safetensors(
    src: &std::path::Path,
    arch: &Arch,
    dst: &std::path::Path,
    metadata: &std::collections::HashMap<String, String>,
) -> NnResult<()> {
    let (tensors, _) = super::weights::read_any(src)?;
    let expected = arch.parameter_shapes()?;
    let checked = super::weights::check_against(&expected, tensors)?;
    let mut named: Vec<(String, candle_core::Tensor)> = checked.into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut meta = metadata.clone();
    meta.insert(super::arch::ARCH_METADATA_KEY.into(), arch.to_json());
    super::weights::write_safetensors(dst, &named, &meta)
}
