//! The typed error of the network and data layers.

use std::path::PathBuf;

/// Errors of the network layer (architectures, weights, data, training).
///
/// Every variant caused by what the user supplied — a missing or corrupt
/// weights file, a tensor of the wrong shape, a data file of the wrong length,
/// non-finite inputs, an unknown name — answers `true` to
/// [`NnError::is_user_error`], so that the command line exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// An error reported by candle inside a computation.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A weights or data file exists but cannot be decoded (truncated,
    /// corrupt, unsupported format).
    #[error("{}: corrupt or unsupported file: {reason}", path.display())]
    Corrupt {
        /// The file.
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
        /// The file.
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
        /// The file.
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
        /// The value.
        value: f32,
    },
    /// An input batch has the wrong shape for the model.
    #[error(
        "{what} has shape {found:?} but the model needs [n, {}]",
        fmt_dims(expected)
    )]
    InputShape {
        /// Which input.
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
    /// A parameter is outside its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: String,
        /// The value given.
        value: String,
        /// What was expected.
        reason: String,
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

fn fmt_dims(d: &[usize]) -> String {
    d.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl NnError {
    /// Whether the error is caused by the user's input (exit code 2).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, NnError::Candle(_) | NnError::Tool { .. })
    }

    /// Shorthand for [`NnError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NnError::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`NnError::Corrupt`].
    pub fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        NnError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`NnError::InvalidParameter`].
    pub fn invalid(
        name: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        NnError::InvalidParameter {
            name: name.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Result type of the network layer.
pub type NnResult<T> = std::result::Result<T, NnError>;

/// Rejects NaN and infinite values in `values`, naming `what`.
pub fn check_finite(what: &str, values: &[f32]) -> NnResult<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(NnError::NonFinite {
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
    fn user_errors_are_classified() {
        let e = NnError::ShapeMismatch {
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
        assert!(!NnError::Candle(candle_core::Error::Msg("x".into())).is_user_error());
        assert!(check_finite("x", &[0.0, 1.0]).is_ok());
        let e = check_finite("x", &[0.0, f32::NAN]).unwrap_err();
        assert!(matches!(e, NnError::NonFinite { index: 1, .. }) && e.is_user_error());
    }
}
