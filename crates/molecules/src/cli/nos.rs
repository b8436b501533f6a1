//! NOS heads (spec §6.4) for the CLI: trained on the frozen encoder of a generator checkpoint
//! and saved as their own checkpoint kind, which names the generator it belongs to.

use anyhow::{Result, bail};
use burn::nn::LinearConfig;
use burn::prelude::Device;
use diffusion_core::checkpoint::{CheckpointFile, load_module_blob, module_blob};
use diffusion_core::nos::NosHead;
use std::path::Path;

pub const KIND: &str = "nos-head";

/// Write a NOS head with the facts needed to check it against a generator at sampling time.
pub fn save(
    path: &Path,
    head: &NosHead,
    hidden: usize,
    num_classes: usize,
    vocabulary: &[String],
    metadata: serde_json::Value,
    accuracy: f64,
) -> Result<()> {
    let mut ck = CheckpointFile {
        header: serde_json::json!({
            "format": 1,
            "kind": KIND,
            "hidden_size": hidden,
            "num_classes": num_classes,
            "vocabulary": vocabulary,
            "metadata": metadata,
            "train_accuracy": accuracy,
        }),
        ..Default::default()
    };
    ck.blobs.insert("head".into(), module_blob(head.clone())?);
    ck.save(path)?;
    Ok(())
}

/// Load a NOS head for a generator with `hidden` features and `vocabulary`.
pub fn load(path: &Path, dev: &Device, hidden: usize, vocabulary: &[String]) -> Result<NosHead> {
    super::require_file(path, "NOS head")?;
    let ck = CheckpointFile::load(path)?;
    let kind: String = ck.field("kind", path)?;
    if kind != KIND {
        bail!("{}: holds a {kind}, not a NOS head", path.display());
    }
    let h: usize = ck.field("hidden_size", path)?;
    let c: usize = ck.field("num_classes", path)?;
    let v: Vec<String> = ck.field("vocabulary", path)?;
    if h != hidden || v != vocabulary {
        bail!(
            "{}: this NOS head was trained on another generator (hidden size {h}, or another vocabulary)",
            path.display()
        );
    }
    let head = NosHead {
        head: LinearConfig::new(h, c).init(dev),
    };
    Ok(load_module_blob(
        head,
        ck.blob("head", path)?,
        path,
        "NOS head",
    )?)
}
