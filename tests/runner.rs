//! The experiment runner end to end, through the `ismc` binary: resume after
//! SIGKILL, clean stop on SIGINT, thread-count independence, shards + merge,
//! the Slurm array script, and the refusal of bad configurations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

mod common;

const QUICK: &str = "experiments/lattice-crossing-quick.toml";
/// Units of QUICK: 2 sides × 1000 samples / 50 per unit.
const QUICK_UNITS: usize = 40;

fn ismc() -> Command {
    Command::cargo_bin("ismc").expect("binary built")
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("ismc")
}

/// Every file of a run directory but the manifest.
fn results(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    common::run_files(dir)
}

fn assert_same(a: &Path, b: &Path) {
    let (ra, rb) = (results(a), results(b));
    assert_eq!(
        ra.keys().collect::<Vec<_>>(),
        rb.keys().collect::<Vec<_>>(),
        "same files"
    );
    for (k, v) in &ra {
        assert!(
            v == &rb[k],
            "{k} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
    assert!(ra.contains_key("summary.json") && ra.contains_key("crossing.csv"));
    assert_eq!(
        ra.keys().filter(|k| k.starts_with("units/")).count(),
        QUICK_UNITS
    );
}

fn run_to_end(out: &Path, threads: usize) {
    ismc()
        .args([
            "--quiet",
            "--threads",
            &threads.to_string(),
            "run",
            QUICK,
            "--out",
        ])
        .arg(out)
        .assert()
        .success();
}

fn unit_count(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("units")).map_or(0, |rd| {
        rd.filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count()
    })
}

/// Starts a 1-thread run and waits until at least `units` units are done.
fn start_and_wait(out: &Path, units: usize) -> std::process::Child {
    let child = Process::new(bin())
        .args(["--quiet", "--threads", "1", "run", QUICK, "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while unit_count(out) < units {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "run made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

#[test]
fn a_run_killed_with_sigkill_resumes_to_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let (killed, clean) = (tmp.path().join("killed"), tmp.path().join("clean"));
    let mut child = start_and_wait(&killed, 2);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = unit_count(&killed);
    assert!(
        done < QUICK_UNITS,
        "the run finished before it could be killed ({done} units); the test proves nothing"
    );
    assert!(!killed.join("summary.json").exists());
    run_to_end(&killed, 1);
    run_to_end(&clean, 1);
    assert_same(&killed, &clean);
    // The manifest records both sessions of the killed directory... or one,
    // if the kill came before the first session wrote it; the rerun's always.
    let manifest = std::fs::read_to_string(killed.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"sessions\""));
}

#[test]
fn sigint_finishes_running_units_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (stopped, clean) = (tmp.path().join("stopped"), tmp.path().join("clean"));
    let child = start_and_wait(&stopped, 1);
    let status = Process::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let done = unit_count(&stopped);
    if done < QUICK_UNITS {
        assert_eq!(
            out.status.code(),
            Some(130),
            "interrupted runs exit with 130"
        );
        // The manifest is written on a clean stop and says so.
        let manifest = std::fs::read_to_string(stopped.join("manifest.json")).unwrap();
        assert!(manifest.contains("\"interrupted\": true"), "{manifest}");
    }
    // No temporary files are left behind.
    let leftovers = std::fs::read_dir(stopped.join("units"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0);
    run_to_end(&stopped, 2);
    run_to_end(&clean, 1);
    assert_same(&stopped, &clean);
}

#[test]
fn one_and_two_threads_give_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    run_to_end(&one, 1);
    run_to_end(&two, 2);
    assert_same(&one, &two);
}

#[test]
fn three_shards_merged_equal_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    run_to_end(&whole, 2);
    let mut shards = Vec::new();
    for i in 0..3 {
        let dir = tmp.path().join(format!("shard-{i}"));
        ismc()
            .args([
                "--quiet",
                "run",
                QUICK,
                "--shard",
                &format!("{i}/3"),
                "--out",
            ])
            .arg(&dir)
            .assert()
            .success();
        assert!(
            !dir.join("summary.json").exists(),
            "a shard alone is not a result"
        );
        shards.push(dir);
    }
    // Two shards are not enough: merge refuses and writes nothing.
    let merged = tmp.path().join("merged");
    ismc()
        .arg("merge")
        .args(&shards[..2])
        .arg("--out")
        .arg(&merged)
        .assert()
        .code(2);
    assert!(!merged.exists());
    ismc()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_same(&merged, &whole);
}

#[test]
fn the_slurm_array_script_with_array_variables_set_by_hand_equals_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    run_to_end(&whole, 2);
    let out = tmp.path().join("slurm");
    for i in 0..3 {
        let status = Process::new("bash")
            .arg("experiments/slurm/sweep.sbatch")
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("ISMC", bin())
            .env("CONFIG", QUICK)
            .env("OUT", &out)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let status = Process::new("bash")
        .arg("experiments/slurm/merge.sbatch")
        .env("ISMC", bin())
        .env("OUT", &out)
        .status()
        .unwrap();
    assert!(status.success());
    assert_same(&out.join("merged"), &whole);
}

#[test]
fn a_directory_of_another_configuration_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_to_end(&dir, 2);
    let other = tmp.path().join("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(QUICK)
            .unwrap()
            .replace("seed = 11", "seed = 12"),
    )
    .unwrap();
    let before = results(&dir);
    let out = ismc()
        .args(["--quiet", "run"])
        .arg(&other)
        .arg("--out")
        .arg(&dir)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("different configuration"), "{err}");
    assert_eq!(results(&dir), before, "nothing touched");
}

/// Writes QUICK with `from` replaced by `to`, runs it, and checks exit code
/// 2, a message containing every `needles`, and that nothing was written.
fn refused(from: &str, to: &str, needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("bad.toml");
    let text = std::fs::read_to_string(QUICK).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&cfg, text.replace(from, to)).unwrap();
    let out_dir = tmp.path().join("out");
    let out = ismc()
        .args(["--quiet", "run"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out_dir)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
    assert!(err.contains("bad.toml"), "names the file: {err}");
    assert!(!out_dir.exists(), "nothing written for a bad config");
}

#[test]
fn bad_configurations_are_refused_with_the_key_and_nothing_is_written() {
    // Unknown key: named, with the valid ones listed.
    refused(
        "seed = 11",
        "seed = 11\nsamples = 5",
        &["samples", "crossing_samples"],
    );
    // Wrong type: the key and the expected type.
    refused(
        "crossing_samples = 1000",
        "crossing_samples = \"many\"",
        &["crossing_samples", "expected u64"],
    );
    // Out of range: the key and the valid range.
    refused(
        "crossing_sides = [32, 128]",
        "crossing_sides = [2]",
        &["params.crossing_sides", "at least 4"],
    );
    refused(
        "samples_per_unit = 50",
        "samples_per_unit = 0",
        &["params.samples_per_unit"],
    );
    // Unknown experiment kind: the valid kinds.
    refused(
        "kind = \"lattice\"",
        "kind = \"latice\"",
        &["latice", "\"lattice\""],
    );
    // Not TOML at all.
    refused("[params]", "[params", &["line"]);
}

#[test]
fn a_missing_config_file_is_named_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ismc()
        .args(["run", "no/such/config.toml", "--out"])
        .arg(tmp.path().join("o"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("no/such/config.toml"), "{err}");
    assert!(!tmp.path().join("o").exists());
}

#[test]
fn figures_and_report_regenerate_from_stored_results() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_to_end(&dir, 2);
    let fig = dir.join("figures/crossing_d2_site.png");
    let original = std::fs::read(&fig).unwrap();
    std::fs::remove_dir_all(dir.join("figures")).unwrap();
    std::fs::remove_file(dir.join("report.md")).unwrap();
    // Units removed too: figures must come from the tables alone.
    std::fs::remove_dir_all(dir.join("units")).unwrap();
    ismc().arg("figures").arg(&dir).assert().success();
    ismc().arg("report").arg(&dir).assert().success();
    assert_eq!(std::fs::read(&fig).unwrap(), original);
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("crossing_d2_site.png"), "{report}");
}

#[test]
fn every_committed_figure_regenerates_from_committed_results() {
    let tmp = tempfile::tempdir().unwrap();
    let status = Process::new("bash")
        .arg("scripts/figures.sh")
        .env("ISMC", bin())
        .env("OUT", tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let committed = results(Path::new("figures"));
    let regenerated = results(tmp.path());
    assert!(!committed.is_empty());
    for (name, bytes) in &committed {
        let new = regenerated
            .get(name)
            .unwrap_or_else(|| panic!("figures/{name} is not regenerated by scripts/figures.sh"));
        // SVG text is compared exactly; PNG pixels too (same renderer, same font).
        assert!(new == bytes, "figures/{name} differs from its regeneration");
    }
}

/// A run into a directory whose lock a live process holds (this test's own
/// process, on this host) is refused with exit code 2 naming that pid and
/// the lock file, and writes nothing; once the lock is gone the same command
/// runs to the end.
#[test]
fn a_run_into_a_directory_in_use_is_refused_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    std::fs::create_dir(&out).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| std::env::var("HOSTNAME").unwrap_or_default());
    let lock = out.join("ismc.lock");
    let pid = std::process::id();
    std::fs::write(&lock, format!("{pid} {host} 2026-01-01T00:00:00Z\n")).unwrap();
    let refused = ismc()
        .args(["--quiet", "run", QUICK, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("pid {pid}")) && err.contains("ismc.lock"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert_eq!(left.len(), 1, "only the lock itself");
    std::fs::remove_file(&lock).unwrap();
    run_to_end(&out, 2);
    assert!(!lock.exists(), "the lock is released at the end");
}

#[test]
fn check_prints_the_units_and_a_memory_and_time_estimate() {
    let cfg = "experiments/lattice-thresholds.toml";
    let out = ismc().args(["check", cfg]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text: toml::Value = toml::from_str(&std::fs::read_to_string(cfg).unwrap()).unwrap();
    let p = &text["params"];
    let n = |k: &str| p[k].as_array().unwrap().len() as u64;
    let per_unit = p
        .get("samples_per_unit")
        .map_or(1000, |v| v.as_integer().unwrap() as u64);
    let crossing = n("crossing_sides")
        * (p["crossing_samples"].as_integer().unwrap() as u64).div_ceil(per_unit);
    assert_eq!(plan["units"], n("dims") * n("kinds") + crossing);
    // The thresholds alone take their budgets: the time covers at least those.
    let budget = |d: i64| {
        p.get("budgets")
            .and_then(|b| b.as_array())
            .and_then(|b| b.iter().find(|x| x["dim"].as_integer() == Some(d)))
            .map_or(p["budget_secs"].as_float().unwrap(), |x| {
                x["secs"].as_float().unwrap()
            })
    };
    let budgets: f64 = p["dims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| budget(d.as_integer().unwrap()) * n("kinds") as f64)
        .sum();
    let secs = plan["estimate"]["reference_seconds"].as_f64().unwrap();
    assert!(
        secs >= budgets && secs < 2.0 * budgets,
        "{secs} s for budgets of {budgets} s"
    );
    assert!(plan["estimate"]["peak_memory_bytes"].as_u64().unwrap() > 1 << 20);
}
