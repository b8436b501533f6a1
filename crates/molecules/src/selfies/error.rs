//! The single error type of the SELFIES module.

use std::fmt;

/// Why a SMILES or SELFIES string could not be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfiesError {
    /// The SMILES input is not syntactically valid; `position` counts characters.
    InvalidSmiles {
        smiles: String,
        position: usize,
        reason: String,
    },
    /// The aromatic part of the SMILES input has no Kekulé structure.
    Kekulization { smiles: String },
    /// An atom has more bonds than the default semantic constraints allow.
    BondConstraint {
        smiles: String,
        atom: String,
        bonds: i64,
        capacity: i64,
    },
    /// Valid SMILES that selfies 2.2.0 cannot encode either (it fails with an internal error).
    Unsupported { smiles: String, reason: String },
    /// A `[` without a matching `]`; `position` counts characters.
    HangingBracket { selfies: String, position: usize },
    /// A bracketed symbol the decoder does not know; `index` counts symbols (dots included).
    InvalidSymbol {
        selfies: String,
        symbol: String,
        index: usize,
    },
}

impl fmt::Display for SelfiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSmiles {
                smiles,
                position,
                reason,
            } => write!(
                f,
                "failed to parse SMILES {smiles:?} at character {position}: {reason}"
            ),
            Self::Kekulization { smiles } => write!(f, "kekulization failed for SMILES {smiles:?}"),
            Self::BondConstraint {
                smiles,
                atom,
                bonds,
                capacity,
            } => write!(
                f,
                "SMILES {smiles:?} violates the semantic constraints: {atom} has {bonds} bond(s), \
                 at most {capacity} allowed"
            ),
            Self::Unsupported { smiles, reason } => {
                write!(f, "cannot encode SMILES {smiles:?}: {reason}")
            }
            Self::HangingBracket { selfies, position } => write!(
                f,
                "malformed SELFIES {selfies:?}: '[' at character {position} is never closed"
            ),
            Self::InvalidSymbol {
                selfies,
                symbol,
                index,
            } => write!(
                f,
                "invalid symbol {symbol:?} at symbol index {index} in SELFIES {selfies:?}"
            ),
        }
    }
}

impl std::error::Error for SelfiesError {}
