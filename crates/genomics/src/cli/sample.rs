//! `sample`: species-conditioned DNA from a generator checkpoint, unguided (conditional
//! sampling for a conditional model), with D-CFG, D-CBG (noisy classifier) or NOS, optionally
//! with pinned motifs; written as FASTA with the intended species in every header.

use super::{GenModel, device, load_classifier, load_generator};
use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use clap::{Args, ValueEnum};
use diffusion_core::classifier::DitClassifier;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::guidance::exact_chunk;
use diffusion_core::guidance::{CbgMode, CbgTerm, Guidance, NosTerm};
use diffusion_core::nos::{NosConfig, NosHead};
use diffusion_core::sampler::{Sampler, SamplerConfig};
use genomics::tokenizer::{BOS, DnaTokenizer};
use genomics::{GeneratedSample, write_samples};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GuidanceKind {
    None,
    Cfg,
    Cbg,
    Nos,
}

impl GuidanceKind {
    pub fn name(self) -> &'static str {
        match self {
            GuidanceKind::None => "none",
            GuidanceKind::Cfg => "cfg",
            GuidanceKind::Cbg => "cbg",
            GuidanceKind::Nos => "nos",
        }
    }
}

#[derive(Args, Clone, Debug)]
pub struct SampleArgs {
    /// Generator checkpoint (`model.ckpt` of a run).
    #[arg(long)]
    pub checkpoint: PathBuf,
    #[arg(long, value_enum, default_value = "none")]
    pub guidance: GuidanceKind,
    /// Guidance strength γ (D-CFG, D-CBG).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub gamma: f64,
    /// How γ varies over the reverse process: constant, ramp (none at pure noise, full at the
    /// end) or late:T (only for t ≤ T). D-CFG and D-CBG; AR decoding keeps γ.
    #[arg(long, default_value = "constant")]
    pub gamma_schedule: String,
    /// Noisy classifier (D-CBG) or NOS head (NOS).
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Exact D-CBG (every single-base edit) instead of first-order.
    #[arg(long)]
    pub exact: bool,
    /// Species to generate: comma-separated names from the manifest, or `all`.
    #[arg(long, default_value = "all")]
    pub species: String,
    /// Sequences per species (§9.4 uses 64).
    #[arg(long, default_value_t = 16)]
    pub per_species: usize,
    /// Reverse steps T.
    #[arg(long, default_value_t = 128)]
    pub steps: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Pin a motif at a 0-based base position in every sequence, e.g. `--motif 20:TATAAT`
    /// (repeatable); the sampler keeps it fixed at every step.
    #[arg(long = "motif", value_name = "POS:BASES")]
    pub motifs: Vec<String>,
    /// NOS: Adagrad steps, step size and KL weight per reverse step.
    #[arg(long, default_value_t = 1)]
    pub nos_steps: usize,
    #[arg(long, default_value_t = 0.1)]
    pub nos_step_size: f64,
    #[arg(long, default_value_t = 0.01)]
    pub nos_stability: f64,
    /// Output FASTA.
    #[arg(long, default_value = "runs/samples/samples.fa")]
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

/// Settings of one sampling run (also used by `sweep` and `demo`).
pub struct Request<'a> {
    pub guidance: GuidanceKind,
    pub gamma: f64,
    /// γ over t (D-CFG and D-CBG).
    pub schedule: diffusion_core::guidance::GammaSchedule,
    pub classifier: Option<&'a DitClassifier>,
    pub nos: Option<(&'a NosHead, NosConfig)>,
    pub exact: Option<usize>,
    /// Class ids to generate for.
    pub species: Vec<usize>,
    pub per_species: usize,
    pub sampler: SamplerConfig,
    /// (token position, token id) pairs.
    pub pins: Vec<(usize, i64)>,
    pub progress: bool,
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

/// Generate `per_species` sequences for every requested species; returns the samples and
/// the number of network evaluations.
pub fn generate(
    g: &GenModel,
    req: &Request,
    dev: &Device,
) -> Result<(Vec<GeneratedSample>, usize)> {
    let conditional = g.loaded.denoiser().is_conditional();
    diffusion_core::sampler::check_sample_count(
        req.per_species.saturating_mul(req.species.len()),
        g.loaded.diffusion.config.seq_len,
    )
    .context("--per-species")?;
    match req.guidance {
        GuidanceKind::None | GuidanceKind::Cfg if !conditional => bail!(
            "{} needs a species-conditional generator (trained with data.conditional = true); \
             guide an unconditional one with --guidance cbg or nos",
            if req.guidance == GuidanceKind::Cfg {
                "D-CFG"
            } else {
                "unguided species-conditioned sampling"
            }
        ),
        GuidanceKind::Cbg if req.classifier.is_none() => {
            bail!("D-CBG needs --classifier (a noisy classifier checkpoint)")
        }
        GuidanceKind::Nos if req.nos.is_none() => {
            bail!("NOS needs --classifier (a NOS head from train-classifier --nos-for)")
        }
        _ => {}
    }
    let d = &g.loaded.diffusion;
    let mut sc = req.sampler.clone();
    if d.kind() == ModelKind::Ar {
        sc.bos_id = Some(BOS);
    }
    let mut pins = req.pins.clone();
    pins.push((0, BOS)); // every sequence starts with [BOS], as in training
    let tok = DnaTokenizer;
    let mut out = Vec::new();
    let mut nfe = 0;
    for (k, &c) in req.species.iter().enumerate() {
        let mut guidance = Guidance {
            schedule: req.schedule,
            ..Default::default()
        };
        match req.guidance {
            GuidanceKind::None => {}
            GuidanceKind::Cfg => guidance.cfg_gamma = Some(req.gamma),
            GuidanceKind::Cbg => guidance.cbg.push(CbgTerm {
                classifier: req.classifier.context("D-CBG needs --classifier")?,
                target: c as i64,
                gamma: req.gamma,
                mode: match req.exact {
                    Some(chunk) => CbgMode::Exact { chunk },
                    None => CbgMode::FirstOrder,
                },
                reference_sigma_mismatch: false,
            }),
            GuidanceKind::Nos => {
                let (head, mut config) = req.nos.context("NOS needs --classifier")?;
                config.target = c as i64;
                guidance.nos = Some(NosTerm { head, config });
            }
        }
        let labels = conditional.then(|| vec![c as i64; req.per_species]);
        let mut scs = sc.clone();
        scs.seed = sc.seed.wrapping_add(k as u64 * 1_000_003);
        let pinned = if d.kind() == ModelKind::Ar {
            req.pins.clone()
        } else {
            pins.clone()
        };
        let sampler = Sampler::new(d, g.loaded.denoiser(), scs, dev)?
            .with_guidance(guidance)?
            .with_pinned(pinned)?;
        let s = sampler.sample(req.per_species, labels.as_deref(), req.progress)?;
        nfe += s.nfe;
        for row in s.rows() {
            out.push(GeneratedSample {
                species: g.meta.classes[c].clone(),
                class: c,
                seq: tok.decode_bases(row),
            });
        }
    }
    Ok((out, nfe))
}

/// Loaded guidance models of a `sample` / `sweep` invocation.
pub struct GuidanceModels {
    pub classifier: Option<DitClassifier>,
    pub nos: Option<NosHead>,
}

pub fn load_guidance(
    g: &GenModel,
    kind: GuidanceKind,
    path: Option<&std::path::Path>,
    dev: &Device,
) -> Result<GuidanceModels> {
    let mut m = GuidanceModels {
        classifier: None,
        nos: None,
    };
    match (kind, path) {
        (GuidanceKind::Nos, Some(p)) => {
            diffusion_core::cli::require_file(p, "NOS head")?;
            m.nos = Some(diffusion_core::nos::load_head(
                p,
                dev,
                g.loaded.dit("NOS")?.hidden_size(),
                &g.loaded.vocabulary,
            )?);
        }
        (GuidanceKind::Cbg, Some(p)) => {
            let (c, meta) = load_classifier(p, dev)?;
            c.objective.config.check_guides(&g.loaded.diffusion, p)?;
            if meta.classes != g.meta.classes {
                bail!(
                    "classifier {} knows other species than the generator ({} vs {})",
                    p.display(),
                    meta.classes.join(","),
                    g.meta.classes.join(",")
                );
            }
            if c.objective.config.seq_len != g.loaded.diffusion.config.seq_len {
                bail!(
                    "classifier {} was trained on L = {}, the generator on L = {}",
                    p.display(),
                    c.objective.config.seq_len,
                    g.loaded.diffusion.config.seq_len
                );
            }
            m.classifier = Some(c.model);
        }
        _ => {}
    }
    Ok(m)
}

pub fn run(a: &SampleArgs) -> Result<Vec<GeneratedSample>> {
    let dev = device(a.backend.as_deref())?;
    let g = load_generator(&a.checkpoint, &dev)?;
    diffusion_core::cli::check_output(&a.out, "--out", a.force)?;
    let models = load_guidance(&g, a.guidance, a.classifier.as_deref(), &dev)?;
    let seq_len = g.loaded.diffusion.config.seq_len;
    let req = Request {
        guidance: a.guidance,
        gamma: a.gamma,
        schedule: diffusion_core::guidance::GammaSchedule::parse(&a.gamma_schedule)?,
        classifier: models.classifier.as_ref(),
        nos: models.nos.as_ref().map(|h| {
            (
                h,
                NosConfig {
                    steps: a.nos_steps,
                    step_size: a.nos_step_size,
                    stability: a.nos_stability,
                    target: 0,
                },
            )
        }),
        exact: a
            .exact
            .then(|| exact_chunk(g.loaded.diffusion.config.seq_len)),
        species: species_ids(&a.species, &g.meta.classes)?,
        per_species: a.per_species,
        sampler: SamplerConfig {
            steps: a.steps,
            batch_size: a.batch_size,
            seed: a.seed,
            ..Default::default()
        },
        pins: motif_pins(&a.motifs, seq_len)?,
        progress: !a.quiet,
    };
    let start = Instant::now();
    let (samples, nfe) = generate(&g, &req, &dev)?;
    let secs = start.elapsed().as_secs_f64();
    if let Some(parent) = a.out.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    write_samples(&a.out, &samples)?;
    println!(
        "{} sequences of {} bp ({} species, guidance {} γ = {}) in {:.1} s, {nfe} network evaluations; written to {}",
        samples.len(),
        DnaTokenizer::bases_per_sequence(seq_len),
        req.species.len(),
        a.guidance.name(),
        a.gamma,
        secs,
        a.out.display()
    );
    Ok(samples)
}
