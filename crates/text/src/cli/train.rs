//! `train`: one config → one run directory with `config.toml`, `metrics.csv` / `metrics.jsonl`,
//! loss curves, `checkpoints/last.ckpt` (resumable), `model.ckpt` (EMA weights only) and
//! `summary.json` with the validation BPC over the whole validation split. `--init-from` starts
//! from the weights of a checkpoint of the same shape (e.g. a shipped `checkpoints/text/*.ckpt`).

use super::{ConfigArgs, device, load_model};
use anyhow::Result;
use diffusion_core::config_file::to_toml;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::domain::Tokenizer;
use diffusion_core::run_dir::RunDir;
use diffusion_core::train::run::{
    fit_and_export, is_causal, open_trainer_with_data, resolve_diffusion,
};
use diffusion_core::train::{Generator, Trainer};
use serde_json::json;
use std::path::PathBuf;
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
    let f = fit_and_export(&mut t, &data.train, &data.val, dir)?;
    // The number `validate` prints for this file: same weights, split, batch and noise seed.
    let dev = super::device(cfg.run.backend.as_deref())?;
    let m = load_model(&f.model, &dev)?;
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
            "train_seconds": f.train_seconds,
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
        model: f.model,
        train_seconds: f.train_seconds,
    })
}

/// `text train`.
pub fn run(args: &ConfigArgs) -> Result<Trained> {
    let mut cfg = super::load_config(args)?;
    let dev = device(cfg.run.backend.as_deref())?;
    let dir = RunDir::open(&super::run_dir(args, &cfg), args.resume)?;
    let backend = cfg.run.backend.clone();
    let data_cfg = cfg.data.clone();
    let (t, data) = open_trainer_with_data(
        args,
        &dir,
        cfg.train.steps,
        backend.as_deref(),
        &dev,
        |resumed: Option<&Trainer<Generator>>| match resumed {
            None => anyhow::Ok(prepare(&data_cfg, None)?),
            // The data again, with the tokenizer of the vocabulary stored in the checkpoint.
            Some(t) => {
                let mut d = data_cfg.clone();
                d.seq_len = t.objective.diffusion.seq_len;
                Ok(prepare(&d, Some(from_vocabulary(&t.vocabulary)?))?)
            }
        },
        |data| {
            resolve_diffusion(&mut cfg.diffusion, &data.tokenizer, cfg.data.seq_len);
            cfg.model.vocab_size = cfg.diffusion.vocab_size;
            cfg.model.num_classes = None;
            cfg.model.causal = is_causal(cfg.diffusion.kind);
            dir.write("config.toml", to_toml(&cfg)?.as_bytes())?;
            let mut t = Trainer::new(
                cfg.diffusion.clone(),
                cfg.model.clone(),
                cfg.train.clone(),
                data.tokenizer.vocabulary(),
                &dev,
            )?;
            t.metadata = json!({ "domain": "text", "data": cfg.data });
            anyhow::Ok(t)
        },
    )?;
    tracing::info!("data: {}", data.report.summary());
    finish(t, &cfg, &data, &dir)
}
