//! Reverse diffusion for one batch (spec §5.2): the denoiser pass, the (D-CFG-combined) log
//! step of the process, the D-CBG terms, the draw, carry-over, pins, the corrector and the
//! final noise-free step.

use super::Sampler;
use super::cache::{Caches, ScoreRows, StepCache, cacheable};
use crate::dit::Dit;
use crate::forward::Noise;
use crate::guidance::steer::SteerStats;
use crate::guidance::{cbg_scores, cfg_combine};
use crate::nos::{NosConfig, NosHead};
use crate::posterior::remdm_posterior;
use crate::psi::psi_posterior;
use crate::rng::Rng;
use crate::sample::nucleus::nucleus;
use crate::schedule::NoiseSchedule;
use crate::step::{
    carry_over, corrector_renoise, editable_positions, fill_masked, guided_log_step, reverse_times,
};
use crate::tensor_util::{float_tensor, ids_tensor, to_vec_f32, to_vec_i64, vec_tensor};
use burn::prelude::*;
use burn::tensor::activation::softmax;

/// What every step of one batch shares: its rows (B = sequences × particles), their labels
/// and the pinned positions.
struct Batch<'a> {
    b: usize,
    y: Option<&'a [i64]>,
    pinned: &'a [usize],
}

impl Sampler<'_> {
    /// Denoiser log-probabilities for this step: conditional (or unconditional) and, for D-CFG
    /// with γ ∉ {0, 1}, the unconditional branch from the same batched pass.
    pub(super) fn denoise(
        &self,
        z: &[i64],
        b: usize,
        t: f64,
        labels: Option<&[i64]>,
    ) -> (Tensor<3>, Option<Tensor<3>>) {
        let cfg = &self.diffusion.config;
        let l = cfg.seq_len;
        let sigma = self.diffusion.sigma_input(&vec![t; b]);
        let null = self.model.num_classes() as i64;
        match (labels, self.guidance.cfg_gamma) {
            (Some(y), Some(g)) if g != 0.0 && g != 1.0 => {
                let mut z2 = z.to_vec();
                z2.extend_from_slice(z);
                let mut y2 = y.to_vec();
                y2.extend(std::iter::repeat_n(null, b));
                let sigma2: Vec<f64> = sigma.iter().chain(&sigma).cloned().collect();
                let both = self.diffusion.log_x_theta(
                    self.model,
                    ids_tensor(&z2, 2 * b, l, &self.device),
                    vec_tensor(&sigma2, &self.device),
                    self.label_tensor(Some(&y2), 2 * b),
                );
                (both.clone().narrow(0, 0, b), Some(both.narrow(0, b, b)))
            }
            (Some(_), Some(0.0)) => {
                let y0 = vec![null; b];
                let lx = self.diffusion.log_x_theta(
                    self.model,
                    ids_tensor(z, b, l, &self.device),
                    vec_tensor(&sigma, &self.device),
                    self.label_tensor(Some(&y0), b),
                );
                (lx, None)
            }
            _ => {
                let lx = self.diffusion.log_x_theta(
                    self.model,
                    ids_tensor(z, b, l, &self.device),
                    vec_tensor(&sigma, &self.device),
                    self.label_tensor(labels, b),
                );
                (lx, None)
            }
        }
    }

    /// log of the (D-CFG-combined) reverse-step distribution [B, L, N] to time `s`, or to the
    /// clean data (α_s = 1) when `s` is None (the Ψ-sampler's corrector half, §5.4),
    /// unnormalised.
    pub(super) fn log_step(
        &self,
        z_t: Tensor<2, Int>,
        log_x: Tensor<3>,
        log_x_u: Option<Tensor<3>>,
        t: f64,
        s: Option<f64>,
        b: usize,
    ) -> Tensor<3> {
        let cfg = &self.diffusion.config;
        let sched = &cfg.schedule;
        let gamma = self
            .guidance
            .schedule
            .cfg_gamma(self.guidance.cfg_gamma.unwrap_or(1.0), t);
        let safe_log = |p: Tensor<3>| p.clamp_min(1e-30).log();
        // ReMDM replaces the absorbing step when remasking is on.
        let remask = match (self.diffusion.noise(), self.config.remask_cap, s) {
            (Noise::Absorbing, Some(eta), Some(s)) => {
                let (a_t, a_s) = (sched.alpha(t), sched.alpha(s));
                let sigma = eta.min(((1.0 - a_s) / a_t).min(1.0));
                Some((
                    vec_tensor(&vec![a_t; b], &self.device),
                    vec_tensor(&vec![a_s; b], &self.device),
                    vec_tensor(&vec![sigma; b], &self.device),
                ))
            }
            _ => None,
        };
        // log p(z_s | z_t) from log x_θ (its top-p nucleus under nucleus sampling).
        let log_post = |lx: Tensor<3>| match (&remask, self.nucleus_log(lx)) {
            (Some((a_t, a_s, sigma)), lx) => safe_log(remdm_posterior(
                lx.exp(),
                z_t.clone(),
                cfg.mask_id as usize,
                a_t.clone(),
                a_s.clone(),
                sigma.clone(),
            )),
            (None, lx) => match s {
                Some(s) => self.diffusion.log_reverse_step(lx, z_t.clone(), t, s),
                None => safe_log(self.diffusion.clean_posterior(lx, z_t.clone(), t)),
            },
        };
        match log_x_u {
            // MDLM combines the denoisers by default (keeps the unmasking rate, spec §6.1).
            Some(u)
                if self.diffusion.noise() == Noise::Absorbing
                    && !self.guidance.cfg_posterior_level =>
            {
                log_post(cfg_combine(log_x, u, gamma))
            }
            Some(u) => cfg_combine(log_post(log_x), log_post(u), gamma),
            None => log_post(log_x),
        }
    }

    /// log x_θ [B, L, N] truncated to its top-p nucleus and renormalised when `top_p` is set.
    fn nucleus_log(&self, lx: Tensor<3>) -> Tensor<3> {
        let Some(p) = self.config.top_p else {
            return lx;
        };
        let dims = lx.dims();
        let mut probs = to_vec_f32(lx.exp());
        nucleus(&mut probs, dims[2], p);
        let logs = probs.into_iter().map(f32::ln).collect();
        float_tensor(logs, dims, &self.device)
    }

    /// Reverse diffusion for one batch of `b_out` sequences (spec §5.2): from the prior, each
    /// step takes the denoiser's output (reused where rows did not change), reweights and
    /// resamples particles under SMC steering (§6.5), forms the guided step distribution (a
    /// Ψ-posterior when κ < 1, §5.4), draws z_s (or keeps the best of M candidates under SVDD),
    /// applies carry-over and pins, and optionally corrects; a final noise-free step may
    /// follow. SMC carries K rows per sequence and returns one of them.
    pub(super) fn sample_diffusion(
        &self,
        rng: &mut Rng,
        b_out: usize,
        y_out: Option<&[i64]>,
        bar: &indicatif::ProgressBar,
        on_step: &mut dyn FnMut(usize, &[i64]),
    ) -> (Vec<i64>, usize, Option<SteerStats>) {
        let l = self.diffusion.config.seq_len;
        let k = self.particles();
        let b = b_out * k;
        let y_rows: Option<Vec<i64>> =
            y_out.map(|y| y.iter().flat_map(|&v| std::iter::repeat_n(v, k)).collect());
        let pinned: Vec<usize> = self.pinned.iter().map(|&(p, _)| p).collect();
        let batch = Batch {
            b,
            y: y_rows.as_deref(),
            pinned: &pinned,
        };
        let mut smc = self.smc_weights(b_out);
        let mut stats = SteerStats::default();
        let mut z = self.diffusion.process().sample_prior(rng, b * l);
        self.apply_pins(&mut z);
        let mut caches = Caches {
            step: None,
            rows: None,
            cbg_rows: self.guidance.cbg.iter().map(|_| None).collect(),
        };
        let nos = self.nos_models();
        let use_cache = self.use_cache();
        let mut nfe = 0;
        for (i, &(t, s, kappa)) in self.step_plan().iter().enumerate() {
            let mut den = match caches.step.take() {
                Some(c) => (c.log_x, c.log_x_uncond),
                None => {
                    nfe += 1;
                    self.step_denoise(&z, &batch, t, &mut caches, nos.is_some(), use_cache)
                }
            };
            if let Some((c, w)) = smc.as_mut()
                && let Some(anc) = self.smc_reweight(rng, c, w, &mut z, &den.0, &pinned, &mut stats)
            {
                let idx = Tensor::<1, Int>::from_data(
                    TensorData::new(anc.iter().map(|&a| a as i64).collect::<Vec<_>>(), [b]),
                    &self.device,
                );
                den = (
                    den.0.select(0, idx.clone()),
                    den.1.map(|u| u.select(0, idx)),
                );
            }
            let probs = self.step_probs(&z, &batch, (t, s, kappa), &den, nos.as_ref(), &mut caches);
            let mut z_s = match self.svdd() {
                Some((m, alpha)) => {
                    nfe += m;
                    let y = batch.y;
                    self.svdd_step(rng, &probs, &z, s, y, &pinned, (m, alpha), &mut stats)
                }
                None => self.draw_step(rng, &probs, &z),
            };
            nfe += self.correct(rng, &mut z_s, b, t, s, batch.y);
            if use_cache && z_s == z {
                let (log_x, log_x_uncond) = den;
                caches.step = Some(StepCache {
                    log_x,
                    log_x_uncond,
                });
            }
            z = z_s;
            on_step(i, &z);
            bar.inc(1);
        }
        if self.config.final_denoise {
            self.final_step(&mut z, b, batch.y);
            nfe += 1;
        }
        let steer = self.finish_steering(rng, &mut z, smc, stats);
        (z, nfe, steer)
    }

    /// The denoiser's output at time `t` when the last step's cannot be reused: a placeholder
    /// under NOS (which runs its own perturbed pass, so the plain denoiser is not needed), the
    /// changed rows only with the row cache, else a full pass.
    fn step_denoise(
        &self,
        z: &[i64],
        batch: &Batch,
        t: f64,
        caches: &mut Caches,
        nos: bool,
        use_cache: bool,
    ) -> (Tensor<3>, Option<Tensor<3>>) {
        let cfg = &self.diffusion.config;
        if nos {
            (
                Tensor::zeros([batch.b, cfg.seq_len, cfg.vocab_size], &self.device),
                None,
            )
        } else if use_cache {
            self.denoise_changed_rows(z, batch.b, t, batch.y, &mut caches.rows)
        } else {
            self.denoise(z, batch.b, t, batch.y)
        }
    }

    /// The step distribution [B·L, N] from `t` to `s`: the process's (or NOS's) log step from
    /// the denoiser output `den` (conditional, unconditional), plus the D-CBG terms, as
    /// softmax(log p + Σγ·score); when κ < 1 the Ψ-posterior mixes it with the same guided
    /// step to the clean data (§5.4).
    fn step_probs(
        &self,
        z: &[i64],
        batch: &Batch,
        (t, s, kappa): (f64, f64, f64),
        den: &(Tensor<3>, Option<Tensor<3>>),
        nos: Option<&(Dit, NosHead, NosConfig)>,
        caches: &mut Caches,
    ) -> Vec<f32> {
        let cfg = &self.diffusion.config;
        let (b, l) = (batch.b, cfg.seq_len);
        let (log_x, log_x_u) = den;
        let z_t = ids_tensor(z, b, l, &self.device);
        let log_p = match nos {
            Some((gen_ad, head_ad, nc)) => crate::nos::nos_log_step(
                self.diffusion,
                gen_ad,
                head_ad,
                z,
                self.label_tensor(batch.y, b),
                t,
                s,
                nc,
                &self.device,
            ),
            None => self.log_step(z_t.clone(), log_x.clone(), log_x_u.clone(), t, Some(s), b),
        };
        let terms = self.cbg_terms(z, b, t, batch.pinned, &mut caches.cbg_rows);
        let q_s = softmax(guided_log_step(log_p, terms.clone()), 2);
        if kappa >= 1.0 {
            return to_vec_f32(q_s);
        }
        // The Ψ-posterior: the same guidance on the posterior over the clean token.
        let log_q0 = self.log_step(z_t, log_x.clone(), log_x_u.clone(), t, None, b);
        let q_0 = softmax(guided_log_step(log_q0, terms), 2);
        let p = self.diffusion.process();
        to_vec_f32(psi_posterior(
            q_s,
            q_0,
            (p.alpha(s), p.mixing(s)),
            kappa,
            cfg.mask_id as usize,
        ))
    }

    /// One draw of z_s from the step distribution `probs` [B·L, N], with carry-over (absorbing
    /// noise) and pins.
    pub(super) fn draw_step(&self, rng: &mut Rng, probs: &[f32], z: &[i64]) -> Vec<i64> {
        let cfg = &self.diffusion.config;
        let mut z_s = self.draw(rng, probs, cfg.vocab_size);
        if self.diffusion.process().unmasked_is_final() {
            // Carry-over: unmasked tokens are never changed (spec §5.2 item 6); with ReMDM
            // remasking or a Ψ-sampler they may only return to the mask.
            let remasking = self.config.remask_cap.is_some() || self.config.psi.is_some();
            carry_over(&mut z_s, z, cfg.mask_id, remasking);
        }
        self.apply_pins(&mut z_s);
        z_s
    }

    /// The generator and NOS head on the autodiff device, when NOS guides.
    pub(super) fn nos_models(&self) -> Option<(Dit, NosHead, NosConfig)> {
        self.guidance.nos.as_ref().map(|term| {
            let ad = self.device.clone().autodiff();
            (
                self.model
                    .as_dit()
                    .expect("with_guidance admits NOS only for a DiT")
                    .clone()
                    .to_device(&ad)
                    .no_grad(),
                term.head.clone().to_device(&ad).no_grad(),
                term.config,
            )
        })
    }

    /// The D-CBG terms (s_k, γ_k(t)) at time t (spec §6.2) over the positions not `pinned`,
    /// for [`guided_log_step`]; each term's scores reused per row where its classifier ignores
    /// σ and caching is on.
    pub(super) fn cbg_terms(
        &self,
        z: &[i64],
        b: usize,
        t: f64,
        pinned: &[usize],
        cbg_rows: &mut [Option<ScoreRows>],
    ) -> Vec<(Tensor<3>, f64)> {
        if self.guidance.cbg.is_empty() {
            return Vec::new();
        }
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        let editable = editable_positions(z, l, pinned, self.diffusion.noise(), cfg.mask_id);
        // The noise level σ(t) of z_t, whatever the generator's own time input: a
        // time-conditioned classifier guiding an MDLM (whose network takes no σ) sees σ(t), as
        // in its training and in the reference; each term zeroes it for a classifier that is
        // not time-conditioned.
        let sigma = vec![self.diffusion.process().sigma(t); b];
        let reuse_rows = self.config.use_cache != Some(false);
        let mut terms = Vec::with_capacity(self.guidance.cbg.len());
        for (term, rows) in self.guidance.cbg.iter().zip(cbg_rows.iter_mut()) {
            let gamma_t = self.guidance.schedule.cbg_gamma(term.gamma, t);
            if gamma_t == 0.0 {
                continue; // a schedule that switches the term off at this t
            }
            let scores = if reuse_rows && cacheable(term) {
                self.cbg_scores_changed_rows(term, z, b, &sigma, &editable, rows)
            } else {
                cbg_scores(term, z, l, n, &sigma, Some(&editable), &self.device)
            };
            terms.push((scores, gamma_t));
        }
        terms
    }

    /// (t, s, κ) of each reverse step: the ancestral grid with κ = 1, or a Ψ-sampler's plan.
    pub(super) fn step_plan(&self) -> Vec<(f64, f64, f64)> {
        let cfg = &self.diffusion.config;
        let times = reverse_times(self.config.steps, self.config.eps, cfg.discrete_steps);
        match &self.config.psi {
            // `Sampler::new` validated the plan's settings.
            Some(psi) => psi
                .plan(&times, self.config.eps, &|t| {
                    self.diffusion.process().alpha(t)
                })
                .expect("Ψ settings checked by Sampler::new"),
            None => times.into_iter().map(|(t, s)| (t, s, 1.0)).collect(),
        }
    }

    /// `corrector_steps` forward–backward corrections of z_s at the same (t, s): renoise with
    /// keep probability α_t/α_s, then redraw from the step distribution. Returns the network
    /// evaluations spent.
    pub(super) fn correct(
        &self,
        rng: &mut Rng,
        z_s: &mut Vec<i64>,
        b: usize,
        t: f64,
        s: f64,
        y: Option<&[i64]>,
    ) -> usize {
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        for _ in 0..self.config.corrector_steps {
            let keep = cfg.schedule.alpha(t) / cfg.schedule.alpha(s);
            corrector_renoise(rng, z_s, keep, n);
            self.apply_pins(z_s);
            let (c, u) = self.denoise(z_s, b, t, y);
            let lp = self.log_step(ids_tensor(z_s, b, l, &self.device), c, u, t, Some(s), b);
            *z_s = self.draw(rng, &to_vec_f32(softmax(lp, 2)), n);
            self.apply_pins(z_s);
        }
        self.config.corrector_steps
    }

    /// The final noise-free step at t = ε: positions that may still change take the
    /// (D-CFG-combined) denoiser's argmax.
    pub(super) fn final_step(&self, z: &mut [i64], b: usize, y: Option<&[i64]>) {
        let cfg = &self.diffusion.config;
        let (log_x, log_x_u) = self.denoise(z, b, self.config.eps, y);
        let log_x = match log_x_u {
            Some(u) => {
                let gamma = self.guidance.cfg_gamma.unwrap_or(1.0);
                cfg_combine(
                    log_x,
                    u,
                    self.guidance.schedule.cfg_gamma(gamma, self.config.eps),
                )
            }
            None => log_x,
        };
        let best = to_vec_i64(log_x.argmax(2).reshape([b * cfg.seq_len]));
        fill_masked(z, &best, self.diffusion.noise(), cfg.mask_id);
        self.apply_pins(z);
    }
}
