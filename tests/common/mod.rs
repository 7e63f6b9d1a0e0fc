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

/// Checks the analytic input gradient `g` (flat, `n` values per input) of
/// the f64 network `model` at the batch `xv` (shape `shape`) against central
/// differences with step `h`: along 4 fixed pseudo-random directions and for
/// the `pixels` largest |g| of each input, within `1e-6 + 1e-4·|g|`.
/// `label` names the model in failure messages.
#[allow(clippy::too_many_arguments)]
pub fn check_central_differences(
    model: &Network,
    xv: &[f64],
    shape: &[usize],
    targets: &[u32],
    g: &[f64],
    h: f64,
    pixels: usize,
    label: &str,
) {
    let items = shape[0];
    let n = xv.len() / items;
    let close = |fd: f64, an: f64| (fd - an).abs() <= 1e-6 + 1e-4 * an.abs();
    for dir in 0..4u64 {
        let v = direction(dir, xv.len());
        let plus: Vec<f64> = xv.iter().zip(&v).map(|(a, b)| a + h * b).collect();
        let minus: Vec<f64> = xv.iter().zip(&v).map(|(a, b)| a - h * b).collect();
        let lp = loss64(model, &plus, shape, targets);
        let lm = loss64(model, &minus, shape, targets);
        for s in 0..items {
            let fd = (lp[s] - lm[s]) / (2.0 * h);
            let an: f64 = (0..n).map(|k| g[s * n + k] * v[s * n + k]).sum();
            assert!(
                close(fd, an),
                "{label} item {s} dir {dir}: finite difference {fd} vs gradient {an}"
            );
        }
    }
    for s in 0..items {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| g[s * n + b].abs().total_cmp(&g[s * n + a].abs()));
        for &k in &order[..pixels] {
            let (mut plus, mut minus) = (xv.to_vec(), xv.to_vec());
            plus[s * n + k] += h;
            minus[s * n + k] -= h;
            let fd = (loss64(model, &plus, shape, targets)[s]
                - loss64(model, &minus, shape, targets)[s])
                / (2.0 * h);
            let an = g[s * n + k];
            assert!(close(fd, an), "{label} item {s} pixel {k}: fd {fd} vs {an}");
        }
    }
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
