//! Errors of the core library. Every error names the file or field it concerns.

use std::path::PathBuf;

/// Errors raised by `diffusion-core`.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A configuration value is out of range or inconsistent with another.
    #[error("invalid config field `{field}`: {reason}")]
    Config { field: String, reason: String },
    /// An I/O error with the path it concerns.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        // Not a `#[source]`: the message already holds it, and `{:#}` would print it twice.
        error: std::io::Error,
    },
    /// Malformed content of an input file at a known line (1-based).
    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// An input file whose content is not what its format promises, without a line to name
    /// (an empty file, bad magic, wrong dimensions, a bad TOML document).
    #[error("{path}: {reason}")]
    Input { path: PathBuf, reason: String },
    /// A checkpoint is missing, corrupt or was written for another model.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    /// A config file or command-line override has an unknown, missing or ill-typed key.
    #[error("{origin}: {}{reason}", if key.is_empty() { String::new() } else { format!("key `{key}`: ") })]
    ConfigFile {
        origin: String,
        key: String,
        reason: String,
    },
    /// Input data (tokens, labels) is malformed.
    #[error("data error: {0}")]
    Data(String),
    /// A metric whose inputs do not define it (no positives for AUROC, empty inputs, ...).
    #[error("metric undefined: {0}")]
    Metric(String),
    /// An error of a caller's consumer of streamed results (writing or scoring samples),
    /// passed through unchanged.
    #[error("{0}")]
    Sink(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl CoreError {
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        CoreError::Io {
            path: path.into(),
            error,
        }
    }
    pub fn parse(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        CoreError::Parse {
            path: path.into(),
            line,
            reason: reason.into(),
        }
    }
    pub fn input(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        CoreError::Input {
            path: path.into(),
            reason: reason.into(),
        }
    }
    pub fn checkpoint(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        CoreError::Checkpoint {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, CoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the I/O reason was both in the message and the error's source, so binaries
    /// printing the chain (`{:#}`) said it twice ("… does not exist: … does not exist").
    #[test]
    fn io_errors_state_their_reason_once() {
        let e = CoreError::io(
            "checkpoints/x.ckpt",
            std::io::Error::new(std::io::ErrorKind::NotFound, "checkpoint does not exist"),
        );
        assert!(std::error::Error::source(&e).is_none());
        assert_eq!(
            e.to_string(),
            "checkpoints/x.ckpt: checkpoint does not exist"
        );
    }
}
