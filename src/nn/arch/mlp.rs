//! A multi-layer perceptron on flattened inputs: `fc0 … fc{k}` with an
//! activation between layers and none after the last.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::nn::ops::Linear;
use serde::{Deserialize, Serialize};

/// Activation between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// tanh.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// GELU (erf form).
    Gelu,
}

impl Activation {
    fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => candle_nn::ops::sigmoid(x),
            Activation::Gelu => x.gelu_erf(),
        }
    }
}

/// Shape of the MLP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Shape of one input, e.g. `[1, 28, 28]`; flattened before `fc0`.
    pub input_shape: Vec<usize>,
    /// Widths of the hidden layers.
    pub widths: Vec<usize>,
    /// Activation after each hidden layer.
    pub activation: Activation,
    /// Number of classes: the width of the last layer, the logits.
    pub classes: usize,
}

impl Default for Config {
    /// 784-256-256-10 with ReLU.
    fn default() -> Self {
        Config {
            input_shape: vec![1, 28, 28],
            widths: vec![256, 256],
            activation: Activation::Relu,
            classes: 10,
        }
    }
}

/// The MLP built from a [`Config`]: a module from inputs (flattened) to logits.
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
}

impl Mlp {
    /// Builds the network; layer `i` is named `fc{i}`.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let mut dims = vec![cfg.input_shape.iter().product::<usize>()];
        dims.extend_from_slice(&cfg.widths);
        dims.push(cfg.classes);
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::new(w[0], w[1], vb.pp(format!("fc{i}"))))
            .collect::<Result<_>>()?;
        Ok(Mlp {
            layers,
            activation: cfg.activation,
        })
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.flatten_from(1)?;
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i < last {
                h = self.activation.apply(&h)?;
            }
        }
        Ok(h)
    }
}
