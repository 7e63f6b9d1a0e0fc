//! Helpers shared by the tests: f64 losses and the fixed pseudo-random
//! directions of the finite-difference gradient checks, and the files of a
//! run directory for byte-for-byte comparisons.

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

/// Every file of a run directory except `manifest.json` (which holds wall
/// times), relative path → bytes.
pub fn run_files(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(
        root: &std::path::Path,
        dir: &std::path::Path,
        out: &mut std::collections::BTreeMap<String, Vec<u8>>,
    ) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                if rel != "manifest.json" {
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
