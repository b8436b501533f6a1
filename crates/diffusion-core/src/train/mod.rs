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

/// AdamW with burn's state and arithmetic, one pass per parameter on `flex`.
pub mod adamw;
pub mod clip;
mod config;
pub mod ema;
mod load;
pub mod loaded_generator;
pub mod lr;
mod metrics_log;
mod micro_batch;
pub mod objective;
pub mod run;

use crate::checkpoint::{CheckpointFile, load_module_blob, load_module_blob_partial, module_blob};
use crate::diffusion::{Diffusion, DiffusionConfig};
use crate::dit::DitConfig;
use crate::domain::SequenceDataset;
use crate::error::{CoreError, Result};
use crate::rng::Rng;
use burn::optim::{GradientsAccumulator, ModuleOptimizer};
use burn::prelude::*;
pub use config::{StepStats, TrainConfig, ValStats};
use ema::Ema;
pub use load::{Loaded, LoadedModel, load_for_inference, load_objective, save_inference};
use load::{ZeroClassEmbedding, adopt_new_classes, check_kind, first_difference};
pub use loaded_generator::{GeneratorNet, LoadedGenerator};
use metrics_log::MetricsWriter;
pub use objective::{BackboneConfig, DenoiserObjective, Generator, Objective};
use std::path::Path;
use std::time::Instant;

/// The EMA weights with the best validation NELBO so far, in a run folder.
pub const BEST_MODEL: &str = "model-best.ckpt";

const STREAM_EPOCH: u64 = 1 << 40;
/// Noise streams of micro-batches j > 0 (j = 0 keeps the single-batch stream (seed, k)).
const STREAM_MICRO: u64 = 1 << 43;
const STREAM_VALID: u64 = 1 << 41;
const STREAM_DROPOUT: u64 = 1 << 42;

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
        self.check_data(data)?;
        let start = Instant::now();
        let k = self.step;
        let idx = self.batch_indices(k, data.len());
        let bsz = self.config.batch_size;
        let ad = self.device.clone().autodiff();
        let mut accumulator = GradientsAccumulator::<O::Model>::new();
        let mut loss_value = 0.0f64;
        for (r, round) in idx.chunks(bsz * self.devices.len()).enumerate() {
            let results = self.round_grads(data, round, r, &ad);
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

    /// The training set must be non-empty, of the model's length, and labelled when the
    /// objective needs labels.
    fn check_data(&self, data: &dyn SequenceDataset) -> Result<()> {
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
        Ok(())
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
