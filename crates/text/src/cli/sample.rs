//! `sample`: generate text from a checkpoint and write one sample per line. AR models start
//! from a space (a word boundary), since text8 chunks have no BOS.

use super::device;
use anyhow::{Context, Result};
use clap::Args;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::sampler::{Labels, Sampler, SamplerConfig};
use std::io::Write;
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
    /// Output text file (one sample per line).
    #[arg(long, default_value = "runs/text-samples.txt")]
    pub out: PathBuf,
    /// Sampler refinements: UDLM corrector steps, MDLM ReMDM-cap remasking, Ψ-samplers, a
    /// final noise-free step.
    #[command(flatten)]
    pub refine: diffusion_core::generate::RefineArgs,
    /// T, batch size, seed, backend, progress and --force.
    #[command(flatten)]
    pub run: diffusion_core::generate::SampleRunArgs<128, 64>,
}

/// `n` samples of `checkpoint` as text lines.
pub fn generate(
    checkpoint: &Path,
    n: usize,
    config: SamplerConfig,
    backend: Option<&str>,
    progress: bool,
) -> Result<Vec<String>> {
    diffusion_core::sampler::check_sample_count(n, 1).context("-n")?;
    let mut lines = Vec::with_capacity(n);
    generate_each(checkpoint, n, config, backend, progress, &mut |line| {
        lines.push(line);
        Ok(())
    })?;
    Ok(lines)
}

/// `n` samples of `checkpoint`, each handed to `on_line` as soon as its batch is done, so
/// memory stays bounded by one batch.
pub fn generate_each(
    checkpoint: &Path,
    n: usize,
    config: SamplerConfig,
    backend: Option<&str>,
    progress: bool,
    on_line: &mut dyn FnMut(String) -> Result<()>,
) -> Result<()> {
    let dev = device(backend)?;
    let m = super::TextModel::load(checkpoint, &dev)?;
    let space = m.facts.tokenizer.vocab.id(" ");
    let config = SamplerConfig {
        bos_id: (m.loaded.diffusion.kind() == ModelKind::Ar).then_some(space),
        ..config
    };
    let sampler = Sampler::new(&m.loaded.diffusion, m.loaded.denoiser(), config, &dev)?;
    sampler.sample_stream(n, Labels::None, progress, &mut |_, _| {}, &mut |batch| {
        for r in batch.rows() {
            on_line(decode(&m.facts.tokenizer, r).trim().to_string())
                .map_err(|e| diffusion_core::CoreError::Sink(e.into()))?;
        }
        Ok(())
    })?;
    Ok(())
}

pub fn run(a: &SampleArgs) -> Result<()> {
    diffusion_core::cli::require_file(&a.checkpoint, "checkpoint")?;
    diffusion_core::cli::check_output(&a.out, "--out", a.run.force)?;
    let config = a.refine.apply(a.run.sampler());
    // At most one character per token plus the line break; at least the line breaks.
    diffusion_core::cli::check_output_size(&a.out, "-n", a.num_samples as u128)?;
    let mut file = diffusion_core::atomic_file::AtomicFile::create(&a.out)?;
    let (mut count, mut first) = (0usize, None);
    generate_each(
        &a.checkpoint,
        a.num_samples,
        config,
        a.run.backend.as_deref(),
        !a.run.quiet,
        &mut |line| {
            writeln!(file, "{line}").with_context(|| format!("writing {}", a.out.display()))?;
            count += 1;
            first.get_or_insert(line);
            Ok(())
        },
    )?;
    file.commit()?;
    println!(
        "wrote {count} samples to {}; the first:\n{}",
        a.out.display(),
        first.unwrap_or_default()
    );
    Ok(())
}
