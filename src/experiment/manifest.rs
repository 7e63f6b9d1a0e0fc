//! `manifest.json`: the provenance of a run directory — which program, which
//! configuration, which seed, which machine, when, and how long each unit
//! took. It is the only file of a run that holds wall-clock facts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::runner::{RunIdentity, Shard};
use crate::atomic::write_atomic;
use crate::error::{Error, Result};

/// The provenance record of a run directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// `ismc` version that created the directory.
    pub ismc_version: String,
    /// Git revision the binary was built from, when known.
    pub git_revision: Option<String>,
    /// Experiment kind, as written in the configuration's `kind = "…"`.
    pub kind: String,
    /// SHA-256 of the canonical configuration.
    pub config_hash: String,
    /// Master seed of the experiment.
    pub seed: u64,
    /// Every invocation that worked in this directory, in order.
    pub sessions: Vec<SessionRecord>,
    /// Wall time of each finished unit and the session that ran it.
    pub units: BTreeMap<String, UnitTiming>,
}

/// One invocation of `ismc run` (or a merge).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Start, RFC 3339 UTC.
    pub start: String,
    /// End, RFC 3339 UTC.
    pub end: String,
    /// Wall-clock seconds the session ran, up to its manifest write.
    pub seconds: f64,
    /// Size of the rayon thread pool the session's units ran on.
    pub threads: usize,
    /// Name of the machine, from `/proc/sys/kernel/hostname` or `$HOSTNAME` (`unknown`
    /// when neither is set).
    pub host: String,
    /// The shard run, `i/n`.
    pub shard: String,
    /// Whether the session stopped early on request.
    pub interrupted: bool,
    /// `ismc` version of this session.
    pub ismc_version: String,
}

/// Timing of one unit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnitTiming {
    /// Wall-clock seconds the unit took, its output file written.
    pub seconds: f64,
    /// Index into [`Manifest::sessions`] of the session that ran it.
    pub session: usize,
}

/// A session that has started.
pub struct Session {
    start: SystemTime,
    shard: Shard,
}

impl Session {
    /// Starts a session now.
    pub fn begin(shard: Shard) -> Self {
        Session {
            start: SystemTime::now(),
            shard,
        }
    }

    /// Ends the session now: its record with the elapsed `seconds` and whether it was
    /// `interrupted`.
    pub fn end(self, seconds: f64, interrupted: bool) -> SessionRecord {
        SessionRecord {
            start: rfc3339(self.start),
            end: rfc3339(SystemTime::now()),
            seconds,
            threads: rayon::current_num_threads(),
            host: host_name(),
            shard: format!("{}/{}", self.shard.index, self.shard.count),
            interrupted,
            ismc_version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

const FILE: &str = "manifest.json";

impl Manifest {
    /// The manifest of `dir`, or a fresh one for the run identified by `cfg`.
    pub fn load_or_new(dir: &Path, cfg: &RunIdentity) -> Result<Self> {
        if dir.join(FILE).exists() {
            return Manifest::read(dir);
        }
        Ok(Manifest {
            ismc_version: env!("CARGO_PKG_VERSION").into(),
            git_revision: git_revision(),
            kind: cfg.kind.clone(),
            config_hash: cfg.hash.clone(),
            seed: cfg.seed,
            sessions: Vec::new(),
            units: BTreeMap::new(),
        })
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::InvalidFile {
            path,
            reason: format!("not an ismc manifest: {e}"),
        })
    }

    /// Writes `dir/manifest.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("manifest is serialisable");
        write_atomic(&dir.join(FILE), &json)
    }
}

/// The git revision recorded at build time (see `build.rs`).
pub fn git_revision() -> Option<String> {
    option_env!("ISMC_GIT_REVISION")
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}
