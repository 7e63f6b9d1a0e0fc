//! The quick ImageNet demonstration (`experiments/imagenet-demo-quick.toml`)
//! end to end through `ismc run`: SqueezeNet on coffee.png, its three mode
//! pairs, the named metrics of `summary.json` and the stored curves.
//!
//! Needs the fetched SqueezeNet and photos; skips with a printed reason
//! when the cache lacks them (`ismc assets fetch squeezenet-1.1 photos`).

use std::path::Path;

use assert_cmd::Command;
use ismc::assets::cache_dir;
use ismc::data::photos;
use ismc::nn::zoo;
use serde_json::Value;

const CONFIG: &str = "experiments/imagenet-demo-quick.toml";
const MODEL: &str = "squeezenet-1.1";
/// CE of coffee.png against espresso on SqueezeNet: −ln(0.9821), the
/// 98.21 % top-1 probability the README's `ismc predict` table reports.
const COFFEE_CE: f64 = 0.01806;
/// Tolerance on that CE (the table rounds the probability to 0.01 %).
const COFFEE_CE_TOL: f64 = 2e-4;
/// Relative agreement of the same loss computed in different batches.
const SAME_LOSS_REL: f64 = 1e-4;

fn fetched() -> bool {
    let model = cache_dir().join(zoo::fetched_entry(MODEL).unwrap().file);
    let missing: Vec<String> = std::iter::once(model)
        .chain(
            ["coffee", "chelsea"]
                .iter()
                .map(|n| cache_dir().join(photos::photo(n).unwrap().file)),
        )
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "skipping: {} missing (run `ismc assets fetch squeezenet-1.1 photos`)",
            missing.join(", ")
        );
    }
    missing.is_empty()
}

fn run(out: &Path) -> Value {
    Command::cargo_bin("ismc")
        .unwrap()
        .args(["--quiet", "--threads", "2", "run", CONFIG, "--out"])
        .arg(out)
        .assert()
        .success();
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= SAME_LOSS_REL * (a.abs() + b.abs()) + 1e-7
}

#[test]
fn quick_demo_measures_three_pair_kinds_on_coffee() {
    if !fetched() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("imagenet");
    let s = run(&dir);
    let m = &s["models"][MODEL];
    let coffee = &m["photos"]["coffee"];
    assert_eq!(coffee["class"].as_u64(), Some(967), "{s}");
    assert_eq!(coffee["class_name"].as_str(), Some("espresso"));
    assert_eq!(coffee["photo_top1_is_class"].as_bool(), Some(true));
    let photo_ce = f(&coffee["photo_ce"]);
    assert!(
        (photo_ce - COFFEE_CE).abs() < COFFEE_CE_TOL,
        "coffee CE {photo_ce}"
    );
    // The paper's attack stops once the adversarial CE is below the photo's.
    assert_eq!(coffee["attack_source"].as_str(), Some("chelsea"));
    assert_eq!(coffee["attack_converged"].as_bool(), Some(true));
    assert!(f(&coffee["attack_ce"]) < photo_ce);
    assert_eq!(coffee["all_endpoints_top1_is_class"].as_bool(), Some(true));
    for kind in ["real_synthetic", "synthetic_synthetic", "real_adversarial"] {
        let k = &m["pair_kinds"][kind];
        assert_eq!(k["pairs"].as_u64(), Some(1), "{kind}: {s}");
        let (smax, sgap) = (f(&k["median_straight_max"]), f(&k["median_straight_gap"]));
        let (bmax, bgap) = (f(&k["median_bent_max"]), f(&k["median_bent_gap"]));
        // A gap is the max minus the higher endpoint CE.
        assert!(sgap <= smax && bgap <= bmax, "{kind}");
        assert!(
            (smax - sgap - f(&k["max_endpoint_ce"])).abs() < 1e-9,
            "{kind}: straight max − gap is not the higher endpoint CE"
        );
        // Each kind has a real barrier on its straight path (measured ≥ 3
        // nats), and the bend, which starts at the barrier point and
        // descends the loss there, lowers it.
        assert!(sgap > 1.0, "{kind}: straight gap {sgap}");
        assert!(bmax < smax, "{kind}: bent {bmax} vs straight {smax}");
        let by_round = k["median_max_by_round"].as_array().unwrap();
        assert_eq!(by_round.len(), 2, "round 0 and one bend");
        assert!((f(&by_round[0]) - smax).abs() < 1e-12);
        assert!((f(&by_round[1]) - bmax).abs() < 1e-12);
    }
    // The stored curves start and end at the endpoints' CEs, computed
    // separately in endpoints.csv: the pairs are wired to the right inputs.
    let endpoint_ce = |role: &str| -> f64 {
        let mut r = csv::Reader::from_path(dir.join("endpoints.csv")).unwrap();
        let h = r.headers().unwrap().clone();
        let col = |n: &str| h.iter().position(|x| x == n).unwrap();
        let row = r
            .records()
            .map(Result::unwrap)
            .find(|x| &x[col("role")] == role)
            .unwrap();
        row[col("loss")].parse().unwrap()
    };
    let mut r = csv::Reader::from_path(dir.join("curves.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    for (kind, a, c) in [
        ("real_synthetic", "photo", "fvo_a"),
        ("synthetic_synthetic", "fvo_a", "fvo_b"),
        ("real_adversarial", "photo", "adversarial"),
    ] {
        for path in ["straight", "bent"] {
            let losses: Vec<f64> = rows
                .iter()
                .filter(|x| &x[col("kind")] == kind && &x[col("path")] == path)
                .map(|x| x[col("loss")].parse().unwrap())
                .collect();
            // 8 points on the straight path, 2·7 + 1 on a chain with one bend.
            assert_eq!(losses.len(), if path == "straight" { 8 } else { 15 });
            let (first, last) = (losses[0], *losses.last().unwrap());
            assert!(close(first, endpoint_ce(a)), "{kind} {path} start");
            assert!(close(last, endpoint_ce(c)), "{kind} {path} end");
        }
    }
    for file in [
        "pairs.csv",
        "rounds.csv",
        "report.md",
        "figures/barrier_rounds.png",
        "figures/curves_squeezenet-1_1_coffee_real_adversarial.svg",
    ] {
        assert!(dir.join(file).exists(), "{file}");
    }
    // Figures and report come from the stored files alone: they redraw on
    // a machine where no model was ever fetched (an empty cache).
    let empty = tmp.path().join("empty-cache");
    std::fs::create_dir_all(&empty).unwrap();
    let again = tmp.path().join("figures-again");
    for args in [
        vec![
            "figures".as_ref(),
            dir.as_os_str(),
            "--out".as_ref(),
            again.as_os_str(),
        ],
        vec!["report".as_ref(), dir.as_os_str()],
    ] {
        Command::cargo_bin("ismc")
            .unwrap()
            .env("ISMC_CACHE", &empty)
            .args(args)
            .assert()
            .success();
    }
    assert_eq!(
        std::fs::read(again.join("barrier_rounds.svg")).unwrap(),
        std::fs::read(dir.join("figures/barrier_rounds.svg")).unwrap()
    );
}
