//! LeNet5 in the layout of advertorch's `LeNet5` (advertorch 0.2.3,
//! `advertorch/test_utils.py`, LGPL-3.0), the architecture of the bundled
//! models `lenet5-mnist` and `lenet5-mnist-adv`:
//!
//! conv1 1→32 3×3 pad 1, ReLU, max-pool 2; conv2 32→64 3×3 pad 1, ReLU,
//! max-pool 2; flatten in (c, h, w) order as PyTorch's `view(n, -1)`;
//! linear1 3136→200, ReLU; linear2 200→10. Inputs 1×28×28 in [0, 1], no
//! normalisation.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::nn::ops::{max_pool2d_relu, Conv2d, Linear};
use serde::{Deserialize, Serialize};

/// Widths of LeNet5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Channels of each input image (1 for MNIST).
    pub in_channels: usize,
    /// Input side (square images; must be divisible by 4).
    pub side: usize,
    /// Output channels of conv1.
    pub conv1: usize,
    /// Output channels of conv2.
    pub conv2: usize,
    /// Width of linear1.
    pub hidden: usize,
    /// Number of classes: the width of `linear2`, the logits.
    pub classes: usize,
}

impl Default for Config {
    /// advertorch's MNIST LeNet5.
    fn default() -> Self {
        Config {
            in_channels: 1,
            side: 28,
            conv1: 32,
            conv2: 64,
            hidden: 200,
            classes: 10,
        }
    }
}

/// LeNet5 built from a [`Config`]: a module from images to logits.
#[derive(Debug, Clone)]
pub struct LeNet5 {
    conv1: Conv2d,
    conv2: Conv2d,
    linear1: Linear,
    linear2: Linear,
}

impl LeNet5 {
    /// Builds the network; parameters are named `conv1.weight`, …, `linear2.bias`.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let flat = cfg.conv2 * (cfg.side / 4) * (cfg.side / 4);
        Ok(LeNet5 {
            conv1: Conv2d::new(cfg.in_channels, cfg.conv1, 3, 1, vb.pp("conv1"))?,
            conv2: Conv2d::new(cfg.conv1, cfg.conv2, 3, 1, vb.pp("conv2"))?,
            linear1: Linear::new(flat, cfg.hidden, vb.pp("linear1"))?,
            linear2: Linear::new(cfg.hidden, cfg.classes, vb.pp("linear2"))?,
        })
    }
}

impl Module for LeNet5 {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // ReLU then max-pool, fused (see `max_pool2d_relu`).
        let h = max_pool2d_relu(&self.conv1.forward(x)?, 2)?;
        let h = max_pool2d_relu(&self.conv2.forward(&h)?, 2)?;
        let h = h.flatten_from(1)?;
        let h = self.linear1.forward(&h)?.relu()?;
        self.linear2.forward(&h)
    }
}
