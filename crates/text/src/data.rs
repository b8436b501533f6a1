//! From a config to training and validation chunks: load and check the corpus, encode it, split
//! it by offset, chunk each split. The report says exactly what was used.

use crate::config::DataConfig;
use crate::corpus::{load_corpus, resolve_path};
use crate::error::{Result, TextError};
use crate::split::{Split, chunk};
use crate::tokenizer::{encode_stream, text8};
use diffusion_core::domain::{CharTokenizer, SequenceDataset, TokenSequences};
use serde::Serialize;
use std::path::PathBuf;

/// What the data set is made of (written to `summary.json`).
#[derive(Clone, Debug, Serialize)]
pub struct DataReport {
    pub path: PathBuf,
    pub chars: usize,
    pub split: Split,
    pub seq_len: usize,
    pub train_chunks: usize,
    pub val_chunks: usize,
    /// Characters at the end of each split that do not fill a chunk.
    pub unused_chars: usize,
}

impl DataReport {
    pub fn summary(&self) -> String {
        format!(
            "{}: {} characters; train {} chunks, validation {} chunks of {} ({} trailing characters unused)",
            self.path.display(),
            self.chars,
            self.train_chunks,
            self.val_chunks,
            self.seq_len,
            self.unused_chars
        )
    }
}

/// A prepared data set.
pub struct TextData {
    pub tokenizer: CharTokenizer,
    pub train: TokenSequences,
    pub val: TokenSequences,
    pub report: DataReport,
}

/// Load, split and chunk the corpus of `cfg`. With `tokenizer` (from a checkpoint) its ids are
/// used, otherwise the text8 tokenizer's.
pub fn prepare(cfg: &DataConfig, tokenizer: Option<CharTokenizer>) -> Result<TextData> {
    let path = resolve_path(&cfg.path);
    if cfg.seq_len < 2 {
        return Err(TextError::Invalid(format!(
            "data.seq_len must be at least 2, got {}",
            cfg.seq_len
        )));
    }
    let text = load_corpus(&path, cfg.normalize)?;
    let tokenizer = tokenizer.unwrap_or_else(text8);
    let ids = encode_stream(&tokenizer, &text);
    let split = Split::tail(ids.len(), cfg.val_fraction)?;
    let train = chunk(&ids, split.train.clone(), cfg.seq_len);
    let val = chunk(&ids, split.val.clone(), cfg.seq_len);
    for (name, set, range) in [
        ("training", &train, &split.train),
        ("validation", &val, &split.val),
    ] {
        if set.is_empty() {
            return Err(TextError::TooShort {
                path,
                split: name,
                chars: range.len(),
                seq_len: cfg.seq_len,
            });
        }
    }
    let used = (train.len() + val.len()) * cfg.seq_len;
    let report = DataReport {
        path,
        chars: ids.len(),
        split,
        seq_len: cfg.seq_len,
        train_chunks: train.len(),
        val_chunks: val.len(),
        unused_chars: ids.len() - used,
    };
    Ok(TextData {
        tokenizer,
        train,
        val,
        report,
    })
}
