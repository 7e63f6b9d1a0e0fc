//! Where assets live and how they are recorded.
//!
//! *Bundled* assets (the MNIST digits and both advertorch LeNet5 models) are
//! committed under `assets/` with `assets/MANIFEST.toml`; *fetched* assets
//! are converted into a cache directory by `ismc assets fetch`, which writes a
//! manifest of the same form there. Each [`AssetRecord`] names the registry
//! package and version it came from, the files taken from it with their
//! sha256, the licence, and the converted files with their sha256.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Directory of the committed assets: `$ISMC_ASSETS`, else `assets/` in the
/// source tree the binary was built from.
pub fn bundled_dir() -> PathBuf {
    match std::env::var_os("ISMC_ASSETS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"),
    }
}

/// Directory of fetched assets: `$ISMC_CACHE`, else `.cache/ismc` in the
/// source tree the binary was built from.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("ISMC_CACHE") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".cache")
            .join("ismc"),
    }
}

/// File name of a manifest inside an asset directory.
pub const MANIFEST_FILE: &str = "MANIFEST.toml";

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `path` and checks its sha256 against `expected`.
pub fn read_verified(path: &Path, expected: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let found = sha256_hex(&bytes);
    if found != expected {
        return Err(Error::Checksum {
            path: path.into(),
            expected: expected.to_string(),
            found,
        });
    }
    Ok(bytes)
}

/// One file and its sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Path: inside the package for sources, relative to the asset directory
    /// for converted files.
    pub path: String,
    /// Lower-case hex sha256 of the file's bytes.
    pub sha256: String,
}

/// Provenance and checksums of one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetRecord {
    /// The asset's name (`mnist`, `lenet5-mnist`, …).
    pub name: String,
    /// `data` or `model`.
    pub kind: String,
    /// One line on what it is.
    pub description: String,
    /// Registry: `npm`, `pypi` or `debian`.
    pub registry: String,
    /// Package name in that registry.
    pub package: String,
    /// Version of the package in that registry that the files come from.
    pub version: String,
    /// The client command that downloads the package.
    pub client_command: String,
    /// SPDX licence identifier of the asset.
    pub licence: String,
    /// Licence text, relative to the asset directory.
    pub licence_file: String,
    /// Files taken from the package, with their sha256.
    pub sources: Vec<FileRecord>,
    /// Converted files, relative to the asset directory, with their sha256.
    pub outputs: Vec<FileRecord>,
    /// The command that converts the sources into the outputs.
    pub converted_by: String,
    /// Anything a user should know (decoding, layout, caveats).
    pub notes: String,
}

/// A manifest: the asset records of one directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The records, one per asset.
    #[serde(default, rename = "asset")]
    pub assets: Vec<AssetRecord>,
}

impl Manifest {
    /// Reads `dir/MANIFEST.toml`; a missing file gives an empty manifest.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
            Err(e) => return Err(Error::io(&path, e)),
        };
        toml::from_str(&text).map_err(|e| Error::corrupt(&path, e.to_string()))
    }

    /// Writes `dir/MANIFEST.toml` atomically, records sorted by name.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let mut m = self.clone();
        m.assets.sort_by(|a, b| a.name.cmp(&b.name));
        let text = toml::to_string_pretty(&m)
            .map_err(|e| Error::invalid("manifest", "", e.to_string()))?;
        let header = "# Assets: provenance, licences and sha256 of every file.\n\
                      # Written by `ismc assets` (src/assets.rs); do not edit by hand.\n\n";
        let path = dir.join(MANIFEST_FILE);
        crate::atomic::write_atomic(&path, format!("{header}{text}").as_bytes()).map_err(
            |e| match e {
                crate::Error::Io { path, source } => Error::Io { path, source },
                other => Error::corrupt(&path, other.to_string()),
            },
        )
    }

    /// The record named `name`, if any.
    pub fn get(&self, name: &str) -> Option<&AssetRecord> {
        self.assets.iter().find(|a| a.name == name)
    }

    /// Inserts or replaces the record with the same name.
    pub fn upsert(&mut self, rec: AssetRecord) {
        self.assets.retain(|a| a.name != rec.name);
        self.assets.push(rec);
    }

    /// Checks every output file of every record against its sha256.
    pub fn verify_outputs(&self, dir: &Path) -> Result<()> {
        for a in &self.assets {
            for f in &a.outputs {
                read_verified(&dir.join(&f.path), &f.sha256)?;
            }
        }
        Ok(())
    }
}

/// Writes bytes atomically, mapping the error into [`Error`].
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic::write_atomic(path, bytes).map_err(|e| match e {
        crate::Error::Io { path, source } => Error::Io { path, source },
        other => Error::corrupt(path, other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_string() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn manifest_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f.bin"), b"abc").unwrap();
        let mut m = Manifest::default();
        m.upsert(AssetRecord {
            name: "x".into(),
            kind: "data".into(),
            description: "d".into(),
            registry: "npm".into(),
            package: "p".into(),
            version: "1".into(),
            client_command: "npm pack p@1".into(),
            licence: "MIT".into(),
            licence_file: "licenses/x".into(),
            sources: vec![],
            outputs: vec![FileRecord {
                path: "f.bin".into(),
                sha256: sha256_hex(b"abc"),
            }],
            converted_by: "c".into(),
            notes: String::new(),
        });
        m.write(dir.path()).unwrap();
        let back = Manifest::read(dir.path()).unwrap();
        assert_eq!(back, m);
        back.verify_outputs(dir.path()).unwrap();
        std::fs::write(dir.path().join("f.bin"), b"abd").unwrap();
        assert!(matches!(
            back.verify_outputs(dir.path()),
            Err(Error::Checksum { .. })
        ));
    }
}
