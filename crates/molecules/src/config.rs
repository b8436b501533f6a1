//! The molecules experiment config (`configs/qm9-*.toml`): data, process, model, classifier,
//! training and sampling sections. Token facts (N, L, mask, pad, number of classes) are filled
//! in from the tokenizer and the data, never typed into the file.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How molecules are written as token sequences.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Representation {
    /// The reference's regex-tokenised SMILES.
    #[default]
    Smiles,
    /// SELFIES symbols (Krenn et al. 2020): every symbol string decodes to a valid molecule.
    Selfies,
}

impl std::str::FromStr for Representation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "smiles" => Ok(Self::Smiles),
            "selfies" => Ok(Self::Selfies),
            o => Err(format!("`{o}` is not one of smiles, selfies")),
        }
    }
}

/// A QM9 property that labels molecules for guidance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    Qed,
    RingCount,
}

impl std::str::FromStr for Property {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "qed" => Ok(Self::Qed),
            "ring_count" | "rings" => Ok(Self::RingCount),
            o => Err(format!("`{o}` is not one of qed, ring_count")),
        }
    }
}

impl Property {
    pub fn name(self) -> &'static str {
        match self {
            Property::Qed => "qed",
            Property::RingCount => "ring_count",
        }
    }
}

fn d_path() -> PathBuf {
    PathBuf::from("datasets/molecules/qm9.csv.gz")
}
fn d_seq_len() -> usize {
    32
}
fn d_percentile() -> f64 {
    90.0
}
fn d_test() -> f64 {
    0.05
}
fn d_split_seed() -> u64 {
    42
}

/// Where the molecules come from and how they become labelled token sequences (spec §8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// QM9-style CSV (plain or .gz) with `canonical_smiles`, `qed`, `ring_count`. A relative path
    /// is looked up from the working directory, then from the repository root.
    #[serde(default = "d_path")]
    pub path: PathBuf,
    #[serde(default)]
    pub representation: Representation,
    /// L, including bos and eos. 32 for SMILES (spec §8); see README for SELFIES.
    #[serde(default = "d_seq_len")]
    pub seq_len: usize,
    /// Label every molecule `property > percentile(property, q)` over the full data set.
    #[serde(default)]
    pub label: Option<Property>,
    #[serde(default = "d_percentile")]
    pub percentile: f64,
    /// The held-out split (reference: 5 %, seed 42); it is the validation set.
    #[serde(default = "d_test")]
    pub test_fraction: f64,
    #[serde(default = "d_split_seed")]
    pub split_seed: u64,
    /// Use only this many training molecules (seeded subsample) — for CPU-sized runs.
    #[serde(default)]
    pub max_train: Option<usize>,
    /// Use only this many validation molecules (seeded subsample).
    #[serde(default)]
    pub max_val: Option<usize>,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            path: d_path(),
            representation: Representation::Smiles,
            seq_len: d_seq_len(),
            label: None,
            percentile: d_percentile(),
            test_fraction: d_test(),
            split_seed: d_split_seed(),
            max_train: None,
            max_val: None,
        }
    }
}

/// Where a run writes its files and on which backend (shared by every domain).
/// The molecules experiment file: the core's with this `[data]` section.
pub type MolConfig = diffusion_core::app::ExperimentConfig<DataConfig>;
