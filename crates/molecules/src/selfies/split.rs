//! Splitting SELFIES strings into symbols.

use super::error::SelfiesError;

/// Number of symbols in a SELFIES string, counting each `.` as a symbol.
///
/// Like selfies, this only counts `[` and `.` characters and never fails.
pub fn len_selfies(selfies: &str) -> usize {
    selfies.chars().filter(|&c| c == '[' || c == '.').count()
}

/// Splits a SELFIES string into its symbols (`"[C][=C].[O]"` gives `[C]`, `[=C]`, `.`,
/// `[O]`).
///
/// Mirrors selfies: scanning starts at the first `[`, each symbol runs to the next `]`
/// (so stray text between symbols becomes part of the following symbol), and a `.`
/// directly after a `]` is its own symbol. A `[` that is never closed is an error.
pub fn split_selfies(selfies: &str) -> Result<Vec<String>, SelfiesError> {
    split_with_positions(selfies).map(|symbols| symbols.into_iter().map(|(_, s)| s).collect())
}

/// Like [`split_selfies`], also returning each symbol's starting character offset.
pub(super) fn split_with_positions(selfies: &str) -> Result<Vec<(usize, String)>, SelfiesError> {
    let chars: Vec<char> = selfies.chars().collect();
    let mut symbols = Vec::new();
    let Some(mut left) = chars.iter().position(|&c| c == '[') else {
        return Ok(symbols);
    };
    while left < chars.len() {
        let Some(offset) = chars[left + 1..].iter().position(|&c| c == ']') else {
            return Err(SelfiesError::HangingBracket {
                selfies: selfies.to_string(),
                position: left,
            });
        };
        let right = left + 1 + offset;
        symbols.push((left, chars[left..=right].iter().collect()));
        left = right + 1;
        if chars.get(left) == Some(&'.') {
            symbols.push((left, ".".to_string()));
            left += 1;
        }
    }
    Ok(symbols)
}
