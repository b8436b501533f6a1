//! The small traits a domain implements so that it needs no change in the core: a tokenizer,
//! a dataset of token sequences with optional class labels, and metric hooks.

use crate::error::{CoreError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Special token ids the core needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialIds {
    /// The absorbing state of MDLM (an ordinary state for UDLM).
    pub mask: i64,
    /// Padding; positions holding it are excluded from the loss unless the loss is computed on pads.
    pub pad: Option<i64>,
    pub bos: Option<i64>,
    pub eos: Option<i64>,
}

/// Maps text to token ids and back.
pub trait Tokenizer {
    /// N: every id, special and mask included.
    fn vocab_size(&self) -> usize;
    fn special_ids(&self) -> SpecialIds;
    /// Encode one record to exactly `len` ids (padded / truncated as the domain defines).
    fn encode(&self, text: &str, len: usize) -> Result<Vec<i64>>;
    /// Decode ids to text, dropping special tokens.
    fn decode(&self, ids: &[i64]) -> String;
    /// The vocabulary, stored with checkpoints so a model is always decoded with its own vocabulary.
    fn vocabulary(&self) -> Vec<String>;
}

/// A data set of fixed-length token sequences with optional class labels.
pub trait SequenceDataset {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn seq_len(&self) -> usize;
    /// Sequence `i` (length `seq_len`).
    fn tokens(&self, i: usize) -> &[i64];
    /// Class label of sequence `i`, if the data set is labelled.
    fn label(&self, i: usize) -> Option<i64>;
    /// Number of classes of a labelled data set.
    fn num_classes(&self) -> Option<usize>;
}

/// A metric computed on generated token sequences (and their intended labels, if any).
pub trait MetricHook {
    fn name(&self) -> &str;
    fn compute(&self, samples: &[Vec<i64>], labels: Option<&[i64]>) -> BTreeMap<String, f64>;
}

/// An in-memory [`SequenceDataset`].
#[derive(Clone, Debug, Default)]
pub struct TokenSequences {
    pub seq_len: usize,
    pub tokens: Vec<i64>,
    pub labels: Option<Vec<i64>>,
    pub num_classes: Option<usize>,
}

impl TokenSequences {
    pub fn new(seq_len: usize) -> Self {
        Self {
            seq_len,
            ..Default::default()
        }
    }

    /// Append one sequence (and its label when the set is labelled).
    pub fn push(&mut self, ids: &[i64], label: Option<i64>) -> Result<()> {
        if ids.len() != self.seq_len {
            return Err(CoreError::Data(format!(
                "sequence of length {} in a data set of length {}",
                ids.len(),
                self.seq_len
            )));
        }
        match (label, &mut self.labels) {
            (Some(y), Some(v)) => v.push(y),
            (Some(y), None) if self.tokens.is_empty() => self.labels = Some(vec![y]),
            (None, None) => {}
            _ => {
                return Err(CoreError::Data(
                    "a data set is either fully labelled or unlabelled".into(),
                ));
            }
        }
        self.tokens.extend_from_slice(ids);
        Ok(())
    }

    /// Split off the sequences at the given indices (e.g. a held-out split).
    pub fn subset(&self, idx: &[usize]) -> Self {
        let mut out = TokenSequences {
            seq_len: self.seq_len,
            num_classes: self.num_classes,
            ..Default::default()
        };
        for &i in idx {
            out.tokens.extend_from_slice(self.tokens(i));
            if let Some(l) = &self.labels {
                out.labels.get_or_insert_with(Vec::new).push(l[i]);
            }
        }
        out
    }
}

impl SequenceDataset for TokenSequences {
    fn len(&self) -> usize {
        self.tokens.len().checked_div(self.seq_len).unwrap_or(0)
    }
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn tokens(&self, i: usize) -> &[i64] {
        &self.tokens[i * self.seq_len..(i + 1) * self.seq_len]
    }
    fn label(&self, i: usize) -> Option<i64> {
        self.labels.as_ref().map(|l| l[i])
    }
    fn num_classes(&self) -> Option<usize> {
        self.num_classes
    }
}

/// A character-level tokenizer: specials `[BOS] [EOS] [MASK] [PAD] [UNK]` (ids 0–4, the
/// reference's SMILES layout) followed by one id per character of the alphabet. Sequences are
/// `[BOS] chars [EOS]` right-padded with `[PAD]`, truncated to the length.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharTokenizer {
    pub alphabet: Vec<char>,
}

impl CharTokenizer {
    pub const BOS: i64 = 0;
    pub const EOS: i64 = 1;
    pub const MASK: i64 = 2;
    pub const PAD: i64 = 3;
    pub const UNK: i64 = 4;
    const N_SPECIAL: usize = 5;

    /// Alphabet = the sorted set of characters of `texts`.
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = std::collections::BTreeSet::new();
        for t in texts {
            set.extend(t.chars());
        }
        Self {
            alphabet: set.into_iter().collect(),
        }
    }

    fn id_of(&self, c: char) -> i64 {
        match self.alphabet.binary_search(&c) {
            Ok(i) => (i + Self::N_SPECIAL) as i64,
            Err(_) => Self::UNK,
        }
    }
}

impl Tokenizer for CharTokenizer {
    fn vocab_size(&self) -> usize {
        self.alphabet.len() + Self::N_SPECIAL
    }
    fn special_ids(&self) -> SpecialIds {
        SpecialIds {
            mask: Self::MASK,
            pad: Some(Self::PAD),
            bos: Some(Self::BOS),
            eos: Some(Self::EOS),
        }
    }
    fn encode(&self, text: &str, len: usize) -> Result<Vec<i64>> {
        let mut ids = vec![Self::BOS];
        ids.extend(text.chars().map(|c| self.id_of(c)));
        ids.push(Self::EOS);
        ids.truncate(len);
        ids.resize(len, Self::PAD);
        Ok(ids)
    }
    fn decode(&self, ids: &[i64]) -> String {
        ids.iter()
            .filter_map(|&i| {
                let k = i as usize;
                (i >= Self::N_SPECIAL as i64 && k < self.vocab_size())
                    .then(|| self.alphabet[k - Self::N_SPECIAL])
            })
            .collect()
    }
    fn vocabulary(&self) -> Vec<String> {
        let mut v: Vec<String> = ["[BOS]", "[EOS]", "[MASK]", "[PAD]", "[UNK]"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(self.alphabet.iter().map(|c| c.to_string()));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_tokenizer_roundtrip() {
        let tok = CharTokenizer::fit(["CCO", "c1ccccc1"]);
        let ids = tok.encode("CCO", 8).unwrap();
        assert_eq!(ids[0], CharTokenizer::BOS);
        assert_eq!(ids[4], CharTokenizer::EOS);
        assert_eq!(ids[7], CharTokenizer::PAD);
        assert_eq!(tok.decode(&ids), "CCO");
        assert_eq!(tok.encode("CX", 4).unwrap()[2], CharTokenizer::UNK);
    }

    #[test]
    fn dataset_rejects_wrong_length_and_mixed_labels() {
        let mut d = TokenSequences::new(3);
        assert!(d.push(&[1, 2], None).is_err());
        d.push(&[1, 2, 3], Some(0)).unwrap();
        assert!(d.push(&[1, 2, 3], None).is_err());
        assert_eq!(d.len(), 1);
    }
}
