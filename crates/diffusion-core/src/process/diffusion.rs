//! The three model types (spec §1) on one backbone: the noise, parameterisation and loss that
//! turn a DiT into an MDLM, a UDLM or an AR model.

use crate::denoiser::Denoiser;
use crate::error::Result;
use crate::forward::Noise;
use crate::hybrid::Hybrid;
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
use std::sync::Arc;

pub use super::diffusion_config::{AlphaMode, DiffusionConfig, ModelKind};

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
