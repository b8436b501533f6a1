//! Errors of the genomics crate. Input errors name the file and, where there is one, the line,
//! so that a bad genome or manifest can be fixed without a debugger.

/// Every error the genomics crate returns.
#[derive(Debug, thiserror::Error)]
pub enum GenomicsError {
    /// A setting out of range (window length 0, split fractions not summing to 1, ...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An error of the diffusion core: unreadable or malformed input files (with the file and
    /// line), models, checkpoints, undefined metrics.
    #[error(transparent)]
    Core(#[from] diffusion_core::CoreError),
}

/// Result with [`GenomicsError`].
pub type Result<T> = std::result::Result<T, GenomicsError>;
