//! Errors of the images crate. Each names the file (and where useful the record or field) it
//! concerns, so a user can fix the input without reading code.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
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

pub type Result<T> = std::result::Result<T, ImageError>;
