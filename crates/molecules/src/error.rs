//! Errors of the molecules crate; each names the file and line it concerns.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MolError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        // Not a `#[source]`: the message already holds it, and `{:#}` would print it twice.
        error: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Core(#[from] diffusion_core::CoreError),
}

pub type Result<T> = std::result::Result<T, MolError>;
