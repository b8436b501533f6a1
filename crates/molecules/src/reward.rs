//! Rewards for reward-steered sampling (`sample --steer`): exact chemistry on the decoded
//! molecule, no classifier. An invalid string scores 0 on every reward.

use crate::chemistry::analyze;
use crate::error::Result;
use crate::mol_tokenizer::MolTokenizer;
use diffusion_core::domain::Tokenizer;
use diffusion_core::guidance::steer::{self, Reward};

/// The rewards `--reward` can name.
pub const REWARD_NAMES: [&str; 3] = ["qed", "rings", "valid"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MolProperty {
    /// QED of the molecule (0 if invalid).
    Qed,
    /// Ring count, CalcNumRings (0 if invalid).
    Rings,
    /// 1 if the string parses as a molecule, else 0.
    Valid,
}

/// A property of the decoded molecule as a reward.
pub struct MolReward {
    pub tokenizer: MolTokenizer,
    pub property: MolProperty,
}

impl MolReward {
    /// The value of one decoded string.
    pub fn value(&self, text: &str) -> f64 {
        let Some(smiles) = self.tokenizer.representation.to_smiles(text) else {
            return 0.0;
        };
        match (analyze(&smiles), self.property) {
            (None, _) => 0.0,
            (Some(m), MolProperty::Qed) => m.qed,
            (Some(m), MolProperty::Rings) => m.rings as f64,
            (Some(_), MolProperty::Valid) => 1.0,
        }
    }
}

impl Reward for MolReward {
    fn name(&self) -> String {
        match self.property {
            MolProperty::Qed => "qed",
            MolProperty::Rings => "rings",
            MolProperty::Valid => "valid",
        }
        .into()
    }
    fn score(&self, rows: &[i64], seq_len: usize, _target: i64) -> Vec<f64> {
        rows.chunks(seq_len)
            .map(|r| self.value(&self.tokenizer.decode(r)))
            .collect()
    }
}

/// The molecules reward a `--reward` name stands for (`None`: not one of [`REWARD_NAMES`]).
pub fn domain_reward<'a>(
    name: &str,
    tokenizer: &MolTokenizer,
) -> diffusion_core::Result<Option<Box<dyn Reward + 'a>>> {
    let property = match name {
        "qed" => MolProperty::Qed,
        "rings" => MolProperty::Rings,
        "valid" => MolProperty::Valid,
        _ => return Ok(None),
    };
    Ok(Some(Box::new(MolReward {
        tokenizer: tokenizer.clone(),
        property,
    })))
}

/// The reward of `--reward` terms (name, weight): one property, or their weighted sum (a
/// `classifier` term needs the CLI's `--reward-classifier`).
pub fn build_reward(terms: &[(String, f64)], tokenizer: &MolTokenizer) -> Result<Box<dyn Reward>> {
    Ok(steer::build_reward(
        terms,
        &REWARD_NAMES,
        None,
        &Default::default(),
        &|name| domain_reward(name, tokenizer),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Representation;

    fn tokenizer() -> MolTokenizer {
        let symbols: Vec<Vec<String>> = ["c1ccccc1O", "CCO", "C1CC1"]
            .iter()
            .map(|s| Representation::Smiles.symbols(s).unwrap())
            .collect();
        MolTokenizer::fit(Representation::Smiles, symbols.iter().map(|v| v.as_slice()))
    }

    #[test]
    fn rewards_of_decoded_molecules() {
        let tok = tokenizer();
        let enc = |s: &str| {
            tok.encode_symbols(&Representation::Smiles.symbols(s).unwrap(), 12)
                .unwrap()
        };
        let mut rows = enc("c1ccccc1O");
        rows.extend(enc("CCO"));
        rows.extend(enc("C1CC")); // unclosed ring: invalid
        let terms = |spec: &str| diffusion_core::guidance::steer::parse_reward_spec(spec).unwrap();
        let rings = build_reward(&terms("rings"), &tok).unwrap();
        assert_eq!(rings.score(&rows, 12, 0), [1.0, 0.0, 0.0]);
        let valid = build_reward(&terms("valid"), &tok).unwrap();
        assert_eq!(valid.score(&rows, 12, 0), [1.0, 1.0, 0.0]);
        let qed = build_reward(&terms("qed"), &tok).unwrap();
        let q = qed.score(&rows, 12, 0);
        // Phenol's and ethanol's QED (RDKit, tests/data/rdkit_golden.tsv: 0.51473, 0.40681).
        assert!(
            (q[0] - 0.51473).abs() < 1e-4 && (q[1] - 0.40681).abs() < 1e-4,
            "{q:?}"
        );
        assert_eq!(q[2], 0.0);
        let mix = build_reward(&terms("qed:2,rings:-1"), &tok).unwrap();
        let m = mix.score(&rows, 12, 0);
        assert!(
            (m[0] - (2.0 * q[0] - 1.0)).abs() < 1e-12 && m[2] == 0.0,
            "{m:?}"
        );
        let e = build_reward(&terms("logp"), &tok)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("--reward") && e.contains("logp") && e.contains("qed"),
            "{e}"
        );
    }
}
