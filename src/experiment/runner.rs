//! The experiment runner: declarative, resumable, shardable runs.
//!
//! An [`Experiment`] splits its work into *units* (sample batches, pairs,
//! slices, thresholds) with stable identifiers. The runner executes the units
//! that are not finished yet, in parallel, and stores each one's output as
//! `DIR/units/<id>.json`, written atomically (temporary file, fsync, rename).
//! A unit file therefore either exists complete or not at all, which gives
//! the three properties the runner exists for:
//!
//! * **Resumable.** After `kill -9`, rerunning the same command skips every
//!   unit whose file exists and computes the rest. Ctrl-C (or any `stop` flag)
//!   lets the running units finish and write, starts no new one, and returns
//!   [`RunOutcome::Interrupted`].
//! * **Deterministic.** A unit's output depends only on the configuration and
//!   the unit's identity (its seed is derived from the master seed and the
//!   unit's index in the full list), never on the thread count or on which
//!   other units ran in the same process. The final tables are computed from
//!   the unit files read back from disk, in unit order — the same bytes
//!   whether the run was interrupted or not.
//! * **Shardable.** `Shard { index: i, count: n }` runs the units whose index
//!   is `i mod n`; [`merge`] gathers the unit files of several shard
//!   directories into one directory and finishes it, giving exactly the
//!   results of one run.
//!
//! Layout of a run directory:
//!
//! ```text
//! DIR/config.toml      the configuration, verbatim (a rerun must match it)
//! DIR/manifest.json    version, git revision, config hash, seed, threads,
//!                      host, sessions (start/end), per-unit timings
//! DIR/units/*.json     one file per finished unit
//! DIR/artifacts/<id>/  files a unit writes besides its JSON (weights, …)
//! DIR/summary.json     named metrics (written when every unit is done)
//! DIR/*.csv, *.npy     tables and arrays
//! DIR/figures/         PNG + SVG, redrawn from the stored files only
//! DIR/report.md        tables and figure links
//! ```
//!
//! Only `manifest.json` and explicitly documented `seconds` columns hold
//! wall-clock times; everything else is a pure function of the configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::estimate::ResourceEstimate;
use super::lock::{RunLock, LOCK_FILE};
use super::manifest::{Manifest, Session, UnitTiming};
use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// A computation the runner can split, resume, shard and merge.
pub trait Experiment: Sync {
    /// What one unit produces; stored as JSON.
    type Output: Serialize + DeserializeOwned + Send;

    /// Identifiers of all units, in canonical order. They must be stable for
    /// a given configuration and usable as file names (`[A-Za-z0-9._-]`).
    fn units(&self) -> Vec<String>;

    /// Runs unit `index` (its position in [`Experiment::units`]). Seeds must
    /// derive from the configuration and `index` only. Files that do not
    /// belong in the JSON output (trained weights, large arrays) go into
    /// `files`, the unit's own directory.
    fn run_unit(&self, index: usize, files: &UnitFiles) -> Result<Self::Output>;

    /// Writes the tables and `summary.json` into `dir` from every unit's
    /// output, in unit order.
    fn finish(&self, outputs: Vec<Self::Output>, dir: &Path) -> Result<()>;

    /// Draws the figures of a finished run from its stored files into `out`;
    /// returns the paths written.
    fn draw_figures(&self, dir: &Path, out: &Path) -> Result<Vec<PathBuf>>;

    /// Writes `dir/report.md` (tables and figure links) from the stored files.
    fn write_report(&self, dir: &Path) -> Result<PathBuf>;

    /// Checks what validating the parameters cannot, and what only a run
    /// needs (model names resolve, assets are fetched, data sets are large
    /// enough), before the run directory is created; `ismc check` calls it
    /// too. Redrawing figures or a report never does.
    fn preflight(&self) -> Result<()> {
        Ok(())
    }

    /// The memory and time a run needs, estimated without running a unit
    /// (printed by `ismc check`). By default, the memory measured with the
    /// study built and no time; a study with a cost model says more.
    fn estimate(&self) -> ResourceEstimate {
        ResourceEstimate::loaded()
    }
}

/// A disjoint share of the units: those whose index is `index mod count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 ≤ index < count`.
    pub index: usize,
    /// Number of shards n the units are split into (n ≥ 1).
    pub count: usize,
}

impl Shard {
    /// The whole run as a single shard, `0/1`.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n` (as on the command line), checking `0 ≤ i < n`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::invalid("--shard", s, "expected I/N with 0 <= I < N, e.g. 0/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether unit `i` belongs to this shard.
    pub fn owns(&self, i: usize) -> bool {
        i % self.count == self.index
    }
}

/// How a call to [`run`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every unit is done and the results are written.
    Complete,
    /// This shard's units are done; others are missing (merge the shards).
    ShardDone {
        /// Units present in the directory.
        done: usize,
        /// Units of the whole experiment.
        total: usize,
    },
    /// Stopped early on request; rerun the same command to resume.
    Interrupted {
        /// Units present in the directory.
        done: usize,
        /// Units of the whole experiment.
        total: usize,
    },
}

/// Options of one invocation of [`run`].
pub struct RunOptions<'a> {
    /// The run directory the units, the manifest and the results are written to.
    pub out: &'a Path,
    /// Which units to run.
    pub shard: Shard,
    /// Set to stop after the running units (Ctrl-C).
    pub stop: Option<&'a AtomicBool>,
    /// Observer of finished units.
    pub progress: Option<&'a dyn Progress>,
}

const UNITS: &str = "units";
const ARTIFACTS: &str = "artifacts";

/// Path of unit `id`'s output in `dir`.
pub fn unit_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(UNITS).join(format!("{id}.json"))
}

/// Directory of unit `id`'s artefacts in `dir`.
pub fn artifact_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join(ARTIFACTS).join(id)
}

/// The directory in which one unit writes its artefacts:
/// `DIR/artifacts/<id>/`, created on first use.
///
/// The runner writes the unit's JSON only after [`Experiment::run_unit`]
/// returns, so a unit whose JSON exists has all its artefacts; a unit killed
/// half-way has no JSON, and its artefact directory is emptied before it
/// runs again. Write artefacts atomically too (e.g. with
/// [`crate::atomic::write_atomic`]) so a reader never sees half a file.
#[derive(Debug, Clone)]
pub struct UnitFiles {
    dir: PathBuf,
}

impl UnitFiles {
    /// The artefact directory of unit `id` of the run in `run_dir`.
    pub fn new(run_dir: &Path, id: &str) -> Self {
        UnitFiles {
            dir: artifact_dir(run_dir, id),
        }
    }

    /// The directory, created if missing.
    pub fn dir(&self) -> Result<&Path> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        Ok(&self.dir)
    }

    /// Path of artefact `name` (the directory is created).
    pub fn path(&self, name: &str) -> Result<PathBuf> {
        Ok(self.dir()?.join(name))
    }

    /// Removes what an interrupted run of this unit left.
    fn clear(&self) -> Result<()> {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        }
        Ok(())
    }
}

/// What the runner knows of a run's configuration: enough to create, check
/// and record a run directory without knowing which experiment it belongs to.
///
/// It is built from a parsed configuration by the layer that parses
/// configurations; the runner and the manifest never parse one themselves.
#[derive(Debug, Clone)]
pub struct RunIdentity {
    /// The experiment kind, as written in `kind = "…"`; recorded in the
    /// manifest.
    pub kind: String,
    /// The configuration text, stored verbatim as `DIR/config.toml`.
    pub text: String,
    /// SHA-256 (hex) of the canonical configuration; a directory can only be
    /// resumed or merged with the same hash.
    pub hash: String,
    /// The master seed, recorded in the manifest.
    pub seed: u64,
    /// Reads a stored `config.toml` and returns its canonical hash, failing
    /// as parsing that file would.
    pub rehash: fn(&Path) -> Result<String>,
}

/// Runs (or resumes) `exp`, whose configuration is `cfg`, in `opts.out`.
///
/// Refuses a directory that holds a run of a different configuration.
/// When every unit is present afterwards, finishes the run: tables and
/// `summary.json`, figures and the report.
///
/// A first session that fails before any unit finished (a model that does
/// not load, a class with too few inputs, a parameter that only turns out
/// to be unusable once the data are seen) leaves nothing behind: the files
/// it wrote are removed, and the directory too if the run created it, so
/// that the corrected configuration can run there.
pub fn run<E: Experiment>(exp: &E, cfg: &RunIdentity, opts: &RunOptions) -> Result<RunOutcome> {
    let ids = exp.units();
    check_ids(&ids)?;
    exp.preflight()?;
    let dir_existed = opts.out.exists();
    std::fs::create_dir_all(opts.out).map_err(|e| Error::io(opts.out, e))?;
    let lock = RunLock::acquire(opts.out)?;
    let fresh = !opts.out.join("config.toml").exists();
    let result = session(exp, cfg, opts, &ids);
    if result.is_err() && fresh && !ids.iter().any(|id| unit_path(opts.out, id).exists()) {
        discard_fresh(opts.out);
        drop(lock);
        if !dir_existed {
            // Fails harmlessly if something else appeared in it meanwhile.
            let _ = std::fs::remove_dir(opts.out);
        }
    }
    result
}

/// Removes what a failed first session wrote into `dir` (it holds no
/// finished unit): its configuration, manifest, unit directories and
/// temporaries. Best effort: the session's own error is what is reported.
fn discard_fresh(dir: &Path) {
    let _ = std::fs::remove_file(dir.join("config.toml"));
    let _ = std::fs::remove_file(dir.join("manifest.json"));
    let _ = std::fs::remove_dir_all(dir.join(UNITS));
    let _ = remove_stale_temporaries(dir);
}

/// One session of [`run`] in a locked directory.
fn session<E: Experiment>(
    exp: &E,
    cfg: &RunIdentity,
    opts: &RunOptions,
    ids: &[String],
) -> Result<RunOutcome> {
    prepare_dir(opts.out, cfg)?;
    let mut manifest = Manifest::load_or_new(opts.out, cfg)?;
    let session = Session::begin(opts.shard);
    let started = Instant::now();

    let pending: Vec<usize> = (0..ids.len())
        .filter(|&i| opts.shard.owns(i) && load_unit::<E::Output>(opts.out, &ids[i]).is_none())
        .collect();
    if let Some(p) = opts.progress {
        p.set_total(pending.len() as u64);
    }
    tracing::info!(
        units = ids.len(),
        pending = pending.len(),
        shard = %format!("{}/{}", opts.shard.index, opts.shard.count),
        "run started"
    );
    let timings = Mutex::new(Vec::new());
    let result: Result<()> = pending.par_iter().try_for_each(|&i| {
        if opts.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            return Ok(());
        }
        let t = Instant::now();
        let files = UnitFiles::new(opts.out, &ids[i]);
        files.clear()?;
        let out = exp.run_unit(i, &files)?;
        let json = serde_json::to_vec(&out).map_err(|e| Error::Numerical {
            context: format!("unit {}", ids[i]),
            reason: format!("output not serialisable: {e}"),
        })?;
        write_atomic(&unit_path(opts.out, &ids[i]), &json)?;
        let seconds = t.elapsed().as_secs_f64();
        tracing::debug!(unit = %ids[i], seconds, "unit done");
        timings
            .lock()
            .expect("no panic while holding the lock")
            .push((ids[i].clone(), seconds));
        if let Some(p) = opts.progress {
            p.advance(1);
        }
        Ok(())
    });
    // Record what finished even when a unit failed.
    let mut finished = timings.into_inner().expect("no poisoned lock");
    finished.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, seconds) in finished {
        manifest.units.insert(
            id,
            UnitTiming {
                seconds,
                session: manifest.sessions.len(),
            },
        );
    }
    let done = ids
        .iter()
        .filter(|id| unit_path(opts.out, id).exists())
        .count();
    let interrupted = opts.stop.is_some_and(|s| s.load(Ordering::SeqCst));
    manifest
        .sessions
        .push(session.end(started.elapsed().as_secs_f64(), interrupted));
    manifest.write(opts.out)?;
    result?;

    if interrupted && done < ids.len() {
        return Ok(RunOutcome::Interrupted {
            done,
            total: ids.len(),
        });
    }
    if done < ids.len() {
        return Ok(RunOutcome::ShardDone {
            done,
            total: ids.len(),
        });
    }
    finish(exp, opts.out, ids)?;
    Ok(RunOutcome::Complete)
}

/// Reads every unit back from disk and writes tables, figures and report.
/// First removes temporary files that a killed process left in the run
/// directory, `units/` and `figures/`
/// (every unit is present, so nothing is writing them any more).
fn finish<E: Experiment>(exp: &E, dir: &Path, ids: &[String]) -> Result<()> {
    for d in [dir.to_path_buf(), dir.join(UNITS), dir.join("figures")] {
        remove_stale_temporaries(&d)?;
    }
    let mut outputs = Vec::with_capacity(ids.len());
    for id in ids {
        let path = unit_path(dir, id);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        outputs.push(
            serde_json::from_slice(&bytes).map_err(|e| Error::InvalidFile {
                path: path.clone(),
                reason: format!("unit output does not parse: {e}"),
            })?,
        );
    }
    exp.finish(outputs, dir)?;
    exp.draw_figures(dir, &dir.join("figures"))?;
    exp.write_report(dir)?;
    Ok(())
}

/// Gathers the unit files of shard directories `dirs` (all runs of the same
/// configuration) into `out` and finishes it there. A unit present in
/// several directories must hold the same bytes in each.
pub fn merge<E: Experiment>(
    exp: &E,
    cfg: &RunIdentity,
    dirs: &[PathBuf],
    out: &Path,
) -> Result<()> {
    let ids = exp.units();
    check_ids(&ids)?;
    // Check everything before writing anything.
    // Unit id → the shard directory its files are taken from.
    let mut sources: BTreeMap<&str, &Path> = BTreeMap::new();
    for dir in dirs {
        let other = (cfg.rehash)(&dir.join("config.toml"))?;
        if other != cfg.hash {
            return Err(Error::InvalidFile {
                path: dir.join("config.toml"),
                reason: format!(
                    "a run of a different configuration (hash {} instead of {}); \
                     merge only shards of one run",
                    other, cfg.hash
                ),
            });
        }
        for id in &ids {
            let path = unit_path(dir, id);
            if !path.exists() {
                continue;
            }
            if let Some(prev) = sources.get(id.as_str()) {
                let earlier = unit_path(prev, id);
                let same = read(&earlier)? == read(&path)?
                    && tree_files(&artifact_dir(prev, id))? == tree_files(&artifact_dir(dir, id))?;
                if !same {
                    return Err(Error::InvalidFile {
                        path,
                        reason: format!("unit {id} differs from {}", earlier.display()),
                    });
                }
            } else {
                sources.insert(id, dir);
            }
        }
    }
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !sources.contains_key(id.as_str()))
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(
            "DIR",
            format!("{} directories", dirs.len()),
            format!(
                "{} of {} units are missing (first: {}); run the remaining shards first",
                missing.len(),
                ids.len(),
                missing[0]
            ),
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let _lock = RunLock::acquire(out)?;
    prepare_dir(out, cfg)?;
    let mut manifest = Manifest::load_or_new(out, cfg)?;
    for dir in dirs {
        if let Ok(m) = Manifest::read(dir) {
            let base = manifest.sessions.len();
            manifest.sessions.extend(m.sessions);
            for (id, t) in m.units {
                manifest.units.insert(
                    id,
                    UnitTiming {
                        seconds: t.seconds,
                        session: base + t.session,
                    },
                );
            }
        }
    }
    for (id, src) in &sources {
        let (from, to) = (unit_path(src, id), unit_path(out, id));
        if from != to {
            let files = UnitFiles::new(out, id);
            files.clear()?;
            for (rel, bytes) in tree_files(&artifact_dir(src, id))? {
                write_atomic(&files.dir()?.join(rel), &bytes)?;
            }
            write_atomic(&to, &read(&from)?)?;
        }
    }
    manifest.write(out)?;
    finish(exp, out, &ids)
}

/// Removes the `.ismc-*` temporaries of interrupted atomic writes in `dir`
/// (units, tables, figures, report).
fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".ismc-") && e.path().is_file() {
            std::fs::remove_file(e.path()).map_err(|err| Error::io(e.path(), err))?;
        }
    }
    Ok(())
}

/// Every file under `root` (relative path, bytes), sorted; empty when
/// `root` does not exist.
fn tree_files(root: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        for e in entries {
            let path = e.map_err(|e| Error::io(dir, e))?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                out.push((rel, read(&path)?));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if root.is_dir() {
        walk(root, root, &mut out)?;
    }
    out.sort();
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// The output of unit `id` if its file exists and parses.
fn load_unit<T: DeserializeOwned>(dir: &Path, id: &str) -> Option<T> {
    let bytes = std::fs::read(unit_path(dir, id)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Creates the directory and its `config.toml`, or checks that an existing
/// one holds a run of the same configuration.
fn prepare_dir(dir: &Path, cfg: &RunIdentity) -> Result<()> {
    let cfg_path = dir.join("config.toml");
    if cfg_path.exists() {
        let existing = (cfg.rehash)(&cfg_path)?;
        if existing != cfg.hash {
            return Err(Error::invalid(
                "--out",
                dir.display(),
                format!(
                    "the directory holds a run of a different configuration \
                     (hash {} instead of {}); choose another directory or delete it",
                    existing, cfg.hash
                ),
            ));
        }
        return Ok(());
    }
    // We hold the lock, so a temporary here was left by a process stopped
    // before it wrote config.toml.
    remove_stale_temporaries(dir)?;
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .flatten()
            .any(|e| e.file_name() != LOCK_FILE)
    {
        return Err(Error::invalid(
            "--out",
            dir.display(),
            "the directory exists, is not empty and holds no ismc run (no config.toml)",
        ));
    }
    write_atomic(&cfg_path, cfg.text.as_bytes())
}

/// Checks that unit ids are unique, non-empty, file-safe names.
pub fn check_ids(ids: &[String]) -> Result<()> {
    super::limits::check_unit_count(ids.len())?;
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        let ok = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !ok || !seen.insert(id) {
            return Err(Error::Numerical {
                context: "experiment units".into(),
                reason: format!("unit id {id:?} is not a unique file-safe name"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_units() {
        let shards: Vec<Shard> = (0..3)
            .map(|i| Shard::parse(&format!("{i}/3")).unwrap())
            .collect();
        for u in 0..50 {
            assert_eq!(shards.iter().filter(|s| s.owns(u)).count(), 1);
        }
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unit_ids_must_be_unique_and_file_safe() {
        assert!(check_ids(&["a-1".into(), "b_2.x".into()]).is_ok());
        assert!(check_ids(&["a".into(), "a".into()]).is_err());
        assert!(check_ids(&["../x".into()]).is_err());
        assert!(check_ids(&["".into()]).is_err());
    }
}
