//! The fuzz suite: seeded mutations of every experiment file, of `.npy`
//! inputs, of weights files (safetensors, legacy PyTorch, NumPy pickles) and
//! of command lines, run through the parsers, `ismc check`'s plan and the
//! readers (never the full studies). Each case must succeed or be refused
//! as a user error (exit code 2 at the edge) — never panic, abort or run
//! out of memory — and a refused `ismc run` must write nothing.
//!
//! Seeds are fixed, so a failure reproduces; every input that ever failed is
//! kept in `tests/fuzz-corpus/` and replayed first.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use ismc::experiment::registry::{self, RunConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use toml::Value;

/// Runs `f`, failing the test with `case` if it panics or returns an error
/// that is not the user's; returns whether it succeeded.
fn survives<T>(case: &str, f: impl FnOnce() -> ismc::Result<T>) -> bool {
    match catch_unwind(AssertUnwindSafe(f)) {
        Err(_) => panic!("panicked on {case}"),
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            assert!(e.is_user_error(), "{case}: not a user error: {e}");
            false
        }
    }
}

fn experiment_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("experiments")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

// ---------------------------------------------------------------- configs

/// A step into a TOML document.
#[derive(Clone, Debug)]
enum Key {
    Field(String),
    Index(usize),
}

/// Paths of every leaf (and every array) of `v`.
fn leaves(v: &Value, at: &mut Vec<Key>, out: &mut Vec<Vec<Key>>) {
    match v {
        Value::Table(t) => {
            for (k, x) in t {
                at.push(Key::Field(k.clone()));
                leaves(x, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            out.push(at.clone());
            for (i, x) in a.iter().enumerate() {
                at.push(Key::Index(i));
                leaves(x, at, out);
                at.pop();
            }
        }
        _ => out.push(at.clone()),
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Key]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match k {
        Key::Field(f) => &mut v[f.as_str()],
        Key::Index(i) => &mut v[*i],
    })
}

/// Values a hostile user puts into a field.
fn hostile(original: &Value) -> Vec<Value> {
    let mut v = vec![
        Value::Integer(0),
        Value::Integer(1),
        Value::Integer(-1),
        Value::Integer(i64::MAX),
        Value::Integer(1_000_000_000_000),
        Value::Integer(1_000_000_000),
        Value::Float(f64::NAN),
        Value::Float(f64::INFINITY),
        Value::Float(-1e300),
        Value::Float(1e-300),
        Value::String(String::new()),
        Value::String("no-such-thing".into()),
        Value::Boolean(true),
        Value::Array(vec![]),
    ];
    if let Value::Array(a) = original {
        if let Some(first) = a.first() {
            let mut dup = a.clone();
            dup.push(first.clone());
            v.push(Value::Array(dup));
        }
    }
    v
}

/// Every field of every experiment file set to every hostile value, parsed
/// and validated; what parses is kept for the plan stage.
fn structured_config_cases(parsed: &mut Vec<(String, String)>) -> usize {
    let mut cases = 0;
    for file in experiment_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Value = toml::from_str(&text).unwrap();
        let mut paths = Vec::new();
        leaves(&doc, &mut Vec::new(), &mut paths);
        for path in paths {
            for value in hostile(at_mut(&mut doc.clone(), &path)) {
                let mut d = doc.clone();
                *at_mut(&mut d, &path) = value.clone();
                let Ok(mutated) = toml::to_string(&d) else {
                    continue;
                };
                cases += 1;
                let case = format!("{} with {path:?} = {value}", file.display());
                let mut cfg = None;
                survives(&case, || RunConfig::parse(&mutated).map(|c| cfg = Some(c)));
                if let Some(cfg) = cfg {
                    // Stable: the stored text parses to the same configuration.
                    let again = RunConfig::parse(&cfg.text).expect("stored text parses");
                    assert_eq!(again.hash, cfg.hash, "{case}");
                    parsed.push((case, mutated));
                }
            }
        }
    }
    cases
}

const TOKENS: [&str; 16] = [
    "0",
    "-1",
    "9223372036854775807",
    "1e999",
    "nan",
    "inf",
    "\"\"",
    "[]",
    "[1, 1]",
    "{}",
    "=",
    "[params]",
    "\n",
    "\"x\"",
    "true",
    "[[params.budgets]]",
];

/// Seeded text mutations of every experiment file: cut, insert a hostile
/// token, duplicate a line.
fn random_config_cases(per_file: usize) -> usize {
    let mut cases = 0;
    let mut rng = StdRng::seed_from_u64(18);
    for file in experiment_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for _ in 0..per_file {
            let mut t = text.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = floor_boundary(&t, rng.random_range(0..=t.len()));
                match rng.random_range(0..3) {
                    0 => {
                        let end = floor_boundary(&t, (at + rng.random_range(0..20)).min(t.len()));
                        t.replace_range(at..end, "");
                    }
                    1 => t.insert_str(at, TOKENS[rng.random_range(0..TOKENS.len())]),
                    _ => {
                        let line = t.lines().nth(rng.random_range(0..t.lines().count().max(1)));
                        let line = line.unwrap_or("").to_string();
                        t.insert_str(at, &format!("\n{line}\n"));
                    }
                }
            }
            cases += 1;
            survives(&format!("a mutation of {}:\n{t}", file.display()), || {
                RunConfig::parse(&t)
            });
        }
    }
    cases
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Configurations that parse go through the plan (`ismc check`: models
/// and data loaded, units listed); a plan that refuses must make
/// `ismc run` refuse with exit 2 and write nothing.
fn plan_cases(parsed: &[(String, String)], plans: usize, runs: usize) -> usize {
    let step = (parsed.len() / plans).max(1);
    let mut refused = Vec::new();
    for (case, text) in parsed.iter().step_by(step) {
        let cfg = RunConfig::parse(text).unwrap();
        if !survives(case, || registry::plan(&cfg)) {
            refused.push((case, text));
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    for (i, (case, text)) in refused.iter().take(runs).enumerate() {
        let cfg = tmp.path().join(format!("c{i}.toml"));
        std::fs::write(&cfg, text).unwrap();
        let out = tmp.path().join(format!("o{i}"));
        Command::cargo_bin("ismc")
            .unwrap()
            .arg("--quiet")
            .arg("run")
            .arg(&cfg)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2);
        assert!(!out.exists(), "{case}: a refused run wrote {out:?}");
    }
    parsed.len().div_ceil(step) + refused.len().min(runs)
}

// ---------------------------------------------------------------- .npy

fn npy(header: &str, payload: &[u8]) -> Vec<u8> {
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + header.len() + 1) % 64;
    let text = format!("{header}{}\n", " ".repeat(pad % 64));
    b.extend_from_slice(&(text.len() as u16).to_le_bytes());
    b.extend_from_slice(text.as_bytes());
    b.extend_from_slice(payload);
    b
}

fn npy_cases(n: usize) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.npy");
    let mut rng = StdRng::seed_from_u64(19);
    let descrs = [
        "<f4", "<f8", ">f4", "<i4", "|u1", "|b1", "<f2", "<c8", "x", "",
    ];
    let dims = [0i64, 1, 28, 784, -1, 1 << 20, 1 << 40, i64::MAX];
    for i in 0..n {
        let shape: Vec<String> = (0..rng.random_range(0..5))
            .map(|_| dims[rng.random_range(0..dims.len())].to_string())
            .collect();
        let header = format!(
            "{{'descr': '{}', 'fortran_order': {}, 'shape': ({}{}), }}",
            descrs[rng.random_range(0..descrs.len())],
            if rng.random_bool(0.2) {
                "True"
            } else {
                "False"
            },
            shape.join(", "),
            if shape.len() == 1 { "," } else { "" }
        );
        let payload: Vec<u8> = (0..rng.random_range(0..4000))
            .map(|_| rng.random())
            .collect();
        let mut bytes = npy(&header, &payload);
        if i % 3 == 0 {
            // Byte flips in the magic, version, length and header.
            for _ in 0..rng.random_range(1..6) {
                let at = rng.random_range(0..bytes.len().min(140));
                bytes[at] = rng.random();
            }
        }
        if i % 5 == 0 {
            bytes.truncate(rng.random_range(0..=bytes.len()));
        }
        std::fs::write(&path, &bytes).unwrap();
        let case = format!("npy case {i}: {header}");
        survives(&case, || ismc::data::input::read_input_npy(&path, 784));
        survives(&case, || ismc::percolation::label::npy::read_grid(&path));
    }
    2 * n
}

// ---------------------------------------------------------------- weights

fn flip_and_cut(rng: &mut StdRng, src: &[u8], within: usize) -> Vec<u8> {
    let mut b = src.to_vec();
    match rng.random_range(0..3) {
        0 => {
            for _ in 0..rng.random_range(1..8) {
                let at = rng.random_range(0..within.min(b.len()));
                b[at] = rng.random();
            }
        }
        1 => b.truncate(rng.random_range(0..b.len())),
        _ => {
            let at = rng.random_range(0..within.min(b.len()));
            b.splice(
                at..at,
                (0..rng.random_range(1..16)).map(|_| rng.random::<u8>()),
            );
        }
    }
    b
}

/// The bundled LeNet5's safetensors header with one value replaced.
fn edited_safetensors(rng: &mut StdRng, src: &[u8]) -> Vec<u8> {
    let n = u64::from_le_bytes(src[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&src[8..8 + n]).unwrap();
    let names: Vec<String> = header.as_object().unwrap().keys().cloned().collect();
    let name = &names[rng.random_range(0..names.len())];
    let wild = [0u64, 1, 7, 1 << 20, 1 << 40, u64::MAX];
    let w = wild[rng.random_range(0..wild.len())];
    if name == "__metadata__" {
        let arch = header[name]["ismc.arch"]
            .as_str()
            .unwrap_or("{}")
            .to_string();
        let mut arch: serde_json::Value = serde_json::from_str(&arch).unwrap();
        let keys: Vec<String> = arch.as_object().unwrap().keys().cloned().collect();
        let k = &keys[rng.random_range(0..keys.len())];
        arch[k.as_str()] = w.into();
        header[name]["ismc.arch"] = arch.to_string().into();
    } else {
        let t = &mut header[name.as_str()];
        match rng.random_range(0..3) {
            0 => t["shape"][0] = w.into(),
            1 => t["data_offsets"][1] = w.into(),
            _ => t["dtype"] = ["F16", "I64", "BOOL", "X"][rng.random_range(0..4)].into(),
        }
    }
    let text = header.to_string().into_bytes();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&src[8 + n..]);
    out
}

fn weights_cases(n: usize) -> usize {
    use ismc::nn::weights::{numpy_pickle, parse_safetensors, torch_legacy};
    let tmp = tempfile::tempdir().unwrap();
    let st = std::fs::read("assets/models/advertorch-0.2.3-mnist_lenet5_clntrained.safetensors")
        .unwrap();
    let pt = std::fs::read("assets/fixtures/tiny_legacy.pt").unwrap();
    let pkl = std::fs::read("assets/fixtures/tiny_numpy.pkl").unwrap();
    let header_len = 8 + u64::from_le_bytes(st[..8].try_into().unwrap()) as usize;
    let mut rng = StdRng::seed_from_u64(20);
    let path = tmp.path().join("w.safetensors");
    for i in 0..n {
        let p = Path::new("fuzzed");
        let case = format!("weights case {i}");
        let bytes = if i % 2 == 0 {
            edited_safetensors(&mut rng, &st)
        } else {
            flip_and_cut(&mut rng, &st, header_len)
        };
        survives(&case, || parse_safetensors(&bytes, p));
        if i % 4 < 2 {
            // The whole load: metadata, architecture, shapes.
            std::fs::write(&path, &bytes).unwrap();
            survives(&case, || ismc::nn::Network::load(&path, None));
        }
        let b = flip_and_cut(&mut rng, &pt, pt.len());
        survives(&case, || torch_legacy::parse(&b, p));
        let b = flip_and_cut(&mut rng, &pkl, pkl.len());
        survives(&case, || numpy_pickle::parse(&b, p));
    }
    n * 4 - n / 2
}

// ---------------------------------------------------------------- command lines

fn cli_cases() -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let values = [
        "0",
        "1",
        "-1",
        "1e12",
        "1000000000000",
        "18446744073709551616",
        "NaN",
        "inf",
        "",
        "abc",
        "2,3",
    ];
    let sweep: &[&str] = &[
        "lattice",
        "sweep",
        "--dim",
        "2",
        "--size",
        "8",
        "--samples",
        "4",
        "--out",
        o,
    ];
    let threshold: &[&str] = &["lattice", "threshold", "--dim", "2", "--budget-secs", "0.2"];
    let path: &[&str] = &["path", "--pair", "0,1"];
    let commands = [
        (sweep, "--samples"),
        (sweep, "--size"),
        (sweep, "--points"),
        (sweep, "--dim"),
        (sweep, "--threads"),
        (threshold, "--budget-secs"),
        (threshold, "--dim"),
        (path, "--points"),
        (path, "--low-loss"),
        (path, "--pair"),
        (path, "--class"),
        (path, "--model"),
    ];
    let mut cases = 0;
    for (base, flag) in commands {
        for v in values {
            let mut args: Vec<&str> = base.to_vec();
            match args.iter().position(|a| *a == flag) {
                Some(i) => args[i + 1] = v,
                None => args.extend([flag, v]),
            }
            let run = Command::cargo_bin("ismc")
                .unwrap()
                .env("ISMC_MEMORY_LIMIT", "4000000000")
                .arg("--quiet")
                .args(&args)
                .output()
                .unwrap();
            let code = run.status.code();
            assert!(
                matches!(code, Some(0) | Some(2)),
                "{args:?} exited {code:?}: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            if code == Some(2) {
                assert!(!out.exists(), "{args:?} was refused but wrote {out:?}");
            }
            let _ = std::fs::remove_dir_all(&out);
            cases += 1;
        }
    }
    cases
}

// ---------------------------------------------------------------- corpus

/// Replays every input that ever failed (see `tests/fuzz-corpus/README.md`).
fn corpus_cases() -> usize {
    let mut cases = 0;
    for e in std::fs::read_dir("tests/fuzz-corpus").unwrap() {
        let path = e.unwrap().path();
        let case = path.display().to_string();
        match path.extension().and_then(|x| x.to_str()) {
            Some("toml") => {
                let text = std::fs::read_to_string(&path).unwrap();
                let mut cfg = None;
                survives(&case, || RunConfig::parse(&text).map(|c| cfg = Some(c)));
                if let Some(cfg) = cfg {
                    survives(&case, || registry::plan(&cfg));
                }
            }
            Some("npy") => {
                survives(&case, || ismc::data::input::read_input_npy(&path, 784));
                survives(&case, || ismc::percolation::label::npy::read_grid(&path));
            }
            Some("safetensors") => {
                survives(&case, || ismc::nn::Network::load(&path, None));
            }
            _ => continue,
        }
        cases += 1;
    }
    cases
}

/// One test, so that the case count is checked in one place: at least 10⁴.
#[test]
fn ten_thousand_hostile_inputs_are_refused_cleanly() {
    let started = std::time::Instant::now();
    let corpus = corpus_cases();
    let mut parsed = Vec::new();
    let structured = structured_config_cases(&mut parsed);
    let random = random_config_cases(200);
    let plans = plan_cases(&parsed, 500, 60);
    let npy = npy_cases(3000);
    let weights = weights_cases(600);
    let cli = cli_cases();
    let total = corpus + structured + random + plans + npy + weights + cli;
    eprintln!(
        "fuzz: {total} cases in {:.0} s (corpus {corpus}, configs {structured} structured + \
         {random} random, plans {plans}, npy {npy}, weights {weights}, command lines {cli})",
        started.elapsed().as_secs_f64()
    );
    assert!(total >= 10_000, "only {total} cases");
}
