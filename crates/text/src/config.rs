//! The text experiment config (`configs/text8-*.toml`): data, process, model, training and
//! sampling sections. N, L and the special ids are filled in from the tokenizer and
//! `data.seq_len`, never typed into the file.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

fn d_path() -> PathBuf {
    PathBuf::from("datasets/text/text8style_austen_shakespeare.txt.gz")
}
fn d_seq_len() -> usize {
    256
}
fn d_val_fraction() -> f64 {
    0.05
}

/// Where the text comes from and how it becomes chunks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Text file (plain or .gz). A relative path is looked up from the working directory, then
    /// from the repository root.
    #[serde(default = "d_path")]
    pub path: PathBuf,
    /// L: characters per chunk (text8: 256).
    #[serde(default = "d_seq_len")]
    pub seq_len: usize,
    /// The last this fraction of the characters is the validation split.
    #[serde(default = "d_val_fraction")]
    pub val_fraction: f64,
    /// Normalise the text as text8 does (for raw English text) instead of rejecting characters
    /// outside a–z and space.
    #[serde(default)]
    pub normalize: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            path: d_path(),
            seq_len: d_seq_len(),
            val_fraction: d_val_fraction(),
            normalize: false,
        }
    }
}

/// One file trains one character-level generator: the core's experiment file with this
/// `[data]` section.
pub type TextConfig = diffusion_core::app::ExperimentConfig<DataConfig>;
