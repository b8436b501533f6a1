//! `sample`: generate text from a checkpoint and write one sample per line, optionally from a
//! pinned prefix (a prompt). AR models start from a space (a word boundary), since text8 chunks
//! have no BOS.

use super::{TextModel, device};
use anyhow::{Context, Result, bail};
use clap::Args;
use diffusion_core::domain::{CharTokenizer, SymbolVocab};
use diffusion_core::generate::{GuidanceKind, Request, Unguided, class_groups};
use diffusion_core::sampler::SamplerConfig;
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
    /// Start every sample with this text (prompted generation: the sampler keeps it fixed and
    /// writes the rest); characters of the model's alphabet.
    #[arg(long)]
    pub prefix: Option<String>,
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
    generate_each(
        checkpoint,
        n,
        config,
        None,
        backend,
        progress,
        &mut |line| {
            lines.push(line);
            Ok(())
        },
    )?;
    Ok(lines)
}

/// Pins holding `prefix` at the first positions of every sample: each character must be in the
/// model's alphabet and the prefix no longer than a sample.
pub fn prefix_pins(tok: &CharTokenizer, prefix: &str, seq_len: usize) -> Result<Vec<(usize, i64)>> {
    let n = prefix.chars().count();
    if n > seq_len {
        bail!("--prefix: {n} characters, but samples hold {seq_len}");
    }
    let mut buf = [0u8; 4];
    prefix
        .chars()
        .enumerate()
        .map(|(i, c)| match tok.vocab.id(c.encode_utf8(&mut buf)) {
            SymbolVocab::UNK => {
                bail!("--prefix: {c:?} is not in the model's alphabet (a-z and space for text8)")
            }
            id => Ok((i, id)),
        })
        .collect()
}

/// `n` samples of `checkpoint` (starting with `prefix` when given), each handed to `on_line`
/// as soon as its batch is done, so memory stays bounded by one batch. AR models start from a
/// space, since text8 chunks have no BOS.
pub fn generate_each(
    checkpoint: &Path,
    n: usize,
    config: SamplerConfig,
    prefix: Option<&str>,
    backend: Option<&str>,
    progress: bool,
    on_line: &mut dyn FnMut(String) -> Result<()>,
) -> Result<()> {
    let dev = device(backend)?;
    let m = TextModel::load(checkpoint, &dev)?;
    let tok = &m.facts.tokenizer;
    let sampler = SamplerConfig {
        bos_id: Some(tok.vocab.id(" ")),
        ..config
    };
    let pins = match prefix {
        Some(p) => prefix_pins(tok, p, m.diffusion.config.seq_len)?,
        None => Vec::new(),
    };
    let req = Request {
        pins,
        progress,
        ..Request::new(GuidanceKind::None, 1.0, Default::default(), sampler)
    };
    let groups = class_groups(&req, false, Unguided::NullClass, &[0], n)?;
    m.generate(&req, &groups, &dev, &mut |_, batch| {
        for r in batch.rows() {
            on_line(decode(tok, r).trim().to_string())
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
        a.prefix.as_deref(),
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
