//! `train`: one config → one run directory with `config.toml`, `metrics.csv` / `metrics.jsonl`,
//! loss curves, `checkpoints/last.ckpt` (resumable), `model.ckpt` (EMA weights only) and
//! `summary.json` with the validation BPC over the whole validation split. `--init-from` starts
//! from the weights of a checkpoint of the same shape (e.g. a shipped `checkpoints/text/*.ckpt`).

use super::{ConfigArgs, device, load_model};
use anyhow::{Context, Result, bail};
use diffusion_core::config_file::to_toml;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::domain::Tokenizer;
use diffusion_core::run_dir::RunDir;
use diffusion_core::train::{Generator, Trainer};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use text::config::TextConfig;
use text::data::{TextData, prepare};
use text::eval::{paper_bpc, validation_bpc};
use text::tokenizer::from_vocabulary;

/// What a training run leaves behind (its validation BPC is in `summary.json`).
pub struct Trained {
    pub model: PathBuf,
    pub train_seconds: f64,
}

/// Fit, export, evaluate the exported weights on the whole validation split, summarise.
fn finish(
    mut t: Trainer<Generator>,
    cfg: &TextConfig,
    data: &TextData,
    dir: &RunDir,
) -> Result<Trained> {
    let start = Instant::now();
    t.fit(&data.train, Some(&data.val), Some(&dir.path))?;
    let train_seconds = start.elapsed().as_secs_f64();
    let model = dir.file("model.ckpt");
    t.export(&model)?;
    if let Err(e) = diffusion_core::report::render_run(&dir.path) {
        tracing::warn!("could not draw the training curves: {e}");
    }
    // The number `validate` prints for this file: same weights, split, batch and noise seed.
    let dev = super::device(cfg.run.backend.as_deref())?;
    let m = load_model(&model, &dev)?;
    let mut v = validation_bpc(
        &m.loaded.diffusion.config,
        &m.loaded.model_config,
        &m.loaded.model,
        &data.val,
        &dev,
    );
    v.step = t.step;
    let kind = t.objective.diffusion.kind;
    dir.write_json(
        "summary.json",
        &json!({
            "kind": kind,
            "steps": t.step,
            "train_seconds": train_seconds,
            "validation": v,
            "paper_bpc_full_scale": paper_bpc(kind),
            "data": data.report,
        }),
    )?;
    println!(
        "{}: {kind:?} step {} validation BPC {:.4} ({:.4} nats/char{}) on {} chunks of {}",
        dir.path.display(),
        t.step,
        v.bpc,
        v.nll,
        if kind == ModelKind::Ar {
            ""
        } else {
            ", NELBO bound"
        },
        data.report.val_chunks,
        data.report.seq_len
    );
    Ok(Trained {
        model,
        train_seconds,
    })
}

/// `text train`.
pub fn run(args: &ConfigArgs) -> Result<Trained> {
    let mut cfg = super::load_config(args)?;
    let dev = device(cfg.run.backend.as_deref())?;
    let dir = RunDir::open(&super::run_dir(args, &cfg), args.resume)?;
    if args.resume {
        if args.init_from.is_some() {
            bail!("--init-from starts a new run; it cannot be combined with --resume");
        }
        let mut t = Trainer::<Generator>::resume(&dir.checkpoint(), &dev)?;
        let tok = from_vocabulary(&t.vocabulary)?;
        cfg.data.seq_len = t.objective.diffusion.seq_len;
        let data = prepare(&cfg.data, Some(tok))?;
        tracing::info!("data: {}", data.report.summary());
        t.set_total_steps(cfg.train.steps);
        tracing::info!(step = t.step, "resuming {}", dir.checkpoint().display());
        args.apply_devices(&mut t, cfg.run.backend.as_deref())?;
        return finish(t, &cfg, &data, &dir);
    }
    let data = prepare(&cfg.data, None)?;
    tracing::info!("data: {}", data.report.summary());
    // Token facts come from the tokenizer and the data config, never from the file.
    let sp = data.tokenizer.special_ids();
    let d = &mut cfg.diffusion;
    d.vocab_size = data.tokenizer.vocab_size();
    d.seq_len = cfg.data.seq_len;
    d.mask_id = sp.mask;
    d.pad_id = sp.pad;
    cfg.model.vocab_size = d.vocab_size;
    cfg.model.num_classes = None;
    cfg.model.causal = d.kind == ModelKind::Ar;
    dir.write("config.toml", to_toml(&cfg)?.as_bytes())?;
    let mut t = Trainer::new(
        cfg.diffusion.clone(),
        cfg.model.clone(),
        cfg.train.clone(),
        data.tokenizer.vocabulary(),
        &dev,
    )?;
    t.metadata = json!({ "domain": "text", "data": cfg.data });
    if let Some(p) = &args.init_from {
        t.init_from(p)
            .with_context(|| format!("--init-from {}", p.display()))?;
    }
    args.apply_devices(&mut t, cfg.run.backend.as_deref())?;
    finish(t, &cfg, &data, &dir)
}
