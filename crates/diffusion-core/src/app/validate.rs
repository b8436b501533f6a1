//! `validate` of every domain binary: the validation NELBO (AR: NLL) and perplexity of a
//! generator checkpoint, any backbone, over the held-out split of the data it was trained on —
//! the number a run's `summary.json` records for the same weights, and the paper's PPL / BPC.

use super::Domain;
use super::train::EVAL_SEED;
use crate::backend::device;
use crate::cli::require_file;
use crate::diffusion::ModelKind;
use crate::domain::SequenceDataset;
use crate::error::CoreError;
use crate::train::{LoadedGenerator, ValStats};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone, Debug)]
pub struct ValidateArgs {
    /// Generator checkpoint (`model.ckpt`, a run's `checkpoints/last.ckpt`, a shipped file).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Data file (default: the one the checkpoint was trained on).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use only the first this many held-out sequences (default: all).
    #[arg(long)]
    pub max_val: Option<usize>,
    /// Sequences per batch (default: the domain's, the batch of a run's final validation).
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long)]
    pub backend: Option<String>,
    /// Print one Markdown table row `| LABEL | NELBO | PPL |` instead of the sentence.
    #[arg(long)]
    pub markdown_row: Option<String>,
}

/// A generator checkpoint of domain `D`: loaded, and refused if its metadata names another
/// domain.
pub fn load_generator<D: Domain>(
    path: &Path,
    dev: &burn::prelude::Device,
) -> Result<LoadedGenerator, CoreError> {
    require_file(path, "generator checkpoint")?;
    let g = LoadedGenerator::load(path, dev)?;
    check_domain::<D>(&g.metadata, path)?;
    Ok(g)
}

/// An error unless a checkpoint's metadata says it belongs to domain `D`.
pub fn check_domain<D: Domain>(metadata: &serde_json::Value, path: &Path) -> Result<(), CoreError> {
    match metadata.get("domain").and_then(|v| v.as_str()) {
        Some(d) if d == D::NAME => Ok(()),
        other => Err(CoreError::checkpoint(
            path,
            format!(
                "not {} {} checkpoint (its metadata says domain = {})",
                if D::NAME.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                },
                D::NAME,
                other.map_or("nothing".to_string(), |d| format!("\"{d}\""))
            ),
        )),
    }
}

/// The line `train` and `validate` print for a generator's held-out score (`v.step` is the
/// weights' step).
pub fn validation_line<D: Domain>(
    who: &Path,
    kind: ModelKind,
    backbone: &str,
    v: &ValStats,
    val: &dyn SequenceDataset,
) -> String {
    format!(
        "{}: {kind:?} ({backbone}) step {}: validation {} {:.4} nats/{tok} = {:.4} bits per {tok} (PPL {:.3}) on {} held-out sequences of L = {}",
        who.display(),
        v.step,
        if kind == ModelKind::Ar {
            "NLL"
        } else {
            "NELBO"
        },
        v.nll,
        v.bpc,
        v.ppl,
        val.len(),
        val.seq_len(),
        tok = D::TOKEN,
    )
}

/// `validate`: prints and returns the held-out NELBO / NLL of a checkpoint.
pub fn validate<D: Domain>(a: &ValidateArgs) -> Result<ValStats, D::Error> {
    let dev = device(a.backend.as_deref())?;
    let g = load_generator::<D>(&a.checkpoint, &dev)?;
    let data = D::checkpoint_data(&g, &a.checkpoint, a.data.as_deref())?;
    let full = D::splits(&data).val;
    let subset;
    let val = match a.max_val {
        Some(m) if m < full.len() => {
            subset = full.subset(&(0..m).collect::<Vec<_>>());
            &subset
        }
        _ => full,
    };
    let v = g.evaluate(val, a.batch_size.unwrap_or(D::EVAL_BATCH), EVAL_SEED, &dev);
    if let Some(label) = &a.markdown_row {
        println!("| {label} | {:.4} | {:.3} |", v.nll, v.ppl);
        return Ok(v);
    }
    println!(
        "{}",
        validation_line::<D>(&a.checkpoint, g.diffusion.kind(), g.backbone(), &v, val)
    );
    if let Some(note) = D::validation_note(&g, &data, &v) {
        println!("{note}");
    }
    Ok(v)
}
