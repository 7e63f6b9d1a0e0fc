//! The small MNIST CNN of PyPI `digit-recognizer-py==0.1.0` (Shivam Gupta,
//! MIT; `digit_recognizer/model.py`, class `CNN`), the architecture of the
//! fetched model `mnist-cnn-small`, whose weights are the package's
//! `digit_recognizer/models/handwriting_model.pth` (a zip-format PyTorch
//! state dict).
//!
//! Layers, exactly as the package's `nn.Sequential`s (no dropout, no
//! BatchNorm):
//!
//! 1. normalisation, `(x − 0.1307) / 0.3081` — the package's
//!    `transforms.Normalize((0.1307,), (0.3081,))` after `ToTensor`, applied
//!    here inside the network so that inputs stay in [0, 1] and input
//!    gradients are with respect to the [0, 1] image;
//! 2. `conv_layers.0` 1→32 3×3 pad 1, ReLU, max-pool 2 (28 → 14);
//! 3. `conv_layers.3` 32→64 3×3 pad 1, ReLU, max-pool 2 (14 → 7);
//! 4. `conv_layers.6` 64→128 3×3 pad 1, ReLU, max-pool 2 (7 → 3: PyTorch's
//!    floor mode drops the last row and column);
//! 5. flatten in (c, h, w) order, as `x.view(x.size(0), -1)`: 1152 values;
//! 6. `fc_layers.0` 1152→256, ReLU; `fc_layers.2` 256→10.
//!
//! Parameters keep the state dict's names (`conv_layers.0.weight`
//! `[32, 1, 3, 3]`, …, `fc_layers.2.bias` `[10]`; the index is the layer's
//! position in its `Sequential`), so the checkpoint loads without renaming.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::nn::ops::{max_pool2d_relu, Conv2d, Linear};
use crate::nn::preprocess::ChannelAffine;

/// The package's MNIST mean, `transforms.Normalize((0.1307,), …)`.
pub const MNIST_MEAN: f64 = 0.1307;
/// The package's MNIST standard deviation, `transforms.Normalize(…, (0.3081,))`.
pub const MNIST_STD: f64 = 0.3081;

/// Positions of the convolutions in `conv_layers` (each followed by ReLU
/// and max-pool, so they sit three apart) and of the linear layers in
/// `fc_layers` (ReLU between them).
const CONV_INDEX: [usize; 3] = [0, 3, 6];
const FC_INDEX: [usize; 2] = [0, 2];

/// Shape of the network: input side and classes (the widths 32/64/128 and
/// 256 are the package's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Input side (28 for the released weights; at least 8 so that the
    /// third pool keeps one cell).
    pub side: usize,
    /// Number of classes: the width of the last linear layer, the logits (10 for the
    /// released weights).
    pub classes: usize,
}

impl Default for Config {
    /// The package's network: 1×28×28 digits, 10 classes.
    fn default() -> Self {
        Config {
            side: 28,
            classes: 10,
        }
    }
}

impl Config {
    /// Output channels of the three convolutions.
    pub const CHANNELS: [usize; 3] = [32, 64, 128];
    /// Width of `fc_layers.0`.
    pub const HIDDEN: usize = 256;

    /// Side of the last feature map: three floor-mode halvings (28 → 3).
    pub fn final_side(&self) -> usize {
        self.side / 8
    }
}

/// The small MNIST CNN built from a [`Config`]: a module from images to logits.
#[derive(Debug, Clone)]
pub struct CnnSmall {
    preprocess: ChannelAffine,
    convs: Vec<Conv2d>,
    fc1: Linear,
    fc2: Linear,
}

impl CnnSmall {
    /// Builds the network with the state dict's parameter names.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let conv_vb = vb.pp("conv_layers");
        let mut convs = Vec::new();
        let mut cin = 1;
        for (&cout, idx) in Config::CHANNELS.iter().zip(CONV_INDEX) {
            convs.push(Conv2d::new(cin, cout, 3, 1, conv_vb.pp(idx.to_string()))?);
            cin = cout;
        }
        let flat = cin * cfg.final_side() * cfg.final_side();
        let fc_vb = vb.pp("fc_layers");
        Ok(CnnSmall {
            preprocess: ChannelAffine::normalize(
                &[MNIST_MEAN],
                &[MNIST_STD],
                vb.dtype(),
                vb.device(),
            )?,
            convs,
            fc1: Linear::new(flat, Config::HIDDEN, fc_vb.pp(FC_INDEX[0].to_string()))?,
            fc2: Linear::new(
                Config::HIDDEN,
                cfg.classes,
                fc_vb.pp(FC_INDEX[1].to_string()),
            )?,
        })
    }
}

impl Module for CnnSmall {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = self.preprocess.forward(x)?;
        for c in &self.convs {
            // ReLU then max-pool 2 (floor mode), fused (see `max_pool2d_relu`).
            h = max_pool2d_relu(&c.forward(&h)?, 2)?;
        }
        let h = self.fc1.forward(&h.flatten_from(1)?)?.relu()?;
        self.fc2.forward(&h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::Arch;

    #[test]
    fn parameters_have_the_state_dict_names_and_shapes() {
        let shapes = Arch::CnnSmall(Config::default())
            .parameter_shapes()
            .unwrap();
        let want: Vec<(String, Vec<usize>)> = [
            ("conv_layers.0.bias", vec![32]),
            ("conv_layers.0.weight", vec![32, 1, 3, 3]),
            ("conv_layers.3.bias", vec![64]),
            ("conv_layers.3.weight", vec![64, 32, 3, 3]),
            ("conv_layers.6.bias", vec![128]),
            ("conv_layers.6.weight", vec![128, 64, 3, 3]),
            ("fc_layers.0.bias", vec![256]),
            ("fc_layers.0.weight", vec![256, 1152]),
            ("fc_layers.2.bias", vec![10]),
            ("fc_layers.2.weight", vec![10, 256]),
        ]
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
        assert_eq!(shapes, want);
    }

    /// With every weight zero and `fc_layers.2.bias = 0..9`, the logits
    /// are that bias for any input: the network runs through the odd
    /// 7 → 3 pooling and `fc_layers.0` has the flatten width it gets.
    #[test]
    fn odd_feature_maps_pool_in_floor_mode_to_the_fc_width() {
        use candle_core::{DType, Device};
        let cfg = Config::default();
        assert_eq!(cfg.final_side(), 3);
        let arch = Arch::CnnSmall(cfg);
        let tensors: Vec<(String, Tensor)> = arch
            .parameter_shapes()
            .unwrap()
            .into_iter()
            .map(|(n, s)| {
                let t = if n == "fc_layers.2.bias" {
                    Tensor::arange(0f32, 10.0, &Device::Cpu).unwrap()
                } else {
                    Tensor::zeros(s, DType::F32, &Device::Cpu).unwrap()
                };
                (n, t)
            })
            .collect();
        let net = crate::nn::Network::from_tensors(arch, tensors).unwrap();
        let x = Tensor::ones((2, 1, 28, 28), DType::F32, &Device::Cpu).unwrap();
        use crate::nn::Classifier;
        let l: Vec<Vec<f32>> = net.logits(&x).unwrap().to_vec2().unwrap();
        let want: Vec<f32> = (0..10).map(|v| v as f32).collect();
        assert_eq!(l, vec![want.clone(), want]);
    }
}
