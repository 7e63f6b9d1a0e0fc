//! The bundled advertorch LeNet5 models: accuracy on the bundled digits,
//! logits against an independent numpy forward pass, input gradients against
//! central finite differences.

mod common;

use candle_core::{DType, Device, Tensor};
use ismc::nn::arch::{lenet5, Arch};
use ismc::nn::weights::read_any;
use ismc::nn::{zoo, Classifier, Network};

/// Acceptance thresholds of issue 3 on the 10,000 bundled digits.
const CLEAN_MIN_ACCURACY: f64 = 0.985;
const ADV_MIN_ACCURACY: f64 = 0.980;
/// Largest allowed |logit − reference|.
const LOGIT_TOL: f64 = 1e-4;

#[test]
fn bundled_models_reach_acceptance_accuracy() {
    let data = ismc::data::load("mnist").unwrap();
    assert_eq!(data.len(), 10_000);
    for (name, min) in [
        ("lenet5-mnist", CLEAN_MIN_ACCURACY),
        ("lenet5-mnist-adv", ADV_MIN_ACCURACY),
    ] {
        let model = zoo::load_named(name).unwrap();
        let r = ismc::nn::eval::evaluate(&model, &data, 1000, &ismc::progress::NoProgress).unwrap();
        assert_eq!(r.n, 10_000);
        assert!(r.accuracy >= min, "{name}: accuracy {} < {min}", r.accuracy);
        assert!(
            r.mean_loss.is_finite() && r.mean_loss < 0.1,
            "{name}: mean loss {}",
            r.mean_loss
        );
    }
}

#[derive(serde::Deserialize)]
struct Reference {
    indices: Vec<usize>,
    labels: Vec<u8>,
    logits: std::collections::HashMap<String, Vec<Vec<f64>>>,
}

#[test]
fn logits_match_independent_numpy_forward_pass() {
    let path = ismc::assets::bundled_dir().join("fixtures/lenet5_reference_logits.json");
    let reference: Reference = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let data = ismc::data::load("mnist").unwrap();
    for (i, &idx) in reference.indices.iter().enumerate() {
        assert_eq!(
            data.labels()[idx],
            reference.labels[i],
            "label of item {idx}"
        );
    }
    let x = data.images(&reference.indices).unwrap();
    assert_eq!(reference.logits.len(), 2);
    for (name, want) in &reference.logits {
        let model = zoo::load_named(name).unwrap();
        let got: Vec<Vec<f32>> = model.logits(&x).unwrap().to_vec2().unwrap();
        let mut worst = 0f64;
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.len(), w.len());
            for (a, b) in g.iter().zip(w) {
                worst = worst.max((*a as f64 - b).abs());
            }
        }
        assert!(worst <= LOGIT_TOL, "{name}: max |logit diff| = {worst:e}");
    }
}

fn f64_model(name: &str) -> Network {
    let (tensors, _) = read_any(&zoo::path_of(name).unwrap()).unwrap();
    Network::from_tensors_with_dtype(Arch::Lenet5(lenet5::Config::default()), tensors, DType::F64)
        .unwrap()
}

/// Central differences in f64 (h = 1e-7, where neither rounding nor the
/// ReLU/max-pool kinks matter) against the autograd input gradient computed
/// by the same code in f64; then the f32 gradient against the f64 one.
#[test]
fn input_gradients_match_central_differences() {
    let data = ismc::data::load("mnist").unwrap();
    let idx = [3usize, 2222, 9000];
    // Wrong targets give large losses and large gradients.
    let targets: Vec<u32> = idx
        .iter()
        .map(|&i| (data.labels()[i] as u32 + 3) % 10)
        .collect();
    // Digits have large uniform backgrounds, which make exact ties inside the
    // max-pool windows: there the loss has kinks (one-sided derivatives
    // differ) and central differences measure no gradient. A little fixed
    // noise, exactly representable in f32, removes the ties.
    let clean: Vec<f32> = data
        .images(&idx)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let noisy: Vec<f32> = clean
        .iter()
        .enumerate()
        .map(|(k, &v)| v + (ismc::rng::mix64(k as u64 ^ 0xABCD) >> 45) as f32 / (1u32 << 24) as f32)
        .collect();
    let shape = vec![idx.len(), 1, 28, 28];
    let x32 = Tensor::from_slice(&noisy, shape.as_slice(), &Device::Cpu).unwrap();
    let xv: Vec<f64> = noisy.iter().map(|&v| v as f64).collect();
    let x64 = Tensor::from_slice(&xv, shape.as_slice(), &Device::Cpu).unwrap();
    let h = 1e-7;
    for name in ["lenet5-mnist", "lenet5-mnist-adv"] {
        let model = f64_model(name);
        let lg = model.loss_and_input_grad(&x64, &targets).unwrap();
        let g: Vec<f64> = lg.grad.flatten_all().unwrap().to_vec1().unwrap();
        // Directional derivatives and the 10 largest |g| of each input.
        common::check_central_differences(&model, &xv, &shape, &targets, &g, h, 10, name);
        // The f32 model gives the same gradient to f32 accuracy.
        let m32 = zoo::load_named(name).unwrap();
        let g32: Vec<f32> = m32
            .loss_and_input_grad(&x32, &targets)
            .unwrap()
            .grad
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let scale = g.iter().fold(0f64, |m, v| m.max(v.abs()));
        let worst = g32
            .iter()
            .zip(&g)
            .fold(0f64, |m, (a, b)| m.max((*a as f64 - b).abs()));
        assert!(
            worst <= 1e-4 * scale,
            "{name}: f32 vs f64 gradient differ by {worst} (scale {scale})"
        );
    }
}

#[test]
fn gradient_of_a_batch_equals_gradients_of_single_inputs() {
    let data = ismc::data::load("mnist").unwrap();
    let model = zoo::load_named("lenet5-mnist").unwrap();
    let idx = [10usize, 20, 30, 40];
    let targets = [1u32, 2, 3, 4];
    let batch = model
        .loss_and_input_grad(&data.images(&idx).unwrap(), &targets)
        .unwrap();
    let gb: Vec<f32> = batch.grad.flatten_all().unwrap().to_vec1().unwrap();
    for (j, (&i, &t)) in idx.iter().zip(&targets).enumerate() {
        let one = model
            .loss_and_input_grad(&data.images(&[i]).unwrap(), &[t])
            .unwrap();
        let g1: Vec<f32> = one.grad.flatten_all().unwrap().to_vec1().unwrap();
        let worst = g1
            .iter()
            .zip(&gb[j * 784..(j + 1) * 784])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-5, "input {j}: {worst}");
        assert!((one.loss[0] - batch.loss[j]).abs() < 1e-5);
    }
}

#[test]
fn flat_batched_loss_and_gradient_agree_with_tensor_calls() {
    let model = zoo::load_named("lenet5-mnist").unwrap();
    let data = ismc::data::load("mnist").unwrap();
    let idx: Vec<usize> = (0..7).map(|i| i * 101).collect();
    let targets: Vec<u32> = idx.iter().map(|&i| data.labels()[i] as u32).collect();
    let x = data.images(&idx).unwrap();
    let flat = data.values(&idx);
    let whole = model.loss_and_input_grad(&x, &targets).unwrap();
    let whole_grad: Vec<f32> = whole.grad.flatten_all().unwrap().to_vec1().unwrap();
    // Uneven batches (3 + 3 + 1) must give the same numbers as one call.
    let (loss, grad) = model.loss_grad_flat(&flat, &targets, 3).unwrap();
    let only_loss = model.loss_flat(&flat, &targets, 2).unwrap();
    for i in 0..idx.len() {
        assert!((loss[i] - whole.loss[i]).abs() <= 1e-5 * (1.0 + whole.loss[i].abs()));
        assert!((only_loss[i] - whole.loss[i]).abs() <= 1e-5 * (1.0 + whole.loss[i].abs()));
    }
    let scale = whole_grad.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (a, b) in grad.iter().zip(&whole_grad) {
        assert!((a - b).abs() <= 1e-5 * scale);
    }
    // A single shared target is repeated for every input.
    let shared = model.loss_flat(&flat, &[targets[0]], 4).unwrap();
    let explicit = model
        .loss_flat(&flat, &vec![targets[0]; idx.len()], 4)
        .unwrap();
    assert_eq!(shared, explicit);
    // A buffer that is not a whole number of inputs is refused.
    assert!(model.loss_flat(&flat[1..], &targets, 4).is_err());
}
