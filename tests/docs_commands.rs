//! Every command the documentation shows is checked against the program:
//! each `ismc …` line (in code blocks and inline code of README.md,
//! ARCHITECTURE.md and docs/*.md) must parse with the binary's argument
//! parser (`ISMC_PARSE_ONLY=1`, see docs/testing.md); each experiment file an
//! `ismc run` line names must pass `ismc check` (parsed, validated, its
//! experiment built); each `cargo bench --bench NAME` and each script must
//! exist. Commands with placeholders (`DIR`, `NAME`, `[--out …]`) are
//! skipped, and counted.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// Command lines of a Markdown text: the lines of fenced code blocks, with
/// `# comments` and a leading `$ ` removed. Inline code spans mostly name
/// commands in prose (`ismc train`) rather than show complete invocations;
/// of them only `ismc run …` (the experiment catalogue's tables) and
/// `cargo bench --bench NAME` are taken.
fn command_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push(line.trim().trim_start_matches("$ ").to_string());
        } else {
            let mut parts = line.split('`');
            parts.next();
            while let Some(code) = parts.next() {
                let code_t = code.trim_start();
                if code_t.starts_with("cargo bench") || code_t.starts_with("ismc run ") {
                    out.push(code.trim().to_string());
                }
                parts.next();
            }
        }
    }
    out.into_iter()
        .map(|l| match l.find(" #") {
            Some(i) => l[..i].trim().to_string(),
            None => l,
        })
        .filter(|l| !l.is_empty())
        .collect()
}

fn has_placeholder(words: &[&str]) -> bool {
    words.iter().any(|w| {
        w.starts_with('[')
            || w.contains("...")
            || w.contains('…')
            || w.contains('<')
            || (w.len() >= 2
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c == '/')
                && !w.starts_with("--"))
    })
}

fn ismc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ismc"))
}

#[test]
fn every_documented_command_parses_and_names_what_exists() {
    let mut parsed = 0;
    let mut skipped = Vec::new();
    let mut configs = Vec::new();
    let mut failures = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let name = doc.strip_prefix(root()).unwrap().display().to_string();
        for line in command_lines(&text) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["ismc", rest @ ..] if !rest.is_empty() => {
                    // Prose that starts with the word "ismc" is not a command.
                    let first = rest[0];
                    if !first.starts_with('-') && !first.chars().all(|c| c.is_ascii_lowercase()) {
                        continue;
                    }
                    if ["is", "works", "has", "runs"].contains(&first) {
                        continue;
                    }
                    if has_placeholder(rest) {
                        skipped.push(format!("{name}: {line}"));
                        continue;
                    }
                    let out = ismc()
                        .args(rest)
                        .env("ISMC_PARSE_ONLY", "1")
                        .output()
                        .unwrap();
                    if !out.status.success() {
                        failures.push(format!(
                            "{name}: `{line}` does not parse: {}",
                            String::from_utf8_lossy(&out.stderr)
                        ));
                    }
                    parsed += 1;
                    if rest[0] == "run" && rest.len() > 1 {
                        configs.push((name.clone(), rest[1].to_string()));
                    }
                }
                ["cargo", "bench", "--bench", bench, ..]
                    if !has_placeholder(&[bench])
                        && !root().join("benches").join(format!("{bench}.rs")).exists() =>
                {
                    failures.push(format!("{name}: no bench `{bench}` for `{line}`"));
                }
                ["bash", script, ..] if !root().join(script).exists() => {
                    failures.push(format!("{name}: no script {script} for `{line}`"));
                }
                _ => {}
            }
        }
    }
    configs.sort();
    configs.dedup_by(|a, b| a.1 == b.1);
    let mut checked = 0;
    for (name, config) in &configs {
        let path = root().join(config);
        if !path.exists() {
            failures.push(format!("{name}: `ismc run {config}` names a missing file"));
            continue;
        }
        let out = ismc()
            .args(["check", config])
            .current_dir(root())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            checked += 1;
        } else if err.contains("ismc assets fetch") {
            // Needs an asset that the setup command fetches (CI has it).
            eprintln!("{config}: skipped, an asset is not fetched here: {err}");
        } else {
            failures.push(format!("{name}: `ismc check {config}` fails: {err}"));
        }
    }
    eprintln!(
        "{parsed} documented ismc commands parsed, {checked} experiment files checked, {} with placeholders skipped",
        skipped.len()
    );
    assert!(
        parsed >= 40,
        "only {parsed} commands found: is the scan broken?"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_scan_takes_fenced_commands_and_inline_benches_and_drops_comments() {
    let md = "Run `ismc path` or `cargo bench --bench nn` now.\n```\nismc eval --json   # comment\n```\n";
    assert_eq!(
        command_lines(md),
        vec!["cargo bench --bench nn", "ismc eval --json"]
    );
    assert!(has_placeholder(&["figures", "DIR"]));
    assert!(!has_placeholder(&["path", "--pair", "0,17"]));
}

#[test]
fn check_refuses_an_invalid_experiment_with_exit_code_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "kind = \"slice-percolation\"\n[params]\nmodels = [\"lenet5-mnist\"]\ndata = \"mnist\"\nseed = 1\npair_kinds = [\"real_real\"]\npairs = 0\n",
    )
    .unwrap();
    let out = ismc().args(["check"]).arg(&cfg).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("pairs"));
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "only the config itself");
}
