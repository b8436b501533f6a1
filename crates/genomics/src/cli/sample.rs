//! `sample`: species-conditioned DNA from a generator checkpoint, unguided (conditional
//! sampling for a conditional model), with D-CFG, D-CBG (noisy classifier) or NOS, optionally
//! with pinned motifs; written as FASTA with the intended species in every header. Reward
//! steering (SMC / FK, SVDD, best-of-N): `--reward gc`, `at`, `motif=TATAAT` (1 when the motif
//! occurs, else the best fraction of it matched), or `classifier` (log p of the intended
//! species under --reward-classifier), or a weighted sum such as `classifier:1,gc:2`.

use super::{GenModel, Genomics, device};
use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use clap::Args;
use diffusion_core::app::guidance_models::SampleModels;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::generate::SampleFlags;
use diffusion_core::generate::{Generated, Unguided, class_groups};
pub use diffusion_core::generate::{GuidanceKind, Request};
use genomics::GeneratedSample;
use genomics::fasta::SampleWriter;
use genomics::tokenizer::{BOS, DnaTokenizer};
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct SampleArgs {
    /// Generator checkpoint (`model.ckpt` of a run).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Species to generate: comma-separated names from the manifest, or `all`.
    #[arg(long, default_value = "all")]
    pub species: String,
    /// Sequences per species (§9.4 uses 64). They are generated and written batch by batch,
    /// so memory stays bounded however many are asked for.
    #[arg(long, default_value_t = 16)]
    pub per_species: usize,
    /// Pin a motif at a 0-based base position in every sequence, e.g. `--motif 20:TATAAT`
    /// (repeatable); the sampler keeps it fixed at every step.
    #[arg(long = "motif", value_name = "POS:BASES")]
    pub motifs: Vec<String>,
    /// Output FASTA; the run record (settings, network evaluations, seconds, steering
    /// statistics) goes beside it as `<out>` with the extension `.json`.
    #[arg(long, default_value = "runs/samples/samples.fa")]
    pub out: PathBuf,
    /// Guidance, reward steering, sampler refinements, T, batch size, seed, backend, progress
    /// and --force.
    #[command(flatten)]
    pub flags: SampleFlags<128, 64>,
}

/// Parse `POS:BASES` motifs into token pins (position 0 is `[BOS]`).
pub fn motif_pins(motifs: &[String], seq_len: usize) -> Result<Vec<(usize, i64)>> {
    let mut pins = Vec::new();
    for m in motifs {
        let (pos, bases) = m
            .split_once(':')
            .with_context(|| format!("--motif `{m}`: expected POS:BASES, e.g. 20:TATAAT"))?;
        let pos: usize = pos
            .trim()
            .parse()
            .with_context(|| format!("--motif `{m}`: position `{pos}`"))?;
        let bases = bases.trim();
        if bases.is_empty() || !bases.bytes().all(|b| b"ACGTNacgtn".contains(&b)) {
            bail!("--motif `{m}`: bases must be A, C, G, T or N");
        }
        let bases_per_seq = DnaTokenizer::bases_per_sequence(seq_len);
        if pos + bases.len() > bases_per_seq {
            bail!(
                "--motif `{m}`: ends at base {} but sequences hold {bases_per_seq} bases",
                pos + bases.len()
            );
        }
        for (i, b) in bases.bytes().enumerate() {
            pins.push((1 + pos + i, DnaTokenizer::base_id(b)));
        }
    }
    Ok(pins)
}

/// Class ids of a `--species` list.
pub fn species_ids(spec: &str, classes: &[String]) -> Result<Vec<usize>> {
    if spec.trim() == "all" {
        return Ok((0..classes.len()).collect());
    }
    spec.split(',')
        .map(|s| {
            let s = s.trim();
            classes.iter().position(|c| c == s).with_context(|| {
                format!(
                    "unknown species `{s}`; the model knows {}",
                    classes.join(", ")
                )
            })
        })
        .collect()
}

/// Generate `per_species` sequences for every requested species, each conditioned on its
/// species when the generator is conditional (the core's [`Unguided::EachClass`] rule; group
/// k seeded by the core's one rule), handing each finished one to `on_sample`.
pub fn generate_each(
    g: &GenModel,
    req: &Request,
    species: &[usize],
    per_species: usize,
    dev: &Device,
    on_sample: &mut dyn FnMut(GeneratedSample) -> Result<()>,
) -> Result<Generated> {
    let classes: Vec<i64> = species.iter().map(|&c| c as i64).collect();
    let groups = class_groups(
        req,
        g.is_conditional(),
        Unguided::EachClass,
        &classes,
        per_species,
    )?;
    let tok = DnaTokenizer;
    Ok(g.generate(req, &groups, dev, &mut |group, batch| {
        let c = group.target as usize;
        for row in batch.rows() {
            on_sample(GeneratedSample {
                species: g.facts.classes[c].clone(),
                class: c,
                seq: tok.decode_bases(row),
            })
            .map_err(|e| diffusion_core::CoreError::Sink(e.into()))?;
        }
        Ok(())
    })?)
}

/// [`generate_each`] collected in memory: the samples and the network evaluations.
pub fn generate(
    g: &GenModel,
    req: &Request,
    species: &[usize],
    per_species: usize,
    dev: &Device,
) -> Result<(Vec<GeneratedSample>, usize)> {
    diffusion_core::sampler::check_sample_count(
        per_species.saturating_mul(species.len()),
        g.loaded.diffusion.config.seq_len,
    )
    .context("--per-species")?;
    let mut out = Vec::new();
    let done = generate_each(g, req, species, per_species, dev, &mut |s| {
        out.push(s);
        Ok(())
    })?;
    Ok((out, done.nfe))
}

/// The pins of a run: `motifs`, plus `[BOS]` at position 0 for a diffusion model (an AR
/// model starts from it instead), as in training.
pub fn run_pins(g: &GenModel, motifs: Vec<(usize, i64)>) -> Vec<(usize, i64)> {
    let mut pins = motifs;
    if g.loaded.diffusion.kind() != ModelKind::Ar {
        pins.push((0, BOS));
    }
    pins
}

pub fn run(a: &SampleArgs) -> Result<usize> {
    let dev = device(a.flags.run.backend.as_deref())?;
    let g = GenModel::load(&a.checkpoint, &dev)?;
    diffusion_core::cli::check_output(&a.out, "--out", a.flags.run.force)?;
    let models = SampleModels::load::<Genomics>(&a.flags.guide, &a.flags.steer, &g, &dev)?;
    let seq_len = g.loaded.diffusion.config.seq_len;
    let species = species_ids(&a.species, &g.facts.classes)?;
    let reward = models.reward(
        &a.flags.steer,
        &genomics::reward::REWARD_NAMES,
        "species",
        &dev,
        &genomics::reward::domain_reward,
    )?;
    let req = a.flags.request(
        &models.guidance,
        reward.as_deref(),
        seq_len,
        run_pins(&g, motif_pins(&a.motifs, seq_len)?),
    )?;
    // Bases, line breaks every 60 and a header of about 64 bytes per sequence.
    let bases = DnaTokenizer::bases_per_sequence(seq_len) as u128;
    diffusion_core::cli::check_output_size(
        &a.out,
        "--per-species",
        a.per_species as u128 * species.len() as u128 * (bases + bases / 60 + 66),
    )?;
    let mut file = diffusion_core::atomic_file::AtomicFile::create(&a.out)?;
    let mut writer = SampleWriter::new(&mut file, &a.out);
    let mut count = 0;
    let done = generate_each(&g, &req, &species, a.per_species, &dev, &mut |s| {
        writer.write(&s)?;
        count += 1;
        Ok(())
    })?;
    writer.finish()?;
    file.commit()?;
    let mut run = a.flags.run_record(&a.checkpoint, &done, count);
    run["species"] = species
        .iter()
        .map(|&c| g.facts.classes[c].clone())
        .collect();
    run["per_species"] = a.per_species.into();
    run["motifs"] = a.motifs.clone().into();
    diffusion_core::run_dir::write_json_atomic(&a.out.with_extension("json"), &run)?;
    println!(
        "{count} sequences of {} bp ({} species, guidance {} γ = {}) in {:.1} s, {} network evaluations; written to {}",
        DnaTokenizer::bases_per_sequence(seq_len),
        species.len(),
        a.flags.guide.guidance.name(),
        a.flags.guide.gamma,
        done.seconds,
        done.nfe,
        a.out.display()
    );
    if let Some(st) = &done.steer {
        println!("{}", a.flags.steer.report(st));
    }
    Ok(count)
}
