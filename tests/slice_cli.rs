//! `ismc slice dense | invade | graph` end to end: the stored field reloads,
//! invasion finds exactly the dense minimax barrier of the same slice, the
//! graph holds the sites below the level, and bad input exits with code 2.

use assert_cmd::Command;
use serde_json::Value;

fn ismc() -> Command {
    Command::cargo_bin("ismc").unwrap()
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap()
}

const SLICE: [&str; 12] = [
    "--a", "0", "--c", "17", "--k", "3", "--side", "7", "--span", "0.5", "--seed", "4",
];

#[test]
fn dense_and_invasion_agree_and_the_graph_exports() {
    let data = ismc::data::load("mnist").unwrap();
    assert_eq!(
        data.labels()[0],
        data.labels()[17],
        "SLICE pairs two digits of one class"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let dense = ismc()
        .args(["--quiet", "slice", "dense"])
        .args(SLICE)
        .arg("--out")
        .arg(&dir)
        .assert()
        .success();
    let d = json(&dense.get_output().stdout);
    assert_eq!(d["sites"].as_u64(), Some(343));
    let p = d["p_star"].as_f64().unwrap();
    assert!(p > 0.0 && p <= 1.0);
    for f in [
        "field.npy",
        "axes.npy",
        "endpoints.npy",
        "slice.json",
        "sweep.csv",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    // Goal-first (default) and loss-order invasion both find it exactly.
    for order in [&[][..], &["--loss-order"][..]] {
        let inv = ismc()
            .args(["--quiet", "slice", "invade"])
            .args(SLICE)
            .args(order)
            .assert()
            .success();
        let i = json(&inv.get_output().stdout);
        assert_eq!(i["minimax_barrier"], d["minimax_barrier"], "{i} vs {d}");
        assert!(i["evaluations"].as_u64().unwrap() <= 343);
    }

    // The graph at the barrier level contains A and C in one cluster.
    let level = d["minimax_barrier"].as_f64().unwrap().to_string();
    let g = dir.join("g.graphml");
    ismc()
        .args(["slice", "graph", "--level", &level, "--field"])
        .arg(&dir)
        .arg("--out")
        .arg(&g)
        .assert()
        .success();
    let text = std::fs::read_to_string(&g).unwrap();
    assert!(text.contains("<graphml") && text.contains("<node"));
    let dot = dir.join("g.dot");
    ismc()
        .args(["slice", "graph", "--level", &level, "--field"])
        .arg(&dir)
        .arg("--out")
        .arg(&dot)
        .assert()
        .success();
    assert!(std::fs::read_to_string(&dot).unwrap().contains("graph {"));
}

/// Runs the flat `ismc slice` on `pair` with `method` (and `extra`), as JSON.
fn flat(pair: &str, dims: &str, side: &str, method: &str, extra: &[&str]) -> Value {
    let out = ismc()
        .args([
            "--quiet", "slice", "--pair", pair, "--dims", dims, "--side", side,
        ])
        .args(["--span", "0.5", "--seed", "4", "--method", method, "--json"])
        .args(extra)
        .assert()
        .success();
    json(&out.get_output().stdout)
}

/// `--method certify` on real LeNet5 slices. Its first search, goal-first
/// invasion, finds the dense barrier exactly: where it is the higher
/// endpoint loss with fewer evaluations than the dense sweep, and where it
/// is higher as well. With a budget too small for that, the bisection
/// brackets it. Invasion finds the same barrier, with a sampled p* within 4
/// standard errors of the dense one.
#[test]
fn certify_agrees_with_the_dense_barrier_on_lenet5_slices() {
    let dense = flat("0,34", "2", "9", "dense", &[]);
    let cert = flat("0,34", "2", "9", "certify", &[]);
    assert_eq!(cert["method"], "certify");
    assert_eq!(
        cert["minimax_barrier"], dense["minimax_barrier"],
        "{cert} vs {dense}"
    );
    assert_eq!(cert["barrier_lower"], dense["minimax_barrier"]);
    assert_eq!(cert["barrier_upper"], dense["minimax_barrier"]);
    assert!(cert["evaluations"].as_u64() < dense["evaluations"].as_u64());

    let dense = flat("0,17", "3", "7", "dense", &[]);
    let b = dense["minimax_barrier"].as_f64().unwrap();
    let tau0 = dense["loss_a"]
        .as_f64()
        .unwrap()
        .max(dense["loss_c"].as_f64().unwrap());
    assert!(b > tau0, "this pair must need a rise above the endpoints");
    let exact = flat("0,17", "3", "7", "certify", &[]);
    assert_eq!(
        exact["minimax_barrier"], dense["minimax_barrier"],
        "{exact}"
    );
    // 50 evaluations per search (of 343 sites): a bracket, not the value.
    let cert = flat(
        "0,17",
        "3",
        "7",
        "certify",
        &["--max-evaluations", "450", "--bisect-steps", "8"],
    );
    assert!(cert["minimax_barrier"].is_null(), "{cert}");
    let (lo, hi) = (
        cert["barrier_lower"].as_f64().unwrap(),
        cert["barrier_upper"].as_f64().unwrap(),
    );
    assert!(
        tau0 <= lo && lo <= b && b <= hi && lo < hi,
        "[{lo}, {hi}] against {b}"
    );
    assert!(cert["path_max"].as_f64().is_some());
    let inv = flat("0,17", "3", "7", "invasion", &[]);
    assert_eq!(
        inv["minimax_barrier"], dense["minimax_barrier"],
        "{inv} vs {dense}"
    );
    let (p, se) = (
        inv["p_star"].as_f64().unwrap(),
        inv["p_star_stderr"].as_f64().unwrap(),
    );
    let p_dense = dense["p_star"].as_f64().unwrap();
    assert!(
        (p - p_dense).abs() < 4.0 * se,
        "sampled p* {p} ± {se} against {p_dense}"
    );
}

#[test]
fn bad_slices_are_refused_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    // k larger than the input dimension (784).
    let out = ismc()
        .args([
            "slice", "dense", "--a", "0", "--c", "17", "--k", "785", "--side", "2", "--out",
        ])
        .arg(tmp.path().join("x"))
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("785"));
    // Endpoints that coincide.
    ismc()
        .args([
            "slice", "dense", "--a", "0", "--c", "0", "--k", "2", "--side", "5", "--out",
        ])
        .arg(tmp.path().join("y"))
        .assert()
        .code(2);
    // Different labels without --class.
    let data = ismc::data::load("mnist").unwrap();
    let other = (0..data.len())
        .find(|&i| data.labels()[i] != data.labels()[0])
        .unwrap()
        .to_string();
    let out = ismc()
        .args([
            "slice", "invade", "--a", "0", "--c", &other, "--k", "2", "--side", "5",
        ])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("--class"));
    // A grid that would not fit: refused with the estimate before allocating.
    let out = ismc()
        .args([
            "slice", "dense", "--a", "0", "--c", "17", "--k", "8", "--side", "200", "--out",
        ])
        .arg(tmp.path().join("z"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("needs about"), "{err}");
    // A span of zero.
    ismc()
        .args([
            "slice", "dense", "--a", "0", "--c", "17", "--k", "2", "--side", "5", "--span", "0",
            "--out",
        ])
        .arg(tmp.path().join("w"))
        .assert()
        .code(2);
    assert!(!tmp.path().join("x").exists() && !tmp.path().join("z").exists());
}

/// One code path: `ismc slice` with a study row's pair, k, side and seed
/// gives that row's numbers — barrier bounds, gap fraction, spanning and
/// join fractions and both nulls — bit for bit.
#[test]
fn flat_slice_equals_the_study_unit_for_the_same_pair_and_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("one.toml");
    std::fs::write(
        &config,
        r#"kind = "slice-percolation"
[params]
models = ["lenet5-mnist"]
data = "mnist"
seed = 7
pair_kinds = ["real_real"]
pairs = 1
candidates = 32
[params.slice]
dims = [1, 3]
side = 5
null_shuffles = 6
surrogates = 2
surrogate_iterations = 30
linear_points = 100
path_points_per_edge = 3
[params.bypass]
iterations = 8
points = 16
[params.rounds]
max_rounds = 1
"#,
    )
    .unwrap();
    let dir = tmp.path().join("run");
    ismc()
        .args(["--quiet", "run"])
        .arg(&config)
        .arg("--out")
        .arg(&dir)
        .assert()
        .success();
    let mut pairs = csv::Reader::from_path(dir.join("pairs.csv")).unwrap();
    let ph = pairs.headers().unwrap().clone();
    let prow = pairs.records().next().unwrap().unwrap();
    let pcol = |n: &str| prow[ph.iter().position(|h| h == n).unwrap()].to_string();
    let pair = format!("{},{}", pcol("a_item"), pcol("c_item"));
    let mut slices = csv::Reader::from_path(dir.join("slices.csv")).unwrap();
    let sh = slices.headers().unwrap().clone();
    let row = slices
        .records()
        .map(Result::unwrap)
        .find(|r| &r[sh.iter().position(|h| h == "k").unwrap()] == "3")
        .unwrap();
    let col = |n: &str| row[sh.iter().position(|h| h == n).unwrap()].to_string();
    let out = ismc()
        .args([
            "--quiet", "slice", "--pair", &pair, "--dims", "3", "--side", "5",
        ])
        .args(["--seed", &col("seed"), "--null", "--null-shuffles", "6"])
        .args(["--surrogates", "2", "--surrogate-iterations", "30"])
        .args(["--linear-points", "100", "--path-points", "3", "--json"])
        .assert()
        .success();
    let cli = json(&out.get_output().stdout);
    let mut compared = 0;
    for name in sh.iter() {
        if ["model", "pair_kind", "pair"].contains(&name) {
            continue;
        }
        let study = col(name);
        let got = &cli[name];
        // Losses are f32 in the record: the CSV writes them at f32
        // precision, the JSON widens them to f64, so they compare as f32.
        let single = [
            "loss_a",
            "loss_c",
            "tau0",
            "linear_barrier",
            "minimax_barrier",
            "barrier_lower",
            "barrier_upper",
            "path_max",
        ]
        .contains(&name);
        match study.parse::<f64>() {
            Ok(v) if single => assert_eq!(
                got.as_f64().map(|g| g as f32),
                Some(v as f32),
                "{name}: study {study}, cli {got}"
            ),
            Ok(v) => assert_eq!(got.as_f64(), Some(v), "{name}: study {study}, cli {got}"),
            Err(_) if study.is_empty() => assert!(got.is_null(), "{name}: cli {got}"),
            Err(_) => assert_eq!(got.as_str(), Some(study.as_str()), "{name}"),
        }
        compared += 1;
    }
    assert!(compared > 30, "{compared} fields compared");
}

/// Bad slice-study parameters are refused by name, with exit code 2,
/// before the run directory exists: a surrogate on a grid with no
/// frequencies, finite-size scaling on L < 3 or on grids that do not nest,
/// a repeated dimension, more pairs than a class can supply.
#[test]
fn bad_slice_studies_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let base = r#"kind = "slice-percolation"
[params]
models = ["lenet5-mnist"]
seed = 1
pair_kinds = ["real_real"]
pairs = 1
[params.slice]
"#;
    for (slice, name) in [
        (
            "dims = [1, 2]\nside = 2\nsurrogates = 2",
            "params.slice.surrogates",
        ),
        (
            "dims = [2]\nfss_dims = [2]\nfss_sides = [2, 3, 5]",
            "params.slice.fss_sides",
        ),
        (
            "dims = [2]\nfss_dims = [2]\nfss_sides = [5, 8, 17]",
            "params.slice.fss_sides",
        ),
        ("dims = [2, 2]", "params.slice.dims"),
        ("dims = [2]\ngap_floor = nan", "params.slice.gap_floor"),
    ] {
        let config = tmp.path().join("bad.toml");
        std::fs::write(&config, format!("{base}{slice}\n")).unwrap();
        let out = tmp.path().join("never");
        let assert = ismc()
            .args(["--quiet", "run"])
            .arg(&config)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(err.contains(name), "{slice}: {err}");
        assert!(!out.exists(), "{slice}: the run directory was created");
    }
}
