//! The `[train]` section of a config (optimiser, schedule, EMA, validation and checkpoint
//! cadence) and the numbers a step and a validation report.

use super::lr::LrSchedule;
use crate::error::{CoreError, Result};
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

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

    pub(super) fn optimizer(&self) -> ModuleOptimizer {
        super::adamw::FusedAdamW::init(super::adamw::Hyper {
            beta_1: self.beta1 as f32,
            beta_2: self.beta2 as f32,
            epsilon: self.adam_eps as f32,
            weight_decay: self.weight_decay as f32,
        })
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
