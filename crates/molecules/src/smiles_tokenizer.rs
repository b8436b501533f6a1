//! The reference's regex SMILES tokenizer (spec §8, QM9 row): special ids bos 0, eos 1, mask 2,
//! pad 3, unk 4, then the vocabulary built from the training data (stored with checkpoints).

use crate::error::{MolError, Result};
use diffusion_core::domain::{SpecialIds, SymbolVocab, Tokenizer};
use regex::Regex;
use std::sync::OnceLock;

/// The MolecularTransformer regex; tokens are its matches.
pub const SMILES_REGEX: &str = r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])";

const SPECIALS: [&str; 5] = ["<bos>", "<eos>", "<mask>", "<pad>", "<unk>"];

fn regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(SMILES_REGEX).expect("valid SMILES regex"))
}

/// Split a SMILES string into regex tokens; an error names the first character no token covers.
pub fn split_smiles(smiles: &str) -> Result<Vec<&str>> {
    let mut out = Vec::new();
    let mut pos = 0;
    for m in regex().find_iter(smiles) {
        if m.start() != pos {
            return Err(MolError::Invalid(format!(
                "`{smiles}`: character {} (`{}`) is not a SMILES token",
                pos,
                &smiles[pos..m.start()]
            )));
        }
        out.push(m.as_str());
        pos = m.end();
    }
    if pos != smiles.len() {
        return Err(MolError::Invalid(format!(
            "`{smiles}`: trailing `{}` is not a SMILES token",
            &smiles[pos..]
        )));
    }
    Ok(out)
}

/// The SMILES tokenizer: regex tokens as symbols of a core [`SymbolVocab`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmilesTokenizer {
    pub vocab: SymbolVocab,
}

impl SmilesTokenizer {
    pub const BOS: i64 = SymbolVocab::BOS;
    pub const EOS: i64 = SymbolVocab::EOS;
    pub const MASK: i64 = SymbolVocab::MASK;
    pub const PAD: i64 = SymbolVocab::PAD;
    pub const UNK: i64 = SymbolVocab::UNK;

    /// Build the vocabulary from training SMILES.
    pub fn fit<'a>(smiles: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut symbols = Vec::new();
        for s in smiles {
            symbols.extend(split_smiles(s)?.into_iter().map(str::to_string));
        }
        Ok(Self {
            vocab: SymbolVocab::new(symbols),
        })
    }

    /// Rebuild from a stored vocabulary (specials first, as [`Tokenizer::vocabulary`] writes it).
    pub fn from_vocabulary(vocab: &[String]) -> Result<Self> {
        Ok(Self {
            vocab: SymbolVocab::from_vocabulary(vocab, SPECIALS)
                .map_err(|e| MolError::Invalid(e.to_string()))?,
        })
    }
}

impl Tokenizer for SmilesTokenizer {
    fn vocab_size(&self) -> usize {
        self.vocab.vocab_size()
    }
    fn special_ids(&self) -> SpecialIds {
        self.vocab.special_ids()
    }
    /// [bos] + tokens + [eos], right-padded with pad and truncated to `len` (spec §8).
    fn encode(&self, text: &str, len: usize) -> diffusion_core::Result<Vec<i64>> {
        let toks =
            split_smiles(text).map_err(|e| diffusion_core::CoreError::Data(e.to_string()))?;
        Ok(self.vocab.encode(toks, len))
    }
    /// Concatenate the non-special tokens (the reference strips bos/eos/pad; stray masks and
    /// unknowns are dropped too).
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

    #[test]
    fn splits_like_the_reference_regex() {
        assert_eq!(
            split_smiles("C[NH3+]Cl").unwrap(),
            vec!["C", "[NH3+]", "Cl"]
        );
        assert_eq!(
            split_smiles("c1cc%12Br").unwrap(),
            vec!["c", "1", "c", "c", "%12", "Br"]
        );
        assert!(split_smiles("CX").is_err());
    }

    #[test]
    fn roundtrip_and_vocabulary() {
        let tok = SmilesTokenizer::fit(["CC(=O)O", "c1ccccc1[NH3+]"]).unwrap();
        let ids = tok.encode("CC(=O)O", 12).unwrap();
        assert_eq!(ids[0], SmilesTokenizer::BOS);
        assert_eq!(ids[8], SmilesTokenizer::EOS);
        assert_eq!(ids[11], SmilesTokenizer::PAD);
        assert_eq!(tok.decode(&ids), "CC(=O)O");
        let back = SmilesTokenizer::from_vocabulary(&tok.vocabulary()).unwrap();
        assert_eq!(back, tok);
        assert_eq!(tok.encode("CN", 4).unwrap()[2], SmilesTokenizer::UNK);
    }
}

#[cfg(test)]
mod qm9_vocab_tests {
    use super::*;

    /// The vocabulary of the full QM9 and the longest molecule in tokens (spec §8: the reference
    /// vocabulary file has 30 symbols, N = 35; sequences are [bos] + tokens + [eos] in 32).
    #[test]
    fn qm9_vocabulary_and_lengths() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../datasets/molecules/qm9.csv.gz");
        let records = crate::qm9::load_qm9(&p).unwrap();
        let tok = SmilesTokenizer::fit(records.iter().map(|r| r.smiles.as_str())).unwrap();
        let longest = records
            .iter()
            .map(|r| split_smiles(&r.smiles).unwrap().len())
            .max()
            .unwrap();
        let reference = [
            "#", "(", ")", "-", "1", "2", "3", "4", "5", "=", "C", "F", "N", "O", "[C-]", "[CH-]",
            "[N+]", "[N-]", "[NH+]", "[NH2+]", "[NH3+]", "[O-]", "[c-]", "[cH-]", "[n-]", "[nH+]",
            "[nH]", "c", "n", "o",
        ];
        assert_eq!(
            tok.vocab.symbols, reference,
            "QM9 vocabulary differs from the reference's"
        );
        assert_eq!(tok.vocab_size(), 35);
        assert!(
            longest + 2 <= 32,
            "longest molecule needs {} positions",
            longest + 2
        );
    }
}
