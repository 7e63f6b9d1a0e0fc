//! The library's typed error.
//!
//! Every fallible public function returns [`Result<T>`]. Variants carry the
//! structured facts a user needs to fix the problem — which parameter, which
//! file, what was expected — so that the command-line edge can print them
//! verbatim and map them to an exit code ([`Error::is_user_error`]).

use std::path::PathBuf;

/// Errors raised by the ismc library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is outside its valid range or inconsistent with others.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name as the user wrote it (flag, config key, field).
        name: String,
        /// The offending value, rendered for display.
        value: String,
        /// What was expected instead.
        reason: String,
    },
    /// A file exists but its contents are not what was expected.
    #[error("{}: {reason}", path.display())]
    InvalidFile {
        /// The file that was read.
        path: PathBuf,
        /// What is wrong with it and what was expected.
        reason: String,
    },
    /// Reading or writing a file failed. (Displayed as the path; the OS error
    /// follows as the error's source, so `{:#}` prints `path: reason`.)
    #[error("{}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A requested computation would need more memory than is allowed; refused
    /// before anything is allocated.
    #[error("{what} needs about {} but the limit is {}; {hint}", human_bytes(*.needed_bytes), human_bytes(*.limit_bytes))]
    TooLarge {
        /// What was going to be allocated.
        what: String,
        /// Estimated bytes needed.
        needed_bytes: u64,
        /// The memory limit, in bytes.
        limit_bytes: u64,
        /// How to make the request fit.
        hint: String,
    },
    /// The time budget is too small to produce any estimate.
    #[error("budget of {budget_secs} s is too small: {reason}")]
    BudgetTooSmall {
        /// The budget the user gave, in seconds.
        budget_secs: f64,
        /// Why nothing could be estimated in it.
        reason: String,
    },
    /// A numerical procedure failed (singular fit, no crossing found, ...).
    #[error("numerical failure in {context}: {reason}")]
    Numerical {
        /// Which computation failed.
        context: String,
        /// Why it failed, in words.
        reason: String,
    },
    /// Drawing a figure failed.
    #[error("drawing {}: {reason}", path.display())]
    Plot {
        /// The figure being drawn.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An error reported by candle inside a computation.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// A weights or data file exists but cannot be decoded (truncated,
    /// corrupt, unsupported format).
    #[error("{}: corrupt or unsupported file: {reason}", path.display())]
    Corrupt {
        /// Path of the file that cannot be decoded.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tensor's shape does not fit the architecture.
    #[error("tensor `{tensor}` has shape {found:?} but the architecture needs {expected:?}")]
    ShapeMismatch {
        /// The tensor's name, e.g. `conv1.weight`.
        tensor: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
        /// The shape found in the file.
        found: Vec<usize>,
    },
    /// The architecture needs a tensor that the weights do not contain.
    #[error("weights lack tensor `{tensor}` (shape {expected:?}) that the architecture needs")]
    MissingTensor {
        /// The tensor's name.
        tensor: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
    },
    /// A data file holds a different number of bytes or items than expected.
    #[error("{}: expected {expected} {unit}, found {found}", path.display())]
    DataLength {
        /// Path of the data file whose length is wrong.
        path: PathBuf,
        /// What was counted (`bytes`, `images`, `values`, …).
        unit: &'static str,
        /// The expected count.
        expected: usize,
        /// The count found.
        found: usize,
    },
    /// A file's sha256 differs from the manifest.
    #[error("{}: sha256 is {found}, expected {expected}", path.display())]
    Checksum {
        /// Path of the file whose checksum differs.
        path: PathBuf,
        /// The sha256 recorded in the manifest.
        expected: String,
        /// The sha256 of the file's bytes.
        found: String,
    },
    /// An input holds NaN or an infinite value.
    #[error("{what} holds a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        /// Which input (e.g. `input batch`).
        what: String,
        /// Flat index of the first offending value.
        index: usize,
        /// The first non-finite value found (NaN or ±∞).
        value: f32,
    },
    /// An input batch has the wrong shape for the model.
    #[error(
        "{what} has shape {found:?} but the model needs [n, {}]",
        fmt_dims(expected)
    )]
    InputShape {
        /// Description of the input, e.g. the data set and its number of classes.
        what: String,
        /// The per-item shape the model needs.
        expected: Vec<usize>,
        /// The batch shape supplied.
        found: Vec<usize>,
    },
    /// A target class is outside `0..classes`.
    #[error("target class {target} at position {index} is outside 0..{classes}")]
    TargetOutOfRange {
        /// Position in the batch.
        index: usize,
        /// The class given.
        target: usize,
        /// Number of classes of the model.
        classes: usize,
    },
    /// A name (model, data set, architecture, asset) is not known.
    #[error("unknown {kind} `{name}`; known: {}", known.join(", "))]
    UnknownName {
        /// What kind of name.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// An asset is known but not present locally.
    #[error("asset `{name}` is not present at {}; run `ismc assets fetch {name}`", path.display())]
    AssetMissing {
        /// The asset's name.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// An external client (npm, pip, apt-get, tar) failed.
    #[error("`{command}` failed: {reason}")]
    Tool {
        /// The command line.
        command: String,
        /// Its error output or status.
        reason: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn invalid(
        name: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Corrupt`].
    pub fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Whether the error is caused by the user's input (bad parameter, file,
    /// size or budget) rather than by a failure inside ismc. The CLI exits with
    /// code 2 for user errors.
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            Error::Numerical { .. } | Error::Plot { .. } | Error::Candle(_) | Error::Tool { .. }
        )
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Formats a byte count with a binary unit, e.g. `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn fmt_dims(d: &[usize]) -> String {
    d.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rejects NaN and infinite values in `values`, naming `what`.
pub fn check_finite(what: &str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFinite {
            what: what.to_string(),
            index,
            value: values[index],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_uses_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn invalid_parameter_names_everything() {
        let e = Error::invalid("dim", 0, "expected an integer in 1..=16");
        assert_eq!(
            e.to_string(),
            "invalid dim = 0: expected an integer in 1..=16"
        );
        assert!(e.is_user_error());
    }

    #[test]
    fn user_errors_are_classified() {
        let e = Error::ShapeMismatch {
            tensor: "conv1.weight".into(),
            expected: vec![32, 1, 3, 3],
            found: vec![16, 1, 3, 3],
        };
        assert!(e.is_user_error());
        let msg = e.to_string();
        assert!(
            msg.contains("conv1.weight")
                && msg.contains("[32, 1, 3, 3]")
                && msg.contains("[16, 1, 3, 3]")
        );
        assert!(!Error::Candle(candle_core::Error::Msg("x".into())).is_user_error());
        assert!(check_finite("x", &[0.0, 1.0]).is_ok());
        let e = check_finite("x", &[0.0, f32::NAN]).unwrap_err();
        assert!(matches!(e, Error::NonFinite { index: 1, .. }) && e.is_user_error());
    }
}
