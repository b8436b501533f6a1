//! The genomics experiment config (`configs/species-*.toml`): data (manifest and windows), the
//! generator or classifier, training and run sections. N, L and the special ids come from the
//! tokenizer and `data.windows.length`, never from the file.

use crate::windows::{Balance, SplitScope, WindowConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

fn d_manifest() -> PathBuf {
    PathBuf::from("datasets/genomics/manifest.tsv")
}

fn d_windows() -> WindowConfig {
    WindowConfig {
        // 128 bp: attention is O(L²) and a 2-core CPU trains a small DiT at this length in
        // minutes; 128 bp already carries the composition and k-mer signal that separates the
        // 12 species (the oracle's held-out accuracy measures how much).
        length: 128,
        // The fly class is 2,000 records of 2 kbp: split per species, not per record.
        scope: SplitScope::Species,
        balance: Balance::Cap,
        ..WindowConfig::default()
    }
}

fn d_true() -> bool {
    true
}

/// Where the genomes come from and how they become token sequences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Species manifest (TSV with `label` and `file` columns, or TOML); relative file paths in it
    /// are relative to the manifest.
    #[serde(default = "d_manifest")]
    pub manifest: PathBuf,
    /// Window length (bases), stride, split fractions, reverse-complement augmentation and
    /// class balancing. A sequence is `[BOS]` + `length` bases, so L = length + 1.
    #[serde(default = "d_windows")]
    pub windows: WindowConfig,
    /// Keep at most this many training windows per species (a seeded random subset), to bound
    /// memory and epoch length; None keeps all.
    #[serde(default)]
    pub max_train_per_class: Option<usize>,
    /// Keep at most this many validation and test windows per species.
    #[serde(default)]
    pub max_eval_per_class: Option<usize>,
    /// Train with species labels (class-conditional, needed for D-CFG and classifiers).
    #[serde(default = "d_true")]
    pub conditional: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            manifest: d_manifest(),
            windows: d_windows(),
            max_train_per_class: None,
            max_eval_per_class: None,
            conditional: true,
        }
    }
}

impl DataConfig {
    /// L: `[BOS]` and the window's bases.
    pub fn seq_len(&self) -> usize {
        self.windows.length + 1
    }
}

/// The genomics experiment file: the core's with this `[data]` section.
pub type GenomicsConfig = diffusion_core::app::ExperimentConfig<DataConfig>;
