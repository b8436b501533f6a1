//! Errors of the genomics crate. Input errors name the file and, where there is one, the line,
//! so that a bad genome or manifest can be fixed without a debugger.

use std::path::PathBuf;

/// Every error the genomics crate returns.
#[derive(Debug, thiserror::Error)]
pub enum GenomicsError {
    /// The file could not be opened, read, decompressed or written.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        // Not a `#[source]`: the message already holds it, and `{:#}` would print it twice.
        error: std::io::Error,
    },
    /// Malformed content at a known line (1-based).
    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// Malformed content without a line: an empty file, a bad TOML document.
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    /// A setting out of range (window length 0, split fractions not summing to 1, ...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A metric whose inputs do not define it (no positives for AUROC, empty k-mer counts, ...).
    #[error("metric undefined: {0}")]
    Metric(String),
    /// An error of the diffusion core (models, checkpoints, shared metrics).
    #[error(transparent)]
    Core(#[from] diffusion_core::CoreError),
}

/// Result with [`GenomicsError`].
pub type Result<T> = std::result::Result<T, GenomicsError>;

impl GenomicsError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            error,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        Self::Parse {
            path: path.into(),
            line,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
