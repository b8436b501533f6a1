//! Reading a corpus file (plain or gzip) into one string in the text8 alphabet. Bad input is an
//! error naming the file and the first offending character's line, column and offset; nothing
//! is silently dropped or replaced unless normalisation is asked for.

use crate::error::{Result, TextError};
use crate::normalize::text8_normalize;
use crate::tokenizer::ALPHABET;
use diffusion_core::CoreError;
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::Path;

pub use diffusion_core::paths::resolve_path;

/// The file's bytes, gunzipped when it starts with the gzip magic number.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let io = |error| CoreError::io(path, error);
    let raw = std::fs::read(path).map_err(io)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The first character outside the alphabet, as an error with its place, or None.
fn check_alphabet(path: &Path, text: &str) -> Option<TextError> {
    let bad = |c: char| !ALPHABET.contains(c);
    let (offset, (byte, found)) = text
        .char_indices()
        .enumerate()
        .find(|(_, (_, c))| bad(*c))?;
    let before = &text[..byte];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Some(TextError::BadCharacter {
        path: path.to_path_buf(),
        line,
        column,
        offset,
        found,
        count: text.chars().filter(|&c| bad(c)).count(),
    })
}

/// Load a corpus. Without `normalize` every character must be in the text8 alphabet (one
/// trailing newline is tolerated); with it the text is normalised as text8 is.
pub fn load_corpus(path: &Path, normalize: bool) -> Result<String> {
    let bytes = read_bytes(path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        CoreError::input(
            path,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    let text = if normalize {
        text8_normalize(&text)
    } else {
        let t = text.strip_suffix('\n').unwrap_or(&text);
        let t = t.strip_suffix('\r').unwrap_or(t);
        if let Some(e) = check_alphabet(path, t) {
            return Err(e);
        }
        t.to_string()
    };
    if text.is_empty() {
        return Err(TextError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(text)
}
