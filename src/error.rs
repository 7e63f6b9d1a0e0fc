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
        /// Bytes allowed.
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
        /// Why.
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
    /// An error from the neural-network layer.
    #[error(transparent)]
    Nn(#[from] crate::nn::NnError),
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

    /// Whether the error is caused by the user's input (bad parameter, file,
    /// size or budget) rather than by a failure inside ismc. The CLI exits with
    /// code 2 for user errors.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Numerical { .. } | Error::Plot { .. } => false,
            Error::Nn(e) => e.is_user_error(),
            _ => true,
        }
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
}
