//! `train` and `train-classifier` of every domain binary: one experiment file → one run folder
//! with `config.toml` (resolved), `metrics.csv` / `metrics.jsonl`, curves,
//! `checkpoints/last.ckpt` (resumable), `model.ckpt` (EMA weights only) and `summary.json`.
//! The summary's `validation` is the exported weights on the whole validation split at a fixed
//! batch and noise seed (the domain's `EVAL_BATCH`, [`EVAL_SEED`]), so the number is
//! reproducible for the same weights (`validate` prints the same one).

use super::backbone::{Backbone, BackboneKind};
use super::validate::validation_line;
use super::{Domain, ExperimentConfig, Role};
use crate::backend::device;
use crate::classifier::{Classifier, DitClassifier};
use crate::cli::{RunArgs, require_file, section};
use crate::config_file::to_toml;
use crate::conv::ConvConfig;
use crate::dit::DitConfig;
use crate::domain::{SequenceDataset, TokenSequences, Tokenizer};
use crate::error::CoreError;
use crate::guidance::GuidanceClassifier;
use crate::metrics::{ClassificationReport, classification_report};
use crate::run_dir::RunDir;
use crate::tensor_util::{ids_tensor, to_vec_f32};
use crate::train::run::{
    export, fit, open_trainer_with_data, resolve_classifier, resolve_diffusion,
};
use crate::train::{DenoiserObjective, LoadedGenerator, Objective, Trainer, ValStats, evaluate};
use crate::unet::UnetConfig;
use burn::prelude::{Device, Tensor};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The seed of the final validation's noise (its batch is the domain's `EVAL_BATCH`).
pub const EVAL_SEED: u64 = 0;
/// Sequences per batch when a classifier scores held-out data.
const CLASSIFY_BATCH: usize = 64;

/// `train` / `train-classifier` arguments: the run arguments and the shortcuts every domain
/// shares. A domain with shortcuts of its own flattens this into its own struct.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TrainArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Shortcut for `--set diffusion.kind=K` (ar | mdlm | udlm | gidd).
    #[arg(long)]
    pub kind: Option<String>,
    /// train-classifier: train a NOS head on this DiT generator's frozen encoder instead (the
    /// config's `[train]` sets steps, batch size, learning rate and seed).
    #[arg(long, value_name = "GENERATOR")]
    pub nos_for: Option<PathBuf>,
}

impl TrainArgs {
    /// The experiment file with `--set`, the shared shortcuts and then the domain's `extra`
    /// overrides applied.
    pub fn load<D: Domain>(
        &self,
        extra: &[String],
    ) -> Result<ExperimentConfig<D::DataConfig>, CoreError> {
        let mut o: Vec<String> = self
            .kind
            .iter()
            .map(|k| format!("diffusion.kind=\"{k}\""))
            .collect();
        o.extend_from_slice(extra);
        self.run.load(&o)
    }
}

/// Train from run arguments alone (the demos' fresh models): a classifier or a generator.
pub fn train_run<D: Domain>(
    run: RunArgs,
    classifier: bool,
    extra: &[String],
) -> Result<Trained, D::Error> {
    let args = TrainArgs {
        run,
        ..Default::default()
    };
    let cfg = args.load::<D>(extra)?;
    if classifier {
        train_classifier::<D>(&args, cfg)
    } else {
        train_generator::<D>(&args, cfg)
    }
}

/// What a training run leaves behind.
pub struct Trained {
    /// `model.ckpt`: EMA weights only, for sampling, evaluation and fine-tuning.
    pub model: PathBuf,
    pub steps: usize,
    pub train_seconds: f64,
    /// The exported weights on the whole validation split (a NOS head: `accuracy` is its
    /// final training-batch accuracy).
    pub validation: ValStats,
}

/// `train`: a generator on the backbone the file names (on `--resume`, the one the checkpoint
/// holds).
pub fn train_generator<D: Domain>(
    args: &TrainArgs,
    cfg: ExperimentConfig<D::DataConfig>,
) -> Result<Trained, D::Error> {
    let dir = RunDir::open(
        &args.run.run_dir(cfg.run.dir.as_deref(), "train"),
        args.run.resume,
    )?;
    let kind = if args.run.resume {
        BackboneKind::of_checkpoint(&dir.checkpoint())?
    } else {
        BackboneKind::of_config(&cfg)?
    };
    match kind {
        BackboneKind::Dit => train_with::<D, DitConfig>(args, cfg, dir),
        BackboneKind::Conv => train_with::<D, ConvConfig>(args, cfg, dir),
        BackboneKind::Unet => train_with::<D, UnetConfig>(args, cfg, dir),
    }
}

fn train_with<D: Domain, C: Backbone>(
    args: &TrainArgs,
    mut cfg: ExperimentConfig<D::DataConfig>,
    dir: RunDir,
) -> Result<Trained, D::Error> {
    let dev = device(cfg.run.backend.as_deref())?;
    let backend = cfg.run.backend.clone();
    let data_cfg = cfg.data.clone();
    let (mut t, data) = open_trainer_with_data(
        &args.run,
        &dir,
        cfg.train.steps,
        backend.as_deref(),
        &dev,
        |t: Option<&Trainer<DenoiserObjective<C>>>| {
            prepare::<D>(&data_cfg, t.map(|t| &t.vocabulary[..]))
        },
        |data| {
            let mut diffusion = section(
                &cfg.diffusion,
                "diffusion",
                r#" (kind = "mdlm" | "udlm" | "gidd" | "ar")"#,
            )?;
            let splits = D::splits(data);
            resolve_diffusion(&mut diffusion, splits.tokenizer, splits.train.seq_len);
            D::check_generator(&diffusion)?;
            let mut net = section(C::section(&cfg), C::SECTION, "")?;
            net.resolve(
                &diffusion,
                D::generator_classes(&cfg.data, data),
                D::grid(data),
            )?;
            cfg.diffusion = Some(diffusion.clone());
            *C::section_mut(&mut cfg) = Some(net.clone());
            // Refused before the run folder holds anything (e.g. AR on the conv backbone).
            let objective = DenoiserObjective::new(diffusion, net);
            objective.validate()?;
            dir.write("config.toml", to_toml(&cfg)?.as_bytes())?;
            let mut t = Trainer::with_objective(
                objective,
                cfg.train.clone(),
                splits.tokenizer.vocabulary(),
                &dev,
            )?;
            t.metadata = metadata::<D>(&cfg.data, data, Role::Generator);
            Ok::<_, D::Error>(t)
        },
    )?;
    let kind = t.objective.diffusion.kind;
    let trained = finish::<D, _>(&mut t, &data, &dir, None)?;
    println!(
        "{}",
        validation_line::<D>(
            &dir.path,
            kind,
            C::NAME,
            &trained.validation,
            D::splits(&data).val
        )
    );
    Ok(trained)
}

/// `train-classifier`: a noisy (D-CBG), clean (evaluation, oracle) or per-position (FUDGE)
/// classifier, or with `--nos-for` a NOS head.
pub fn train_classifier<D: Domain>(
    args: &TrainArgs,
    mut cfg: ExperimentConfig<D::DataConfig>,
) -> Result<Trained, D::Error> {
    if let Some(g) = &args.nos_for {
        return train_nos::<D>(args, &cfg, g);
    }
    let dev = device(cfg.run.backend.as_deref())?;
    let c = section(&cfg.classifier, "classifier", "")?;
    D::check_classifier(&cfg, &c)?;
    let dir = RunDir::open(
        &args.run.run_dir(cfg.run.dir.as_deref(), "classifier"),
        args.run.resume,
    )?;
    let backend = cfg.run.backend.clone();
    let data_cfg = cfg.data.clone();
    let (mut t, data) = open_trainer_with_data(
        &args.run,
        &dir,
        cfg.train.steps,
        backend.as_deref(),
        &dev,
        |t: Option<&Trainer<Classifier>>| prepare::<D>(&data_cfg, t.map(|t| &t.vocabulary[..])),
        |data| {
            let mut c = c.clone();
            let classes = classes::<D>(&cfg.data, data)?;
            let splits = D::splits(data);
            resolve_classifier(&mut c, splits.tokenizer, splits.train.seq_len, classes);
            cfg.classifier = Some(c.clone());
            dir.write("config.toml", to_toml(&cfg)?.as_bytes())?;
            let role = if c.noise.is_some() {
                Role::Guidance
            } else {
                Role::Evaluation
            };
            let mut t = Trainer::with_objective(
                Classifier::new(c),
                cfg.train.clone(),
                splits.tokenizer.vocabulary(),
                &dev,
            )?;
            t.metadata = metadata::<D>(&cfg.data, data, role);
            Ok::<_, D::Error>(t)
        },
    )?;
    let noisy = t.objective.config.noise.is_some();
    // An evaluation oracle (clean, whole-sequence) is scored on the domain's test split.
    let test = D::splits(&data)
        .test
        .filter(|_| t.objective.config.is_clean_sequence_classifier());
    let oracle = test.map(|set| move |t: &Trainer<Classifier>| report(&t.ema.model, set, &dev));
    let held_out = oracle.as_ref().map(|f| f as HeldOut<_>);
    let trained = finish::<D, _>(&mut t, &data, &dir, held_out)?;
    let v = &trained.validation;
    println!(
        "{}: {} classifier step {}: held-out NLL {:.4}, accuracy {:.4} on {} sequences{}",
        dir.path.display(),
        if noisy {
            "noisy (D-CBG)"
        } else {
            "clean (evaluation)"
        },
        trained.steps,
        v.nll,
        v.accuracy.unwrap_or(f64::NAN),
        D::splits(&data).val.len(),
        if noisy { " at random noise levels" } else { "" }
    );
    Ok(trained)
}

/// The data of a run, logged.
fn prepare<D: Domain>(
    cfg: &D::DataConfig,
    vocabulary: Option<&[String]>,
) -> Result<D::Data, D::Error> {
    let data = D::prepare(cfg, vocabulary)?;
    tracing::info!("data: {}", D::describe(&data));
    Ok(data)
}

fn classes<D: Domain>(cfg: &D::DataConfig, data: &D::Data) -> Result<usize, CoreError> {
    D::classifier_classes(cfg, data).ok_or_else(|| {
        CoreError::config(
            "[classifier]",
            format!(
                "a classifier needs labelled data; this {} data has no labels",
                D::NAME
            ),
        )
    })
}

/// The metadata every checkpoint of the domain carries.
pub fn metadata<D: Domain>(cfg: &D::DataConfig, data: &D::Data, role: Role) -> Value {
    let mut m = D::metadata(cfg, data);
    if let Some(o) = m.as_object_mut() {
        o.insert("domain".into(), json!(D::NAME));
        o.insert("role".into(), json!(role.as_str()));
    }
    m
}

/// Scores a trained clean classifier on held-out sequences.
type HeldOut<'a, O> = &'a dyn Fn(&Trainer<O>) -> Result<ClassificationReport, CoreError>;

/// Fit, score the EMA weights on the whole validation split (and an oracle on `held_out`),
/// export and write `summary.json`.
fn finish<D: Domain, O: Objective>(
    t: &mut Trainer<O>,
    data: &D::Data,
    dir: &RunDir,
    held_out: Option<HeldOut<O>>,
) -> Result<Trained, D::Error> {
    let splits = D::splits(data);
    let (_, train_seconds) = fit(t, splits.train, splits.val, dir)?;
    let mut v = evaluate(
        &t.objective,
        &t.ema.model,
        splits.val,
        D::EVAL_BATCH,
        None,
        EVAL_SEED,
        &t.device,
    );
    v.step = t.step;
    let test = match held_out {
        Some(f) => Some(f(t)?),
        None => None,
    };
    if let Some(r) = &test {
        // In the exported checkpoint, so an oracle's own quality travels with it.
        t.metadata["held_out"] = json!({
            "split": "test", "n": r.confusion.total(),
            "accuracy": r.accuracy, "macro_f1": r.macro_f1, "mcc": r.mcc,
        });
    }
    let model = export(t, dir)?;
    dir.write_json(
        "summary.json",
        &json!({
            "objective": O::KIND,
            "steps": t.step,
            "train_seconds": train_seconds,
            "validation": v,
            "test": test.as_ref().map(|r| json!({
                "accuracy": r.accuracy, "macro_f1": r.macro_f1, "mcc": r.mcc,
                "confusion": r.confusion.rows(),
            })),
            "data": D::report(data),
        }),
    )?;
    if let Some(r) = &test {
        println!(
            "on the held-out test split: accuracy {:.4}, macro F1 {:.4}, MCC {:.4} ({} sequences)",
            r.accuracy,
            r.macro_f1,
            r.mcc,
            r.confusion.total()
        );
    }
    Ok(Trained {
        model,
        steps: t.step,
        train_seconds,
        validation: v,
    })
}

/// Accuracy, macro F1 and MCC of a clean classifier on labelled sequences (σ = 0).
pub fn report(
    model: &DitClassifier,
    set: &TokenSequences,
    dev: &Device,
) -> Result<ClassificationReport, CoreError> {
    let mut pred = Vec::with_capacity(set.len());
    let rows: Vec<usize> = (0..set.len()).collect();
    for chunk in rows.chunks(CLASSIFY_BATCH) {
        let flat: Vec<i64> = chunk.iter().flat_map(|&i| set.tokens(i).to_vec()).collect();
        let lp = model.log_probs(
            ids_tensor(&flat, chunk.len(), set.seq_len(), dev),
            Tensor::zeros([chunk.len()], dev),
        );
        let c = lp.dims()[1];
        pred.extend(to_vec_f32(lp).chunks(c).map(|v| {
            v.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        }));
    }
    let labels: Vec<usize> = (0..set.len())
        .map(|i| set.label(i).unwrap_or(0) as usize)
        .collect();
    let classes = model.num_classes();
    classification_report(classes, &labels, &pred)
}

/// `train-classifier --nos-for GENERATOR`: a NOS head on the frozen EMA encoder of a DiT
/// generator, trained on the generator's own sequences.
fn train_nos<D: Domain>(
    args: &TrainArgs,
    cfg: &ExperimentConfig<D::DataConfig>,
    gen_path: &Path,
) -> Result<Trained, D::Error> {
    let start = Instant::now();
    let dev = device(cfg.run.backend.as_deref())?;
    require_file(gen_path, "generator checkpoint")?;
    let g = LoadedGenerator::load(gen_path, &dev)?;
    let dit = g.dit("a NOS head (--nos-for)")?;
    let dir = RunDir::open(&args.run.run_dir(cfg.run.dir.as_deref(), "nos"), false)?;
    let (data_cfg, data) = D::nos_data(cfg, &g)?;
    tracing::info!("data: {}", D::describe(&data));
    let classes = classes::<D>(&data_cfg, &data)?;
    dir.write("config.toml", to_toml(cfg)?.as_bytes())?;
    let model = dir.file("model.ckpt");
    let acc = crate::nos::train_and_save_head(
        &model,
        &g.diffusion,
        dit,
        D::splits(&data).train,
        classes,
        &cfg.train,
        &g.vocabulary,
        metadata::<D>(&data_cfg, &data, Role::Nos),
        &dev,
    )?;
    println!(
        "{}: NOS head for {}, final training-batch accuracy {acc:.3}",
        dir.path.display(),
        gen_path.display()
    );
    Ok(Trained {
        model,
        steps: cfg.train.steps,
        train_seconds: start.elapsed().as_secs_f64(),
        validation: ValStats {
            step: cfg.train.steps,
            nll: f64::NAN,
            ppl: f64::NAN,
            bpc: f64::NAN,
            accuracy: Some(acc),
        },
    })
}
