//! Errors of the images crate. Each names the file (and where useful the record or field) it
//! concerns, so a user can fix the input without reading code.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        // Not a `#[source]`: the message already holds it, and `{:#}` would print it twice.
        error: std::io::Error,
    },
    /// A file is readable but its content is not what its format promises (bad magic, wrong
    /// dimensions, truncated data, a bad CSV row, …).
    #[error("{path}: {reason}")]
    Format { path: PathBuf, reason: String },
    /// One image inside a container or folder could not be decoded.
    #[error("{path}: {what}: {reason}")]
    Decode {
        path: PathBuf,
        what: String,
        reason: String,
    },
    /// Two inputs that must agree do not (image and label counts, image sizes, tokenizers).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Core(#[from] diffusion_core::CoreError),
}

impl ImageError {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        ImageError::Io {
            path: path.into(),
            error,
        }
    }
    pub fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        ImageError::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, ImageError>;
