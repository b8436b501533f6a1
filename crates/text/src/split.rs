//! The contiguous train / validation split and fixed-length chunking. text8 is split by
//! character offset (the last part is held out), not by shuffled chunks, so no validation
//! character is ever seen in training and the split does not depend on L.

use crate::error::{Result, TextError};
use diffusion_core::domain::{SequenceDataset, TokenSequences};
use serde::Serialize;
use std::ops::Range;

/// Character ranges of the two splits; together they are exactly `0..n`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Split {
    pub train: Range<usize>,
    pub val: Range<usize>,
}

impl Split {
    /// The last `val_fraction` of `n` characters (rounded) is validation, the rest training.
    pub fn tail(n: usize, val_fraction: f64) -> Result<Self> {
        if !(val_fraction > 0.0 && val_fraction < 1.0) {
            return Err(TextError::Invalid(format!(
                "data.val_fraction must be in (0, 1), got {val_fraction}"
            )));
        }
        let start = n - (n as f64 * val_fraction).round() as usize;
        Ok(Self {
            train: 0..start,
            val: start..n,
        })
    }
}

/// Non-overlapping chunks of `seq_len` ids from `ids[range]`, in order; the last partial chunk
/// (fewer than `seq_len` characters) is left out.
pub fn chunk(ids: &[i64], range: Range<usize>, seq_len: usize) -> TokenSequences {
    let mut out = TokenSequences::new(seq_len);
    if seq_len == 0 {
        return out;
    }
    for c in ids[range].chunks_exact(seq_len) {
        out.tokens.extend_from_slice(c);
    }
    debug_assert_eq!(out.len() * seq_len, out.tokens.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_corpus_offsets_match_its_provenance() {
        // PROVENANCE.md: the held-out 5 % starts at character 4,686,669.
        let s = Split::tail(4_933_336, 0.05).unwrap();
        assert_eq!(s.val, 4_686_669..4_933_336);
        assert!(Split::tail(10, 1.0).is_err());
    }

    #[test]
    fn chunks_are_contiguous_and_drop_the_tail() {
        let ids: Vec<i64> = (0..10).collect();
        let c = chunk(&ids, 1..10, 4);
        assert_eq!(c.len(), 2);
        assert_eq!(c.tokens(1), &[5, 6, 7, 8]);
    }
}
