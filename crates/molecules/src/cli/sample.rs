//! `sample`: generate molecules from a checkpoint, unguided or guided, write them and score
//! them. Guidance: D-CFG (`--guidance cfg`), D-CBG (`--guidance cbg --classifier C`, first-order
//! by default, `--exact` for the exact rule), FUDGE for AR models, and any number of extra
//! D-CBG terms (`--also-cbg C:TARGET:GAMMA`) for multi-objective guidance. Reward steering
//! (SMC / FK, SVDD, best-of-N) uses exact chemistry rewards: `--reward qed`, `rings`, `valid`,
//! or a weighted sum such as `qed:1,valid:0.5`.

use super::{Molecules, device};
use anyhow::{Context, Result};
use burn::prelude::Device;
use clap::Args;
use diffusion_core::app::guidance_models::SampleModels;
use diffusion_core::atomic_file::AtomicFile;
use diffusion_core::generate::{Generated, Group, SampleFlags, Unguided, class_groups};
pub use diffusion_core::generate::{GuidanceKind, Request};
use diffusion_core::run_dir::RunDir;
use molecules::config::Representation;
use molecules::data::{LabelInfo, known_smiles, prefix_pins, resolve_path};
use molecules::metrics::{Qm9Metrics, Qm9Scorer};
use molecules::mol_tokenizer::MolTokenizer;
use molecules::qm9::load_qm9;
use serde_json::Value;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct SampleArgs {
    /// Generator checkpoint (`model.ckpt` or `checkpoints/last.ckpt` of a run).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Target class (1 = above the property's 90th percentile).
    #[arg(long, default_value_t = 1)]
    pub target: i64,
    /// Number of molecules. They are generated, written and scored batch by batch, so memory
    /// stays bounded (the scores keep about 100 bytes per valid molecule).
    #[arg(short = 'n', long, default_value_t = 1024)]
    pub num_samples: usize,
    /// Pin a prefix (in the model's representation) at the start of every molecule.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Reference data set for novelty (default: the one the model was trained on).
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "runs/samples")]
    pub out: PathBuf,
    /// Guidance, reward steering, sampler refinements, T, batch size, seed, backend, progress
    /// and --force.
    #[command(flatten)]
    pub flags: SampleFlags<32, 256>,
}

/// What a molecules checkpoint records about its data (the domain's `Facts`): the tokenizer of
/// its representation and vocabulary, the property label it was conditioned on, and the file it
/// was trained on.
pub struct MolFacts {
    pub tokenizer: MolTokenizer,
    pub label: Option<LabelInfo>,
    pub data_path: Option<PathBuf>,
}

/// A generator with what is needed to decode and score its samples.
pub type Generator = diffusion_core::app::Generator<Molecules>;

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

/// The class group of `n` molecules aimed at class `target` (the core's null-class rule: a
/// D-CFG run conditions the generator on it, every other run samples it unconditionally).
pub fn groups(g: &Generator, req: &Request, target: i64, n: usize) -> Result<Vec<Group>> {
    let conditional = g.is_conditional();
    Ok(class_groups(
        req,
        conditional,
        Unguided::NullClass,
        &[target],
        n,
    )?)
}

/// Generate `groups`, handing each finished batch of token rows to `on_rows`.
fn generate_each(
    g: &Generator,
    req: &Request,
    groups: &[Group],
    dev: &Device,
    on_rows: &mut dyn FnMut(Vec<Vec<i64>>) -> Result<()>,
) -> Result<Generated> {
    Ok(g.generate(req, groups, dev, &mut |_, batch| {
        on_rows(batch.rows().map(<[i64]>::to_vec).collect())
            .map_err(|e| diffusion_core::CoreError::Sink(e.into()))
    })?)
}

/// Sample `n` molecules aimed at `target`; returns the token rows and the number of network
/// evaluations.
pub fn generate(
    g: &Generator,
    req: &Request,
    target: i64,
    n: usize,
    dev: &Device,
) -> Result<(Vec<Vec<i64>>, usize)> {
    diffusion_core::sampler::check_sample_count(n, g.loaded.diffusion.config.seq_len)
        .context("-n")?;
    let mut rows = Vec::with_capacity(n);
    let done = generate_each(g, req, &groups(g, req, target, n)?, dev, &mut |r| {
        rows.extend(r);
        Ok(())
    })?;
    Ok((rows, done.nfe))
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
    write_metrics(&dir, metrics, extra)
}

/// `metrics.json` (with the run's settings under `run`) and `metrics.csv`.
fn write_metrics(dir: &RunDir, metrics: &Qm9Metrics, extra: Value) -> Result<()> {
    let mut m = serde_json::to_value(metrics)?;
    m["run"] = extra;
    dir.write_json("metrics.json", &m)?;
    dir.write(
        "metrics.csv",
        format!("{}\n{}\n", Qm9Metrics::csv_header(), metrics.csv_row()).as_bytes(),
    )?;
    Ok(())
}

/// Generate `groups`, decoding each batch, appending it to `samples.smi` (and `samples.selfies`)
/// and scoring it before it is dropped, so memory stays bounded; the files appear when done.
fn stream_samples(
    a: &SampleArgs,
    g: &Generator,
    req: &Request,
    groups: &[Group],
    known: &HashSet<String>,
    dev: &Device,
) -> Result<(Qm9Metrics, Generated)> {
    let seq_len = g.loaded.diffusion.config.seq_len;
    // At least one byte per token and line (SELFIES: a second file of at least as much).
    let files = if g.facts.tokenizer.representation == Representation::Selfies {
        2
    } else {
        1
    };
    diffusion_core::cli::check_output_size(
        &a.out,
        "-n",
        a.num_samples as u128 * (seq_len as u128 + 1) * files,
    )?;

    let dir = RunDir {
        path: a.out.clone(),
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let rep = g.facts.tokenizer.representation;
    let mut smi = AtomicFile::create(&dir.path.join("samples.smi"))?;
    let mut selfies = match rep {
        Representation::Selfies => Some(AtomicFile::create(&dir.path.join("samples.selfies"))?),
        _ => None,
    };
    let mut scorer = Qm9Scorer::new(known);
    let done = generate_each(g, req, groups, dev, &mut |rows| {
        let (text, smiles) = decode(&g.facts.tokenizer, &rows);
        for s in &smiles {
            writeln!(smi, "{s}").with_context(|| format!("writing {}", a.out.display()))?;
            scorer.push(s);
        }
        if let Some(f) = selfies.as_mut() {
            for t in &text {
                writeln!(f, "{t}").with_context(|| format!("writing {}", a.out.display()))?;
            }
        }
        Ok(())
    })?;
    smi.commit()?;
    if let Some(f) = selfies {
        f.commit()?;
    }
    Ok((scorer.finish(), done))
}

pub fn run(a: &SampleArgs) -> Result<Qm9Metrics> {
    let dev = device(a.flags.run.backend.as_deref())?;
    let g = Generator::load(&a.checkpoint, &dev)?;
    diffusion_core::cli::check_output(&a.out, "--out", a.flags.run.force)?;
    let models = SampleModels::load::<Molecules>(&a.flags.guide, &a.flags.steer, &g, &dev)?;
    let reward = models.reward(
        &a.flags.steer,
        &molecules::reward::REWARD_NAMES,
        "class",
        &dev,
        &|name| molecules::reward::domain_reward(name, &g.facts.tokenizer),
    )?;
    let seq_len = g.loaded.diffusion.config.seq_len;
    let pins = match &a.prefix {
        Some(p) => prefix_pins(&g.facts.tokenizer, p, seq_len)?,
        None => Vec::new(),
    };
    let req = a
        .flags
        .request(&models.guidance, reward.as_deref(), seq_len, pins)?;
    let reference = a
        .reference
        .clone()
        .or_else(|| g.facts.data_path.clone())
        .context("no --reference data set and the checkpoint names none")?;
    let known = known_set(&reference)?;
    let groups = groups(&g, &req, a.target, a.num_samples)?;
    let (m, done) = stream_samples(a, &g, &req, &groups, &known, &dev)?;
    let mut run = a.flags.run_record(&a.checkpoint, &done, a.num_samples);
    run["target"] = a.target.into();
    let dir = RunDir {
        path: a.out.clone(),
    };
    write_metrics(&dir, &m, run)?;
    let secs = done.seconds;
    if let Some(st) = &done.steer {
        println!("{}", a.flags.steer.report(st));
    }
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
