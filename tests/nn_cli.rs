//! The network commands end to end: `ismc eval` output and exit code 2 on
//! bad input (missing, truncated, corrupt weights; wrong shapes; data of the
//! wrong length).

use std::collections::HashMap;

use assert_cmd::Command;
use candle_core::{DType, Device, Tensor};

fn ismc() -> Command {
    Command::cargo_bin("ismc").unwrap()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn eval_json_of_a_bundled_model() {
    let out = ismc()
        .args([
            "eval",
            "--model",
            "lenet5-mnist-adv",
            "--data",
            "mnist",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 10_000);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.98);
    assert!(v["mean_loss"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_weights_files_exit_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = ismc::nn::zoo::path_of("lenet5-mnist").unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let corrupt = dir.path().join("corrupt.safetensors");
    let mut c = bytes.clone();
    c[20..60].copy_from_slice(&[b'#'; 40]);
    std::fs::write(&corrupt, &c).unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"hello world, not weights").unwrap();
    // LeNet5 with conv1 of 16 channels: the shapes do not fit the default.
    let wrong = dir.path().join("wrong.safetensors");
    let mut tensors = Vec::new();
    for (name, shape) in [
        ("conv1.weight", vec![16, 1, 3, 3]),
        ("conv1.bias", vec![32]),
        ("conv2.weight", vec![64, 32, 3, 3]),
        ("conv2.bias", vec![64]),
        ("linear1.weight", vec![200, 3136]),
        ("linear1.bias", vec![200]),
        ("linear2.weight", vec![10, 200]),
        ("linear2.bias", vec![10]),
    ] {
        tensors.push((
            name.to_string(),
            Tensor::zeros(shape, DType::F32, &Device::Cpu).unwrap(),
        ));
    }
    ismc::nn::weights::write_safetensors(&wrong, &tensors, &HashMap::new()).unwrap();
    let missing = dir.path().join("missing.safetensors");

    let cases = [
        (
            &missing,
            "not a bundled or fetched name nor an existing file",
        ),
        (&truncated, "corrupt"),
        (&corrupt, "corrupt"),
        (&garbage, "corrupt"),
        (&wrong, "conv1.weight"),
    ];
    for (path, needle) in cases {
        let out = ismc()
            .args([
                "eval",
                "--model",
                path.to_str().unwrap(),
                "--arch",
                "lenet5",
                "--data",
                "mnist",
            ])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
        assert!(err.contains(needle), "{}: {err}", path.display());
    }
    let out = ismc()
        .args([
            "eval",
            "--model",
            wrong.to_str().unwrap(),
            "--arch",
            "lenet5",
            "--data",
            "mnist",
        ])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(
        err.contains("[16, 1, 3, 3]") && err.contains("[32, 1, 3, 3]"),
        "{err}"
    );
}

#[test]
fn data_of_the_wrong_length_exits_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let src = ismc::assets::bundled_dir();
    for f in [
        ismc::data::mnist::IMAGES_FILE,
        ismc::data::mnist::LABELS_FILE,
    ] {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(src.join(f), &p).unwrap();
    }
    // Replace the images by a well-formed gzip of an IDX file one image short.
    let idx = ismc::data::idx::IdxU8::read(&src.join(ismc::data::mnist::IMAGES_FILE)).unwrap();
    let mut bytes = idx.to_bytes();
    bytes.truncate(bytes.len() - 784);
    std::fs::write(
        dir.path().join(ismc::data::mnist::IMAGES_FILE),
        ismc::data::idx::gzip(&bytes),
    )
    .unwrap();
    let out = ismc()
        .env("ISMC_ASSETS", dir.path())
        .args(["eval", "--model", "lenet5-mnist", "--data", "mnist"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("expected 7840000 data bytes, found 7839216"),
        "{err}"
    );
}

#[test]
fn non_finite_inputs_are_user_errors() {
    use ismc::nn::Classifier;
    let model = ismc::nn::zoo::load_named("lenet5-mnist").unwrap();
    let mut v = vec![0.5f32; 2 * 784];
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        v[900] = bad;
        let x = Tensor::from_slice(&v, (2, 1, 28, 28), &Device::Cpu).unwrap();
        let e = model.logits(&x).unwrap_err();
        assert!(e.is_user_error(), "{e}");
        assert!(
            matches!(e, ismc::Error::NonFinite { index: 900, .. }),
            "{e}"
        );
        assert!(model.loss_and_input_grad(&x, &[0, 1]).is_err());
        assert!(e.is_user_error());
    }
    let x = Tensor::zeros((2, 1, 27, 28), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(
        model.logits(&x).unwrap_err(),
        ismc::Error::InputShape { .. }
    ));
    let x = Tensor::zeros((2, 1, 28, 28), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(
        model.loss(&x, &[0, 10]).unwrap_err(),
        ismc::Error::TargetOutOfRange { .. }
    ));
}
