//! The DNA tokenizer: `A C G T N` and the special ids the core needs. Every sequence starts
//! with `[BOS]`, as in the reference's Species10 data (a 32,768-token sequence is `[BOS]` and
//! 32,767 bases), so that one data layout serves AR (which predicts from `[BOS]`) and the
//! diffusion models alike.

use diffusion_core::domain::{SpecialIds, Tokenizer};
use diffusion_core::{CoreError, Result};

/// Bases in id order.
pub const BASES: [u8; 5] = *b"ACGTN";
/// `[BOS]` id.
pub const BOS: i64 = 5;
/// The absorbing state of MDLM.
pub const MASK: i64 = 6;
/// Padding (never produced by fixed-length windows, kept so the core's pad handling applies
/// to user data that is padded).
pub const PAD: i64 = 7;
const VOCABULARY: [&str; 8] = ["A", "C", "G", "T", "N", "[BOS]", "[MASK]", "[PAD]"];

/// Maps bases to ids; any other byte (after upper-casing) is `N`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnaTokenizer;

impl DnaTokenizer {
    /// Id of one base (case-insensitive; non-ACGT → N).
    pub fn base_id(base: u8) -> i64 {
        match base.to_ascii_uppercase() {
            b'A' => 0,
            b'C' => 1,
            b'G' => 2,
            b'T' => 3,
            _ => 4,
        }
    }

    /// `[BOS]` followed by `bases`, truncated or padded with `[PAD]` to `len`.
    pub fn encode_bases(&self, bases: &[u8], len: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(len);
        ids.push(BOS);
        ids.extend(
            bases
                .iter()
                .take(len.saturating_sub(1))
                .map(|&b| Self::base_id(b)),
        );
        ids.resize(len, PAD);
        ids.truncate(len);
        ids
    }

    /// The bases of `ids` after the leading `[BOS]`. Any other special id where a base belongs
    /// (a uniform-noise model can sample one; a `[MASK]` cannot survive a complete MDLM
    /// reverse process) is written as `N`, so every sequence keeps its length.
    pub fn decode_bases(&self, ids: &[i64]) -> Vec<u8> {
        let body = match ids.first() {
            Some(&BOS) => &ids[1..],
            _ => ids,
        };
        body.iter()
            .map(|&i| match i {
                0..=4 => BASES[i as usize],
                _ => b'N',
            })
            .collect()
    }

    /// Checks that a checkpoint's stored vocabulary is this tokenizer's.
    pub fn from_vocabulary(vocab: &[String]) -> Result<Self> {
        if vocab.len() != VOCABULARY.len() || vocab.iter().zip(VOCABULARY).any(|(a, b)| a != b) {
            return Err(CoreError::Data(format!(
                "not a DNA vocabulary: expected {VOCABULARY:?}, found {vocab:?}"
            )));
        }
        Ok(Self)
    }

    /// Bases a sequence of `len` tokens holds.
    pub fn bases_per_sequence(len: usize) -> usize {
        len.saturating_sub(1)
    }
}

impl Tokenizer for DnaTokenizer {
    fn vocab_size(&self) -> usize {
        VOCABULARY.len()
    }

    fn special_ids(&self) -> SpecialIds {
        SpecialIds {
            mask: MASK,
            pad: Some(PAD),
            bos: Some(BOS),
            eos: None,
        }
    }

    fn encode(&self, text: &str, len: usize) -> Result<Vec<i64>> {
        if let Some((i, c)) = text.char_indices().find(|(_, c)| !c.is_ascii_alphabetic()) {
            return Err(CoreError::Data(format!(
                "byte {i}: `{c}` is not a nucleotide letter"
            )));
        }
        Ok(self.encode_bases(text.as_bytes(), len))
    }

    fn decode(&self, ids: &[i64]) -> String {
        String::from_utf8(self.decode_bases(ids)).unwrap_or_default()
    }

    fn vocabulary(&self) -> Vec<String> {
        VOCABULARY.iter().map(|s| s.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_bos_and_iupac() {
        let t = DnaTokenizer;
        let ids = t.encode("acgtRN", 8).unwrap_or_default();
        assert_eq!(ids, vec![BOS, 0, 1, 2, 3, 4, 4, PAD]);
        assert_eq!(
            t.decode(&ids),
            "ACGTNNN",
            "a [PAD] where a base belongs is N"
        );
        assert_eq!(t.decode(&[BOS, 0, MASK, BOS]), "ANN");
        assert_eq!(t.encode_bases(b"ACGTACGT", 4), vec![BOS, 0, 1, 2]);
        assert!(t.encode("AC GT", 8).is_err());
        assert_eq!(t.vocab_size(), 8);
        assert_eq!(t.special_ids().mask, MASK);
    }

    #[test]
    fn vocabulary_is_checked() {
        let t = DnaTokenizer;
        assert!(DnaTokenizer::from_vocabulary(&t.vocabulary()).is_ok());
        let mut v = t.vocabulary();
        v.swap(0, 1);
        assert!(DnaTokenizer::from_vocabulary(&v).is_err());
    }
}
