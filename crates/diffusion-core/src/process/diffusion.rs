//! The three model types (spec §1) on one backbone: the noise, parameterisation and loss that
//! turn a DiT into an MDLM, a UDLM or an AR model.

use crate::denoiser::Denoiser;
use crate::error::{CoreError, Result};
use crate::forward::Noise;
use crate::hybrid::{GiddConfig, Hybrid};
use crate::loss;
use crate::noise::{Absorbing, Mixing, NoiseProcess, Uniform};
use crate::parameterization::{
    Parameterization, d3pm_log_probs, mask_free_log_probs, subs_log_probs,
};
use crate::rng::Rng;
use crate::schedule::{NoiseSchedule, Schedule};
use crate::tensor_util::{float_tensor, ids_tensor, vec_tensor};
use crate::time::sample_t;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// AR, MDLM or UDLM (spec §1, the flag triples of the reference scripts), or GIDD: hybrid
/// mask-plus-uniform noise (spec §2.5), beyond the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Ar,
    Mdlm,
    Udlm,
    Gidd,
}

impl std::str::FromStr for ModelKind {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ar" => Ok(Self::Ar),
            "mdlm" => Ok(Self::Mdlm),
            "udlm" => Ok(Self::Udlm),
            "gidd" => Ok(Self::Gidd),
            _ => Err(CoreError::config(
                "kind",
                format!("`{s}` is not one of ar, mdlm, udlm, gidd"),
            )),
        }
    }
}

/// Which α_t the UDLM and discrete-time losses use (spec §4.2, §13.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlphaMode {
    /// α_t of the schedule that also noises the data. Default: the bound is then the NELBO of
    /// the process the model is trained on (with loglinear ε = 1e-3 the reference's α = 1 − t is
    /// off by up to 0.1 %), and it works for every schedule.
    #[default]
    Exact,
    /// The reference code's hard-coded α_t = 1 − t, α'_t = −1 (loglinear only), for bit-parity.
    Reference,
}

fn default_sampling_eps() -> f64 {
    1e-3
}
fn default_true() -> bool {
    true
}
fn default_cond_dropout() -> f64 {
    0.1
}

/// Everything about the diffusion process and its loss. Token facts (N, L, mask, pad) are
/// resolved from the domain's tokenizer and stored so checkpoints are self-describing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffusionConfig {
    pub kind: ModelKind,
    /// N, L and the mask id come from the domain's tokenizer; config files leave them out.
    #[serde(default)]
    pub vocab_size: usize,
    #[serde(default)]
    pub seq_len: usize,
    #[serde(default)]
    pub mask_id: i64,
    #[serde(default)]
    pub pad_id: Option<i64>,
    #[serde(default)]
    pub schedule: Schedule,
    /// T: 0 selects the continuous-time loss, T > 0 the discrete-time D3PM loss (spec §4.3).
    #[serde(default)]
    pub discrete_steps: usize,
    /// Condition the network on σ(t). Default: on for UDLM, off for MDLM and AR (spec §1).
    #[serde(default)]
    pub time_conditioning: Option<bool>,
    #[serde(default)]
    pub alpha_mode: AlphaMode,
    /// Training-time ε_s: t ∈ [ε_s, 1) (spec §2.3).
    #[serde(default = "default_sampling_eps")]
    pub sampling_eps: f64,
    #[serde(default = "default_true")]
    pub antithetic: bool,
    /// Training loss as the plain mean over all positions, pads included (QM9, Amazon).
    #[serde(default)]
    pub loss_on_pad: bool,
    /// Train with plain CE −log x_θ[x] instead of the NELBO (spec §4.5).
    #[serde(default)]
    pub simple_ce: bool,
    /// Label dropout to the null class for classifier-free training (spec §4.6).
    #[serde(default = "default_cond_dropout")]
    pub cond_dropout: f64,
    /// Continuous-time UDLM: add the reconstruction term −log x_θ(x; σ = 0)[x] from a second,
    /// clean pass (the reference's `zero_recon_loss = false`). Off by default, as the
    /// reference's UDLM runs (spec §4.2); discrete-time UDLM always has it (spec §4.3).
    #[serde(default)]
    pub recon_loss: bool,
    /// The hybrid process's knobs (GIDD models only; defaults when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gidd: Option<GiddConfig>,
}

impl DiffusionConfig {
    pub fn new(
        kind: ModelKind,
        vocab_size: usize,
        seq_len: usize,
        mask_id: i64,
        pad_id: Option<i64>,
    ) -> Self {
        Self {
            kind,
            vocab_size,
            seq_len,
            mask_id,
            pad_id,
            schedule: Schedule::default(),
            discrete_steps: 0,
            time_conditioning: None,
            alpha_mode: AlphaMode::Exact,
            sampling_eps: 1e-3,
            antithetic: true,
            loss_on_pad: false,
            simple_ce: false,
            cond_dropout: 0.1,
            recon_loss: false,
            gidd: None,
        }
    }

    /// Whether the network sees σ(t). Default: on for UDLM and GIDD (a token may be noise at
    /// any t, so the network needs the noise level), off for MDLM and AR (spec §1).
    pub fn time_conditioned(&self) -> bool {
        self.time_conditioning
            .unwrap_or(matches!(self.kind, ModelKind::Udlm | ModelKind::Gidd))
    }

    pub fn validate(&self) -> Result<()> {
        if self.vocab_size < 2 {
            return Err(CoreError::config(
                "diffusion.vocab_size",
                "must be at least 2 (it is set from the tokenizer)",
            ));
        }
        if self.mask_id < 0 || self.mask_id as usize >= self.vocab_size {
            return Err(CoreError::config(
                "diffusion.mask_id",
                format!(
                    "{} is outside the vocabulary of {}",
                    self.mask_id, self.vocab_size
                ),
            ));
        }
        if let Some(p) = self.pad_id
            && (p < 0 || p as usize >= self.vocab_size)
        {
            return Err(CoreError::config(
                "diffusion.pad_id",
                format!("{p} is outside the vocabulary"),
            ));
        }
        if self.seq_len < 2 {
            return Err(CoreError::config("diffusion.seq_len", "must be at least 2"));
        }
        if !(0.0..1.0).contains(&self.sampling_eps) {
            return Err(CoreError::config(
                "diffusion.sampling_eps",
                "must be in [0, 1)",
            ));
        }
        if !(0.0..=1.0).contains(&self.cond_dropout) {
            return Err(CoreError::config(
                "diffusion.cond_dropout",
                "must be in [0, 1]",
            ));
        }
        if self.alpha_mode == AlphaMode::Reference && !self.schedule.is_loglinear() {
            return Err(CoreError::config(
                "diffusion.alpha_mode",
                "`reference` (α = 1 − t) requires the loglinear schedule",
            ));
        }
        if self.recon_loss && self.kind != ModelKind::Udlm {
            return Err(CoreError::config(
                "diffusion.recon_loss",
                "applies to UDLM only (MDLM's SUBS bound and AR have no reconstruction term)",
            ));
        }
        self.validate_gidd()?;
        if self.kind == ModelKind::Ar && self.discrete_steps > 0 {
            return Err(CoreError::config(
                "diffusion.discrete_steps",
                "AR models have no diffusion time",
            ));
        }
        Ok(())
    }

    /// The hybrid process has its own schedule and only the continuous-time NELBO (spec §2.5);
    /// `[diffusion.gidd]` belongs to GIDD models only.
    fn validate_gidd(&self) -> Result<()> {
        if self.kind == ModelKind::Gidd {
            self.gidd.unwrap_or_default().validate()?;
            let refuse = |field: &str, why: &str| Err(CoreError::config(field, why.to_string()));
            if self.discrete_steps > 0 {
                return refuse(
                    "diffusion.discrete_steps",
                    "the GIDD model has the continuous-time NELBO only",
                );
            }
            if self.alpha_mode != AlphaMode::Exact {
                return refuse(
                    "diffusion.alpha_mode",
                    "`reference` applies to MDLM and UDLM; the hybrid process has its own α_t",
                );
            }
            if self.schedule != Schedule::default() {
                return refuse(
                    "diffusion.schedule",
                    "the hybrid process has its own schedule (diffusion.gidd.gamma shapes it)",
                );
            }
        } else if self.gidd.is_some() {
            return Err(CoreError::config(
                "diffusion.gidd",
                "applies to kind = \"gidd\" only",
            ));
        }
        Ok(())
    }
}

/// Output of [`Diffusion::loss`].
pub struct LossOutput {
    /// The scalar to minimise [1].
    pub loss: Tensor<1>,
    /// Σ (per-token NELBO ⊙ attention mask) [1]: the evaluation quantity (pads excluded).
    pub nll_sum: Tensor<1>,
    /// Σ attention mask (host): the number of scored units (tokens, or sequences for classifiers).
    pub n_tokens: f64,
    /// Correct predictions among them, for classifiers (host).
    pub n_correct: Option<f64>,
}

/// One noised training batch: clean ids x [B, L], z_t [B, L], times t [B], the labels after
/// dropout, and the model that denoised it.
struct NoisyBatch<'a> {
    model: &'a dyn Denoiser,
    x: Tensor<2, Int>,
    z_t: Tensor<2, Int>,
    t: &'a [f64],
    labels: Option<Tensor<1, Int>>,
    device: &'a Device,
}

/// A configured diffusion process (or AR model) that operates a [`Dit`].
#[derive(Clone, Debug)]
pub struct Diffusion {
    pub config: DiffusionConfig,
    process: Arc<dyn NoiseProcess>,
}

impl Diffusion {
    pub fn new(config: DiffusionConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self::unchecked(config))
    }

    /// Without validating the config (the caller has, or will before use).
    pub fn unchecked(config: DiffusionConfig) -> Self {
        let (n, mask, schedule) = (config.vocab_size, config.mask_id, config.schedule.clone());
        let process: Arc<dyn NoiseProcess> = match config.kind {
            ModelKind::Udlm => Arc::new(Uniform {
                schedule,
                vocab_size: n,
                mask_id: mask,
            }),
            ModelKind::Gidd => Arc::new(Hybrid {
                config: config.gidd.unwrap_or_default(),
                vocab_size: n,
                mask_id: mask,
            }),
            ModelKind::Mdlm | ModelKind::Ar => Arc::new(Absorbing {
                schedule,
                vocab_size: n,
                mask_id: mask,
            }),
        };
        Self { config, process }
    }

    pub fn kind(&self) -> ModelKind {
        self.config.kind
    }

    /// The forward noise process (spec §2.4): α_t, the mixing part, the draws, the reverse
    /// step and the NELBO.
    pub fn process(&self) -> &dyn NoiseProcess {
        self.process.as_ref()
    }

    pub fn noise(&self) -> Noise {
        self.process.kind()
    }

    pub fn parameterization(&self) -> Parameterization {
        match self.config.kind {
            ModelKind::Ar => Parameterization::Ar,
            ModelKind::Mdlm => Parameterization::Subs,
            ModelKind::Udlm => Parameterization::D3pm,
            ModelKind::Gidd => Parameterization::MaskFree,
        }
    }

    pub fn time_conditioned(&self) -> bool {
        self.config.time_conditioned()
    }

    pub fn schedule(&self) -> &Schedule {
        &self.config.schedule
    }

    /// Network time input: σ(t), or 0 when the model is not time-conditioned (spec §2.2).
    pub fn sigma_input(&self, t: &[f64]) -> Vec<f64> {
        if self.time_conditioned() {
            t.iter().map(|&t| self.process.sigma(t)).collect()
        } else {
            vec![0.0; t.len()]
        }
    }

    /// log x_θ(z_t, t) [B, L, N] (spec §3) from noisy ids [B, L] and network time input [B].
    pub fn log_x_theta(
        &self,
        model: &dyn Denoiser,
        z_t: Tensor<2, Int>,
        sigma: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Tensor<3> {
        let logits = model.forward(z_t.clone(), sigma, labels);
        self.log_x_from_logits(logits, z_t)
    }

    /// The parameterisation (spec §3): backbone logits [B, L, N] → log x_θ [B, L, N].
    pub fn log_x_from_logits(&self, logits: Tensor<3>, z_t: Tensor<2, Int>) -> Tensor<3> {
        match self.parameterization() {
            Parameterization::Subs => subs_log_probs(logits, z_t, self.config.mask_id as usize),
            Parameterization::MaskFree => mask_free_log_probs(logits, self.config.mask_id as usize),
            Parameterization::D3pm | Parameterization::Ar => d3pm_log_probs(logits),
        }
    }

    /// The model's reverse step p_θ(z_s | z_t) [B, L, N] from log x_θ (spec §5.1), for times
    /// t > s shared by the batch: the process's posterior with x_θ in place of x.
    pub fn reverse_step(
        &self,
        log_x_theta: Tensor<3>,
        z_t: Tensor<2, Int>,
        t: f64,
        s: f64,
    ) -> Tensor<3> {
        let p = self.process();
        p.reverse_step(log_x_theta.exp(), z_t, t, (p.alpha(s), p.mixing(s)))
    }

    /// The model's posterior over the clean token p_θ(z_0 | z_t) [B, L, N]: the reverse step
    /// to α_s = 1 (spec §5.4). Absorbing noise: x_θ at masked positions, z_t elsewhere;
    /// uniform noise: x_θ ⊙ q(z_t | ·), normalised (Bayes' rule with x_θ as the prior).
    pub fn clean_posterior(
        &self,
        log_x_theta: Tensor<3>,
        z_t: Tensor<2, Int>,
        t: f64,
    ) -> Tensor<3> {
        let clean = Mixing {
            mask: 0.0,
            other: 0.0,
        };
        self.process
            .reverse_step(log_x_theta.exp(), z_t, t, (1.0, clean))
    }

    /// log p_θ(z_s | z_t) [B, L, N] ([`Diffusion::reverse_step`] in log space), zero
    /// probabilities floored at 1e-30 so that guidance terms can be added to it.
    pub fn log_reverse_step(
        &self,
        log_x_theta: Tensor<3>,
        z_t: Tensor<2, Int>,
        t: f64,
        s: f64,
    ) -> Tensor<3> {
        self.reverse_step(log_x_theta, z_t, t, s)
            .clamp_min(1e-30)
            .log()
    }

    /// Attention mask (1 where the token is not pad) for host ids.
    pub fn attention_mask(&self, ids: &[i64]) -> Vec<f32> {
        ids.iter()
            .map(|&v| {
                if Some(v) == self.config.pad_id {
                    0.0
                } else {
                    1.0
                }
            })
            .collect()
    }

    /// Labels with classifier-free dropout applied (training only).
    fn drop_labels(
        &self,
        rng: &mut Rng,
        labels: &[i64],
        num_classes: usize,
        training: bool,
    ) -> Vec<i64> {
        labels
            .iter()
            .map(|&y| {
                if training && rng.uniform() < self.config.cond_dropout {
                    num_classes as i64
                } else {
                    y
                }
            })
            .collect()
    }

    /// The loss of one batch (spec §4). `x` is row-major [B, L]; `labels` [B] are used when the
    /// model is class-conditional. With `training` the label dropout and the training-only
    /// options (pads in the loss, simple CE) apply; otherwise it is the evaluation NELBO.
    pub fn loss(
        &self,
        model: &dyn Denoiser,
        x: &[i64],
        labels: Option<&[i64]>,
        rng: &mut Rng,
        training: bool,
        device: &Device,
    ) -> LossOutput {
        let cfg = &self.config;
        let l = cfg.seq_len;
        let b = x.len() / l;
        let label_tensor = match (labels, model.is_conditional()) {
            (Some(y), true) => {
                let y = self.drop_labels(rng, y, model.num_classes(), training);
                Some(Tensor::<1, Int>::from_data(TensorData::new(y, [b]), device))
            }
            _ => None,
        };

        if cfg.kind == ModelKind::Ar {
            return self.ar_batch_loss(model, x, label_tensor, training, device);
        }

        let steps = (cfg.discrete_steps > 0).then_some(cfg.discrete_steps);
        let t = sample_t(rng, b, cfg.antithetic, cfg.sampling_eps, steps);
        let z_t = self.process.q_xt(rng, x, l, &t);
        let x_t = ids_tensor(x, b, l, device);
        let z_t_t = ids_tensor(&z_t, b, l, device);
        let sigma = vec_tensor(&self.sigma_input(&t), device);
        let log_x = self.log_x_theta(model, z_t_t.clone(), sigma, label_tensor.clone());
        let mask = self.attention_mask(x);
        let batch = NoisyBatch {
            model,
            x: x_t,
            z_t: z_t_t,
            t: &t,
            labels: label_tensor,
            device,
        };
        let per_token = if training && cfg.simple_ce {
            loss::simple_ce_loss(log_x, batch.x)
        } else if cfg.kind == ModelKind::Gidd {
            // The generic NELBO of spec §4.7 (MDLM and UDLM keep their reference forms).
            self.process.nelbo(log_x, x, &z_t, &t, device)
        } else if let Some(steps) = steps {
            self.discrete_loss(log_x, batch, steps)
        } else {
            self.continuous_loss(log_x, batch)
        };
        self.reduce(per_token, mask, [b, l], training, device)
    }

    /// The AR loss of one batch (spec §4.4): the network reads x[:, :−1] and predicts x[:, 1:].
    fn ar_batch_loss(
        &self,
        model: &dyn Denoiser,
        x: &[i64],
        labels: Option<Tensor<1, Int>>,
        training: bool,
        device: &Device,
    ) -> LossOutput {
        let l = self.config.seq_len;
        let b = x.len() / l;
        let inp: Vec<i64> = x.chunks(l).flat_map(|r| r[..l - 1].to_vec()).collect();
        let tgt: Vec<i64> = x.chunks(l).flat_map(|r| r[1..].to_vec()).collect();
        let mask = self.attention_mask(&tgt);
        let logits = model.forward(
            ids_tensor(&inp, b, l - 1, device),
            Tensor::zeros([b], device),
            labels,
        );
        let per_token = loss::ar_loss(log_softmax(logits, 2), ids_tensor(&tgt, b, l - 1, device));
        self.reduce(per_token, mask, [b, l - 1], training, device)
    }

    /// The discrete-time loss [B, L] (spec §4.3): absorbing T·L_vb, or uniform L_recon + T·L_vb.
    fn discrete_loss(&self, log_x: Tensor<3>, batch: NoisyBatch, steps: usize) -> Tensor<2> {
        let cfg = &self.config;
        let device = batch.device;
        let (a_t, a_s) = self.discrete_alphas(batch.t, steps);
        let (a_t, a_s) = (vec_tensor(&a_t, device), vec_tensor(&a_s, device));
        match cfg.kind {
            ModelKind::Mdlm => loss::d3pm_absorbing_loss(
                log_x,
                batch.x,
                batch.z_t,
                cfg.mask_id as usize,
                a_t,
                a_s,
                steps,
            ),
            _ => {
                let recon = self.recon_loss(batch.model, batch.x.clone(), batch.labels, device);
                loss::d3pm_uniform_loss(log_x, batch.x, batch.z_t, a_t, a_s, steps) + recon
            }
        }
    }

    /// The continuous-time NELBO [B, L]: MDLM's (spec §4.1) or UDLM's (spec §4.2, with the
    /// optional reconstruction term).
    fn continuous_loss(&self, log_x: Tensor<3>, batch: NoisyBatch) -> Tensor<2> {
        let cfg = &self.config;
        let device = batch.device;
        if cfg.kind == ModelKind::Mdlm {
            let w: Vec<f64> = batch
                .t
                .iter()
                .map(|&t| cfg.schedule.mdlm_weight(t))
                .collect();
            return loss::mdlm_loss(log_x, batch.x, vec_tensor(&w, device));
        }
        let (a, da): (Vec<f64>, Vec<f64>) = match cfg.alpha_mode {
            AlphaMode::Exact => batch
                .t
                .iter()
                .map(|&t| (cfg.schedule.alpha(t), cfg.schedule.dalpha(t)))
                .unzip(),
            AlphaMode::Reference => batch.t.iter().map(|&t| (1.0 - t, -1.0)).unzip(),
        };
        let diff = loss::udlm_loss(
            log_x,
            batch.x.clone(),
            batch.z_t,
            vec_tensor(&a, device),
            vec_tensor(&da, device),
        );
        if cfg.recon_loss {
            diff + self.recon_loss(batch.model, batch.x, batch.labels, device)
        } else {
            diff
        }
    }

    /// L_recon = −log x_θ(x; σ = 0)[x] [B, L], from a pass on the clean ids `x` [B, L] with
    /// network time input 0 (σ(0) = 0; spec §4.2).
    fn recon_loss(
        &self,
        model: &dyn Denoiser,
        x: Tensor<2, Int>,
        labels: Option<Tensor<1, Int>>,
        device: &Device,
    ) -> Tensor<2> {
        let b = x.dims()[0];
        let lp = self.log_x_theta(model, x.clone(), Tensor::zeros([b], device), labels);
        loss::simple_ce_loss(lp, x)
    }

    /// α_t, α_s for the discrete-time loss, s = t − 1/T (spec §4.3).
    fn discrete_alphas(&self, t: &[f64], steps: usize) -> (Vec<f64>, Vec<f64>) {
        let dt = 1.0 / steps as f64;
        match self.config.alpha_mode {
            AlphaMode::Reference => t
                .iter()
                .map(|&t| {
                    let t = t.min(1.0 - 1e-4);
                    (1.0 - t, 1.0 - (t - dt))
                })
                .unzip(),
            AlphaMode::Exact => t
                .iter()
                .map(|&t| {
                    let t = t.min(1.0);
                    (
                        self.config.schedule.alpha(t),
                        self.config.schedule.alpha((t - dt).max(0.0)),
                    )
                })
                .unzip(),
        }
    }

    fn reduce(
        &self,
        per_token: Tensor<2>,
        mask: Vec<f32>,
        shape: [usize; 2],
        training: bool,
        device: &Device,
    ) -> LossOutput {
        let n_tokens: f64 = mask.iter().map(|&m| m as f64).sum();
        let mask_t = float_tensor(mask, shape, device);
        let nll_sum = (per_token.clone() * mask_t.clone()).sum();
        let loss = if training && self.config.loss_on_pad {
            per_token.mean()
        } else {
            nll_sum.clone() / n_tokens.max(1.0)
        };
        LossOutput {
            loss,
            nll_sum,
            n_tokens,
            n_correct: None,
        }
    }
}
