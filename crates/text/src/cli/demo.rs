//! `demo`: the shipped checkpoints `checkpoints/text/{ar,mdlm,udlm}.ckpt` (trained by
//! `scripts/train-release-checkpoints.sh` from `configs/text8-release-*.toml`, stored in f16):
//! each is validated on the whole held-out split of the text it was trained on and samples a
//! few lines, then the BPC table is printed. A minute or two on a 2-core CPU.
//!
//! A model without a shipped checkpoint (GIDD, or all of them with `--checkpoints` elsewhere) and
//! every model under `demo --retrain` is trained now, tiny, from `configs/text8-<kind>.toml`
//! (shrunk by overrides) for a few hundred steps into `<out>/train/<kind>`, and reported the
//! same way; a later demo into the same folder reuses it (the core's `cli::demo` rule).

use super::{Text, TextModel, device};
use anyhow::{Context, Result, bail};
use clap::Args;
use diffusion_core::app::Domain;
use diffusion_core::app::sample::generate_lines;
use diffusion_core::app::train::EVAL_SEED;
use diffusion_core::cli::demo::DemoModelArgs;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::generate::{GuidanceKind, Request};
use diffusion_core::sampler::SamplerConfig;
use std::path::{Path, PathBuf};
use std::time::Instant;
use text::config::DataConfig;
use text::data::{TextData, prepare};
use text::eval::paper_bpc;

#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Where the table and samples (and the runs of models trained now) go.
    #[arg(long, default_value = "runs/text-demo")]
    pub out: PathBuf,
    /// Training steps of a model trained now.
    #[arg(long, default_value_t = 300)]
    pub steps: usize,
    /// Models to report (`gidd` is trained now unless --checkpoints holds a `gidd.ckpt`).
    #[arg(long, default_value = "ar,mdlm,udlm")]
    pub kinds: String,
    /// Text file to validate on (default: the one each model was trained on; its last
    /// `data.val_fraction` is the held-out split).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Samples per model.
    #[arg(short = 'n', long, default_value_t = 3)]
    pub samples: usize,
    /// Reverse steps T of the MDLM / UDLM samples (AR ignores it).
    #[arg(long, default_value_t = 64)]
    pub sample_steps: usize,
    /// Shipped checkpoints, --retrain (tiny models trained now), --set and the backend.
    #[command(flatten)]
    pub models: DemoModelArgs,
}

/// The configs' models shrunk to train in about a minute each on two cores.
const TINY: [&str; 10] = [
    "model.hidden_size=64",
    "model.n_blocks=2",
    "model.n_heads=4",
    "model.cond_dim=64",
    "train.batch_size=16",
    "train.lr=2e-3",
    "train.lr_schedule={ type = \"cosine_warmup\", warmup = 30, lr_min = 1e-4 }",
    "train.val_every=0",
    "train.val_batches=1",
    "train.checkpoint_every=0",
];

/// MDLM trains on the plain masked cross-entropy (spec §4.5), as the shipped model does: the
/// 1/t-weighted NELBO keeps a model this small at the unigram level (≈ 4.1 BPC) for hundreds of
/// steps at batch 16 (README, Text). Validation still reports the NELBO bound.
const TINY_MDLM: &str = "diffusion.simple_ce=true";

/// One row of the table.
struct Row {
    kind: ModelKind,
    parameters: usize,
    steps: usize,
    bpc: f64,
    val_chunks: usize,
    seq_len: usize,
}

fn kinds(a: &DemoArgs) -> Result<Vec<&str>> {
    let kinds: Vec<&str> = a.kinds.split(',').map(str::trim).collect();
    for k in &kinds {
        if !["ar", "mdlm", "udlm", "gidd"].contains(k) {
            bail!("--kinds: `{k}` is not one of ar, mdlm, udlm, gidd");
        }
    }
    Ok(kinds)
}

/// Validation BPC of the checkpoint at `path` on the held-out split of its own text (or of
/// `--data`), reusing the prepared split when the data settings repeat.
fn validate(path: &Path, a: &DemoArgs, cache: &mut Option<(DataConfig, TextData)>) -> Result<Row> {
    let dev = device(a.models.backend.as_deref())?;
    let m = TextModel::load(path, &dev)?;
    let mut cfg = m.facts.data.clone();
    cfg.seq_len = m.diffusion.config.seq_len;
    if let Some(p) = &a.data {
        cfg.path = p.clone();
    }
    if cache.as_ref().map(|(c, _)| c) != Some(&cfg) {
        let data = prepare(&cfg, Some(m.facts.tokenizer.clone()))
            .with_context(|| format!("{}: validation data", path.display()))?;
        *cache = Some((cfg, data));
    }
    let data = &cache.as_ref().expect("prepared above").1;
    let d = &m.loaded.diffusion.config;
    let v = m
        .loaded
        .evaluate(&data.val, Text::EVAL_BATCH, EVAL_SEED, &dev);
    let row = Row {
        kind: d.kind,
        parameters: m.loaded.num_params(),
        steps: m.loaded.step,
        bpc: v.bpc,
        val_chunks: data.report.val_chunks,
        seq_len: data.report.seq_len,
    };
    Ok(row)
}

/// `n` samples of the checkpoint, one line each.
fn samples(path: &Path, a: &DemoArgs) -> Result<Vec<String>> {
    if a.samples == 0 {
        return Ok(Vec::new());
    }
    let dev = device(a.models.backend.as_deref())?;
    let m = TextModel::load(path, &dev)?;
    let config = SamplerConfig {
        steps: a.sample_steps,
        seed: 0,
        bos_id: Text::start_token(&m.facts),
        ..Default::default()
    };
    let req = Request::new(GuidanceKind::None, 1.0, Default::default(), config);
    let mut lines = Vec::with_capacity(a.samples);
    generate_lines(&m, &req, 0, a.samples, &dev, &mut |line| {
        lines.push(line);
        Ok(())
    })?;
    Ok(lines)
}

/// The shipped checkpoint of `kind`, an earlier demo run's, or a tiny model trained now.
fn model_path(a: &DemoArgs, kind: &str) -> Result<PathBuf> {
    let config = format!("configs/text8-{kind}.toml");
    let extra = matches!(kind, "mdlm" | "gidd").then_some(TINY_MDLM);
    let set = TINY.iter().copied().chain(extra).map(str::to_string);
    let steps = Some(a.steps);
    (a.models).obtain::<Text>(&a.out, kind, &config, set.collect(), steps, false)
}

/// The Markdown table of validation BPC per model.
fn bpc_table(rows: &[Row]) -> String {
    let mut table = vec![
        "| model | parameters | steps | validation BPC | paper (full scale) |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    for r in rows {
        let kind = format!("{:?}", r.kind).to_lowercase();
        table.push(format!(
            "| {kind} | {:.2} M | {} | {:.3} | {} |",
            r.parameters as f64 / 1e6,
            r.steps,
            r.bpc,
            paper_bpc(r.kind).map_or("–".into(), |v| format!("{v:.2}"))
        ));
    }
    table.join("\n")
}

pub fn run(a: &DemoArgs) -> Result<()> {
    let start = Instant::now();
    let kinds = kinds(a)?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let mut cache = None;
    for kind in kinds {
        let path = model_path(a, kind)?;
        println!("validating {} …", path.display());
        let row = validate(&path, a, &mut cache)?;
        for line in samples(&path, a)? {
            lines.push(format!("{kind:>4}: {line}"));
        }
        rows.push(row);
    }

    let table = bpc_table(&rows);
    use diffusion_core::atomic_file::write_atomic;
    write_atomic(&a.out.join("table.md"), format!("{table}\n").as_bytes())?;
    write_atomic(
        &a.out.join("samples.txt"),
        (lines.join("\n") + "\n").as_bytes(),
    )?;
    println!("\n{table}");
    if !lines.is_empty() {
        println!(
            "\n{} sample(s) each (T = {} for MDLM / UDLM; AR starts from a space):\n{}",
            a.samples,
            a.sample_steps,
            lines.join("\n")
        );
    }
    if let Some(r) = rows.first() {
        println!(
            "\nBPC over the whole held-out split ({} chunks of {} characters, the last part of the text); \
             MDLM / UDLM / GIDD values are NELBO bounds.",
            r.val_chunks, r.seq_len
        );
    }
    println!(
        "Demo finished in {:.1} min; files in {}",
        start.elapsed().as_secs_f64() / 60.0,
        a.out.display()
    );
    Ok(())
}
