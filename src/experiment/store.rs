//! The files a run directory holds besides the runner's own: CSV tables,
//! pretty JSON summaries and the figure links of a report, each written
//! atomically and read back with errors that name the file.
//!
//! Every study writes its tables with [`write_csv`] and [`write_json`] in
//! `finish` and reads them back with [`read_csv`] and [`read_json`] when it
//! draws figures or writes its report, so a figure or report is a function
//! of the stored files only. [`prefix`] places a study's parameter errors
//! under their key in the configuration (`params.…`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::error::{Error, Result};

/// Writes serde rows as CSV, atomically.
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    let bytes = w.into_inner().map_err(|e| Error::InvalidFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_atomic(path, &bytes)
}

/// Reads serde rows from a CSV file, naming the file and row on error.
pub fn read_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::InvalidFile {
            path: path.to_path_buf(),
            reason: format!("{other:?}"),
        },
    })?;
    r.deserialize()
        .map(|row| {
            row.map_err(|e| Error::InvalidFile {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Writes pretty JSON atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("serialisable");
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads a JSON file written by [`write_json`], naming the file on error.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::InvalidFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The PNG and SVG files of a figures directory, sorted (empty if absent).
pub fn list_figures(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    // Hidden files are temporaries of an interrupted write, never figures.
    v.retain(|p| {
        p.extension().is_some_and(|e| e == "png" || e == "svg")
            && !p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    });
    v.sort();
    v
}

/// The "## Figures" section of a report: a Markdown image link to every PNG
/// of `dir/figures`, relative to `dir`.
pub fn figure_links(dir: &Path) -> String {
    let mut md = String::from("\n## Figures\n\n");
    for f in list_figures(&dir.join("figures"))
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
    {
        let rel = f.strip_prefix(dir).unwrap_or(f);
        md.push_str(&format!("![{}]({})\n\n", rel.display(), rel.display()));
    }
    md
}

/// Prefixes the parameter name of an [`Error::InvalidParameter`] with `p`
/// (e.g. `params.study.`), so a nested configuration's error names its full
/// key; other errors pass through unchanged.
pub fn prefix(e: Error, p: &str) -> Error {
    match e {
        Error::InvalidParameter {
            name,
            value,
            reason,
        } => Error::InvalidParameter {
            name: format!("{p}{name}"),
            value,
            reason,
        },
        other => other,
    }
}
