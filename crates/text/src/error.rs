//! Errors of the text crate; each names the file (and, for bad characters, the place) it
//! concerns, so a user can fix the input without reading code.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("{path}: the file holds no text")]
    Empty { path: PathBuf },
    #[error(
        "{path}:{line}:{column} (character offset {offset}): {found:?} (U+{code:04X}) is not in the text8 alphabet (a-z and space); {count} such characters in the file. Normalise the text first (set `data.normalize = true`: lower-case, digits spelled out, everything else becomes a space)",
        code = *found as u32
    )]
    BadCharacter {
        path: PathBuf,
        line: usize,
        column: usize,
        offset: usize,
        found: char,
        count: usize,
    },
    #[error(
        "{path}: the {split} split has {chars} characters, fewer than one chunk of {seq_len}; use a longer file, a larger `data.val_fraction` or a smaller `data.seq_len`"
    )]
    TooShort {
        path: PathBuf,
        split: &'static str,
        chars: usize,
        seq_len: usize,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Core(#[from] diffusion_core::CoreError),
}

pub type Result<T> = std::result::Result<T, TextError>;
