//! Seeded initialisations of untrained networks.
//!
//! candle-nn draws initial values from its own unseeded generator; ismc
//! overwrites every variable afterwards from the project's seeded streams
//! ([`crate::rng::unit_rng`] with [`crate::rng::stream::INIT`] and the
//! variable's index in name order), so the same seed gives the same network.
//!
//! Fans follow PyTorch (`torch.nn.init._calculate_fan_in_and_fan_out`): for a
//! weight `[out, in, k…]`, fan_in = in · ∏k and fan_out = out · ∏k. A bias
//! `P.bias` takes its fan from the weight `P.weight`.
//!
//! BatchNorm layers (recognised by their `P.running_var`) are not drawn under
//! any scheme: `P.weight` (γ) = 1, `P.bias` (β) = 0, `P.running_mean` = 0,
//! `P.running_var` = 1, as PyTorch and torchvision initialise them.

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::rng::{stream, unit_rng};

/// An initialisation scheme.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
pub enum Init {
    /// PyTorch's per-module default (`reset_parameters` of `Linear` and
    /// `Conv2d`): weights Kaiming-uniform with a = √5, i.e.
    /// U(−1/√fan_in, 1/√fan_in), and biases U(−1/√fan_in, 1/√fan_in). This
    /// is what a network built from `torch.nn` modules starts with, before
    /// any model-specific re-initialisation (for ResNet see
    /// [`Init::Torchvision`]).
    PytorchDefault,
    /// Kaiming-normal for ReLU, fan-in mode: N(0, 2/fan_in); biases zero.
    KaimingNormal,
    /// Xavier-uniform: U(−√(6/(fan_in+fan_out)), +…); biases zero.
    XavierUniform,
    /// What torchvision's ResNet constructor does after building the
    /// modules (`torchvision/models/resnet.py`): convolution kernels
    /// Kaiming-normal for ReLU in fan-out mode, N(0, 2/fan_out); every other
    /// weight and every bias keeps PyTorch's default ([`Init::PytorchDefault`]).
    Torchvision,
    /// Gaussian weights N(0, std²); biases zero.
    Gaussian {
        /// Standard deviation of the weights.
        std: f64,
    },
}

impl std::str::FromStr for Init {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pytorch" | "pytorch-default" => Ok(Init::PytorchDefault),
            "kaiming-normal" => Ok(Init::KaimingNormal),
            "xavier-uniform" => Ok(Init::XavierUniform),
            "torchvision" => Ok(Init::Torchvision),
            _ => match s.strip_prefix("gaussian:").map(str::parse::<f64>) {
                Some(Ok(std)) if std > 0.0 && std.is_finite() => Ok(Init::Gaussian { std }),
                _ => Err(Error::invalid(
                    "init",
                    s,
                    "expected pytorch, kaiming-normal, xavier-uniform, torchvision or gaussian:STD",
                )),
            },
        }
    }
}

/// (fan_in, fan_out) of a weight of shape `dims`.
pub fn fans(dims: &[usize]) -> (usize, usize) {
    match dims.len() {
        0 => (1, 1),
        1 => (dims[0], dims[0]),
        _ => {
            let receptive: usize = dims[2..].iter().product();
            (dims[1] * receptive, dims[0] * receptive)
        }
    }
}

/// Overwrites every variable in `vm` according to `init`, seeded by `seed`.
pub fn apply(vm: &VarMap, init: Init, seed: u64) -> Result<()> {
    let data = vm.data().lock().expect("var map lock");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for (i, name) in names.iter().enumerate() {
        let var = &data[*name];
        let dims = var.dims().to_vec();
        let n: usize = dims.iter().product();
        let is_bias = name.ends_with(".bias");
        let fan_dims = if is_bias {
            let w = format!("{}.weight", name.trim_end_matches(".bias"));
            data.get(&w)
                .map(|v| v.dims().to_vec())
                .unwrap_or_else(|| dims.clone())
        } else {
            dims.clone()
        };
        let (fan_in, fan_out) = fans(&fan_dims);
        let mut rng = unit_rng(seed, &[stream::INIT, i as u64]);
        let uniform = |rng: &mut crate::rng::UnitRng, b: f64| -> Vec<f32> {
            (0..n).map(|_| rng.random_range(-b..b) as f32).collect()
        };
        let pytorch_bound = 1.0 / (fan_in as f64).sqrt();
        let values: Vec<f32> = match (batch_norm_value(name, &data), init, is_bias) {
            (Some(v), _, _) => vec![v; n],
            (None, Init::PytorchDefault, _) | (None, Init::Torchvision, true) => {
                uniform(&mut rng, pytorch_bound)
            }
            (None, Init::Torchvision, false) if dims.len() == 4 => {
                gaussian(&mut rng, n, (2.0 / fan_out as f64).sqrt())
            }
            (None, Init::Torchvision, false) => uniform(&mut rng, pytorch_bound),
            (None, _, true) => vec![0.0; n],
            (None, Init::KaimingNormal, false) => {
                gaussian(&mut rng, n, (2.0 / fan_in as f64).sqrt())
            }
            (None, Init::XavierUniform, false) => {
                uniform(&mut rng, (6.0 / (fan_in + fan_out) as f64).sqrt())
            }
            (None, Init::Gaussian { std }, false) => gaussian(&mut rng, n, std),
        };
        var.set(&Tensor::from_vec(values, dims, &Device::Cpu)?)?;
    }
    Ok(())
}

/// The fixed initial value of a BatchNorm tensor `P.X` (a layer `P` with a
/// `P.running_var`): 1 for γ (`weight`) and the running variance, 0 for β
/// (`bias`) and the running mean; `None` for any other tensor.
fn batch_norm_value<V>(name: &str, vars: &std::collections::HashMap<String, V>) -> Option<f32> {
    let (layer, tensor) = name.rsplit_once('.')?;
    if !vars.contains_key(&format!("{layer}.running_var")) {
        return None;
    }
    match tensor {
        "weight" | "running_var" => Some(1.0),
        "bias" | "running_mean" => Some(0.0),
        _ => None,
    }
}

fn gaussian(rng: &mut crate::rng::UnitRng, n: usize, std: f64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            (z * std) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;

    fn var_stats(vm: &VarMap, name: &str) -> (f64, f64, f64) {
        let v: Vec<f32> = vm.data().lock().unwrap()[name]
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let max = v.iter().map(|x| x.abs() as f64).fold(0.0, f64::max);
        (mean, var.sqrt(), max)
    }

    fn build() -> VarMap {
        let vm = VarMap::new();
        let vb = candle_nn::VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
        candle_nn::linear(400, 300, vb.pp("fc")).unwrap();
        vm
    }

    #[test]
    fn schemes_have_their_scale_and_are_seeded() {
        let vm = build();
        apply(&vm, Init::PytorchDefault, 1).unwrap();
        let (_, sd, max) = var_stats(&vm, "fc.weight");
        // U(-b, b) with b = 1/20: sd = b/√3.
        assert!(
            max <= 0.05 && (sd - 0.05 / 3f64.sqrt()).abs() < 0.001,
            "{sd} {max}"
        );
        let (_, _, bmax) = var_stats(&vm, "fc.bias");
        assert!(bmax <= 0.05 && bmax > 0.04);
        apply(&vm, Init::KaimingNormal, 1).unwrap();
        let (_, sd, _) = var_stats(&vm, "fc.weight");
        assert!((sd - (2.0f64 / 400.0).sqrt()).abs() < 0.002, "{sd}");
        assert_eq!(var_stats(&vm, "fc.bias").2, 0.0);
        apply(&vm, Init::XavierUniform, 1).unwrap();
        let (_, sd, _) = var_stats(&vm, "fc.weight");
        assert!(
            (sd - (6.0f64 / 700.0).sqrt() / 3f64.sqrt()).abs() < 0.002,
            "{sd}"
        );
        apply(&vm, Init::Gaussian { std: 0.3 }, 1).unwrap();
        let (_, sd, _) = var_stats(&vm, "fc.weight");
        assert!((sd - 0.3).abs() < 0.005);
        let a = build();
        let b = build();
        apply(&a, Init::PytorchDefault, 9).unwrap();
        apply(&b, Init::PytorchDefault, 9).unwrap();
        assert_eq!(var_stats(&a, "fc.weight"), var_stats(&b, "fc.weight"));
        assert_eq!(fans(&[32, 1, 3, 3]), (9, 288));
    }

    /// A conv + BatchNorm + linear network, as ResNet builds them.
    fn build_conv_bn() -> VarMap {
        let vm = VarMap::new();
        let vb = candle_nn::VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
        let hint = candle_nn::Init::Const(0.5);
        vb.get_with_hints((64, 32, 3, 3), "conv.weight", hint)
            .unwrap();
        for t in ["weight", "bias", "running_mean", "running_var"] {
            vb.get_with_hints(64, &format!("bn.{t}"), hint).unwrap();
        }
        candle_nn::linear(400, 300, vb.pp("fc")).unwrap();
        vm
    }

    /// BatchNorm tensors are 1/0/0/1 under every scheme (not drawn: γ must
    /// not be Kaiming-initialised), convolutions without a bias are drawn
    /// like the rest, and `torchvision` draws conv kernels N(0, 2/fan_out)
    /// while keeping PyTorch's default for the linear layer.
    #[test]
    fn batch_norm_is_fixed_and_torchvision_uses_fan_out() {
        let vm = build_conv_bn();
        for init in [
            Init::PytorchDefault,
            Init::KaimingNormal,
            Init::XavierUniform,
            Init::Torchvision,
            Init::Gaussian { std: 0.3 },
        ] {
            apply(&vm, init, 3).unwrap();
            for (t, want) in [
                ("weight", 1.0),
                ("bias", 0.0),
                ("running_mean", 0.0),
                ("running_var", 1.0),
            ] {
                let v: Vec<f32> = vm.data().lock().unwrap()[&format!("bn.{t}")]
                    .to_vec1()
                    .unwrap();
                assert!(v.iter().all(|&x| x == want), "{init:?} bn.{t}: {v:?}");
            }
        }
        apply(&vm, Init::PytorchDefault, 3).unwrap();
        // fan_in = 32·9 = 288: U(±1/√288), sd = 1/√(3·288).
        let (_, sd, max) = var_stats(&vm, "conv.weight");
        assert!(max <= 288f64.sqrt().recip(), "{max}");
        assert!((sd - (3.0 * 288f64).sqrt().recip()).abs() < 0.001, "{sd}");
        apply(&vm, Init::Torchvision, 3).unwrap();
        // fan_out = 64·9 = 576: sd √(2/576) ≈ 0.0589 over 18,432 draws
        // (standard error of the sd ≈ 0.0589/√(2·18432) ≈ 3e-4).
        let (mean, sd, _) = var_stats(&vm, "conv.weight");
        assert!((sd - (2.0f64 / 576.0).sqrt()).abs() < 0.0015, "{sd}");
        assert!(mean.abs() < 0.0015, "{mean}");
        let (_, sd, max) = var_stats(&vm, "fc.weight");
        assert!(
            max <= 0.05 && (sd - 0.05 / 3f64.sqrt()).abs() < 0.001,
            "{sd}"
        );
        let (_, _, bmax) = var_stats(&vm, "fc.bias");
        assert!(bmax <= 0.05 && bmax > 0.04);
        let again = build_conv_bn();
        apply(&again, Init::Torchvision, 3).unwrap();
        assert_eq!(
            var_stats(&vm, "conv.weight"),
            var_stats(&again, "conv.weight")
        );
    }
}
