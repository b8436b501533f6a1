//! `train` and `train-classifier`: one config → one run directory with `config.toml`,
//! `metrics.csv` / `metrics.jsonl`, `checkpoints/last.ckpt` (resumable), `model.ckpt`
//! (weights only, for sampling and fine-tuning) and `summary.json`.

use super::{ConfigArgs, device};
use anyhow::{Context, Result, bail};
use diffusion_core::classifier::Classifier;
use diffusion_core::config_file::to_toml;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::domain::{SequenceDataset, Tokenizer};
use diffusion_core::run_dir::RunDir;
use diffusion_core::train::{Generator, Objective, Trainer};
use molecules::config::MolConfig;
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

fn report_data(data: &MolData) {
    tracing::info!(
        train = data.train.len(),
        val = data.val.len(),
        vocab = data.tokenizer.vocab_size(),
        "data: {}",
        data.report.summary()
    );
}

/// Tokenizer stored in a resumed trainer.
fn stored_tokenizer(cfg: &MolConfig, vocab: &[String]) -> Result<MolTokenizer> {
    Ok(MolTokenizer::from_vocabulary(
        cfg.data.representation,
        vocab,
    )?)
}

/// Fit, export and summarise any objective.
fn finish<O: Objective>(mut trainer: Trainer<O>, data: &MolData, dir: &RunDir) -> Result<Trained> {
    let history = trainer.fit(&data.train, Some(&data.val), Some(&dir.path))?;
    let model = dir.file("model.ckpt");
    trainer.export(&model)?;
    if let Err(e) = diffusion_core::report::render_run(&dir.path) {
        tracing::warn!("could not draw the training curves: {e}");
    }
    let val = history.last().cloned();
    dir.write_json(
        "summary.json",
        &json!({
            "steps": trainer.step,
            "validation": val,
            "train_size": data.train.len(),
            "val_size": data.val.len(),
            "data_report": data.report,
        }),
    )?;
    if let Some(v) = &val {
        match v.accuracy {
            Some(a) => println!(
                "{}: step {} validation NLL {:.4}, accuracy {:.4}",
                dir.path.display(),
                v.step,
                v.nll,
                a
            ),
            None => println!(
                "{}: step {} validation NELBO {:.4} nats/token, PPL {:.3}",
                dir.path.display(),
                v.step,
                v.nll,
                v.ppl
            ),
        }
    }
    Ok(Trained { model })
}

/// `molecules train`.
pub fn train_generator(args: &ConfigArgs) -> Result<Trained> {
    let mut cfg = args.load()?;
    let dev = device(cfg.run.backend.as_deref())?;
    let dir = RunDir::open(&args.run_dir(&cfg, "train"), args.run.resume)?;
    if args.run.resume {
        let mut t = Trainer::<Generator>::resume(&dir.checkpoint(), &dev)?;
        let tok = stored_tokenizer(&cfg, &t.vocabulary)?;
        let data = prepare(&cfg.data, Some(tok))?;
        report_data(&data);
        t.set_total_steps(cfg.train.steps);
        tracing::info!(step = t.step, "resuming {}", dir.checkpoint().display());
        args.run.apply_devices(&mut t, cfg.run.backend.as_deref())?;
        return finish(t, &data, &dir);
    }
    let data = prepare(&cfg.data, None)?;
    report_data(&data);
    let sp = data.tokenizer.special_ids();
    let Some(mut diffusion) = cfg.diffusion.clone() else {
        bail!("the config has no [diffusion] section (kind = \"mdlm\" | \"udlm\" | \"ar\")");
    };
    let Some(mut model) = cfg.model.clone() else {
        bail!("the config has no [model] section (hidden_size, n_blocks, n_heads)");
    };
    diffusion.vocab_size = data.tokenizer.vocab_size();
    diffusion.seq_len = cfg.data.seq_len;
    diffusion.mask_id = sp.mask;
    diffusion.pad_id = sp.pad;
    model.vocab_size = diffusion.vocab_size;
    model.num_classes = data.label.as_ref().map(|_| 2);
    if diffusion.kind == ModelKind::Ar {
        model.causal = true;
    }
    cfg.diffusion = Some(diffusion.clone());
    cfg.model = Some(model.clone());
    dir.write("config.toml", to_toml(&cfg)?.as_bytes())?;
    let mut t = Trainer::new(
        diffusion,
        model,
        cfg.train.clone(),
        data.tokenizer.vocabulary(),
        &dev,
    )?;
    t.metadata = metadata(&cfg, &data);
    if let Some(p) = &args.run.init_from {
        t.init_from(p)
            .with_context(|| format!("--init-from {}", p.display()))?;
    }
    args.run.apply_devices(&mut t, cfg.run.backend.as_deref())?;
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
    if args.run.resume {
        let mut t = Trainer::<Classifier>::resume(&dir.checkpoint(), &dev)?;
        let tok = stored_tokenizer(&cfg, &t.vocabulary)?;
        let data = prepare(&cfg.data, Some(tok))?;
        report_data(&data);
        t.set_total_steps(cfg.train.steps);
        args.run.apply_devices(&mut t, cfg.run.backend.as_deref())?;
        return finish(t, &data, &dir);
    }
    let data = prepare(&cfg.data, None)?;
    report_data(&data);
    let sp = data.tokenizer.special_ids();
    let Some(mut c) = cfg.classifier.clone() else {
        bail!("the config has no [classifier] section");
    };
    c.backbone.vocab_size = data.tokenizer.vocab_size();
    c.backbone.num_classes = None;
    c.set_causal_from_pooling();
    c.num_classes = 2;
    c.seq_len = cfg.data.seq_len;
    c.mask_id = sp.mask;
    c.pad_id = sp.pad;
    cfg.classifier = Some(c.clone());
    dir.write("config.toml", to_toml(&cfg)?.as_bytes())?;
    let mut t = Trainer::with_objective(
        Classifier::new(c),
        cfg.train.clone(),
        data.tokenizer.vocabulary(),
        &dev,
    )?;
    t.metadata = metadata(&cfg, &data);
    if let Some(p) = &args.run.init_from {
        t.init_from(p)
            .with_context(|| format!("--init-from {}", p.display()))?;
    }
    args.run.apply_devices(&mut t, cfg.run.backend.as_deref())?;
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
