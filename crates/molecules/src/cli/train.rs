//! `train` and `train-classifier`: one config → one run directory with `config.toml`,
//! `metrics.csv` / `metrics.jsonl`, `checkpoints/last.ckpt` (resumable), `model.ckpt`
//! (weights only, for sampling and fine-tuning) and `summary.json`.

use super::{ConfigArgs, device};
use anyhow::{Result, bail};
use diffusion_core::classifier::Classifier;
use diffusion_core::config_file::to_toml;
use diffusion_core::domain::{SequenceDataset, Tokenizer};
use diffusion_core::run_dir::RunDir;
use diffusion_core::train::run::{
    fit_and_export, is_causal, open_trainer_with_data, resolve_classifier, resolve_diffusion,
    validation_line,
};
use diffusion_core::train::{Objective, Trainer};
use molecules::config::{DataConfig, MolConfig};
use molecules::data::{MolData, prepare};
use molecules::mol_tokenizer::MolTokenizer;
use serde_json::json;
use std::path::PathBuf;

/// What a training run leaves behind.
pub struct Trained {
    /// Weights-only checkpoint for sampling.
    pub model: PathBuf,
}

fn metadata(cfg: &MolConfig, data: &MolData) -> serde_json::Value {
    json!({
        "domain": "molecules",
        "representation": cfg.data.representation,
        "label": data.label,
        "data_path": cfg.data.path,
    })
}

/// The resolved config, written before training starts.
fn write_config(dir: &RunDir, cfg: &MolConfig) -> Result<()> {
    let text = to_toml(cfg)?;
    dir.write("config.toml", text.as_bytes())?;
    Ok(())
}

fn report_data(data: &MolData) {
    tracing::info!(
        train = data.train.len(),
        val = data.val.len(),
        vocab = data.tokenizer.vocab_size(),
        "data: {}",
        data.report.summary()
    );
}

/// The data of a run, with a new tokenizer (a new run) or the vocabulary stored in the resumed
/// checkpoint.
fn prepare_with(data: &DataConfig, vocabulary: Option<&[String]>) -> Result<MolData> {
    let tok = match vocabulary {
        Some(v) => Some(MolTokenizer::from_vocabulary(data.representation, v)?),
        None => None,
    };
    let data = prepare(data, tok)?;
    report_data(&data);
    Ok(data)
}

/// Fit, export and summarise any objective.
fn finish<O: Objective>(mut t: Trainer<O>, data: &MolData, dir: &RunDir) -> Result<Trained> {
    let f = fit_and_export(&mut t, &data.train, &data.val, dir)?;
    dir.write_json(
        "summary.json",
        &json!({
            "steps": t.step,
            "validation": f.last,
            "train_size": data.train.len(),
            "val_size": data.val.len(),
            "data_report": data.report,
        }),
    )?;
    if let Some(v) = &f.last {
        println!("{}", validation_line(dir, v));
    }
    Ok(Trained { model: f.model })
}

/// `molecules train`.
pub fn train_generator(args: &ConfigArgs) -> Result<Trained> {
    let mut cfg = args.load()?;
    let dev = device(cfg.run.backend.as_deref())?;
    let dir = RunDir::open(&args.run_dir(&cfg, "train"), args.run.resume)?;
    let backend = cfg.run.backend.clone();
    let data_cfg = cfg.data.clone();
    let (t, data) = open_trainer_with_data(
        &args.run,
        &dir,
        cfg.train.steps,
        backend.as_deref(),
        &dev,
        |t| prepare_with(&data_cfg, t.map(|t| t.vocabulary.as_slice())),
        |data| {
            let mut diffusion = diffusion_core::cli::section(
                &cfg.diffusion,
                "diffusion",
                r#" (kind = "mdlm" | "udlm" | "gidd" | "ar")"#,
            )?;
            let mut model = diffusion_core::cli::section(
                &cfg.model,
                "model",
                " (hidden_size, n_blocks, n_heads)",
            )?;
            resolve_diffusion(&mut diffusion, &data.tokenizer, cfg.data.seq_len);
            model.vocab_size = diffusion.vocab_size;
            model.num_classes = data.label.as_ref().map(|_| 2);
            model.causal = is_causal(diffusion.kind);
            cfg.diffusion = Some(diffusion.clone());
            cfg.model = Some(model.clone());
            write_config(&dir, &cfg)?;
            let mut t = Trainer::new(
                diffusion,
                model,
                cfg.train.clone(),
                data.tokenizer.vocabulary(),
                &dev,
            )?;
            t.metadata = metadata(&cfg, data);
            Ok(t)
        },
    )?;
    finish(t, &data, &dir)
}

/// `molecules train-classifier`.
pub fn train_classifier(args: &ConfigArgs) -> Result<Trained> {
    let mut cfg = args.load()?;
    let dev = device(cfg.run.backend.as_deref())?;
    if cfg.data.label.is_none() {
        bail!("a classifier needs labels: set data.label = \"qed\" or \"ring_count\"");
    }
    if let Some(gen_path) = &args.nos_for {
        return train_nos(args, &cfg, gen_path, &dev);
    }
    let dir = RunDir::open(&args.run_dir(&cfg, "classifier"), args.run.resume)?;
    let backend = cfg.run.backend.clone();
    let data_cfg = cfg.data.clone();
    let (t, data) = open_trainer_with_data(
        &args.run,
        &dir,
        cfg.train.steps,
        backend.as_deref(),
        &dev,
        |t| prepare_with(&data_cfg, t.map(|t| t.vocabulary.as_slice())),
        |data| {
            let mut c = diffusion_core::cli::section(&cfg.classifier, "classifier", "")?;
            resolve_classifier(&mut c, &data.tokenizer, cfg.data.seq_len, 2);
            cfg.classifier = Some(c.clone());
            write_config(&dir, &cfg)?;
            let mut t = Trainer::with_objective(
                Classifier::new(c),
                cfg.train.clone(),
                data.tokenizer.vocabulary(),
                &dev,
            )?;
            t.metadata = metadata(&cfg, data);
            Ok(t)
        },
    )?;
    finish(t, &data, &dir)
}

/// `train-classifier --nos-for GENERATOR`: a NOS head on the frozen EMA encoder.
fn train_nos(
    args: &ConfigArgs,
    cfg: &MolConfig,
    gen_path: &std::path::Path,
    dev: &burn::prelude::Device,
) -> Result<Trained> {
    let g = super::sample::load_generator(gen_path, dev)?;
    let dir = RunDir::open(&args.run_dir(cfg, "nos"), false)?;
    let mut data_cfg = cfg.data.clone();
    data_cfg.representation = g.tokenizer.representation;
    data_cfg.seq_len = g.loaded.diffusion.config.seq_len;
    let data = prepare(&data_cfg, Some(g.tokenizer.clone()))?;
    report_data(&data);
    let (head, acc) = diffusion_core::nos::train_nos_head(
        &g.loaded.diffusion,
        &g.loaded.model,
        &data.train,
        2,
        cfg.train.steps,
        cfg.train.batch_size,
        cfg.train.lr,
        cfg.train.seed,
        dev,
    )?;
    dir.write("config.toml", to_toml(cfg)?.as_bytes())?;
    let model = dir.file("model.ckpt");
    super::nos::save(
        &model,
        &head,
        g.loaded.model.hidden_size(),
        2,
        &g.loaded.vocabulary,
        metadata(cfg, &data),
        acc,
    )?;
    println!(
        "{}: NOS head for {}, final training-batch accuracy {acc:.3}",
        dir.path.display(),
        gen_path.display()
    );
    Ok(Trained { model })
}
