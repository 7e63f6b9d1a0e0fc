//! ResNet with BasicBlocks (He, Zhang, Ren & Sun 2016, "Deep Residual
//! Learning for Image Recognition", arXiv:1512.03385), frozen, in two shapes
//! from one [`Config`]:
//!
//! * **ImageNet-shaped** ([`Config::imagenet`]): torchvision's `resnet18`
//!   (`torchvision/models/resnet.py`, BSD-3-Clause): `conv1` 7×7/2 pad 3,
//!   `bn1`, ReLU, max-pool 3×3/2 pad 1, then `layer1 … layer4`, global
//!   average pool, `fc`. Tensor names and shapes are exactly torchvision's,
//!   so its state dict loads as it is (`num_batches_tracked` is ignored);
//!   11,689,512 learned parameters for 1000 classes, plus 9,600 BatchNorm
//!   running statistics.
//! * **CIFAR-shaped** ([`Config::cifar`]): the common CIFAR-10 variant of
//!   ResNet-18, as in kuangliu/pytorch-cifar `models/resnet.py` (MIT;
//!   commit 6e59390): `conv1` 3×3/1 pad 1 and no max-pool, so `layer1` sees
//!   the full 32×32 image; the rest is the same network (its final 4×4
//!   average pool is the global average at 32×32). Tensor names follow
//!   torchvision here too (`downsample` and `fc` where kuangliu writes
//!   `shortcut` and `linear`). 11,173,962 learned parameters for 10 classes.
//!
//! Each stage `layerL` (L = 1…4, widths 64/128/256/512) holds BasicBlocks
//! `layerL.B` (2 each for ResNet-18, `[3, 4, 6, 3]` for ResNet-34):
//!
//! ```text
//! out = relu(bn1(conv1(x)))          conv1 3×3, stride 2 in the first block
//! out = bn2(conv2(out))              of layers 2–4, else 1; conv2 3×3/1
//! out = relu(out + downsample(x))    downsample = 1×1/2 conv + BatchNorm
//! ```
//!
//! where the stride or width changes (`layerL.0.downsample.0` conv,
//! `.downsample.1` BatchNorm), else the identity. Convolutions have no bias.
//!
//! BatchNorm is in inference form with the running statistics
//! ([`super::batch_norm`]), folded into the preceding convolution when the
//! network is built; the network is therefore frozen: ismc does not train it.
//!
//! Inputs are images in [0, 1]. The CIFAR variant uses them as they are (no
//! normalisation; none is needed for untrained networks, and there is no
//! trained CIFAR model to match). The ImageNet variant applies torchvision's
//! normalisation `(x − mean) / std` (mean 0.485, 0.456, 0.406; std 0.229,
//! 0.224, 0.225) as its first, differentiable step, so that torchvision's
//! trained weights see the inputs they were trained on.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::batch_norm::BatchNorm2d;
use crate::nn::ops::{conv2d_bias_strided, max_pool2d_strided, Linear};

/// The layers before `layer1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stem {
    /// `conv1` 3×3/1 pad 1, `bn1`, ReLU (the CIFAR variant).
    Cifar,
    /// `conv1` 7×7/2 pad 3, `bn1`, ReLU, max-pool 3×3/2 pad 1 (torchvision).
    Imagenet,
}

/// Preprocessing of the [0, 1] inputs, the network's first step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputNorm {
    /// Inputs as they are.
    None,
    /// torchvision's ImageNet normalisation of RGB inputs,
    /// `(x − [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]`.
    Imagenet,
}

/// torchvision's ImageNet channel means (RGB).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// torchvision's ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Shape of the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Channels of each input image (3 for RGB).
    pub in_channels: usize,
    /// Input side (square images).
    pub side: usize,
    /// The layers before `layer1`.
    pub stem: Stem,
    /// Output channels of each stage `layer1 …` (`conv1` has the first).
    pub widths: Vec<usize>,
    /// BasicBlocks per stage: `[2, 2, 2, 2]` is ResNet-18.
    pub blocks: Vec<usize>,
    /// Number of classes (width of `fc`).
    pub classes: usize,
    /// Preprocessing of the inputs.
    pub input_norm: InputNorm,
}

/// Stage widths of ResNet-18 and ResNet-34.
pub const WIDTHS: [usize; 4] = [64, 128, 256, 512];
/// Blocks per stage of ResNet-18.
pub const RESNET18_BLOCKS: [usize; 4] = [2, 2, 2, 2];
/// Blocks per stage of ResNet-34.
pub const RESNET34_BLOCKS: [usize; 4] = [3, 4, 6, 3];

impl Config {
    /// The CIFAR-shaped ResNet-18: 3×32×32 inputs, `classes` classes.
    pub fn cifar(classes: usize) -> Self {
        Config {
            in_channels: 3,
            side: 32,
            stem: Stem::Cifar,
            widths: WIDTHS.to_vec(),
            blocks: RESNET18_BLOCKS.to_vec(),
            classes,
            input_norm: InputNorm::None,
        }
    }

    /// torchvision's ResNet-18: 3×224×224 inputs, `classes` classes (1000
    /// for its ImageNet weights), ImageNet normalisation.
    pub fn imagenet(classes: usize) -> Self {
        Config {
            in_channels: 3,
            side: 224,
            stem: Stem::Imagenet,
            widths: WIDTHS.to_vec(),
            blocks: RESNET18_BLOCKS.to_vec(),
            classes,
            input_norm: InputNorm::Imagenet,
        }
    }

    /// Checks the configuration; the reason of the first problem found.
    pub fn problem(&self) -> Option<String> {
        if self.in_channels == 0 || self.side == 0 || self.classes == 0 {
            return Some("channels, side and classes must be positive".into());
        }
        if self.widths.is_empty() || self.widths.len() != self.blocks.len() {
            return Some("expected as many widths as stages of blocks, at least one".into());
        }
        if self.widths.contains(&0) || self.blocks.contains(&0) {
            return Some("widths and block counts must be positive".into());
        }
        if self.input_norm == InputNorm::Imagenet && self.in_channels != 3 {
            return Some("ImageNet normalisation needs 3 (RGB) input channels".into());
        }
        None
    }
}

/// A bias-free convolution followed by a BatchNorm, folded into one
/// convolution with bias (see [`BatchNorm2d::fold_into`]).
#[derive(Debug, Clone)]
struct ConvBn {
    weight: Tensor,
    bias: Tensor,
    stride: usize,
    padding: usize,
}

impl ConvBn {
    /// The convolution `conv` (`[cout, cin, k, k]`, no bias) and the
    /// BatchNorm `bn` after it.
    #[allow(clippy::too_many_arguments)]
    fn new(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: usize,
        conv: VarBuilder,
        bn: VarBuilder,
    ) -> Result<Self> {
        let bound = 1.0 / ((cin * k * k) as f64).sqrt();
        let init = candle_nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let w = conv.get_with_hints((cout, cin, k, k), "weight", init)?;
        let (weight, bias) = BatchNorm2d::new(cout, bn)?.fold_into(&w)?;
        Ok(ConvBn {
            weight,
            bias,
            stride,
            padding,
        })
    }
}

impl Module for ConvBn {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        conv2d_bias_strided(x, &self.weight, &self.bias, self.padding, self.stride)
    }
}

/// A BasicBlock: two 3×3 convolutions and a shortcut.
#[derive(Debug, Clone)]
struct BasicBlock {
    conv1: ConvBn,
    conv2: ConvBn,
    downsample: Option<ConvBn>,
}

impl BasicBlock {
    fn new(cin: usize, cout: usize, stride: usize, vb: VarBuilder) -> Result<Self> {
        let downsample = if stride != 1 || cin != cout {
            let d = vb.pp("downsample");
            Some(ConvBn::new(cin, cout, 1, stride, 0, d.pp("0"), d.pp("1"))?)
        } else {
            None
        };
        Ok(BasicBlock {
            conv1: ConvBn::new(cin, cout, 3, stride, 1, vb.pp("conv1"), vb.pp("bn1"))?,
            conv2: ConvBn::new(cout, cout, 3, 1, 1, vb.pp("conv2"), vb.pp("bn2"))?,
            downsample,
        })
    }
}

impl Module for BasicBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.conv1.forward(x)?.relu()?;
        let h = self.conv2.forward(&h)?;
        let shortcut = match &self.downsample {
            Some(d) => d.forward(x)?,
            None => x.clone(),
        };
        (h + shortcut)?.relu()
    }
}

/// The ResNet built from a [`Config`]: a module from images to logits.
#[derive(Debug, Clone)]
pub struct ResNet {
    /// `(mean, std)` as `[1, c, 1, 1]`, when the inputs are normalised.
    norm: Option<(Tensor, Tensor)>,
    stem: Stem,
    conv1: ConvBn,
    blocks: Vec<BasicBlock>,
    fc: Linear,
}

impl ResNet {
    /// Builds the network; tensors are named as in torchvision (`conv1`,
    /// `bn1`, `layer1.0.conv1`, …, `layer2.0.downsample.0`, `fc`).
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        if let Some(p) = cfg.problem() {
            candle_core::bail!("resnet: {p}");
        }
        let w0 = cfg.widths[0];
        let conv1 = match cfg.stem {
            Stem::Cifar => ConvBn::new(cfg.in_channels, w0, 3, 1, 1, vb.pp("conv1"), vb.pp("bn1")),
            Stem::Imagenet => {
                ConvBn::new(cfg.in_channels, w0, 7, 2, 3, vb.pp("conv1"), vb.pp("bn1"))
            }
        }?;
        let mut blocks = Vec::new();
        let mut cin = w0;
        for (stage, (&width, &count)) in cfg.widths.iter().zip(&cfg.blocks).enumerate() {
            let layer = vb.pp(format!("layer{}", stage + 1));
            for b in 0..count {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(
                    cin,
                    width,
                    stride,
                    layer.pp(b.to_string()),
                )?);
                cin = width;
            }
        }
        let norm = match cfg.input_norm {
            InputNorm::None => None,
            InputNorm::Imagenet => {
                let t = |v: [f32; 3]| {
                    Tensor::new(&v, vb.device())?
                        .to_dtype(vb.dtype())?
                        .reshape((1, 3, 1, 1))
                };
                Some((t(IMAGENET_MEAN)?, t(IMAGENET_STD)?))
            }
        };
        Ok(ResNet {
            norm,
            stem: cfg.stem,
            conv1,
            blocks,
            fc: Linear::new(cin, cfg.classes, vb.pp("fc"))?,
        })
    }
}

impl Module for ResNet {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = match &self.norm {
            Some((mean, std)) => x.broadcast_sub(mean)?.broadcast_div(std)?,
            None => x.clone(),
        };
        let mut h = self.conv1.forward(&x)?.relu()?;
        if self.stem == Stem::Imagenet {
            h = max_pool2d_strided(&h, 3, 2, 1)?;
        }
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        // Global average pool: torchvision's AdaptiveAvgPool2d((1, 1)).
        let h = h.mean((2, 3))?;
        self.fc.forward(&h)
    }
}
