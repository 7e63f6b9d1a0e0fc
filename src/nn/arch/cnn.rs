//! A small convolutional network: stages of (conv k×k, padding k/2, ReLU,
//! max-pool 2), then `fc1` (ReLU) and `fc2`. The default widths (32, 64;
//! 3×3; 128) give about 0.42 M parameters; with `channels = [32, 64]`,
//! `kernel = 3` and `hidden = 200` it is LeNet5.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::nn::ops::{max_pool2d_relu, Conv2d, Linear};
use serde::{Deserialize, Serialize};

/// Shape of the CNN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Channels of each input image (1 for MNIST).
    pub in_channels: usize,
    /// Input side (square; divisible by 2^stages).
    pub side: usize,
    /// Output channels of each stage (`conv1`, `conv2`, …).
    pub channels: Vec<usize>,
    /// Kernel side (odd).
    pub kernel: usize,
    /// Width of `fc1`.
    pub hidden: usize,
    /// Number of classes: the width of `fc2`, the logits.
    pub classes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            in_channels: 1,
            side: 28,
            channels: vec![32, 64],
            kernel: 3,
            hidden: 128,
            classes: 10,
        }
    }
}

/// The CNN built from a [`Config`]: a module from images to logits.
#[derive(Debug, Clone)]
pub struct Cnn {
    convs: Vec<Conv2d>,
    fc1: Linear,
    fc2: Linear,
}

impl Cnn {
    /// Builds the network; stage `i` (from 1) is named `conv{i}`.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let pad = cfg.kernel / 2;
        let mut convs = Vec::new();
        let mut cin = cfg.in_channels;
        for (i, &cout) in cfg.channels.iter().enumerate() {
            convs.push(Conv2d::new(
                cin,
                cout,
                cfg.kernel,
                pad,
                vb.pp(format!("conv{}", i + 1)),
            )?);
            cin = cout;
        }
        let side = cfg.side >> cfg.channels.len();
        Ok(Cnn {
            convs,
            fc1: Linear::new(cin * side * side, cfg.hidden, vb.pp("fc1"))?,
            fc2: Linear::new(cfg.hidden, cfg.classes, vb.pp("fc2"))?,
        })
    }
}

impl Module for Cnn {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for c in &self.convs {
            // ReLU then max-pool, fused (see `max_pool2d_relu`).
            h = max_pool2d_relu(&c.forward(&h)?, 2)?;
        }
        let h = self.fc1.forward(&h.flatten_from(1)?)?.relu()?;
        self.fc2.forward(&h)
    }
}
