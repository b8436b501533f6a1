//! Training: AdamW with global-norm clipping, LR schedules, EMA, periodic validation, metrics
//! files and resumable checkpoints (issue: core §6–7).
//!
//! Determinism: everything random in step k (batch choice, times, forward noise, label dropout,
//! dropout masks) is derived from (seed, k), so a run resumed from a checkpoint at step k
//! produces exactly the losses the uninterrupted run would have produced.
//!
//! Large batches: an optimizer step averages the gradients of M = `grad_accum` × devices
//! micro-batches of `batch_size` sequences (burn's `GradientsAccumulator`). With several devices
//! (`Trainer::set_devices`, the binaries' `--devices N`) the micro-batches of a round run in
//! parallel, one per device, on a copy of the model moved there (`Module::fork`), and their
//! gradients are moved back (`GradientsParams::to_device`) — burn's own multi-device pieces, no
//! collective layer of ours. Micro-batch j of step k draws its data and noise from (seed, k, j)
//! whatever device runs it, so 2 devices × 1 micro-batch trains exactly like 1 device × 2.

pub mod clip;
pub mod ema;
pub mod lr;
pub mod objective;
pub mod run;

use crate::checkpoint::{CheckpointFile, load_module_blob, load_module_blob_partial, module_blob};
use crate::diffusion::{Diffusion, DiffusionConfig};
use crate::dit::{Dit, DitConfig};
use crate::domain::SequenceDataset;
use crate::dropout::DropoutScope;
use crate::error::{CoreError, Result};
use crate::rng::Rng;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use ema::Ema;
use lr::LrSchedule;
pub use objective::{BackboneConfig, DenoiserObjective, Generator, Objective};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The EMA weights with the best validation NELBO so far, in a run folder.
pub const BEST_MODEL: &str = "model-best.ckpt";

const STREAM_EPOCH: u64 = 1 << 40;
/// Noise streams of micro-batches j > 0 (j = 0 keeps the single-batch stream (seed, k)).
const STREAM_MICRO: u64 = 1 << 43;
const STREAM_VALID: u64 = 1 << 41;
const STREAM_DROPOUT: u64 = 1 << 42;

fn d_lr() -> f64 {
    3e-4
}
fn d_b1() -> f64 {
    0.9
}
fn d_b2() -> f64 {
    0.999
}
fn d_eps() -> f64 {
    1e-8
}
fn d_clip() -> Option<f64> {
    Some(1.0)
}
fn d_ema() -> f64 {
    0.9999
}
fn d_seed() -> u64 {
    1
}

/// Optimisation settings (spec §8 common settings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub steps: usize,
    pub batch_size: usize,
    #[serde(default = "d_lr")]
    pub lr: f64,
    #[serde(default = "d_b1")]
    pub beta1: f64,
    #[serde(default = "d_b2")]
    pub beta2: f64,
    #[serde(default = "d_eps")]
    pub adam_eps: f64,
    #[serde(default)]
    pub weight_decay: f64,
    /// Global L2 norm clip (None: off).
    #[serde(default = "d_clip")]
    pub grad_clip: Option<f64>,
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    #[serde(default = "d_ema")]
    pub ema_decay: f64,
    /// Validate every this many steps (0: only at the end).
    #[serde(default)]
    pub val_every: usize,
    /// Cap on validation batches (None: the whole validation set).
    #[serde(default)]
    pub val_batches: Option<usize>,
    /// Write `checkpoints/last.ckpt` every this many steps (0: only at the end).
    #[serde(default)]
    pub checkpoint_every: usize,
    #[serde(default = "d_seed")]
    pub seed: u64,
    /// Micro-batches per device whose gradients are averaged into one optimizer step (the global
    /// batch is `batch_size` × `grad_accum` × devices).
    #[serde(default = "d_one")]
    pub grad_accum: usize,
}

fn d_one() -> usize {
    1
}

impl TrainConfig {
    pub fn new(steps: usize, batch_size: usize) -> Self {
        Self {
            steps,
            batch_size,
            lr: 3e-4,
            beta1: 0.9,
            beta2: 0.999,
            adam_eps: 1e-8,
            weight_decay: 0.0,
            grad_clip: Some(1.0),
            lr_schedule: LrSchedule::default(),
            ema_decay: 0.9999,
            val_every: 0,
            val_batches: None,
            checkpoint_every: 0,
            seed: 1,
            grad_accum: 1,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            return Err(CoreError::config(
                "train.steps",
                "must be at least 1 (a run of 0 steps would leave an untrained model)",
            ));
        }
        if self.batch_size == 0 {
            return Err(CoreError::config("train.batch_size", "must be positive"));
        }
        if self.grad_accum == 0 {
            return Err(CoreError::config("train.grad_accum", "must be at least 1"));
        }
        if self.lr.is_nan() || self.lr <= 0.0 {
            return Err(CoreError::config("train.lr", "must be positive"));
        }
        if !(0.0..=1.0).contains(&self.ema_decay) {
            return Err(CoreError::config("train.ema_decay", "must be in [0, 1]"));
        }
        Ok(())
    }

    fn optimizer(&self) -> ModuleOptimizer {
        AdamWConfig::new()
            .with_beta_1(self.beta1 as f32)
            .with_beta_2(self.beta2 as f32)
            .with_epsilon(self.adam_eps as f32)
            .with_weight_decay(self.weight_decay as f32)
            .init()
    }
}

/// One training step's numbers.
#[derive(Clone, Debug, Serialize)]
pub struct StepStats {
    pub step: usize,
    pub loss: f64,
    pub grad_norm: f64,
    pub lr: f64,
    pub tokens_per_s: f64,
}

/// Validation numbers (spec §4): NLL per token, PPL = exp(NLL), BPC/BPD = NLL / ln 2.
#[derive(Clone, Debug, Serialize)]
pub struct ValStats {
    pub step: usize,
    pub nll: f64,
    pub ppl: f64,
    pub bpc: f64,
    /// Classification accuracy (classifier objectives only).
    pub accuracy: Option<f64>,
}

/// A model in training with its optimizer and EMA.
pub struct Trainer<O: Objective = Generator> {
    pub objective: O,
    pub config: TrainConfig,
    pub model: O::Model,
    pub ema: Ema<O::Model>,
    pub optim: ModuleOptimizer,
    /// Optimizer steps taken.
    pub step: usize,
    /// Vocabulary stored with checkpoints.
    pub vocabulary: Vec<String>,
    /// Domain facts stored with checkpoints (representation, label property, threshold, …), so
    /// a checkpoint is enough to sample and decode; the core does not interpret it.
    pub metadata: serde_json::Value,
    pub device: Device,
    /// Devices of data-parallel training (default: `device` alone); see the module docs.
    devices: Vec<Device>,
    perm_cache: Option<(u64, Vec<usize>)>,
    /// Best validation so far (step, NLL): `fit` exports the EMA weights of that step to
    /// `model-best.ckpt` in the run folder, and the value survives a resume.
    pub best_val: Option<(usize, f64)>,
}

impl Trainer<Generator> {
    /// A fresh generator (MDLM / UDLM / AR) on `device`.
    pub fn new(
        diffusion: DiffusionConfig,
        model_config: DitConfig,
        config: TrainConfig,
        vocabulary: Vec<String>,
        device: &Device,
    ) -> Result<Self> {
        Self::with_objective(
            Generator::new(diffusion, model_config),
            config,
            vocabulary,
            device,
        )
    }

    /// The diffusion process being trained.
    pub fn diffusion(&self) -> Diffusion {
        self.objective.process()
    }
}

impl<O: Objective> Trainer<O> {
    /// A fresh model for `objective` on `device` (autodiff is enabled internally).
    pub fn with_objective(
        objective: O,
        config: TrainConfig,
        vocabulary: Vec<String>,
        device: &Device,
    ) -> Result<Self> {
        config.validate()?;
        objective.validate()?;
        let ad = device.clone().autodiff();
        ad.seed(config.seed); // parameter initialisation
        let model = objective.init(&ad);
        let ema = Ema::new(&model, config.ema_decay);
        Ok(Self {
            objective,
            optim: config.optimizer(),
            config,
            model,
            ema,
            step: 0,
            vocabulary,
            metadata: serde_json::Value::Null,
            device: device.clone(),
            devices: vec![device.clone()],
            perm_cache: None,
            best_val: None,
        })
    }

    /// Train data-parallel on `devices` (the first should be the trainer's own device). On a CPU
    /// backend the "devices" share the CPU: useful to test, not faster.
    pub fn set_devices(&mut self, devices: Vec<Device>) -> Result<()> {
        if devices.is_empty() {
            return Err(CoreError::config(
                "devices",
                "at least one device is needed",
            ));
        }
        self.devices = devices;
        Ok(())
    }

    /// Micro-batches per optimizer step.
    pub fn micro_batches(&self) -> usize {
        self.config.grad_accum.max(1) * self.devices.len()
    }

    /// Indices of the batch used at optimizer step `k`: epochs of a seeded permutation.
    fn batch_indices(&mut self, k: usize, n: usize) -> Vec<usize> {
        let bsz = self.config.batch_size * self.micro_batches();
        (0..bsz)
            .map(|j| {
                let g = k * bsz + j;
                let epoch = (g / n) as u64;
                let fresh =
                    !matches!(&self.perm_cache, Some((e, p)) if *e == epoch && p.len() == n);
                if fresh {
                    let mut perm: Vec<usize> = (0..n).collect();
                    Rng::stream(self.config.seed, STREAM_EPOCH + epoch).shuffle(&mut perm);
                    self.perm_cache = Some((epoch, perm));
                }
                self.perm_cache.as_ref().expect("cached").1[g % n]
            })
            .collect()
    }

    /// One optimizer step on the batch for step `self.step`.
    pub fn train_step(&mut self, data: &dyn SequenceDataset) -> Result<StepStats> {
        if data.is_empty() {
            return Err(CoreError::Data("the training set is empty".into()));
        }
        if data.seq_len() != self.objective.seq_len() {
            return Err(CoreError::Data(format!(
                "training sequences have length {}, the model expects {}",
                data.seq_len(),
                self.objective.seq_len()
            )));
        }
        if self.objective.requires_labels() && data.label(0).is_none() {
            return Err(CoreError::Data(
                "this objective needs class labels, the training set has none".into(),
            ));
        }
        let start = Instant::now();
        let k = self.step;
        let idx = self.batch_indices(k, data.len());
        let m = self.micro_batches();
        let bsz = self.config.batch_size;
        let ad = self.device.clone().autodiff();
        let mut accumulator = GradientsAccumulator::<O::Model>::new();
        let mut loss_value = 0.0f64;
        let nd = self.devices.len();
        let (objective, seed) = (&self.objective, self.config.seed);
        for (r, round) in idx.chunks(bsz * nd).enumerate() {
            // One micro-batch per device in this round, run in parallel when there are several.
            let jobs: Vec<(usize, Vec<i64>, Option<Vec<i64>>)> = round
                .chunks(bsz)
                .enumerate()
                .map(|(d, ids)| {
                    let (x, y) = gather(data, ids);
                    (r * nd + d, x, y)
                })
                .collect();
            let results: Vec<Result<(f32, GradientsParams)>> = if jobs.len() == 1 {
                let (j, x, y) = &jobs[0];
                vec![micro_step(
                    objective,
                    seed,
                    k,
                    *j,
                    m,
                    x,
                    y.as_deref(),
                    &self.model,
                    &ad,
                )]
            } else {
                let main = &self.model;
                std::thread::scope(|scope| {
                    let handles: Vec<_> = jobs
                        .iter()
                        .zip(&self.devices)
                        .map(|((j, x, y), dev)| {
                            let dev_ad = dev.clone().autodiff();
                            let model = main.clone().fork(&dev_ad);
                            scope.spawn(move || {
                                micro_step(
                                    objective,
                                    seed,
                                    k,
                                    *j,
                                    m,
                                    x,
                                    y.as_deref(),
                                    &model,
                                    &dev_ad,
                                )
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| {
                            h.join()
                                .unwrap_or_else(|_| {
                                    Err(CoreError::Data("a training thread panicked".into()))
                                })
                                // Gradients back to the main device, where the optimizer is.
                                .map(|(loss, g)| (loss, g.to_device(&ad, main)))
                        })
                        .collect()
                })
            };
            for r in results {
                let (loss, grads) = r?;
                loss_value += loss as f64;
                accumulator.accumulate(&self.model, grads);
            }
        }
        let mut grads = accumulator.grads();
        let grad_norm = match self.config.grad_clip {
            Some(c) => clip::clip_grad_norm(&self.model, &mut grads, c),
            None => clip::global_grad_norm(&self.model, &grads),
        };
        let lr = self
            .config
            .lr_schedule
            .lr(self.config.lr, k, self.config.steps);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        self.ema.update(&self.model);
        self.step += 1;
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        Ok(StepStats {
            step: self.step,
            loss: loss_value,
            grad_norm,
            lr,
            tokens_per_s: (idx.len() * data.seq_len()) as f64 / secs,
        })
    }

    /// Validation NELBO of `model` on `data` with a fixed noise stream (comparable across steps).
    pub fn evaluate(&self, model: &O::Model, data: &dyn SequenceDataset) -> ValStats {
        let mut v = evaluate(
            &self.objective,
            model,
            data,
            self.config.batch_size,
            self.config.val_batches,
            self.config.seed,
            &self.device,
        );
        v.step = self.step;
        v
    }

    /// Validation with the EMA weights (as the reference does).
    pub fn validate(&self, data: &dyn SequenceDataset) -> ValStats {
        self.evaluate(&self.ema.model, data)
    }

    /// Train until `config.steps`, validating and checkpointing as configured. With a run
    /// directory, metrics go to `metrics.csv` / `metrics.jsonl` and checkpoints to
    /// `checkpoints/last.ckpt`. Returns the validation history.
    pub fn fit(
        &mut self,
        train: &dyn SequenceDataset,
        val: Option<&dyn SequenceDataset>,
        run_dir: Option<&Path>,
    ) -> Result<Vec<ValStats>> {
        let mut metrics = match run_dir {
            Some(d) => Some(MetricsWriter::open(d, self.step)?),
            None => None,
        };
        let total = self.config.steps;
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
            )
            .expect("valid template"),
        );
        bar.set_position(self.step as u64);
        let mut history = Vec::new();
        while self.step < total {
            let s = self.train_step(train)?;
            bar.set_position(s.step as u64);
            bar.set_message(format!("loss {:.4} | {:.0} tok/s", s.loss, s.tokens_per_s));
            if let Some(m) = metrics.as_mut() {
                m.train(&s)?;
            }
            let last = self.step == total;
            if let Some(v) = val
                && ((self.config.val_every > 0 && self.step.is_multiple_of(self.config.val_every))
                    || last)
            {
                let vs = self.validate(v);
                tracing::info!(
                    step = vs.step,
                    nll = vs.nll,
                    ppl = vs.ppl,
                    bpc = vs.bpc,
                    "validation"
                );
                if let Some(m) = metrics.as_mut() {
                    m.val(&vs)?;
                }
                if vs.nll.is_finite() && self.best_val.is_none_or(|(_, b)| vs.nll < b) {
                    self.best_val = Some((vs.step, vs.nll));
                    if let Some(d) = run_dir {
                        self.export(&d.join(BEST_MODEL))?;
                    }
                }
                history.push(vs);
            }
            if let Some(d) = run_dir
                && ((self.config.checkpoint_every > 0
                    && self.step.is_multiple_of(self.config.checkpoint_every))
                    || last)
            {
                self.save(&d.join("checkpoints").join("last.ckpt"))?;
            }
        }
        bar.finish_and_clear();
        Ok(history)
    }

    /// Header of a training checkpoint.
    fn header(&self) -> serde_json::Value {
        serde_json::json!({
            "format": 1,
            "kind": O::KIND,
            "step": self.step,
            "ema_updates": self.ema.num_updates,
            "objective": self.objective,
            "train": self.config,
            "vocabulary": self.vocabulary,
            "metadata": self.metadata,
            // Every random draw of step k comes from Rng::stream(seed, k): (seed, step) is the
            // complete RNG state.
            "rng": {"seed": self.config.seed, "next_step": self.step},
            "best_val": self.best_val.map(|(step, nll)| serde_json::json!({"step": step, "nll": nll})),
        })
    }

    /// Write model, EMA, optimizer, step, configs and vocabulary to one file, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut ck = CheckpointFile {
            header: self.header(),
            ..Default::default()
        };
        ck.blobs
            .insert("model".into(), module_blob(self.model.clone())?);
        ck.blobs
            .insert("ema".into(), module_blob(self.ema.model.clone())?);
        let optim = self
            .optim
            .into_bytes()
            .map_err(|e| CoreError::checkpoint(path, format!("cannot serialise optimizer: {e}")))?;
        ck.blobs.insert("optimizer".into(), optim.to_vec());
        ck.save(path)
    }

    /// Resume training from a checkpoint written by [`Trainer::save`].
    pub fn resume(path: &Path, device: &Device) -> Result<Self> {
        let ck = CheckpointFile::load(path)?;
        check_kind(&ck, path, O::KIND)?;
        if ck.header.get("exported").and_then(|v| v.as_bool()) == Some(true) {
            return Err(CoreError::checkpoint(
                path,
                "is an exported (weights-only) file and cannot be resumed; use it with --init-from",
            ));
        }
        let objective: O = ck.field("objective", path)?;
        let config: TrainConfig = ck.field("train", path)?;
        let vocabulary: Vec<String> = ck.field("vocabulary", path)?;
        let step: usize = ck.field("step", path)?;
        let ema_updates: u64 = ck.field("ema_updates", path)?;
        let mut t = Self::with_objective(objective, config, vocabulary, device)
            .map_err(|e| CoreError::checkpoint(path, e.to_string()))?;
        t.model = load_module_blob(t.model, ck.blob("model", path)?, path, "model weights")?;
        t.ema.model = load_module_blob(t.ema.model, ck.blob("ema", path)?, path, "EMA weights")?;
        t.ema.num_updates = ema_updates;
        let optim_bytes = burn::tensor::Bytes::from_bytes_vec(ck.blob("optimizer", path)?.to_vec());
        t.optim = t
            .optim
            .from_bytes(optim_bytes)
            .map_err(|e| CoreError::checkpoint(path, format!("optimizer state: {e}")))?;
        t.step = step;
        t.metadata = ck.header.get("metadata").cloned().unwrap_or_default();
        // Older checkpoints have no `best_val`; the first validation after the resume sets it.
        t.best_val = ck
            .header
            .get("best_val")
            .and_then(|b| Some((b.get("step")?.as_u64()? as usize, b.get("nll")?.as_f64()?)));
        Ok(t)
    }

    /// Start from the weights of another checkpoint of the same objective and shape (fine-tuning,
    /// `train --init-from`): model and EMA take its EMA weights; optimizer, step and RNG start
    /// fresh. The error names the first config field that differs. One difference is allowed:
    /// a class-conditional run may start from an unconditional model of the same shape (the
    /// usual way to get a D-CFG model from a long unconditional run); its class embedding, the
    /// only new parameter, starts from its initialisation.
    pub fn init_from(&mut self, path: &Path) -> Result<()> {
        let loaded = load_objective::<O>(path, &self.device, true)?;
        let mut a = serde_json::to_value(&loaded.objective).expect("objective serialises");
        let b = serde_json::to_value(&self.objective).expect("objective serialises");
        let adds_classes = adopt_new_classes(&mut a, &b);
        if let Some(diff) = first_difference(&a, &b, "") {
            return Err(CoreError::checkpoint(
                path,
                format!("cannot initialise from it: {diff}"),
            ));
        }
        if loaded.vocabulary != self.vocabulary {
            return Err(CoreError::checkpoint(
                path,
                "cannot initialise from it: its vocabulary differs from this run's",
            ));
        }
        let blob = module_blob(loaded.model)?;
        let ad = self.device.clone().autodiff();
        let fresh = self.objective.init(&ad);
        self.model = if adds_classes {
            // Every parameter but the class embedding comes from the file (the configs were
            // checked equal above, so no other tensor can be missing); the embedding starts at
            // zero, so the new model begins as exactly the unconditional one for every class.
            load_module_blob_partial(fresh, &blob, path, "weights")?
                .map(&mut ZeroClassEmbedding { path: vec![] })
        } else {
            load_module_blob(fresh, &blob, path, "weights")?
        };
        self.ema = Ema::new(&self.model, self.config.ema_decay);
        Ok(())
    }

    /// Write only the EMA weights and configs (no optimizer state): a compact file for sampling,
    /// shipping and `--init-from`, loadable by [`load_objective`] but not resumable.
    pub fn export(&self, path: &Path) -> Result<()> {
        let mut ck = CheckpointFile {
            header: self.header(),
            ..Default::default()
        };
        ck.header["exported"] = true.into();
        ck.blobs
            .insert("ema".into(), module_blob(self.ema.model.clone())?);
        ck.save(path)
    }

    /// Change the target number of steps (e.g. to continue a finished run).
    pub fn set_total_steps(&mut self, steps: usize) {
        self.config.steps = steps;
    }
}

/// Tokens (and labels) of the sequences at `idx`, concatenated.
/// Loss (already divided by the `m` micro-batches of the step) and gradients of micro-batch
/// `j` of step `k` (row-major ids `x`, labels `y`), on the device `model` lives on.
#[allow(clippy::too_many_arguments)]
fn micro_step<O: Objective>(
    objective: &O,
    seed: u64,
    k: usize,
    j: usize,
    m: usize,
    x: &[i64],
    y: Option<&[i64]>,
    model: &O::Model,
    ad: &Device,
) -> Result<(f32, GradientsParams)> {
    // Micro-batch 0 keeps the single-batch streams, so grad_accum = 1 trains as before.
    let stream = if j == 0 {
        k as u64
    } else {
        STREAM_MICRO + (k * m + j) as u64
    };
    let mut rng = Rng::stream(seed, stream);
    let dropout_seed = Rng::stream(seed, STREAM_DROPOUT + stream).next_u64();
    let scope = DropoutScope::new(dropout_seed);
    let out = objective.loss(model, x, y, &mut rng, true, ad);
    drop(scope);
    let loss = out.loss.div_scalar(m as f64);
    let loss_value: f32 = loss.clone().into_scalar();
    if !loss_value.is_finite() {
        return Err(CoreError::Data(format!(
            "non-finite training loss {} at step {k}",
            loss_value * m as f32
        )));
    }
    let grads = loss.backward();
    Ok((loss_value, GradientsParams::from_grads(grads, model)))
}

fn gather(data: &dyn SequenceDataset, idx: &[usize]) -> (Vec<i64>, Option<Vec<i64>>) {
    let mut x = Vec::with_capacity(idx.len() * data.seq_len());
    let mut y = Vec::new();
    for &i in idx {
        x.extend_from_slice(data.tokens(i));
        if let Some(l) = data.label(i) {
            y.push(l);
        }
    }
    let y = (y.len() == idx.len() && !y.is_empty()).then_some(y);
    (x, y)
}

/// Validation NELBO (or classifier NLL and accuracy) of `model` on `data`, in batches of
/// `batch_size`, with the noise stream fixed by `seed` so values are comparable across calls.
/// Also for checkpoints loaded for inference (`molecules validate`).
pub fn evaluate<O: Objective>(
    objective: &O,
    model: &O::Model,
    data: &dyn SequenceDataset,
    batch_size: usize,
    max_batches: Option<usize>,
    seed: u64,
    device: &Device,
) -> ValStats {
    let bsz = batch_size;
    let n = data.len();
    let max_batches = max_batches.unwrap_or(usize::MAX);
    if n == 0 || (objective.requires_labels() && data.label(0).is_none()) {
        return ValStats {
            step: 0,
            nll: f64::NAN,
            ppl: f64::NAN,
            bpc: f64::NAN,
            accuracy: None,
        };
    }
    let mut rng = Rng::stream(seed, STREAM_VALID);
    let (mut nll, mut tokens, mut correct) = (0.0f64, 0.0f64, None::<f64>);
    for (bi, start) in (0..n).step_by(bsz.max(1)).enumerate() {
        if bi >= max_batches {
            break;
        }
        let idx: Vec<usize> = (start..(start + bsz).min(n)).collect();
        let (x, y) = gather(data, &idx);
        let out = objective.loss(model, &x, y.as_deref(), &mut rng, false, device);
        let s: f32 = out.nll_sum.into_scalar();
        nll += s as f64;
        tokens += out.n_tokens;
        if let Some(c) = out.n_correct {
            *correct.get_or_insert(0.0) += c;
        }
    }
    let nll = nll / tokens.max(1.0);
    ValStats {
        step: 0,
        nll,
        ppl: nll.exp(),
        bpc: nll / std::f64::consts::LN_2,
        accuracy: correct.map(|c| c / tokens.max(1.0)),
    }
}

fn check_kind(ck: &CheckpointFile, path: &Path, want: &str) -> Result<()> {
    let kind: String = ck.field("kind", path)?;
    if kind != want {
        return Err(CoreError::checkpoint(
            path,
            format!("holds a {kind}, not a {want}"),
        ));
    }
    Ok(())
}

/// A trained model loaded for sampling, guidance or evaluation (EMA weights by default).
pub struct Loaded<O: Objective> {
    pub objective: O,
    pub model: O::Model,
    pub vocabulary: Vec<String>,
    pub metadata: serde_json::Value,
    pub step: usize,
}

/// Write an inference-only checkpoint (weights as its EMA blob, as [`Trainer::export`] does)
/// for a model that was not trained here, e.g. one imported from another framework. Loadable by
/// [`load_objective`] and usable with `--init-from`.
pub fn save_inference<O: Objective>(
    path: &Path,
    objective: &O,
    model: O::Model,
    vocabulary: &[String],
    metadata: serde_json::Value,
) -> Result<()> {
    let mut ck = CheckpointFile {
        header: serde_json::json!({
            "format": 1,
            "kind": O::KIND,
            "step": 0,
            "objective": objective,
            "vocabulary": vocabulary,
            "metadata": metadata,
            "exported": true,
        }),
        ..Default::default()
    };
    ck.blobs.insert("ema".into(), module_blob(model)?);
    ck.save(path)
}

/// The first differing leaf of two JSON values, as `key.sub: a vs b`.
/// Sets the parameters under every `label_embed` module to zero.
struct ZeroClassEmbedding {
    path: Vec<String>,
}

impl burn::module::ModuleMapper for ZeroClassEmbedding {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<burn::tensor::Tensor<D>>,
    ) -> burn::module::Param<burn::tensor::Tensor<D>> {
        if !self.path.iter().any(|p| p == "label_embed") {
            return param;
        }
        param.map(|t| {
            let grad = t.is_require_grad();
            t.zeros_like().set_require_grad(grad)
        })
    }
}

/// Where `checkpoint` has `num_classes` unset (an unconditional model) and `run` sets it, take
/// the run's value into `checkpoint`; true if any was taken.
fn adopt_new_classes(checkpoint: &mut serde_json::Value, run: &serde_json::Value) -> bool {
    let (Some(x), Some(y)) = (checkpoint.as_object_mut(), run.as_object()) else {
        return false;
    };
    let mut took = false;
    for (k, va) in x.iter_mut() {
        let Some(vb) = y.get(k) else { continue };
        if k == "num_classes" && va.is_null() && vb.is_u64() {
            *va = vb.clone();
            took = true;
        } else {
            took |= adopt_new_classes(va, vb);
        }
    }
    took
}

fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: &str) -> Option<String> {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            for (k, va) in x {
                let key = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                let vb = y.get(k).unwrap_or(&serde_json::Value::Null);
                if let Some(d) = first_difference(va, vb, &key) {
                    return Some(d);
                }
            }
            None
        }
        _ if a == b => None,
        _ => Some(format!("`{at}` is {a} in the checkpoint and {b} here")),
    }
}

/// Load the EMA (or raw, with `use_ema = false`) weights of a checkpoint of objective `O` for
/// inference on `device`.
pub fn load_objective<O: Objective>(
    path: &Path,
    device: &Device,
    use_ema: bool,
) -> Result<Loaded<O>> {
    let ck = CheckpointFile::load(path)?;
    check_kind(&ck, path, O::KIND)?;
    let objective: O = ck.field("objective", path)?;
    objective
        .validate()
        .map_err(|e| CoreError::checkpoint(path, e.to_string()))?;
    let model = objective.init(device);
    let exported = ck.header.get("exported").and_then(|v| v.as_bool()) == Some(true);
    let blob = if use_ema || exported { "ema" } else { "model" };
    let model = load_module_blob(model, ck.blob(blob, path)?, path, "weights")?;
    Ok(Loaded {
        objective,
        model,
        vocabulary: ck.field("vocabulary", path)?,
        metadata: ck.header.get("metadata").cloned().unwrap_or_default(),
        step: ck.field("step", path)?,
    })
}

/// A trained generator loaded for sampling or evaluation.
pub struct LoadedModel {
    pub diffusion: Diffusion,
    pub model_config: DitConfig,
    pub model: Dit,
    pub vocabulary: Vec<String>,
    pub metadata: serde_json::Value,
    pub step: usize,
}

/// Load a generator checkpoint for inference. If `expected` is given, the stored model config
/// must equal it; the error names the first differing field.
pub fn load_for_inference(
    path: &Path,
    device: &Device,
    use_ema: bool,
    expected: Option<&DitConfig>,
) -> Result<LoadedModel> {
    let loaded = load_objective::<Generator>(path, device, use_ema)?;
    if let Some(exp) = expected {
        check_same(path, &loaded.objective.model, exp)?;
    }
    Ok(LoadedModel {
        diffusion: loaded.objective.process(),
        model_config: loaded.objective.model,
        model: loaded.model,
        vocabulary: loaded.vocabulary,
        metadata: loaded.metadata,
        step: loaded.step,
    })
}

fn check_same(path: &Path, stored: &DitConfig, expected: &DitConfig) -> Result<()> {
    let a = serde_json::to_value(stored).expect("config serialises");
    let b = serde_json::to_value(expected).expect("config serialises");
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (k, va) in a {
            if b.get(k) != Some(va) {
                return Err(CoreError::checkpoint(
                    path,
                    format!(
                        "model config mismatch in field `model.{k}`: checkpoint has {va}, expected {}",
                        b.get(k).cloned().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    Ok(())
}

const CSV_HEADER: &str = "split,step,loss,grad_norm,lr,tokens_per_s,nll,ppl,bpc";

/// Rewrite `path` (atomically) keeping the rows whose step (read by `step_of`) is at most
/// `step`; lines whose step cannot be read are kept. A missing file is created holding `header`
/// only; a fresh run (`step` 0) keeps no rows.
fn truncate_rows(
    path: &Path,
    step: usize,
    header: Option<&str>,
    step_of: impl Fn(&str) -> Option<usize>,
) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CoreError::io(path, e)),
    };
    let mut out = String::new();
    if let Some(h) = header {
        out.push_str(h);
        out.push('\n');
    }
    for line in text.lines() {
        if line.trim().is_empty() || Some(line) == header {
            continue;
        }
        if step_of(line).is_none_or(|s| s <= step) {
            out.push_str(line);
            out.push('\n');
        }
    }
    if out != text {
        crate::atomic_file::write_atomic(path, out.as_bytes())?;
    }
    Ok(())
}

/// Appends training and validation rows to `metrics.csv` and `metrics.jsonl`.
struct MetricsWriter {
    csv: std::fs::File,
    jsonl: std::fs::File,
    csv_path: PathBuf,
}

impl MetricsWriter {
    /// Open the metrics files of a run at optimizer step `step` (0 for a fresh run): rows of
    /// later steps, written after the checkpoint a resumed run starts from, are dropped, so a
    /// run killed and resumed logs each step once.
    fn open(dir: &Path, step: usize) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| CoreError::io(dir, e))?;
        let csv_path = dir.join("metrics.csv");
        let jsonl_path = dir.join("metrics.jsonl");
        truncate_rows(&csv_path, step, Some(CSV_HEADER), |line| {
            line.split(',').nth(1)?.parse().ok()
        })?;
        truncate_rows(&jsonl_path, step, None, |line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()?
                .get("step")?
                .as_u64()
                .map(|s| s as usize)
        })?;
        let open = |p: &Path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| CoreError::io(p, e))
        };
        Ok(Self {
            csv: open(&csv_path)?,
            jsonl: open(&jsonl_path)?,
            csv_path,
        })
    }

    fn train(&mut self, s: &StepStats) -> Result<()> {
        writeln!(
            self.csv,
            "train,{},{},{},{},{},,,",
            s.step, s.loss, s.grad_norm, s.lr, s.tokens_per_s
        )
        .map_err(|e| CoreError::io(&self.csv_path, e))?;
        let mut v = serde_json::to_value(s).expect("serialises");
        v["split"] = "train".into();
        writeln!(self.jsonl, "{v}").map_err(|e| CoreError::io(&self.csv_path, e))
    }

    fn val(&mut self, s: &ValStats) -> Result<()> {
        writeln!(self.csv, "val,{},,,,,{},{},{}", s.step, s.nll, s.ppl, s.bpc)
            .map_err(|e| CoreError::io(&self.csv_path, e))?;
        let mut v = serde_json::to_value(s).expect("serialises");
        v["split"] = "val".into();
        writeln!(self.jsonl, "{v}").map_err(|e| CoreError::io(&self.csv_path, e))
    }
}
