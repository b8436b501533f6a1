//! `sample`: generate text from a checkpoint and write one sample per line. AR models start
//! from a space (a word boundary), since text8 chunks have no BOS.

use super::{device, load_model};
use anyhow::{Context, Result};
use clap::Args;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::sampler::{Sampler, SamplerConfig};
use std::path::{Path, PathBuf};
use text::tokenizer::decode;

#[derive(Args, Clone, Debug)]
pub struct SampleArgs {
    /// Generator checkpoint (`model.ckpt` or a run's `checkpoints/last.ckpt`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Number of samples (lines).
    #[arg(short = 'n', long, default_value_t = 16)]
    pub num_samples: usize,
    /// Reverse steps T for MDLM / UDLM (the reference uses 128–256 for text8; AR ignores it).
    #[arg(long, default_value_t = 128)]
    pub steps: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output text file (one sample per line).
    #[arg(long, default_value = "runs/text-samples.txt")]
    pub out: PathBuf,
    #[arg(long)]
    pub backend: Option<String>,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Replace the results of an earlier run at the output path (refused otherwise).
    #[arg(long)]
    pub force: bool,
}

/// `n` samples of `checkpoint` as text lines.
pub fn generate(
    checkpoint: &Path,
    n: usize,
    config: SamplerConfig,
    backend: Option<&str>,
    progress: bool,
) -> Result<Vec<String>> {
    let dev = device(backend)?;
    let m = load_model(checkpoint, &dev)?;
    let space = m.tokenizer.vocab.id(" ");
    let config = SamplerConfig {
        bos_id: (m.loaded.diffusion.kind() == ModelKind::Ar).then_some(space),
        ..config
    };
    let sampler = Sampler::new(&m.loaded.diffusion, &m.loaded.model, config, &dev)?;
    let samples = sampler.sample(n, None, progress)?;
    Ok(samples
        .rows()
        .map(|r| decode(&m.tokenizer, r).trim().to_string())
        .collect())
}

pub fn run(a: &SampleArgs) -> Result<()> {
    diffusion_core::cli::require_file(&a.checkpoint, "checkpoint")?;
    diffusion_core::cli::check_output(&a.out, "--out", a.force)?;
    let config = SamplerConfig {
        steps: a.steps,
        batch_size: a.batch_size,
        seed: a.seed,
        ..Default::default()
    };
    let lines = generate(
        &a.checkpoint,
        a.num_samples,
        config,
        a.backend.as_deref(),
        !a.quiet,
    )?;
    if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut text = lines.join("\n");
    text.push('\n');
    diffusion_core::run_dir::write_atomic(&a.out, text.as_bytes())?;
    println!(
        "wrote {} samples to {}; the first:\n{}",
        lines.len(),
        a.out.display(),
        lines.first().map(String::as_str).unwrap_or("")
    );
    Ok(())
}
