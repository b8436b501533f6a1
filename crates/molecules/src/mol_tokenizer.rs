//! Molecules as token sequences in either representation: SMILES regex tokens or SELFIES
//! symbols, on the core's [`SymbolVocab`] layout (bos 0, eos 1, mask 2, pad 3, unk 4, symbols).

use crate::config::Representation;
use crate::error::{MolError, Result};
use crate::smiles_tokenizer::split_smiles;
use diffusion_core::domain::{SpecialIds, SymbolVocab, Tokenizer};
use serde::{Deserialize, Serialize};

const SPECIALS: [&str; 5] = ["<bos>", "<eos>", "<mask>", "<pad>", "<unk>"];

impl Representation {
    /// The symbols of a molecule given as SMILES, in this representation.
    pub fn symbols(self, smiles: &str) -> Result<Vec<String>> {
        match self {
            Representation::Smiles => Ok(split_smiles(smiles)?
                .into_iter()
                .map(str::to_string)
                .collect()),
            Representation::Selfies => {
                let s = crate::selfies::encoder(smiles)
                    .map_err(|e| MolError::Invalid(format!("`{smiles}`: {e}")))?;
                crate::selfies::split_selfies(&s)
                    .map_err(|e| MolError::Invalid(format!("`{s}`: {e}")))
            }
        }
    }

    /// Split a string already written in this representation into symbols.
    pub fn split(self, text: &str) -> Result<Vec<String>> {
        match self {
            Representation::Smiles => Ok(split_smiles(text)?
                .into_iter()
                .map(str::to_string)
                .collect()),
            Representation::Selfies => crate::selfies::split_selfies(text)
                .map_err(|e| MolError::Invalid(format!("`{text}`: {e}"))),
        }
    }

    /// A generated string as SMILES for scoring: SMILES as written (the reference scores the
    /// raw string), SELFIES through the decoder (`None` if it does not decode).
    pub fn to_smiles(self, text: &str) -> Option<String> {
        match self {
            Representation::Smiles => Some(text.to_string()),
            Representation::Selfies => crate::selfies::decoder(text).ok(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Representation::Smiles => "smiles",
            Representation::Selfies => "selfies",
        }
    }
}

/// A fitted molecule tokenizer; its vocabulary is stored with every checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MolTokenizer {
    pub representation: Representation,
    pub vocab: SymbolVocab,
}

impl MolTokenizer {
    /// Build the vocabulary from symbol sequences.
    pub fn fit<'a>(
        representation: Representation,
        molecules: impl IntoIterator<Item = &'a [String]>,
    ) -> Self {
        let symbols = molecules.into_iter().flatten().cloned().collect::<Vec<_>>();
        Self {
            representation,
            vocab: SymbolVocab::new(symbols),
        }
    }

    /// Rebuild from a checkpoint's stored vocabulary.
    pub fn from_vocabulary(representation: Representation, vocab: &[String]) -> Result<Self> {
        Ok(Self {
            representation,
            vocab: SymbolVocab::from_vocabulary(vocab, SPECIALS)
                .map_err(|e| MolError::Invalid(e.to_string()))?,
        })
    }

    /// `[bos] symbols [eos]` padded to `len`; None if it does not fit (the caller counts it).
    pub fn encode_symbols(&self, symbols: &[String], len: usize) -> Option<Vec<i64>> {
        (symbols.len() + 2 <= len)
            .then(|| self.vocab.encode(symbols.iter().map(String::as_str), len))
    }

    /// Ids whose symbol is not in the vocabulary (encoded as unk).
    pub fn unknown_symbols<'a>(&self, symbols: &'a [String]) -> Vec<&'a str> {
        symbols
            .iter()
            .filter(|s| self.vocab.id(s) == SymbolVocab::UNK)
            .map(String::as_str)
            .collect()
    }
}

impl Tokenizer for MolTokenizer {
    fn vocab_size(&self) -> usize {
        self.vocab.vocab_size()
    }
    fn special_ids(&self) -> SpecialIds {
        self.vocab.special_ids()
    }
    /// Encode a string written in this tokenizer's representation.
    fn encode(&self, text: &str, len: usize) -> diffusion_core::Result<Vec<i64>> {
        let symbols = self
            .representation
            .split(text)
            .map_err(|e| diffusion_core::CoreError::Data(e.to_string()))?;
        Ok(self.vocab.encode(symbols.iter().map(String::as_str), len))
    }
    fn decode(&self, ids: &[i64]) -> String {
        self.vocab.decode(ids)
    }
    fn vocabulary(&self) -> Vec<String> {
        self.vocab.vocabulary(SPECIALS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qm9::load_qm9;

    /// Every QM9 molecule survives encode → decode exactly in the SMILES representation.
    #[test]
    fn smiles_round_trip_on_all_of_qm9() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../datasets/molecules/qm9.csv.gz");
        let records = load_qm9(&p).unwrap();
        let symbols: Vec<Vec<String>> = records
            .iter()
            .map(|r| Representation::Smiles.symbols(&r.smiles).unwrap())
            .collect();
        let tok = MolTokenizer::fit(Representation::Smiles, symbols.iter().map(Vec::as_slice));
        for (r, s) in records.iter().zip(&symbols) {
            let ids = tok.encode_symbols(s, 32).unwrap();
            assert_eq!(tok.decode(&ids), r.smiles, "line {}", r.line);
        }
        let back =
            MolTokenizer::from_vocabulary(Representation::Smiles, &tok.vocabulary()).unwrap();
        assert_eq!(back, tok);
    }
}

#[cfg(test)]
mod selfies_tests {
    use super::*;
    use crate::chemistry::analyze;
    use crate::qm9::load_qm9;

    /// Every QM9 molecule survives SMILES → SELFIES → tokens → SELFIES → SMILES: the token round
    /// trip is exact and the decoded molecule is the same molecule (equal RDKit-canonical SMILES).
    /// Every molecule fits in 24 positions (configs/qm9-udlm-selfies.toml).
    #[test]
    fn selfies_round_trip_on_all_of_qm9() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../datasets/molecules/qm9.csv.gz");
        let records = load_qm9(&p).unwrap();
        let symbols: Vec<Vec<String>> = records
            .iter()
            .map(|r| Representation::Selfies.symbols(&r.smiles).unwrap())
            .collect();
        let tok = MolTokenizer::fit(Representation::Selfies, symbols.iter().map(Vec::as_slice));
        for (r, s) in records.iter().zip(&symbols) {
            let ids = tok
                .encode_symbols(s, 24)
                .unwrap_or_else(|| panic!("line {}: {} symbols", r.line, s.len()));
            let text = tok.decode(&ids);
            assert_eq!(text, s.concat(), "line {}", r.line);
            let smiles = Representation::Selfies.to_smiles(&text).unwrap();
            let (a, b) = (analyze(&smiles), analyze(&r.smiles));
            assert_eq!(
                a.map(|i| i.canonical),
                b.map(|i| i.canonical),
                "line {}: {} → {text} → {smiles}",
                r.line,
                r.smiles
            );
        }
    }
}
