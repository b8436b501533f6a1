//! `validate`: validation NELBO and perplexity of a generator checkpoint on the held-out split
//! of its data set (all of it by default), the number the paper reports as QM9 PPL.

use super::device;
use super::sample::load_generator;
use anyhow::Result;
use clap::Args;
use diffusion_core::domain::SequenceDataset;
use diffusion_core::train::{Generator, evaluate};
use molecules::config::DataConfig;
use molecules::data::prepare;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct ValidateArgs {
    /// Generator checkpoint.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Data set (default: the one the checkpoint was trained on).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use only this many held-out molecules (default: all).
    #[arg(long)]
    pub max_val: Option<usize>,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    #[arg(long)]
    pub backend: Option<String>,
    /// Print one Markdown table row `| LABEL | NELBO | PPL |` instead of the sentence.
    #[arg(long)]
    pub markdown_row: Option<String>,
}

pub fn run(a: &ValidateArgs) -> Result<()> {
    let dev = device(a.backend.as_deref())?;
    let g = load_generator(&a.checkpoint, &dev)?;
    let d = &g.loaded.diffusion.config;
    let cfg = DataConfig {
        path: a
            .data
            .clone()
            .or(g.data_path.clone())
            .unwrap_or_else(|| DataConfig::default().path),
        representation: g.tokenizer.representation,
        seq_len: d.seq_len,
        label: g.label.as_ref().map(|l| l.property),
        percentile: g.label.as_ref().map_or(90.0, |l| l.percentile),
        max_val: a.max_val,
        ..Default::default()
    };
    let data = prepare(&cfg, Some(g.tokenizer.clone()))?;
    let objective = Generator::new(d.clone(), g.loaded.model_config.clone());
    let v = evaluate(
        &objective,
        &g.loaded.model,
        &data.val,
        a.batch_size,
        None,
        0,
        &dev,
    );
    if let Some(label) = &a.markdown_row {
        println!("| {label} | {:.4} | {:.3} |", v.nll, v.ppl);
        return Ok(());
    }
    // Per molecule, the bound compares representations with different tokens (SMILES, SELFIES).
    let tokens: usize = (0..data.val.len())
        .map(|i| {
            data.val
                .tokens(i)
                .iter()
                .filter(|&&t| Some(t) != d.pad_id)
                .count()
        })
        .sum();
    let per_molecule = tokens as f64 / data.val.len().max(1) as f64;
    println!(
        "{}: {:?} on {} held-out molecules: NELBO {:.4} nats/token (pads excluded), PPL {:.3}, step {}; \
         {:.2} tokens and {:.3} nats per molecule",
        a.checkpoint.display(),
        d.kind,
        data.val.len(),
        v.nll,
        v.ppl,
        g.loaded.step,
        per_molecule,
        v.nll * per_molecule
    );
    Ok(())
}
