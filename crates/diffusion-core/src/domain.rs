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

/// A sorted symbol vocabulary in the reference's special-token layout: `bos` 0, `eos` 1,
/// `mask` 2, `pad` 3, `unk` 4, then one id per symbol. Sequences are `[bos] symbols [eos]`,
/// truncated and right-padded to a fixed length. Domain tokenizers differ only in how text
/// splits into symbols (characters, SMILES regex tokens, …) and build on this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolVocab {
    /// Symbols after the specials, sorted and unique.
    pub symbols: Vec<String>,
}

impl SymbolVocab {
    pub const BOS: i64 = 0;
    pub const EOS: i64 = 1;
    pub const MASK: i64 = 2;
    pub const PAD: i64 = 3;
    pub const UNK: i64 = 4;
    pub const N_SPECIAL: usize = 5;

    /// The sorted set of `symbols`.
    pub fn new(symbols: impl IntoIterator<Item = String>) -> Self {
        let set: std::collections::BTreeSet<String> = symbols.into_iter().collect();
        Self {
            symbols: set.into_iter().collect(),
        }
    }

    /// Rebuild from a stored vocabulary that starts with `specials` (as [`Self::vocabulary`]
    /// writes it).
    pub fn from_vocabulary(vocab: &[String], specials: [&str; 5]) -> Result<Self> {
        if vocab.len() < Self::N_SPECIAL
            || vocab[..Self::N_SPECIAL]
                .iter()
                .zip(specials)
                .any(|(a, b)| a != b)
        {
            return Err(CoreError::Data(format!(
                "vocabulary does not start with the special tokens {specials:?}"
            )));
        }
        Ok(Self {
            symbols: vocab[Self::N_SPECIAL..].to_vec(),
        })
    }

    /// The specials (named `specials`) followed by the symbols.
    pub fn vocabulary(&self, specials: [&str; 5]) -> Vec<String> {
        specials
            .iter()
            .map(|s| s.to_string())
            .chain(self.symbols.iter().cloned())
            .collect()
    }

    pub fn vocab_size(&self) -> usize {
        self.symbols.len() + Self::N_SPECIAL
    }

    pub fn special_ids(&self) -> SpecialIds {
        SpecialIds {
            mask: Self::MASK,
            pad: Some(Self::PAD),
            bos: Some(Self::BOS),
            eos: Some(Self::EOS),
        }
    }

    /// Id of a symbol, `unk` if it is not in the vocabulary.
    pub fn id(&self, symbol: &str) -> i64 {
        match self.symbols.binary_search_by(|t| t.as_str().cmp(symbol)) {
            Ok(i) => (i + Self::N_SPECIAL) as i64,
            Err(_) => Self::UNK,
        }
    }

    /// `[bos] symbols [eos]`, truncated and right-padded with `pad` to `len`.
    pub fn encode<'a>(&self, symbols: impl IntoIterator<Item = &'a str>, len: usize) -> Vec<i64> {
        let mut ids = vec![Self::BOS];
        ids.extend(symbols.into_iter().map(|t| self.id(t)));
        ids.push(Self::EOS);
        ids.truncate(len);
        ids.resize(len, Self::PAD);
        ids
    }

    /// The concatenated symbols, special and out-of-range ids dropped.
    pub fn decode(&self, ids: &[i64]) -> String {
        ids.iter()
            .filter(|&&i| i >= Self::N_SPECIAL as i64 && (i as usize) < self.vocab_size())
            .map(|&i| self.symbols[i as usize - Self::N_SPECIAL].as_str())
            .collect()
    }
}

/// A character-level tokenizer on [`SymbolVocab`]: one symbol per character.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharTokenizer {
    pub vocab: SymbolVocab,
}

impl CharTokenizer {
    pub const BOS: i64 = SymbolVocab::BOS;
    pub const EOS: i64 = SymbolVocab::EOS;
    pub const MASK: i64 = SymbolVocab::MASK;
    pub const PAD: i64 = SymbolVocab::PAD;
    pub const UNK: i64 = SymbolVocab::UNK;
    const SPECIALS: [&'static str; 5] = ["[BOS]", "[EOS]", "[MASK]", "[PAD]", "[UNK]"];

    /// Alphabet = the sorted set of characters of `texts`.
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            vocab: SymbolVocab::new(texts.into_iter().flat_map(|t| t.chars().map(String::from))),
        }
    }
}

impl Tokenizer for CharTokenizer {
    fn vocab_size(&self) -> usize {
        self.vocab.vocab_size()
    }
    fn special_ids(&self) -> SpecialIds {
        self.vocab.special_ids()
    }
    fn encode(&self, text: &str, len: usize) -> Result<Vec<i64>> {
        let chars = text.char_indices().map(|(i, c)| &text[i..i + c.len_utf8()]);
        Ok(self.vocab.encode(chars, len))
    }
    fn decode(&self, ids: &[i64]) -> String {
        self.vocab.decode(ids)
    }
    fn vocabulary(&self) -> Vec<String> {
        self.vocab.vocabulary(Self::SPECIALS)
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
