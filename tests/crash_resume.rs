//! A run stopped dead at any moment — while units, tables, figures or the
//! report are being written — resumes to exactly the files of an
//! uninterrupted run (`manifest.json` aside), with no temporary left over.
//!
//! Twenty stops of a quick lattice study: twelve aborts injected at the
//! N-th atomic write (`ISMC_CRASH_AFTER_WRITES`, after the temporary file
//! is complete and before its rename, spread from the first unit to the
//! report) and eight `kill -9` at times spread over a clean run's duration.

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::Instant;

use assert_cmd::Command;

mod common;

/// 20 crossing units on two sides, then a table, a summary, figures and a
/// report: every phase of a run, in about a second.
const CONFIG: &str = r#"
kind = "lattice"
[params]
dims = []
kinds = ["site"]
budget_secs = 1.0
crossing_dim = 2
crossing_sides = [16, 32]
crossing_samples = 200
samples_per_unit = 20
seed = 5
"#;

fn run_args(cfg: &Path, out: &Path) -> Vec<String> {
    vec![
        "--quiet".into(),
        "run".into(),
        cfg.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]
}

fn run_to_end(cfg: &Path, out: &Path) {
    Command::cargo_bin("ismc")
        .unwrap()
        .args(run_args(cfg, out))
        .assert()
        .success();
}

fn assert_resumes_identically(cfg: &Path, dir: &Path, clean: &Path, what: &str) {
    run_to_end(cfg, dir);
    let (got, want) = (common::run_files(dir), common::run_files(clean));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: the resumed run has other files (a temporary left over?)"
    );
    for (name, bytes) in &want {
        assert!(&got[name] == bytes, "{what}: {name} differs after resuming");
    }
}

#[test]
fn runs_stopped_dead_at_twenty_moments_resume_to_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("quick.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let clean = tmp.path().join("clean");
    let t = Instant::now();
    run_to_end(&cfg, &clean);
    let duration = t.elapsed();
    let files = common::run_files(&clean);
    assert!(files
        .keys()
        .any(|f| f.starts_with("figures/") && f.ends_with(".png")));
    assert!(files.contains_key("report.md"));
    // Every file is written atomically at least once, so the run makes at
    // least this many writes; the manifest is written too.
    let writes = files.len() as u64 + 1;

    // Twelve aborts: eight at writes spread over the units and tables, and
    // the last four writes (summary, figures, report).
    let spread = (0..8u64).map(|i| 1 + (writes - 5) * i / 7);
    for at in spread.chain(writes - 3..=writes) {
        let dir = tmp.path().join(format!("abort-{at}"));
        let status = Command::cargo_bin("ismc")
            .unwrap()
            .env("ISMC_CRASH_AFTER_WRITES", at.to_string())
            .args(run_args(&cfg, &dir))
            .output()
            .unwrap()
            .status;
        assert!(
            !status.success(),
            "write {at} of {writes}: the run was not stopped"
        );
        assert_resumes_identically(&cfg, &dir, &clean, &format!("abort at write {at}"));
    }

    // Eight kill -9 at times spread over a clean run's duration.
    for i in 0..8u32 {
        let dir = tmp.path().join(format!("kill-{i}"));
        let mut child = Process::new(assert_cmd::cargo::cargo_bin("ismc"))
            .args(run_args(&cfg, &dir))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(duration.mul_f64((f64::from(i) + 0.5) / 8.0));
        child.kill().unwrap(); // SIGKILL; a no-op if it already finished
        child.wait().unwrap();
        if dir.exists() {
            assert_resumes_identically(&cfg, &dir, &clean, &format!("kill -9 at {i}/8"));
        }
    }
}
