//! Helpers shared by the network tests: f64 losses and the fixed
//! pseudo-random directions of the finite-difference gradient checks.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use candle_core::{Device, Tensor};
use ismc::nn::{Classifier, Network};

/// Per-input cross-entropy of the f64 batch `x` (shape `shape`) against
/// `targets`, computed in f64 by the network's own forward pass.
pub fn loss64(model: &Network, x: &[f64], shape: &[usize], targets: &[u32]) -> Vec<f64> {
    let t = Tensor::from_slice(x, shape, &Device::Cpu).unwrap();
    ismc::nn::cross_entropy(&model.logits(&t).unwrap(), targets)
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Direction number `dir` for a directional derivative: `len` values
/// uniform in [−0.5, 0.5), fixed by `dir` (a hash of the index, no RNG
/// state), so every run probes the same directions.
pub fn direction(dir: u64, len: usize) -> Vec<f64> {
    (0..len)
        .map(|k| {
            (ismc::rng::mix64(dir * 1_000_003 + k as u64) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}
