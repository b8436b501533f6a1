//! The text8 tokenizer: the core's [`CharTokenizer`] over a fixed 27-symbol alphabet. The
//! alphabet is fixed rather than fitted so that every model of this crate has the same ids
//! (N = 5 specials + 27 = 32; the reference's text8 tokenizer has 8 specials, N = 35) and a
//! character outside it is an input error, not a silent `[UNK]`.
//!
//! Chunks are encoded without BOS / EOS (text8 is "wrapped, no BOS/EOS", spec §8), so one id is
//! one character and BPC is per character of text.

use crate::error::{Result, TextError};
use diffusion_core::domain::{CharTokenizer, SymbolVocab, Tokenizer};

/// text8's alphabet: lower-case letters and space.
pub const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz ";

/// Names of the core `CharTokenizer`'s five specials, in id order (the core keeps its own copy
/// private; checkpoints store them as the first five vocabulary entries).
pub const SPECIALS: [&str; 5] = ["[BOS]", "[EOS]", "[MASK]", "[PAD]", "[UNK]"];

/// The tokenizer every text model is trained with.
pub fn text8() -> CharTokenizer {
    CharTokenizer::fit([ALPHABET])
}

/// Rebuild the tokenizer stored in a checkpoint's vocabulary (so a model always decodes with
/// the ids it was trained on).
pub fn from_vocabulary(vocab: &[String]) -> Result<CharTokenizer> {
    let vocab = SymbolVocab::from_vocabulary(vocab, SPECIALS)?;
    if vocab.symbols.iter().any(|s| s.chars().count() != 1) {
        return Err(TextError::Invalid(
            "the checkpoint's vocabulary is not character-level (not a text model)".into(),
        ));
    }
    Ok(CharTokenizer { vocab })
}

/// One id per character, no specials. Characters outside the alphabet become `[UNK]`; the
/// corpus loader rejects them before this is called.
pub fn encode_stream(tok: &CharTokenizer, text: &str) -> Vec<i64> {
    let mut buf = [0u8; 4];
    text.chars()
        .map(|c| tok.vocab.id(c.encode_utf8(&mut buf)))
        .collect()
}

/// Ids back to text; specials (e.g. a sampler's start token) are dropped.
pub fn decode(tok: &CharTokenizer, ids: &[i64]) -> String {
    tok.decode(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fixed_and_round_trip() {
        let tok = text8();
        assert_eq!(tok.vocab_size(), 32);
        assert_eq!(encode_stream(&tok, " a"), vec![5, 6]);
        assert_eq!(decode(&tok, &encode_stream(&tok, "to be or")), "to be or");
        let back = from_vocabulary(&tok.vocabulary()).unwrap();
        assert_eq!(back, tok);
    }
}
