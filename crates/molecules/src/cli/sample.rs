//! `sample`: generate molecules from a checkpoint, unguided or guided, write them and score
//! them. Guidance: D-CFG (`--guidance cfg`), D-CBG (`--guidance cbg --classifier C`, first-order
//! by default, `--exact` for the exact rule), FUDGE for AR models, and any number of extra
//! D-CBG terms (`--also-cbg C:TARGET:GAMMA`) for multi-objective guidance.

use super::device;
use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use clap::{Args, ValueEnum};
use diffusion_core::classifier::{Classifier, DitClassifier};
use diffusion_core::guidance::exact_chunk;
use diffusion_core::guidance::{CbgMode, CbgTerm, FudgeTerm, Guidance, NosTerm};
use diffusion_core::nos::{NosConfig, NosHead};
use diffusion_core::run_dir::RunDir;
use diffusion_core::sampler::{Sampler, SamplerConfig};
use diffusion_core::train::{Loaded, LoadedModel, load_for_inference, load_objective};
use molecules::config::Representation;
use molecules::data::{LabelInfo, known_smiles, prefix_pins, resolve_path};
use molecules::metrics::{Qm9Metrics, score};
use molecules::mol_tokenizer::MolTokenizer;
use molecules::qm9::load_qm9;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GuidanceKind {
    None,
    Cfg,
    Cbg,
    Fudge,
    Nos,
}

#[derive(Args, Clone, Debug)]
pub struct SampleArgs {
    /// Generator checkpoint (`model.ckpt` or `checkpoints/last.ckpt` of a run).
    #[arg(long)]
    pub checkpoint: PathBuf,
    #[arg(long, value_enum, default_value = "none")]
    pub guidance: GuidanceKind,
    /// Guidance strength γ (D-CFG, D-CBG, FUDGE; NOS uses the --nos-* settings).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub gamma: f64,
    /// How γ varies over the reverse process: constant, ramp (none at pure noise, full at the
    /// end) or late:T (only for t ≤ T). D-CFG and D-CBG; AR decoding keeps γ.
    #[arg(long, default_value = "constant")]
    pub gamma_schedule: String,
    /// Classifier checkpoint for D-CBG or FUDGE, or a NOS head for NOS.
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Target class (1 = above the property's 90th percentile).
    #[arg(long, default_value_t = 1)]
    pub target: i64,
    /// Exact D-CBG (every single-token edit) instead of first-order.
    #[arg(long)]
    pub exact: bool,
    /// Sequences per classifier pass in exact D-CBG (default: about 8,192 tokens per pass).
    #[arg(long)]
    pub chunk: Option<usize>,
    /// Extra D-CBG term `CLASSIFIER:TARGET:GAMMA` (repeatable): multi-objective guidance.
    #[arg(long = "also-cbg", value_name = "CKPT:TARGET:GAMMA")]
    pub also_cbg: Vec<String>,
    /// NOS: Adagrad steps on the hidden state per reverse step.
    #[arg(long, default_value_t = 1)]
    pub nos_steps: usize,
    /// NOS: step size.
    #[arg(long, default_value_t = 0.1)]
    pub nos_step_size: f64,
    /// NOS: weight λ of the KL stability term.
    #[arg(long, default_value_t = 0.01)]
    pub nos_stability: f64,
    /// FUDGE: candidates rescored per step.
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
    /// Number of molecules.
    #[arg(short = 'n', long, default_value_t = 1024)]
    pub num_samples: usize,
    /// Reverse steps T (QM9 reference: 32).
    #[arg(long, default_value_t = 32)]
    pub steps: usize,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Pin a prefix (in the model's representation) at the start of every molecule.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Reference data set for novelty (default: the one the model was trained on).
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "runs/samples")]
    pub out: PathBuf,
    /// Compute backend.
    #[arg(long)]
    pub backend: Option<String>,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Replace the results of an earlier run at the output path (refused otherwise).
    #[arg(long)]
    pub force: bool,
}

/// A generator with what is needed to decode and score its samples.
pub struct Generator {
    pub loaded: LoadedModel,
    pub tokenizer: MolTokenizer,
    pub label: Option<LabelInfo>,
    pub data_path: Option<PathBuf>,
}

fn meta_representation(meta: &Value, path: &Path) -> Result<Representation> {
    match meta.get("representation") {
        Some(v) => serde_json::from_value(v.clone())
            .with_context(|| format!("{}: metadata field `representation`", path.display())),
        None => bail!(
            "{}: not a molecules checkpoint (no `representation` in its metadata)",
            path.display()
        ),
    }
}

pub fn load_generator(path: &Path, dev: &Device) -> Result<Generator> {
    super::require_file(path, "checkpoint")?;
    let loaded = load_for_inference(path, dev, true, None)?;
    let rep = meta_representation(&loaded.metadata, path)?;
    let tokenizer = MolTokenizer::from_vocabulary(rep, &loaded.vocabulary)?;
    let label = match loaded.metadata.get("label") {
        Some(Value::Null) | None => None,
        Some(v) => Some(serde_json::from_value(v.clone())?),
    };
    let data_path = loaded
        .metadata
        .get("data_path")
        .and_then(|v| v.as_str())
        .map(PathBuf::from);
    Ok(Generator {
        loaded,
        tokenizer,
        label,
        data_path,
    })
}

/// A classifier to guide generator `g` (D-CBG, or FUDGE for AR): same vocabulary, and for
/// D-CBG the generator's noise and length.
pub fn load_classifier(path: &Path, dev: &Device, g: &Generator) -> Result<Loaded<Classifier>> {
    super::require_file(path, "classifier checkpoint")?;
    let c = load_objective::<Classifier>(path, dev, true)?;
    if c.vocabulary != g.loaded.vocabulary {
        bail!(
            "classifier {} was trained with another vocabulary than the generator",
            path.display()
        );
    }
    c.objective.config.check_guides(&g.loaded.diffusion, path)?;
    Ok(c)
}

/// The canonical SMILES of a reference data set (for novelty).
pub fn known_set(path: &Path) -> Result<HashSet<String>> {
    Ok(known_smiles(&load_qm9(&resolve_path(path))?))
}

/// Decoded strings in the model's representation, and as SMILES for scoring.
pub fn decode(tok: &MolTokenizer, rows: &[Vec<i64>]) -> (Vec<String>, Vec<String>) {
    use diffusion_core::domain::Tokenizer;
    let text: Vec<String> = rows.iter().map(|r| tok.decode(r)).collect();
    let smiles = text
        .iter()
        .map(|t| tok.representation.to_smiles(t).unwrap_or_default())
        .collect();
    (text, smiles)
}

/// Settings of one guided sampling run (also used by `sweep` and `demo`).
pub struct Request<'a> {
    pub guidance: GuidanceKind,
    pub gamma: f64,
    /// γ over t (D-CFG and D-CBG).
    pub schedule: diffusion_core::guidance::GammaSchedule,
    pub classifier: Option<&'a DitClassifier>,
    pub extra_cbg: Vec<(&'a DitClassifier, i64, f64)>,
    pub target: i64,
    pub exact: Option<usize>,
    pub top_k: usize,
    /// NOS head and its per-step settings (for `GuidanceKind::Nos`).
    pub nos: Option<(&'a NosHead, NosConfig)>,
    pub n: usize,
    pub sampler: SamplerConfig,
    pub pins: Vec<(usize, i64)>,
    pub progress: bool,
}

/// Sample `req.n` molecules; returns the token rows and the number of network evaluations.
pub fn generate(g: &Generator, req: &Request, dev: &Device) -> Result<(Vec<Vec<i64>>, usize)> {
    diffusion_core::sampler::check_sample_count(req.n, g.loaded.diffusion.config.seq_len)
        .context("-n")?;
    let mode = match req.exact {
        Some(chunk) => CbgMode::Exact { chunk },
        None => CbgMode::FirstOrder,
    };
    let mut guidance = Guidance {
        schedule: req.schedule,
        ..Default::default()
    };
    let mut labels = None;
    match req.guidance {
        GuidanceKind::None => {}
        GuidanceKind::Cfg => {
            if g.loaded.model_config.num_classes.is_none() {
                bail!("D-CFG needs a class-conditional generator (trained with data.label set)");
            }
            guidance.cfg_gamma = Some(req.gamma);
            labels = Some(vec![req.target; req.n]);
        }
        GuidanceKind::Cbg => {
            let c = req
                .classifier
                .context("D-CBG needs --classifier (a noisy classifier checkpoint)")?;
            guidance.cbg.push(CbgTerm {
                classifier: c,
                target: req.target,
                gamma: req.gamma,
                mode,
                reference_sigma_mismatch: false,
            });
        }
        GuidanceKind::Nos => {
            let (head, mut config) = req
                .nos
                .context("NOS needs --classifier (a NOS head from train-classifier --nos-for)")?;
            config.target = req.target;
            guidance.nos = Some(NosTerm { head, config });
        }
        GuidanceKind::Fudge => {
            let c = req
                .classifier
                .context("FUDGE needs --classifier (a causal per-position classifier)")?;
            guidance.fudge = Some(FudgeTerm {
                classifier: c,
                target: req.target,
                gamma: req.gamma,
                top_k: req.top_k,
            });
        }
    }
    for &(c, target, gamma) in &req.extra_cbg {
        guidance.cbg.push(CbgTerm {
            classifier: c,
            target,
            gamma,
            mode,
            reference_sigma_mismatch: false,
        });
    }
    let d = &g.loaded.diffusion;
    let mut sc = req.sampler.clone();
    if d.kind() == diffusion_core::diffusion::ModelKind::Ar {
        sc.bos_id = Some(diffusion_core::domain::SymbolVocab::BOS);
    }
    let sampler = Sampler::new(d, &g.loaded.model, sc, dev)?
        .with_guidance(guidance)?
        .with_pinned(req.pins.clone())?;
    let s = sampler.sample(req.n, labels.as_deref(), req.progress)?;
    Ok((s.rows().map(<[i64]>::to_vec).collect(), s.nfe))
}

fn parse_extra(spec: &str) -> Result<(PathBuf, i64, f64)> {
    let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    if parts.len() != 3 {
        bail!("--also-cbg `{spec}`: expected CLASSIFIER:TARGET:GAMMA");
    }
    let gamma = parts[0]
        .parse()
        .with_context(|| format!("--also-cbg `{spec}`: γ `{}`", parts[0]))?;
    let target = parts[1]
        .parse()
        .with_context(|| format!("--also-cbg `{spec}`: target `{}`", parts[1]))?;
    Ok((PathBuf::from(parts[2]), target, gamma))
}

/// Write samples and metrics into `out` and print the metrics line.
pub fn write_outputs(
    out: &Path,
    rep: Representation,
    text: &[String],
    smiles: &[String],
    metrics: &Qm9Metrics,
    extra: Value,
) -> Result<()> {
    let dir = RunDir {
        path: out.to_path_buf(),
    };
    let mut body = smiles.join("\n");
    body.push('\n');
    dir.write("samples.smi", body.as_bytes())?;
    if rep == Representation::Selfies {
        let mut body = text.join("\n");
        body.push('\n');
        dir.write("samples.selfies", body.as_bytes())?;
    }
    let mut m = serde_json::to_value(metrics)?;
    m["run"] = extra;
    dir.write_json("metrics.json", &m)?;
    dir.write(
        "metrics.csv",
        format!("{}\n{}\n", Qm9Metrics::csv_header(), metrics.csv_row()).as_bytes(),
    )?;
    Ok(())
}

pub fn run(a: &SampleArgs) -> Result<Qm9Metrics> {
    let dev = device(a.backend.as_deref())?;
    let g = load_generator(&a.checkpoint, &dev)?;
    diffusion_core::cli::check_output(&a.out, "--out", a.force)?;
    let vocab = &g.loaded.vocabulary;
    let nos_head = match (&a.classifier, a.guidance) {
        (Some(p), GuidanceKind::Nos) => Some(super::nos::load(
            p,
            &dev,
            g.loaded.model.hidden_size(),
            vocab,
        )?),
        _ => None,
    };
    let clf = match &a.classifier {
        Some(p) if a.guidance != GuidanceKind::Nos => Some(load_classifier(p, &dev, &g)?),
        _ => None,
    };
    let mut extras = Vec::new();
    for s in &a.also_cbg {
        let (p, t, gm) = parse_extra(s)?;
        extras.push((load_classifier(&p, &dev, &g)?, t, gm));
    }
    let pins = match &a.prefix {
        Some(p) => prefix_pins(&g.tokenizer, p, g.loaded.diffusion.config.seq_len)?,
        None => Vec::new(),
    };
    let req = Request {
        guidance: a.guidance,
        gamma: a.gamma,
        schedule: diffusion_core::guidance::GammaSchedule::parse(&a.gamma_schedule)?,
        classifier: clf.as_ref().map(|c| &c.model),
        extra_cbg: extras
            .iter()
            .map(|(c, t, gm)| (&c.model, *t, *gm))
            .collect(),
        target: a.target,
        exact: a.exact.then(|| {
            a.chunk
                .unwrap_or_else(|| exact_chunk(g.loaded.diffusion.config.seq_len))
        }),
        top_k: a.top_k,
        nos: nos_head.as_ref().map(|h| {
            (
                h,
                NosConfig {
                    steps: a.nos_steps,
                    step_size: a.nos_step_size,
                    stability: a.nos_stability,
                    target: a.target,
                },
            )
        }),
        n: a.num_samples,
        sampler: SamplerConfig {
            steps: a.steps,
            batch_size: a.batch_size,
            seed: a.seed,
            ..Default::default()
        },
        pins,
        progress: !a.quiet,
    };
    let start = Instant::now();
    let (rows, nfe) = generate(&g, &req, &dev)?;
    let secs = start.elapsed().as_secs_f64();
    let (text, smiles) = decode(&g.tokenizer, &rows);
    let reference = a
        .reference
        .clone()
        .or_else(|| g.data_path.clone())
        .context("no --reference data set and the checkpoint names none")?;
    let known = known_set(&reference)?;
    let m = score(&smiles, &known);
    write_outputs(
        &a.out,
        g.tokenizer.representation,
        &text,
        &smiles,
        &m,
        serde_json::json!({
            "checkpoint": a.checkpoint,
            "guidance": format!("{:?}", a.guidance).to_lowercase(),
            "gamma": a.gamma,
            "gamma_schedule": a.gamma_schedule,
            "target": a.target,
            "steps": a.steps,
            "nfe": nfe,
            "seconds": secs,
            "samples_per_s": a.num_samples as f64 / secs.max(1e-9),
        }),
    )?;
    println!("{}", Qm9Metrics::table_header());
    println!("{}", m.table_row("sample"));
    println!(
        "{} molecules in {:.1} s ({:.1}/s); written to {}",
        a.num_samples,
        secs,
        a.num_samples as f64 / secs.max(1e-9),
        a.out.display()
    );
    Ok(m)
}
