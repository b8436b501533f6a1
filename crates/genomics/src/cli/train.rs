//! `train` and `train-classifier`: one config → one run directory with `config.toml`,
//! `metrics.csv` / `metrics.jsonl`, curves, `checkpoints/last.ckpt` (resumable), `model.ckpt`
//! (weights only) and `summary.json`. A clean classifier is the evaluation oracle: its summary
//! holds its accuracy and macro F1 on the held-out test windows.

use super::{TrainArgs, device, metadata};
use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use diffusion_core::classifier::{Classifier, DitClassifier};
use diffusion_core::config_file::to_toml;
use diffusion_core::diffusion::{DiffusionConfig, ModelKind};
use diffusion_core::domain::{SequenceDataset, TokenSequences, Tokenizer};
use diffusion_core::run_dir::RunDir;
use diffusion_core::train::run::{
    export, fit, is_causal, open_trainer, resolve_classifier, resolve_diffusion, validation_line,
};
use diffusion_core::train::{Objective, Trainer};
use genomics::config::GenomicsConfig;
use diffusion_core::conv::ConvGenerator;
use genomics::data::{GenomicsData, prepare};
use genomics::evaluate::classify;
use genomics::metrics::{ClassificationReport, classification_report};
use genomics::tokenizer::DnaTokenizer;
use serde_json::json;
use std::path::PathBuf;

/// What a training run leaves behind.
pub struct Trained {
    /// Weights-only checkpoint for sampling and evaluation.
    pub model: PathBuf,
}

fn load_data(cfg: &GenomicsConfig) -> Result<GenomicsData> {
    let data = prepare(&cfg.data)?;
    tracing::info!("data: {}", data.report.summary());
    Ok(data)
}

/// Accuracy / macro F1 / MCC of a classifier on labelled clean sequences.
pub fn held_out_report(
    model: &DitClassifier,
    set: &TokenSequences,
    classes: usize,
    dev: &Device,
) -> Result<ClassificationReport> {
    let rows: Vec<Vec<i64>> = (0..set.len()).map(|i| set.tokens(i).to_vec()).collect();
    let labels: Vec<usize> = (0..set.len())
        .map(|i| set.label(i).unwrap_or(0) as usize)
        .collect();
    let lp = classify(model, &rows, set.seq_len(), 64, dev);
    let pred: Vec<usize> = lp
        .iter()
        .map(|v| {
            v.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i)
                .unwrap_or(0)
        })
        .collect();
    Ok(classification_report(classes, &labels, &pred)?)
}

/// Computes a trained classifier's held-out report (for clean, oracle classifiers).
type HeldOut<'a, O> = &'a dyn Fn(&Trainer<O>) -> Result<ClassificationReport>;

/// Fit, export and summarise any objective; `oracle` adds the held-out test report.
fn finish<O: Objective>(
    mut t: Trainer<O>,
    data: &GenomicsData,
    dir: &RunDir,
    oracle: Option<HeldOut<O>>,
) -> Result<Trained> {
    let (val, _) = fit(&mut t, &data.train, &data.val, dir)?;
    let held_out = match oracle {
        Some(f) => Some(f(&t)?),
        None => None,
    };
    if let Some(r) = &held_out {
        // Stored in the exported checkpoint, so the oracle's own quality travels with it.
        t.metadata["held_out"] = json!({
            "split": "test", "n": r.confusion.total(),
            "accuracy": r.accuracy, "macro_f1": r.macro_f1, "mcc": r.mcc,
        });
    }
    let model = export(&t, dir)?;
    dir.write_json(
        "summary.json",
        &json!({
            "steps": t.step,
            "validation": val,
            "test": held_out.as_ref().map(|r| json!({
                "accuracy": r.accuracy, "macro_f1": r.macro_f1, "mcc": r.mcc,
                "confusion": r.confusion.rows(),
            })),
            "data": data.report,
        }),
    )?;
    if let Some(v) = &val {
        println!("{}", validation_line(dir, v));
    }
    if let Some(r) = &held_out {
        println!(
            "oracle on the held-out test windows: accuracy {:.4}, macro F1 {:.4}, MCC {:.4}",
            r.accuracy, r.macro_f1, r.mcc
        );
    }
    Ok(Trained { model })
}

/// The `[diffusion]` section with N, L and the special ids filled in from the tokenizer and
/// `data.windows.length`.
fn diffusion_section(cfg: &GenomicsConfig) -> Result<DiffusionConfig> {
    let mut diffusion = diffusion_core::cli::section(
        &cfg.diffusion,
        "diffusion",
        r#" (kind = "mdlm" | "udlm" | "gidd" | "ar")"#,
    )?;
    resolve_diffusion(&mut diffusion, &DnaTokenizer, cfg.data.seq_len());
    Ok(diffusion)
}

/// The trainer of a run (resumed, or built by `fresh`), its stored vocabulary checked against
/// the DNA alphabet.
fn open<O: Objective>(
    args: &TrainArgs,
    cfg: &GenomicsConfig,
    dir: &RunDir,
    dev: &Device,
    fresh: impl FnOnce() -> Result<Trainer<O>>,
) -> Result<Trainer<O>> {
    let t = open_trainer(
        &args.run,
        dir,
        cfg.train.steps,
        cfg.run.backend.as_deref(),
        dev,
        fresh,
    )?;
    DnaTokenizer::from_vocabulary(&t.vocabulary)?;
    Ok(t)
}

/// `genomics train`: a DiT generator, or a dilated-convolution one when the config has
/// `[conv]` (on `--resume`, whichever the checkpoint holds).
pub fn train_generator(args: &TrainArgs) -> Result<Trained> {
    let mut cfg = args.load()?;
    let dev = device(cfg.run.backend.as_deref())?;
    let dir = RunDir::open(&args.run_dir(&cfg, "train"), args.run.resume)?;
    let conv = if args.run.resume {
        diffusion_core::checkpoint::checkpoint_kind(&dir.checkpoint())? == ConvGenerator::KIND
    } else {
        cfg.conv.is_some()
    };
    if conv {
        return train_conv(args, cfg, &dir, &dev);
    }
    let data = load_data(&cfg)?;
    let t = open(args, &cfg.clone(), &dir, &dev, || {
        let diffusion = diffusion_section(&cfg)?;
        let mut model = diffusion_core::cli::section(
            &cfg.model,
            "model",
            " (DiT: hidden_size, n_blocks, n_heads) and no [conv] section",
        )?;
        model.vocab_size = diffusion.vocab_size;
        model.num_classes = cfg.data.conditional.then_some(data.classes.len());
        model.causal = is_causal(diffusion.kind);
        cfg.diffusion = Some(diffusion.clone());
        cfg.model = Some(model.clone());
        dir.write("config.toml", to_toml(&cfg)?.as_bytes())?;
        let mut t = Trainer::new(
            diffusion,
            model,
            cfg.train.clone(),
            DnaTokenizer.vocabulary(),
            &dev,
        )?;
        t.metadata = metadata(&cfg.data, &data.classes);
        Ok(t)
    })?;
    finish(t, &data, &dir, None)
}

/// `genomics train` with `[conv]`: an MDLM / UDLM generator on the dilated-convolution
/// denoiser (linear in L, for long windows).
fn train_conv(
    args: &TrainArgs,
    mut cfg: GenomicsConfig,
    dir: &RunDir,
    dev: &Device,
) -> Result<Trained> {
    if !args.run.resume && cfg.model.is_some() {
        bail!("the config has both [model] (a DiT) and [conv]; keep the one backbone to train");
    }
    let data = load_data(&cfg)?;
    let t = open(args, &cfg.clone(), dir, dev, || {
        let diffusion = diffusion_section(&cfg)?;
        if diffusion.kind == ModelKind::Ar {
            bail!(
                "diffusion.kind = \"ar\": the [conv] backbone is bidirectional and trains MDLM or UDLM only; use a [model] (DiT) section for AR"
            );
        }
        let mut conv = cfg.conv.clone().context("[conv] section")?;
        conv.vocab_size = diffusion.vocab_size;
        conv.num_classes = cfg.data.conditional.then_some(data.classes.len());
        tracing::info!(
            blocks = conv.dilations().len(),
            receptive_field = conv.receptive_field(),
            "dilated-convolution denoiser"
        );
        cfg.diffusion = Some(diffusion.clone());
        cfg.conv = Some(conv.clone());
        dir.write("config.toml", to_toml(&cfg)?.as_bytes())?;
        let mut t = Trainer::with_objective(
            ConvGenerator::new(diffusion, conv),
            cfg.train.clone(),
            DnaTokenizer.vocabulary(),
            dev,
        )?;
        t.metadata = metadata(&cfg.data, &data.classes);
        Ok(t)
    })?;
    finish(t, &data, dir, None)
}

/// `genomics train-classifier`.
pub fn train_classifier(args: &TrainArgs) -> Result<Trained> {
    let mut cfg = args.load()?;
    let dev = device(cfg.run.backend.as_deref())?;
    if let Some(gen_path) = &args.nos_for {
        return train_nos(args, &cfg, gen_path, &dev);
    }
    let dir = RunDir::open(&args.run_dir(&cfg, "classifier"), args.run.resume)?;
    let data = load_data(&cfg)?;
    let classes = data.classes.len();
    let oracle_report = |t: &Trainer<Classifier>| -> Result<ClassificationReport> {
        held_out_report(&t.ema.model, &data.test, classes, &dev)
    };
    let t = open(args, &cfg.clone(), &dir, &dev, || {
        let mut c = diffusion_core::cli::section(&cfg.classifier, "classifier", "")?;
        resolve_classifier(&mut c, &DnaTokenizer, cfg.data.seq_len(), classes);
        cfg.classifier = Some(c.clone());
        dir.write("config.toml", to_toml(&cfg)?.as_bytes())?;
        let mut t = Trainer::with_objective(
            Classifier::new(c),
            cfg.train.clone(),
            DnaTokenizer.vocabulary(),
            &dev,
        )?;
        t.metadata = metadata(&cfg.data, &data.classes);
        Ok(t)
    })?;
    // The held-out species report is for whole-window classifiers (the oracle), not FUDGE's.
    let clean = t.objective.config.is_clean_sequence_classifier();
    finish(t, &data, &dir, clean.then_some(&oracle_report as _))
}

/// `train-classifier --nos-for GENERATOR`: a NOS head on the frozen EMA encoder.
fn train_nos(
    args: &TrainArgs,
    cfg: &GenomicsConfig,
    gen_path: &std::path::Path,
    dev: &Device,
) -> Result<Trained> {
    let g = super::load_generator(gen_path, dev)?;
    let dir = RunDir::open(&args.run_dir(cfg, "nos"), false)?;
    // The generator's own windows, so the head sees the sequences it will guide.
    let data = prepare(&g.meta.data)?;
    let classes = data.classes.len();
    dir.write("config.toml", to_toml(cfg)?.as_bytes())?;
    let model = dir.file("model.ckpt");
    let acc = diffusion_core::nos::train_and_save_head(
        &model,
        &g.loaded.diffusion,
        g.loaded.dit("a NOS head (--nos-for)")?,
        &data.train,
        classes,
        &cfg.train,
        &g.loaded.vocabulary,
        metadata(&g.meta.data, &g.meta.classes),
        dev,
    )?;
    println!(
        "{}: NOS head for {}, final training-batch accuracy {acc:.3}",
        dir.path.display(),
        gen_path.display()
    );
    Ok(Trained { model })
}
