//! Records the git revision the binary is built from (for run manifests),
//! marked `-dirty` when tracked files differ from it. Outside a git
//! checkout, or without git, nothing is recorded.

use std::process::Command;

fn main() {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(rev) = git(&["rev-parse", "--short=12", "HEAD"]) {
        // A binary built from uncommitted changes to tracked files is not
        // that revision: say so, so a manifest never claims it is.
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        let suffix = if dirty { "-dirty" } else { "" };
        println!("cargo:rustc-env=ISMC_GIT_REVISION={rev}{suffix}");
    }
    // Rerun when HEAD moves (commit, checkout) or a source changes (so the
    // dirty mark follows the tree).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/refs/heads");
    }
    for path in ["src", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
