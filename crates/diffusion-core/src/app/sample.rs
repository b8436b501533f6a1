//! `sample` for any domain: decoded samples written one per line, with the run record beside
//! them. A domain gets it by implementing [`Domain::decode`] (and [`Domain::prefix_pins`] for
//! `--prefix`); domains with richer outputs (molecules, genomics, images) have their own.

use super::guidance_models::SampleModels;
use super::{Domain, Generator};
use crate::atomic_file::AtomicFile;
use crate::backend::device;
use crate::cli::{check_output, check_output_size};
use crate::error::CoreError;
use crate::generate::{Generated, Request, SampleFlags, Unguided, class_groups};
use burn::prelude::Device;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct SampleArgs {
    /// Generator checkpoint (`model.ckpt` or a run's `checkpoints/last.ckpt`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Number of samples (lines). They are written batch by batch, so memory stays bounded.
    #[arg(short = 'n', long, default_value_t = 16)]
    pub num_samples: usize,
    /// The class a class-conditional generator is aimed at (D-CFG, D-CBG, NOS, steering).
    #[arg(long, default_value_t = 0)]
    pub class: i64,
    /// Start every sample with this text (prompted generation: the sampler keeps it fixed and
    /// writes the rest).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Output text file, one sample per line; the run record goes beside it (`.json`).
    #[arg(long, default_value = "runs/samples.txt")]
    pub out: PathBuf,
    /// Guidance, reward steering (`--reward classifier`), sampler refinements, T, batch size,
    /// seed, backend, progress and --force.
    #[command(flatten)]
    pub flags: SampleFlags<128, 64>,
}

/// Generate `n` samples of `g` for `req`, aimed at `class`, handing each decoded line to
/// `on_line` as its batch finishes.
pub fn generate_lines<D: Domain>(
    g: &Generator<D>,
    req: &Request,
    class: i64,
    n: usize,
    dev: &Device,
    on_line: &mut dyn FnMut(String) -> Result<(), D::Error>,
) -> Result<Generated, D::Error> {
    let conditional = g.is_conditional();
    let groups = class_groups(req, conditional, Unguided::NullClass, &[class], n)?;
    let mut failed = None;
    let done = g.generate(req, &groups, dev, &mut |_, batch| {
        for row in batch.rows() {
            if let Err(e) = on_line(D::decode(&g.facts, row)) {
                failed = Some(e);
                return Err(CoreError::Sink("stopped".into()));
            }
        }
        Ok(())
    });
    match (done, failed) {
        (_, Some(e)) => Err(e),
        (done, None) => Ok(done?),
    }
}

/// The request of `a` for generator `g` with its guidance `models` and steering `reward`.
fn request<'a, D: Domain>(
    a: &SampleArgs,
    g: &Generator<D>,
    models: &'a SampleModels,
    reward: Option<&'a dyn crate::guidance::steer::Reward>,
) -> Result<Request<'a>, D::Error> {
    let seq_len = g.loaded.diffusion.config.seq_len;
    let pins = match &a.prefix {
        Some(p) => D::prefix_pins(&g.facts, p, seq_len)?,
        None => Vec::new(),
    };
    let mut req = a.flags.request(&models.guidance, reward, seq_len, pins)?;
    req.sampler.bos_id = D::start_token(&g.facts);
    Ok(req)
}

/// `sample`: write `a.num_samples` decoded samples to `a.out` (atomically) and the run record
/// to `a.out` with the extension `.json`; returns the number written.
pub fn sample<D: Domain>(a: &SampleArgs) -> Result<usize, D::Error> {
    let dev = device(a.flags.run.backend.as_deref())?;
    let g = Generator::<D>::load(&a.checkpoint, &dev)?;
    check_output(&a.out, "--out", a.flags.run.force)?;
    let models = SampleModels::load::<D>(&a.flags.guide, &a.flags.steer, &g, &dev)?;
    let reward = models.reward(&a.flags.steer, &[], "class", &dev, &|_| Ok(None))?;
    let req = request(a, &g, &models, reward.as_deref())?;
    // At least the line breaks.
    check_output_size(&a.out, "-n", a.num_samples as u128)?;
    let mut file = AtomicFile::create(&a.out)?;
    let (mut count, mut first) = (0usize, None);
    let done = generate_lines(&g, &req, a.class, a.num_samples, &dev, &mut |line| {
        writeln!(file, "{line}").map_err(|e| CoreError::io(&a.out, e))?;
        count += 1;
        first.get_or_insert(line);
        Ok(())
    })?;
    file.commit()?;
    let mut run = a.flags.run_record(&a.checkpoint, &done, count);
    run["class"] = a.class.into();
    run["prefix"] = a.prefix.clone().into();
    crate::run_dir::write_json_atomic(&a.out.with_extension("json"), &run)?;
    if let Some(st) = &done.steer {
        println!("{}", a.flags.steer.report(st));
    }
    println!(
        "wrote {count} samples to {} in {:.1} s ({} network evaluations); the first:\n{}",
        a.out.display(),
        done.seconds,
        done.nfe,
        first.unwrap_or_default()
    );
    Ok(count)
}
