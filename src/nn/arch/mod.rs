//! Architectures, one file each, each built from a `Config` and a
//! `VarBuilder` (so the same constructor loads weights or creates fresh
//! ones), and [`Arch`], the serialisable choice among them.

pub mod batch_norm;
pub mod cnn;
pub mod cnn_small;
pub mod efficientnet_lite;
pub mod lenet5;
pub mod mlp;
pub mod resnet;
pub mod squeezenet;

use candle_core::Module;
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::InputSpec;
use crate::error::{Error, Result};

/// A boxed frozen network.
pub type BoxedModule = Box<dyn Module + Send + Sync>;

/// An architecture with its configuration; stored as JSON in the metadata
/// of the safetensors files ismc writes (key [`ARCH_METADATA_KEY`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "kebab-case")]
pub enum Arch {
    /// [`lenet5::LeNet5`].
    Lenet5(lenet5::Config),
    /// [`mlp::Mlp`].
    Mlp(mlp::Config),
    /// [`cnn::Cnn`].
    Cnn(cnn::Config),
    /// [`squeezenet::SqueezeNet`] (v1.1, ImageNet).
    #[serde(rename = "squeezenet-1.1")]
    Squeezenet(squeezenet::Config),
    /// [`efficientnet_lite::EfficientNetLite`] (Lite0, ImageNet).
    #[serde(rename = "efficientnet-lite0")]
    EfficientnetLite0(efficientnet_lite::Config),
    /// [`resnet::ResNet`] (ResNet-18 and -34, CIFAR- or ImageNet-shaped).
    Resnet(resnet::Config),
    /// [`cnn_small::CnnSmall`] (the small MNIST CNN of PyPI
    /// `digit-recognizer-py`).
    CnnSmall(cnn_small::Config),
}

/// Metadata key of the architecture JSON in safetensors files.
pub const ARCH_METADATA_KEY: &str = "ismc.arch";

/// Architecture names accepted by [`Arch::from_name`].
pub const ARCH_NAMES: [&str; 5] = ["lenet5", "mlp", "cnn", "resnet18", "resnet34"];

/// Input sides from which `resnet18`/`resnet34` take the ImageNet stem
/// (7×7/2 conv + max-pool, 4× downsampling before `layer1`); smaller inputs
/// (CIFAR's 32, MNIST's 28) take the CIFAR stem.
pub const RESNET_IMAGENET_STEM_MIN_SIDE: usize = 128;

impl Arch {
    /// The default configuration of a named architecture for inputs of
    /// `item_shape` (`[c, h, w]`) and `classes` classes. `resnet18` and
    /// `resnet34` are CIFAR-shaped below [`RESNET_IMAGENET_STEM_MIN_SIDE`]
    /// (e.g. `[3, 32, 32]`) and torchvision's ImageNet shape from there on
    /// (e.g. `[3, 224, 224]`, with ImageNet normalisation for 3 channels).
    pub fn from_name(name: &str, item_shape: &[usize], classes: usize) -> Result<Self> {
        let (c, side) = match item_shape {
            [c, h, w] if h == w => (*c, *h),
            _ => {
                return Err(Error::invalid(
                    "input shape",
                    format!("{item_shape:?}"),
                    "expected [c, side, side]",
                ))
            }
        };
        let arch = match name {
            "lenet5" => Arch::Lenet5(lenet5::Config {
                in_channels: c,
                side,
                classes,
                ..Default::default()
            }),
            "mlp" => Arch::Mlp(mlp::Config {
                input_shape: item_shape.to_vec(),
                classes,
                ..Default::default()
            }),
            "cnn" => Arch::Cnn(cnn::Config {
                in_channels: c,
                side,
                classes,
                ..Default::default()
            }),
            "resnet18" | "resnet34" => {
                let imagenet = side >= RESNET_IMAGENET_STEM_MIN_SIDE;
                let mut cfg = if imagenet {
                    resnet::Config::imagenet(classes)
                } else {
                    resnet::Config::cifar(classes)
                };
                cfg.in_channels = c;
                cfg.side = side;
                if c != 3 {
                    cfg.input_norm = resnet::InputNorm::None;
                }
                if name == "resnet34" {
                    cfg.blocks = resnet::RESNET34_BLOCKS.to_vec();
                }
                Arch::Resnet(cfg)
            }
            _ => {
                return Err(Error::UnknownName {
                    kind: "architecture",
                    name: name.into(),
                    known: ARCH_NAMES.iter().map(|s| s.to_string()).collect(),
                })
            }
        };
        arch.validate()?;
        Ok(arch)
    }

    /// The architecture's short name.
    pub fn name(&self) -> &'static str {
        match self {
            Arch::Lenet5(_) => "lenet5",
            Arch::Mlp(_) => "mlp",
            Arch::Cnn(_) => "cnn",
            Arch::Squeezenet(_) => "squeezenet-1.1",
            Arch::EfficientnetLite0(_) => "efficientnet-lite0",
            Arch::Resnet(c) if c.blocks == resnet::RESNET18_BLOCKS => "resnet18",
            Arch::Resnet(c) if c.blocks == resnet::RESNET34_BLOCKS => "resnet34",
            Arch::Resnet(_) => "resnet",
            Arch::CnnSmall(_) => "cnn-small",
        }
    }

    /// Checks the configuration: first that no size is absurd (every width,
    /// side, kernel and class count at most [`MAX_SIZE`], whatever file
    /// or configuration it came from, so that no layer is ever built from a
    /// corrupted number), then each architecture's own rules.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: String, why: &str| Err(Error::invalid(what, v, why));
        if let Ok(json) = serde_json::to_value(self) {
            if let Some((path, v)) = largest_size("arch", &json) {
                if v > MAX_SIZE {
                    return bad(
                        &path,
                        v.to_string(),
                        "expected a size of at most 2^20 (a corrupted or mistyped architecture?)",
                    );
                }
            }
        }
        match self {
            Arch::Lenet5(c) => {
                if c.side == 0 || c.side % 4 != 0 {
                    return bad(
                        "lenet5.side",
                        c.side.to_string(),
                        "expected a positive multiple of 4",
                    );
                }
                if [c.in_channels, c.conv1, c.conv2, c.hidden, c.classes].contains(&0) {
                    return bad("lenet5 widths", format!("{c:?}"), "widths must be positive");
                }
            }
            Arch::Mlp(c) => {
                let values = c
                    .input_shape
                    .iter()
                    .try_fold(1usize, |acc, &d| acc.checked_mul(d));
                if values.is_none_or(|v| v > 1 << 28) {
                    return bad(
                        "mlp.input_shape",
                        format!("{:?}", c.input_shape),
                        "expected at most 2^28 values per input",
                    );
                }
                if values == Some(0) || c.widths.contains(&0) || c.classes == 0 {
                    return bad("mlp widths", format!("{c:?}"), "widths must be positive");
                }
            }
            Arch::Cnn(c) => {
                let k = c.channels.len();
                if k == 0 || c.side == 0 || c.side % (1 << k) != 0 {
                    return bad(
                        "cnn.side",
                        c.side.to_string(),
                        "expected a positive multiple of 2^stages",
                    );
                }
                if c.kernel % 2 == 0 {
                    return bad("cnn.kernel", c.kernel.to_string(), "expected an odd kernel");
                }
                if c.channels.contains(&0) || c.hidden == 0 || c.classes == 0 || c.in_channels == 0
                {
                    return bad("cnn widths", format!("{c:?}"), "widths must be positive");
                }
            }
            Arch::Squeezenet(c) => {
                if c.final_side().is_none() {
                    return bad(
                        "squeezenet.side",
                        c.side.to_string(),
                        "too small for conv1 and three 3x3 pools (at least 35)",
                    );
                }
                if c.classes == 0 {
                    return bad("squeezenet.classes", "0".into(), "expected at least 1");
                }
            }
            Arch::EfficientnetLite0(c) => {
                if c.side < 32 {
                    return bad(
                        "efficientnet.side",
                        c.side.to_string(),
                        "expected at least 32 (five stride-2 stages)",
                    );
                }
                if c.classes == 0 {
                    return bad("efficientnet.classes", "0".into(), "expected at least 1");
                }
            }
            Arch::Resnet(c) => {
                if let Some(why) = c.problem() {
                    return bad("resnet", format!("{c:?}"), &why);
                }
            }
            Arch::CnnSmall(c) => {
                if c.final_side() == 0 {
                    return bad(
                        "cnn-small.side",
                        c.side.to_string(),
                        "expected at least 8 (three 2x2 pools)",
                    );
                }
                if c.classes == 0 {
                    return bad("cnn-small.classes", "0".into(), "expected at least 1");
                }
            }
        }
        Ok(())
    }

    /// What the network takes and returns. Inputs are expected in [0, 1]
    /// (the ImageNet models and the small MNIST CNN apply their own
    /// normalisation first).
    pub fn spec(&self) -> InputSpec {
        let (item_shape, classes) = match self {
            Arch::Lenet5(c) => (vec![c.in_channels, c.side, c.side], c.classes),
            Arch::Mlp(c) => (c.input_shape.clone(), c.classes),
            Arch::Cnn(c) => (vec![c.in_channels, c.side, c.side], c.classes),
            Arch::Squeezenet(c) => (vec![3, c.side, c.side], c.classes),
            Arch::EfficientnetLite0(c) => (vec![3, c.side, c.side], c.classes),
            Arch::Resnet(c) => (vec![c.in_channels, c.side, c.side], c.classes),
            Arch::CnnSmall(c) => (vec![1, c.side, c.side], c.classes),
        };
        InputSpec {
            item_shape,
            classes,
            range: (0.0, 1.0),
        }
    }

    /// Builds the network from `vb`.
    pub fn build(&self, vb: VarBuilder) -> candle_core::Result<BoxedModule> {
        Ok(match self {
            Arch::Lenet5(c) => Box::new(lenet5::LeNet5::new(c, vb)?),
            Arch::Mlp(c) => Box::new(mlp::Mlp::new(c, vb)?),
            Arch::Cnn(c) => Box::new(cnn::Cnn::new(c, vb)?),
            Arch::Squeezenet(c) => Box::new(squeezenet::SqueezeNet::new(c, vb)?),
            Arch::EfficientnetLite0(c) => {
                Box::new(efficientnet_lite::EfficientNetLite::new(c, vb)?)
            }
            Arch::Resnet(c) => Box::new(resnet::ResNet::new(c, vb)?),
            Arch::CnnSmall(c) => Box::new(cnn_small::CnnSmall::new(c, vb)?),
        })
    }

    /// Parameter names and shapes, sorted by name.
    pub fn parameter_shapes(&self) -> Result<Vec<(String, Vec<usize>)>> {
        super::weights::expected_shapes(|vb| self.build(vb).map(|_| ()))
    }

    /// The JSON stored in safetensors metadata.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("architectures serialise")
    }
}

/// The largest width, side, kernel or class count any architecture may
/// have (2^20): far beyond real networks, and small enough that products
/// of a few of them cannot overflow.
pub const MAX_SIZE: u64 = 1 << 20;

/// The largest whole number in `value` and where it is (`prefix.path`).
fn largest_size(prefix: &str, value: &serde_json::Value) -> Option<(String, u64)> {
    match value {
        serde_json::Value::Number(n) => n.as_u64().map(|v| (prefix.to_string(), v)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| largest_size(&format!("{prefix}[{i}]"), v))
            .max_by_key(|(_, v)| *v),
        serde_json::Value::Object(fields) => fields
            .iter()
            .filter_map(|(k, v)| largest_size(&format!("{prefix}.{k}"), v))
            .max_by_key(|(_, v)| *v),
        _ => None,
    }
}
