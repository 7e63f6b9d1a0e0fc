//! Hostile input, through the `ismc` binary: every case must exit with code
//! 2, name the parameter or file at fault, and write nothing — never panic
//! (101), abort (134) or exhaust memory. The cases are the ones a hostile
//! trial of the tool found; each stays here as a regression test.

use std::path::Path;

use assert_cmd::Command;

fn ismc() -> Command {
    let mut c = Command::cargo_bin("ismc").expect("binary built");
    // A small limit, so that a missing estimate shows as an abort or a
    // slow test rather than passing by luck on a large machine.
    c.env("ISMC_MEMORY_LIMIT", "4000000000");
    c
}

/// Runs `args`, expects exit code 2 and a message containing every
/// `needles`; returns stderr.
fn refused(args: &[&str], needles: &[&str]) -> String {
    let out = ismc().arg("--quiet").args(args).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    for n in needles {
        assert!(
            err.contains(n),
            "`{n}` not in the message for {args:?}: {err}"
        );
    }
    err
}

/// Writes `base` with `from` replaced by `to` and `ismc run`s it into a
/// fresh directory: exit 2, every `needles` in the message, nothing written.
fn config_refused(base: &str, from: &str, to: &str, needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(base).unwrap();
    assert!(text.contains(from), "{base} lacks `{from}`");
    let cfg = tmp.path().join("bad.toml");
    std::fs::write(&cfg, text.replacen(from, to, 1)).unwrap();
    let out = tmp.path().join("out");
    refused(
        &["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()],
        needles,
    );
    assert!(
        !out.exists(),
        "{base} with `{to}`: the refusal wrote {out:?}"
    );
    // `ismc check` refuses it the same way.
    refused(&["check", cfg.to_str().unwrap()], needles);
}

const LATTICE: &str = "experiments/lattice-quick.toml";
const ADVERSARIAL: &str = "experiments/mnist-lenet5-adversarial-quick.toml";
const EVALUATION: &str = "experiments/evaluation-quick.toml";
const TRAINING: &str = "experiments/training-quick.toml";
const SLICE: &str = "experiments/slice-percolation-quick.toml";

#[test]
fn huge_counts_in_configurations_are_refused_naming_the_field() {
    let max = "9223372036854775807";
    config_refused(
        ADVERSARIAL,
        "points = 16\nadaptive",
        &format!("points = {max}\nadaptive"),
        &["params.study.points", "10^9"],
    );
    config_refused(
        ADVERSARIAL,
        "bootstrap = 200",
        &format!("bootstrap = {max}"),
        &["params.study.detector.bootstrap"],
    );
    config_refused(
        LATTICE,
        "crossing_samples = 4000",
        "crossing_samples = 1000000000000",
        &["params.crossing_samples"],
    );
    // Below the count bound, but a million-fold unit list.
    config_refused(
        LATTICE,
        "crossing_samples = 4000",
        "crossing_samples = 1000000000\nsamples_per_unit = 1",
        &["params.samples_per_unit", "units"],
    );
    config_refused(
        TRAINING,
        "points = 32\n\n[params.fvo]",
        &format!("points = {max}\n\n[params.fvo]"),
        &["params.barriers.points"],
    );
}

#[test]
fn repeated_list_entries_are_refused_naming_the_field() {
    config_refused(
        LATTICE,
        "dims = [2, 3, 4, 6, 8, 13]",
        "dims = [2, 2]",
        &["params.dims", "same"],
    );
    config_refused(
        LATTICE,
        "crossing_sides = [16, 32, 64, 128]",
        "crossing_sides = [32, 128, 32]",
        &["params.crossing_sides"],
    );
    config_refused(
        EVALUATION,
        "models = [\"lenet5-mnist\"]",
        "models = [\"lenet5-mnist\", \"lenet5-mnist\"]",
        &["params.models"],
    );
}

#[test]
fn parameters_that_only_the_data_or_models_refute_are_refused_before_writing() {
    config_refused(
        EVALUATION,
        "models = [\"lenet5-mnist\"]",
        "models = [\"lenet5-mnistt\"]",
        &["lenet5-mnistt"],
    );
    config_refused(
        ADVERSARIAL,
        "pool_size = 16",
        "pool_size = 100000",
        &["pool_size", "class"],
    );
    config_refused(
        ADVERSARIAL,
        "clean_inputs = 4",
        "clean_inputs = 0",
        &["clean_inputs"],
    );
    config_refused(
        TRAINING,
        "epochs = 1",
        "epochs = 0",
        &["params.recipe.epochs"],
    );
    config_refused(
        TRAINING,
        "steps = [0, 10, 60]",
        "steps = [100000000]",
        &["params.barriers.steps", "no listed step is ever reached"],
    );
    config_refused(
        SLICE,
        "models = [",
        "models = [\"no-such-model\", ",
        &["no-such-model"],
    );
}

#[test]
fn parameters_that_would_make_nan_results_are_refused() {
    config_refused(
        ADVERSARIAL,
        "[params.study.attack]\niterations = 64",
        "[params.study.attack]\niterations = 0",
        &["params.study.attack.iterations"],
    );
    config_refused(
        ADVERSARIAL,
        "[params.study.pgd]\niterations = 10",
        "[params.study.pgd]\niterations = 0",
        &["params.study.pgd.iterations"],
    );
    config_refused(
        ADVERSARIAL,
        "bootstrap = 200",
        "bootstrap = 0",
        &["params.study.detector.bootstrap"],
    );
}

#[test]
fn huge_counts_on_the_command_line_are_refused_with_an_estimate() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let err = refused(
        &["path", "--pair", "0,1", "--points", "1000000000000"],
        &["points"],
    );
    assert!(err.contains("limit"), "{err}");
    refused(
        &[
            "lattice",
            "sweep",
            "--dim",
            "2",
            "--size",
            "16",
            "--samples",
            "1000000000000",
            "--out",
            out.to_str().unwrap(),
        ],
        &["samples"],
    );
    refused(
        &[
            "lattice",
            "threshold",
            "--dim",
            "3",
            "--budget-secs",
            "1e300",
        ],
        &["budget"],
    );
    refused(
        &["path", "--pair", "0,1", "--low-loss", "NaN"],
        &["--low-loss"],
    );
    refused(
        &[
            "lattice",
            "sweep",
            "--dim",
            "2",
            "--size",
            "16",
            "--threads",
            "100000",
        ],
        &["--threads"],
    );
}

/// A `.npy` whose header claims far more data than the file holds.
#[test]
fn a_npy_header_claiming_more_than_the_file_holds_is_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("huge.npy");
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + header.len() + 1) % 64;
    let text = format!("{header}{}\n", " ".repeat(pad));
    bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
    bytes.extend_from_slice(&[0u8; 3000]);
    std::fs::write(&f, &bytes).unwrap();
    let pair = format!("0,{}", f.display());
    refused(&["path", "--pair", &pair], &["huge.npy"]);
}

/// Copies the bundled LeNet5 with its architecture metadata edited.
fn model_with_arch(dir: &Path, edit: impl Fn(&mut serde_json::Value)) -> String {
    let src = std::fs::read("assets/models/advertorch-0.2.3-mnist_lenet5_clntrained.safetensors")
        .unwrap();
    let n = u64::from_le_bytes(src[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&src[8..8 + n]).unwrap();
    let arch = header["__metadata__"]["ismc.arch"]
        .as_str()
        .unwrap()
        .to_string();
    let mut arch: serde_json::Value = serde_json::from_str(&arch).unwrap();
    edit(&mut arch);
    header["__metadata__"]["ismc.arch"] = serde_json::Value::String(arch.to_string());
    let mut text = header.to_string().into_bytes();
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&src[8 + n..]);
    let path = dir.join("edited.safetensors");
    std::fs::write(&path, out).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_model_whose_metadata_claims_absurd_sizes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (key, value) in [
        ("side", 1u64 << 40),
        ("hidden", u64::MAX / 4),
        ("classes", 1 << 30),
    ] {
        let model = model_with_arch(tmp.path(), |a| a[key] = value.into());
        refused(&["path", "--model", &model, "--pair", "0,1"], &[key]);
    }
}
