//! End-to-end tests of `ismc lattice …` and `ismc demo`-style outputs through
//! the binary: results on success, exit code 2 and a clear message on bad
//! input, and no partial output.

use assert_cmd::Command;

fn ismc() -> Command {
    Command::cargo_bin("ismc").expect("binary built")
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn threshold_json_has_the_documented_fields_and_is_close() {
    let out = ismc()
        .args([
            "--quiet",
            "lattice",
            "threshold",
            "--dim",
            "9",
            "--kind",
            "bond",
            "--budget-secs",
            "4",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "dim",
        "kind",
        "method",
        "p_c",
        "stderr",
        "literature",
        "literature_err",
        "z",
        "samples",
        "seconds",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["method"], "invasion");
    let z = v["z"].as_f64().unwrap();
    assert!(z.abs() < 4.0, "{v}");
}

#[test]
fn bad_threshold_input_exits_2_with_a_message() {
    for (args, needle) in [
        (vec!["--dim", "0"], "dim"),
        (vec!["--dim", "2", "--budget-secs", "0.0001"], "budget"),
        (vec!["--dim", "2", "--kind", "sites"], "kind"),
        (vec!["--dim", "2", "--method", "magic"], "method"),
    ] {
        let mut full = vec!["lattice", "threshold"];
        full.extend(args.iter());
        let out = ismc().args(&full).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{full:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains(needle),
            "{full:?}: {}",
            stderr_of(&out)
        );
    }
}

#[test]
fn sweep_writes_csv_npy_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("sweep");
    let out = ismc()
        .args([
            "--quiet",
            "lattice",
            "sweep",
            "--dim",
            "2",
            "--size",
            "16",
            "--samples",
            "200",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 101);
    // the crossing probability rises monotonically from ~0 to ~1
    assert!(rows.windows(2).all(|w| w[1][1] >= w[0][1] - 1e-12));
    assert!(rows[0][1] < 0.01 && rows[100][1] > 0.99);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["samples"], 200);
    let npy = std::fs::read(out_dir.join("first_events.npy")).unwrap();
    assert_eq!(&npy[..6], b"\x93NUMPY");
}

#[test]
fn bad_sweep_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--dim", "2", "--size", "1"],
        vec!["--dim", "0", "--size", "8"],
        vec!["--dim", "4", "--size", "300"],
        vec!["--dim", "2", "--size", "8", "--samples", "0"],
        vec!["--dim", "3", "--size", "8,8"],
    ] {
        let out_dir = dir.path().join("never");
        let out = ismc()
            .args(["lattice", "sweep"])
            .args(&args)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(!out_dir.exists(), "{args:?} left output behind");
    }
}

#[test]
fn a_lattice_that_does_not_fit_in_memory_is_refused_with_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let out = ismc()
        .env("ISMC_MEMORY_LIMIT", "1000000")
        .args(["lattice", "sweep", "--dim", "3", "--size", "100", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let msg = stderr_of(&out);
    assert!(msg.contains("needs about") && msg.contains("MiB"), "{msg}");
}

/// Hostile values of global settings and budgets are refused with exit code
/// 2 and a message naming the parameter, before any work starts.
#[test]
fn absurd_budgets_thread_counts_and_memory_limits_are_refused_naming_them() {
    let cases: [(&[&str], Option<&str>, &str); 4] = [
        (
            &[
                "lattice",
                "threshold",
                "--dim",
                "3",
                "--budget-secs",
                "1e300",
            ],
            None,
            "budget-secs",
        ),
        (
            &["--threads", "100000", "lattice", "threshold", "--dim", "3"],
            None,
            "--threads",
        ),
        (
            &["lattice", "threshold", "--dim", "3", "--budget-secs", "1"],
            Some("abc"),
            "ISMC_MEMORY_LIMIT",
        ),
        (
            &["lattice", "threshold", "--dim", "3", "--budget-secs", "1"],
            Some("-5"),
            "ISMC_MEMORY_LIMIT",
        ),
    ];
    for (args, limit, name) in cases {
        let mut cmd = ismc();
        cmd.arg("--quiet").args(args);
        if let Some(v) = limit {
            cmd.env("ISMC_MEMORY_LIMIT", v);
        }
        let out = cmd.output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(name), "{args:?}: {err}");
    }
}
