//! ResNet-18: torchvision's names, shapes and parameter counts, seeded
//! untrained specs, input gradients against central finite differences, and
//! logits against an independent numpy forward pass
//! (`scripts/resnet18_reference_logits.py`).

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use ismc::nn::arch::resnet::{self, Stem};
use ismc::nn::arch::Arch;
use ismc::nn::init::Init;
use ismc::nn::weights::NamedTensors;
use ismc::nn::{zoo, Classifier, Network};
use rand::Rng;
use sha2::{Digest, Sha256};

/// torchvision's `resnet18()` (1000 classes): learned parameters, as
/// `sum(p.numel() for p in model.parameters())` reports them.
const TORCHVISION_RESNET18_PARAMS: usize = 11_689_512;
/// torchvision's `resnet34()`.
const TORCHVISION_RESNET34_PARAMS: usize = 21_797_672;
/// The CIFAR variant (10 classes): conv1 3·64·3·3 instead of 3·64·7·7
/// (−7,680) and fc 512·10 + 10 instead of 512·1000 + 1000 (−507,870).
const CIFAR_RESNET18_PARAMS: usize = 11_173_962;
/// Running mean and variance of the 20 BatchNorm layers of ResNet-18:
/// 2 · (64 + 4·64 + 5·128 + 5·256 + 5·512).
const RESNET18_RUNNING_STATS: usize = 9_600;

fn is_running_stat(name: &str) -> bool {
    name.ends_with(".running_mean") || name.ends_with(".running_var")
}

/// (learned parameters, running statistics, number of tensors).
fn counts(arch: &Arch) -> (usize, usize, usize) {
    let shapes = arch.parameter_shapes().unwrap();
    let size = |s: &Vec<usize>| s.iter().product::<usize>();
    let learned = shapes
        .iter()
        .filter(|(n, _)| !is_running_stat(n))
        .map(|(_, s)| size(s))
        .sum();
    let stats = shapes
        .iter()
        .filter(|(n, _)| is_running_stat(n))
        .map(|(_, s)| size(s))
        .sum();
    (learned, stats, shapes.len())
}

#[test]
fn shapes_and_parameter_counts_match_torchvision() {
    let imagenet = Arch::from_name("resnet18", &[3, 224, 224], 1000).unwrap();
    let Arch::Resnet(cfg) = &imagenet else {
        panic!("{imagenet:?}")
    };
    assert_eq!(cfg.stem, Stem::Imagenet);
    assert_eq!(cfg.input_norm, resnet::InputNorm::Imagenet);
    assert_eq!(imagenet.name(), "resnet18");
    // 20 convolutions, 20 BatchNorms of 4 tensors, fc weight and bias: the
    // 102 entries of torchvision's state dict besides its 20
    // `num_batches_tracked` counters.
    assert_eq!(
        counts(&imagenet),
        (TORCHVISION_RESNET18_PARAMS, RESNET18_RUNNING_STATS, 102)
    );
    let shapes: HashMap<String, Vec<usize>> =
        imagenet.parameter_shapes().unwrap().into_iter().collect();
    for (name, shape) in [
        ("conv1.weight", vec![64, 3, 7, 7]),
        ("bn1.running_var", vec![64]),
        ("layer1.0.conv1.weight", vec![64, 64, 3, 3]),
        ("layer1.1.bn2.bias", vec![64]),
        ("layer2.0.conv1.weight", vec![128, 64, 3, 3]),
        ("layer2.0.downsample.0.weight", vec![128, 64, 1, 1]),
        ("layer2.0.downsample.1.running_mean", vec![128]),
        ("layer3.1.conv2.weight", vec![256, 256, 3, 3]),
        ("layer4.0.downsample.0.weight", vec![512, 256, 1, 1]),
        ("layer4.1.bn2.weight", vec![512]),
        ("fc.weight", vec![1000, 512]),
        ("fc.bias", vec![1000]),
    ] {
        assert_eq!(shapes.get(name), Some(&shape), "{name}");
    }
    assert!(!shapes.contains_key("layer1.0.downsample.0.weight"));
    assert!(!shapes.keys().any(|k| k.ends_with("conv1.bias")));

    let cifar = Arch::from_name("resnet18", &[3, 32, 32], 10).unwrap();
    let Arch::Resnet(c) = &cifar else {
        panic!("{cifar:?}")
    };
    assert_eq!(
        (c.stem, c.input_norm),
        (Stem::Cifar, resnet::InputNorm::None)
    );
    assert_eq!(
        counts(&cifar),
        (CIFAR_RESNET18_PARAMS, RESNET18_RUNNING_STATS, 102)
    );
    let r34 = Arch::from_name("resnet34", &[3, 224, 224], 1000).unwrap();
    assert_eq!(counts(&r34).0, TORCHVISION_RESNET34_PARAMS);
    assert_eq!(r34.name(), "resnet34");
}

/// A state dict as torchvision saves it (with the int64
/// `num_batches_tracked` counters) loads, and gives `[n, 1000]` logits for
/// 224×224 inputs; a missing or misshapen tensor is a user error naming it.
#[test]
fn torchvision_state_dict_layout_loads() {
    let arch = Arch::from_name("resnet18", &[3, 224, 224], 1000).unwrap();
    let mut tensors = zoo::untrained_tensors(&arch, Init::Torchvision, 1).unwrap();
    let bns: Vec<String> = tensors
        .iter()
        .filter_map(|(n, _)| n.strip_suffix(".running_var").map(str::to_string))
        .collect();
    assert_eq!(bns.len(), 20);
    for bn in &bns {
        let count = Tensor::new(0i64, &Device::Cpu).unwrap();
        tensors.push((format!("{bn}.num_batches_tracked"), count));
    }
    let model = Network::from_tensors(arch.clone(), tensors.clone()).unwrap();
    let x = Tensor::full(0.5f32, (1, 3, 224, 224), &Device::Cpu).unwrap();
    let logits = model.logits(&x).unwrap();
    assert_eq!(logits.dims(), &[1, 1000]);
    let v: Vec<f32> = logits.flatten_all().unwrap().to_vec1().unwrap();
    assert!(v.iter().all(|x| x.is_finite()) && v.iter().any(|&x| x != v[0]));

    let without: NamedTensors = tensors
        .iter()
        .filter(|(n, _)| n != "layer3.0.downsample.1.running_var")
        .cloned()
        .collect();
    let e = Network::from_tensors(arch.clone(), without).unwrap_err();
    assert!(e.is_user_error() && e.to_string().contains("layer3.0.downsample.1.running_var"));
    let mut bad = tensors;
    for (n, t) in bad.iter_mut() {
        if n == "layer2.1.conv1.weight" {
            *t = Tensor::zeros((128, 128, 1, 1), DType::F32, &Device::Cpu).unwrap();
        }
    }
    let e = Network::from_tensors(arch, bad).unwrap_err();
    assert!(e.is_user_error() && e.to_string().contains("layer2.1.conv1.weight"));
}

fn cifar_batch(n: usize, seed: u64) -> Tensor {
    let mut rng = ismc::rng::unit_rng(seed, &[0xC1FA]);
    let v: Vec<f32> = (0..n * 3 * 32 * 32).map(|_| rng.random::<f32>()).collect();
    Tensor::from_vec(v, (n, 3, 32, 32), &Device::Cpu).unwrap()
}

#[test]
fn untrained_specs_are_seeded_and_shaped() {
    let shape = [3, 32, 32];
    let a = zoo::load_spec("untrained:resnet18:pytorch:1", &shape, 10).unwrap();
    let b = zoo::load_spec("untrained:resnet18:pytorch:1", &shape, 10).unwrap();
    let c = zoo::load_spec("untrained:resnet18:pytorch:2", &shape, 10).unwrap();
    let d = zoo::load_spec("untrained:resnet18:torchvision:1", &shape, 10).unwrap();
    assert_eq!(a.spec().item_shape, vec![3, 32, 32]);
    assert_eq!(a.spec().range, (0.0, 1.0));
    let x = cifar_batch(2, 1);
    let la: Vec<Vec<f32>> = a.logits(&x).unwrap().to_vec2().unwrap();
    assert_eq!(la, b.logits(&x).unwrap().to_vec2::<f32>().unwrap());
    assert_ne!(la, c.logits(&x).unwrap().to_vec2::<f32>().unwrap());
    assert_ne!(la, d.logits(&x).unwrap().to_vec2::<f32>().unwrap());
    // Same seed, same tensors, byte for byte.
    let arch = a.arch().clone();
    let t1 = zoo::untrained_tensors(&arch, Init::PytorchDefault, 1).unwrap();
    let t2 = zoo::untrained_tensors(&arch, Init::PytorchDefault, 1).unwrap();
    assert_eq!(digest(&t1), digest(&t2));
    // Frozen: no tensor is a tracked variable (the backward pass would
    // otherwise compute weight gradients too).
    assert!(t1.iter().all(|(_, t)| !t.track_op()));
    // Inputs of the wrong shape are user errors.
    let e = a.logits(&Tensor::zeros((1, 3, 28, 28), DType::F32, &Device::Cpu).unwrap());
    assert!(e.unwrap_err().is_user_error());
    // ResNet is frozen: training it is refused with a user error.
    let cfg = ismc::nn::train::TrainConfig::for_arch(arch, 1);
    let data = ismc::data::load("mnist").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = ismc::nn::train::train(&cfg, &data, &data, dir.path(), &ismc::progress::NoProgress)
        .unwrap_err();
    assert!(
        e.is_user_error() && e.to_string().contains("BatchNorm"),
        "{e}"
    );
}

fn loss64(model: &Network, x: &[f64], n: usize, targets: &[u32]) -> Vec<f64> {
    let mut shape = vec![n];
    shape.extend(&model.spec().item_shape);
    common::loss64(model, x, &shape, targets)
}

/// The input gradient of the CIFAR ResNet-18 (every kind of layer: strided
/// and 1×1 convolutions, folded BatchNorm, residual sums, global average
/// pool) against finite differences, in f64, then the f32 gradient against
/// the f64 one.
///
/// Error analysis, f64 with h = 1e-7. Between ReLU kinks the loss is the
/// softmax cross-entropy of logits affine in x, so the central difference's
/// truncation error h²/6 · |L'''| and the one-sided ones' h/2 · |L''| are
/// below 1e-12 here (|L''| along a probe ≲ 1e-2, measured). Rounding: the
/// perturbed and unperturbed inputs go through the same operations, and
/// the f64 loss moved by less than 1e-16 between them (measured: at h = 1e-8
/// the central difference still agreed to 4e-9), so rounding adds ≲ 1e-9.
/// Kinks: ResNet-18 has about 0.6 million ReLUs per input, and along a
/// random direction (norm ≈ 16) one of them crosses zero within 1e-6 of x
/// often enough that the central difference at h = 1e-6 was off by 8e-5
/// relative for one probe (measured). A crossing inside ±h spoils the
/// quotient on its side only, so a probe passes when the central or one of
/// the one-sided differences agrees: |fd − g| ≤ 1e-8 + 1e-6·|g|. A wrong
/// backward pass disagrees on every side.
///
/// f32: each layer's outputs are sums of ≤ 4,608 products, so one layer
/// perturbs relative values by about √4608 · 6e-8 ≈ 4e-6 (rounding errors
/// adding like a random walk); about 40 layers forward and back, adding
/// independently, give ≈ √40 · 4e-6 ≈ 3e-5 of the gradient's scale. The
/// bound is 1e-4 of the largest |g| (measured: 7e-7).
#[test]
fn input_gradients_match_central_differences() {
    let cifar = Arch::from_name("resnet18", &[3, 32, 32], 10).unwrap();
    input_gradients_match_finite_differences(&cifar);
}

/// The same for the ImageNet stem (normalisation, 7×7/2 conv, overlapping
/// 3×3/2 max-pool) on 64×64 inputs.
#[test]
fn imagenet_stem_input_gradients_match_central_differences() {
    let stem = Arch::Resnet(resnet::Config {
        side: 64,
        ..resnet::Config::imagenet(10)
    });
    input_gradients_match_finite_differences(&stem);
}

fn input_gradients_match_finite_differences(arch: &Arch) {
    let tensors = zoo::untrained_tensors(arch, Init::Torchvision, 4).unwrap();
    let m64 = Network::from_tensors_with_dtype(arch.clone(), tensors.clone(), DType::F64).unwrap();
    let m32 = Network::from_tensors(arch.clone(), tensors).unwrap();
    let n = 2;
    let shape = m32.spec().item_shape.clone();
    let len = m32.spec().item_len();
    let mut rng = ismc::rng::unit_rng(9, &[0xC1FA]);
    let v: Vec<f32> = (0..n * len).map(|_| rng.random::<f32>()).collect();
    let x32 = Tensor::from_vec(v, (n, shape[0], shape[1], shape[2]), &Device::Cpu).unwrap();
    let xv: Vec<f64> = x32
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .collect();
    let x64 = Tensor::from_slice(&xv, x32.shape(), &Device::Cpu).unwrap();
    let targets = [3u32, 8];
    let lg = m64.loss_and_input_grad(&x64, &targets).unwrap();
    let g: Vec<f64> = lg.grad.flatten_all().unwrap().to_vec1().unwrap();
    let scale = g.iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0);

    // Probes: per input, 2 pseudo-random directions and its 4 pixels of
    // largest |g|, all differenced in one batch of perturbed copies.
    let h = 1e-7;
    let mut probes: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut rng = ismc::rng::unit_rng(11, &[0xFD]);
    for s in 0..n {
        for _ in 0..2 {
            let v: Vec<f64> = (0..len).map(|_| rng.random_range(-0.5..0.5)).collect();
            probes.push((s, v));
        }
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_by(|&a, &b| g[s * len + b].abs().total_cmp(&g[s * len + a].abs()));
        for &k in &order[..4] {
            let mut v = vec![0.0; len];
            v[k] = 1.0;
            probes.push((s, v));
        }
    }
    let mut batch = Vec::with_capacity(2 * probes.len() * len);
    let mut batch_targets = Vec::new();
    for (s, v) in &probes {
        for sign in [1.0, -1.0] {
            let x = &xv[s * len..(s + 1) * len];
            batch.extend(x.iter().zip(v).map(|(a, b)| a + sign * h * b));
            batch_targets.push(targets[*s]);
        }
    }
    let losses = loss64(&m64, &batch, 2 * probes.len(), &batch_targets);
    let base = loss64(&m64, &xv, n, &targets);
    for (p, (s, v)) in probes.iter().enumerate() {
        let (plus, minus) = (losses[2 * p], losses[2 * p + 1]);
        let quotients = [
            (plus - minus) / (2.0 * h),
            (plus - base[*s]) / h,
            (base[*s] - minus) / h,
        ];
        let an: f64 = (0..len).map(|k| g[s * len + k] * v[k]).sum();
        let tol = 1e-8 + 1e-6 * an.abs();
        assert!(
            quotients.iter().any(|fd| (fd - an).abs() <= tol),
            "probe {p} (input {s}): central, forward, backward differences \
             {quotients:?} vs gradient {an}"
        );
        assert!(
            an.abs() > 1e-4 * scale,
            "probe {p}: gradient {an} too small to test"
        );
    }

    let g32: Vec<f32> = m32
        .loss_and_input_grad(&x32, &targets)
        .unwrap()
        .grad
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let worst = g32
        .iter()
        .zip(&g)
        .fold(0f64, |m, (a, b)| m.max((*a as f64 - b).abs()));
    assert!(
        worst <= 1e-4 * scale,
        "f32 vs f64 gradient differ by {worst} (scale {scale})"
    );
}

/// The cases of the numpy reference: (name, architecture, seed). BatchNorm
/// statistics and affine parameters are randomised (see
/// [`reference_tensors`]) so that every BatchNorm term is exercised.
fn reference_cases() -> Vec<(&'static str, Arch, u64)> {
    let cifar = Arch::from_name("resnet18", &[3, 32, 32], 10).unwrap();
    // The ImageNet stem (7×7/2 conv, 3×3/2 max-pool, ImageNet
    // normalisation) on 64×64 inputs, to keep the fixture small.
    let stem = Arch::Resnet(resnet::Config {
        side: 64,
        ..resnet::Config::imagenet(10)
    });
    vec![("cifar", cifar, 7), ("imagenet-stem-64", stem, 8)]
}

/// The untrained `torchvision` network of `seed` with every BatchNorm tensor
/// redrawn from the seeded stream (γ ∈ [0.5, 1.5), β ∈ [−0.2, 0.2), mean ∈
/// [−0.2, 0.2), var ∈ [0.5, 1.5)), plus `inputs`: two images, uniform in
/// [0, 1). Sorted by name.
fn reference_tensors(arch: &Arch, seed: u64) -> NamedTensors {
    let mut tensors = zoo::untrained_tensors(arch, Init::Torchvision, seed).unwrap();
    let bn_layers: Vec<String> = tensors
        .iter()
        .filter_map(|(n, _)| n.strip_suffix(".running_var").map(str::to_string))
        .collect();
    for (i, (name, t)) in tensors.iter_mut().enumerate() {
        let Some((layer, which)) = name.rsplit_once('.') else {
            continue;
        };
        if !bn_layers.iter().any(|l| l == layer) {
            continue;
        }
        let (lo, hi) = match which {
            "weight" | "running_var" => (0.5, 1.5),
            _ => (-0.2, 0.2),
        };
        let mut rng = ismc::rng::unit_rng(seed, &[0xB4, i as u64]);
        let v: Vec<f32> = (0..t.elem_count())
            .map(|_| rng.random_range(lo..hi))
            .collect();
        *t = Tensor::from_vec(v, t.shape(), &Device::Cpu).unwrap();
    }
    let spec = arch.spec();
    let mut rng = ismc::rng::unit_rng(seed, &[0x1A]);
    let v: Vec<f32> = (0..2 * spec.item_len())
        .map(|_| rng.random::<f32>())
        .collect();
    let mut shape = vec![2];
    shape.extend(&spec.item_shape);
    tensors.push((
        "inputs".into(),
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap(),
    ));
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    tensors
}

/// sha256 over (name, 0 byte, little-endian f32 values) of every tensor in
/// name order; the script computes the same from the exported file.
fn digest(tensors: &NamedTensors) -> String {
    let mut sorted: Vec<&(String, Tensor)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    for (name, t) in sorted {
        h.update(name.as_bytes());
        h.update([0u8]);
        let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        for x in v {
            h.update(x.to_le_bytes());
        }
    }
    format!("{:x}", h.finalize())
}

/// Writes each reference case as `DIR/NAME.safetensors` (weights, `inputs`,
/// the architecture in the metadata) for `scripts/resnet18_reference_logits.py`:
///
/// ```sh
/// ISMC_RESNET_EXPORT=/tmp/resnet18-export cargo test --test nn_resnet -- --ignored export
/// ```
#[test]
#[ignore = "writes the inputs of the numpy reference script; run by hand"]
fn export_reference_networks() {
    let dir = std::env::var("ISMC_RESNET_EXPORT").expect("set ISMC_RESNET_EXPORT=DIR");
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    for (name, arch, seed) in reference_cases() {
        let tensors = reference_tensors(&arch, seed);
        let meta = HashMap::from([
            (
                ismc::nn::arch::ARCH_METADATA_KEY.to_string(),
                arch.to_json(),
            ),
            ("ismc.seed".to_string(), seed.to_string()),
            ("ismc.sha256".to_string(), digest(&tensors)),
        ]);
        let path = dir.join(format!("{name}.safetensors"));
        ismc::nn::weights::write_safetensors(&path, &tensors, &meta).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

#[derive(serde::Deserialize)]
struct ReferenceCase {
    sha256: String,
    logits: Vec<Vec<f64>>,
}

/// Largest allowed |logit − numpy reference|.
const LOGIT_TOL: f64 = 1e-4;

#[test]
fn logits_match_independent_numpy_forward_pass() {
    let path = ismc::assets::bundled_dir().join("fixtures/resnet18_reference_logits.json");
    let reference: HashMap<String, ReferenceCase> =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let cases = reference_cases();
    assert_eq!(reference.len(), cases.len());
    for (name, arch, seed) in cases {
        let want = &reference[name];
        let mut tensors = reference_tensors(&arch, seed);
        assert_eq!(
            digest(&tensors),
            want.sha256,
            "{name}: the seeded network or inputs changed; regenerate the fixture \
             (see scripts/resnet18_reference_logits.py)"
        );
        let at = tensors.iter().position(|(n, _)| n == "inputs").unwrap();
        let x = tensors.remove(at).1;
        let model = Network::from_tensors(arch, tensors).unwrap();
        let got: Vec<Vec<f32>> = model.logits(&x).unwrap().to_vec2().unwrap();
        assert_eq!(got.len(), want.logits.len());
        let mut worst = 0f64;
        let mut spread = 0f64;
        for (g, w) in got.iter().zip(&want.logits) {
            assert_eq!(g.len(), w.len());
            for (a, b) in g.iter().zip(w) {
                worst = worst.max((*a as f64 - b).abs());
                spread = spread.max((b - w[0]).abs());
            }
        }
        assert!(worst <= LOGIT_TOL, "{name}: max |logit diff| = {worst:e}");
        // The comparison means something only if the logits differ by far
        // more than the tolerance.
        assert!(spread > 1e3 * LOGIT_TOL, "{name}: logits nearly constant");
    }
}
