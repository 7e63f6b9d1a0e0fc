//! End-to-end tests of `ismc lattice label` on .npy files.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::WriteNpyExt;
use serde_json::Value;

/// The 3 × 4 grid of the library docs:
/// ```text
/// 1 1 0 1
/// 0 1 0 1
/// 1 0 0 1
/// ```
const GRID: [u8; 12] = [1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1];

fn write_npy<T: ndarray_npy::WritableElement>(
    dir: &Path,
    name: &str,
    array: &ArrayD<T>,
) -> PathBuf {
    let path = dir.join(name);
    array
        .write_npy(std::fs::File::create(&path).unwrap())
        .unwrap();
    path
}

fn grid_u8() -> ArrayD<u8> {
    ArrayD::from_shape_vec(IxDyn(&[3, 4]), GRID.to_vec()).unwrap()
}

/// Runs `ismc lattice label` and returns (exit code, stdout, stderr).
fn label(args: &[&str]) -> (i32, String, String) {
    let out = cargo_bin_cmd!("ismc")
        .args(["lattice", "label"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(path: &Path, periodic: bool) -> Value {
    let mut args = vec!["--input", path.to_str().unwrap(), "--json"];
    if periodic {
        args.push("--periodic");
    }
    let (code, stdout, stderr) = label(&args);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn labels_bool_grid_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_npy(dir.path(), "grid.npy", &grid_u8().mapv(|v| v == 1));
    let open = json(&path, false);
    assert_eq!(open["shape"], serde_json::json!([3, 4]));
    assert_eq!(open["n_occupied"], 7);
    assert_eq!(open["n_clusters"], 3);
    assert_eq!(open["largest"], 3);
    assert_eq!(open["sizes"], serde_json::json!({"1": 1, "3": 2}));
    assert_eq!(open["spans"], serde_json::json!([true, false]));
    assert_eq!(open["wraps"], Value::Null);
    let torus = json(&path, true);
    assert_eq!(torus["n_clusters"], 1);
    assert_eq!(torus["largest"], 7);
    assert_eq!(torus["wraps"], serde_json::json!([true, false]));
    assert_eq!(torus["spans"], serde_json::json!([true, false]));
}

#[test]
fn uint8_in_fortran_order_gives_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let c = write_npy(dir.path(), "c.npy", &grid_u8());
    let mut f = ArrayD::zeros(IxDyn(&[3, 4]).f());
    f.assign(&grid_u8());
    let f = write_npy(dir.path(), "f.npy", &f);
    let (a, b) = (json(&c, true), json(&f, true));
    assert_eq!(a["sizes"], b["sizes"]);
    assert_eq!(a["wraps"], b["wraps"]);
    assert_eq!(json(&c, false)["sizes"], json(&f, false)["sizes"]);
}

#[test]
fn text_report_without_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_npy(dir.path(), "grid.npy", &grid_u8());
    let (code, stdout, stderr) = label(&["--input", path.to_str().unwrap(), "--periodic"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("3 × 4 (12 sites), periodic boundaries"),
        "{stdout}"
    );
    assert!(stdout.contains("clusters   1, largest 7 sites"), "{stdout}");
    assert!(
        stdout.contains("wraps      axis 0: yes, axis 1: no"),
        "{stdout}"
    );
    assert!(stdout.contains("size×count: 7×1"), "{stdout}");
}

/// Runs on a bad input: exit code 2, nothing on stdout, and stderr names
/// the file and contains every one of `needles`.
fn assert_refused(path: &Path, needles: &[&str]) {
    let (code, stdout, stderr) = label(&["--input", path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(stdout.is_empty(), "partial output: {stdout}");
    assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("expected a .npy file"), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "missing {needle:?} in {stderr}");
    }
}

#[test]
fn missing_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(&dir.path().join("absent.npy"), &["No such file"]);
}

#[test]
fn non_binary_uint8_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut grid = grid_u8();
    grid[[1, 2]] = 2;
    let path = write_npy(dir.path(), "two.npy", &grid);
    assert_refused(&path, &["uint8 value 2 at index [1, 2]"]);
}

#[test]
fn float_grid_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_npy(dir.path(), "float.npy", &grid_u8().mapv(f64::from));
    assert_refused(&path, &["'<f8' (floating-point)", "astype(bool)"]);
}

#[test]
fn malformed_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.npy");
    std::fs::write(&garbage, b"this is not numpy").unwrap();
    assert_refused(&garbage, &["not a .npy file"]);

    let good = write_npy(dir.path(), "good.npy", &grid_u8());
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.npy");
    std::fs::write(&truncated, &bytes[..bytes.len() - 3]).unwrap();
    assert_refused(&truncated, &["truncated", "3 bytes missing"]);

    let scalar = write_npy(
        dir.path(),
        "scalar.npy",
        &ArrayD::from_elem(IxDyn(&[]), true),
    );
    assert_refused(&scalar, &["0 axes"]);
}
