//! Weights I/O: the legacy PyTorch reader on a checkpoint written by
//! Python's pickler, the committed asset manifest, and bad weights files.

use std::path::Path;

use ismc::assets::{bundled_dir, Manifest};
use ismc::nn::weights::{read_any, torch_legacy};
use ismc::Error;

#[test]
fn legacy_reader_matches_python_written_checkpoint() {
    let dir = bundled_dir().join("fixtures");
    let tensors = torch_legacy::read(&dir.join("tiny_legacy.pt")).unwrap();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tiny_legacy.json")).unwrap()).unwrap();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b", "n"]);
    for (name, t) in &tensors {
        let e = &expected[name.as_str()];
        let shape: Vec<usize> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(t.dims(), shape.as_slice(), "{name}");
        if name == "n" {
            assert_eq!(
                t.to_scalar::<i64>().unwrap(),
                e["values"][0].as_i64().unwrap()
            );
        } else {
            let got: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            let want: Vec<f32> = e["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}

#[test]
fn every_truncation_of_a_legacy_checkpoint_is_a_user_error() {
    let bytes = std::fs::read(bundled_dir().join("fixtures/tiny_legacy.pt")).unwrap();
    for cut in (0..bytes.len()).step_by(7) {
        let e = torch_legacy::parse(&bytes[..cut], Path::new("t.pt")).unwrap_err();
        assert!(
            e.is_user_error() && matches!(e, Error::Corrupt { .. }),
            "cut {cut}: {e}"
        );
    }
    // Flipping any byte in the pickles gives an error or a different but
    // well-formed result, never a panic.
    for k in 0..bytes.len().min(400) {
        let mut b = bytes.clone();
        b[k] ^= 0x5a;
        let _ = torch_legacy::parse(&b, Path::new("t.pt"));
    }
}

#[test]
fn committed_assets_match_their_manifest() {
    let dir = bundled_dir();
    let m = Manifest::read(&dir).unwrap();
    for name in ["mnist", "lenet5-mnist", "lenet5-mnist-adv"] {
        let a = m
            .get(name)
            .unwrap_or_else(|| panic!("manifest lacks {name}"));
        assert!(!a.sources.is_empty() && !a.outputs.is_empty());
        assert!(dir.join(&a.licence_file).exists(), "{name}: licence text");
        for s in &a.sources {
            assert_eq!(s.sha256.len(), 64);
        }
    }
    m.verify_outputs(&dir).unwrap();
}

#[test]
fn bundled_safetensors_record_their_architecture() {
    let p = ismc::nn::zoo::path_of("lenet5-mnist").unwrap();
    let (tensors, meta) = read_any(&p).unwrap();
    assert_eq!(tensors.len(), 8);
    let arch = ismc::nn::arch_from_metadata(&meta, &p).unwrap();
    assert_eq!(arch.name(), "lenet5");
}
