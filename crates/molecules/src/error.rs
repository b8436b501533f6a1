//! Errors of the molecules crate. Unreadable or malformed files are the core's errors
//! (`Io`, `Parse`: the file and line) inside `Core`.

#[derive(Debug, thiserror::Error)]
pub enum MolError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Core(#[from] diffusion_core::CoreError),
}

pub type Result<T> = std::result::Result<T, MolError>;
