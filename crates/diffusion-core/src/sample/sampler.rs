//! Ancestral samplers (spec §5.2–5.3): MDLM and UDLM reverse diffusion on the grid
//! linspace(1, ε, T + 1), with the MDLM cache and an optional final noise-removal step, and
//! the AR sampler.

use crate::categorical::{sample_rows_f32, sample_rows_f64};
use crate::denoiser::Denoiser;
use crate::diffusion::{Diffusion, ModelKind};
use crate::dit::Dit;
use crate::error::{CoreError, Result};
use crate::forward::{Noise, sample_prior};
use crate::guidance::{CbgTerm, FudgeTerm, Guidance, cbg_scores, cfg_combine};
use crate::nos::{NosConfig, NosHead};
use crate::posterior::remdm_posterior;
use crate::rng::Rng;
use crate::schedule::NoiseSchedule;
use crate::step::{
    carry_over, corrector_renoise, editable_positions, fill_masked, guided_log_step, reverse_times,
};
use crate::tensor_util::{ids_tensor, to_vec_f32, to_vec_i64, vec_tensor};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};
use serde::{Deserialize, Serialize};

fn d_eps() -> f64 {
    1e-5
}
fn d_steps() -> usize {
    128
}
fn d_batch() -> usize {
    64
}

/// Sampling settings (spec §5.2, §12 `sampling.*`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerConfig {
    /// Number of reverse steps T.
    #[serde(default = "d_steps")]
    pub steps: usize,
    /// Last time of the grid (1e-5 in the reference; differs from the training ε).
    #[serde(default = "d_eps")]
    pub eps: f64,
    /// Reuse the denoiser output when a step changed nothing. Default: on for MDLM (not
    /// time-conditioned), off otherwise. Enabling it for a time-conditioned model is an error.
    /// Independently, D-CBG scores of a σ-free classifier are reused for rows that did not
    /// change (exact, both noises) unless this is `Some(false)`.
    #[serde(default)]
    pub use_cache: Option<bool>,
    /// Run the categorical race in f64.
    #[serde(default)]
    pub use_float64: bool,
    /// Finish with argmax x_θ at ε (the parent MDLM repo does; the reference here does not).
    #[serde(default)]
    pub final_denoise: bool,
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    #[serde(default)]
    pub seed: u64,
    /// BOS id that starts AR samples.
    #[serde(default)]
    pub bos_id: Option<i64>,
    /// ReMDM-cap remasking for MDLM (off by default): each step re-masks unmasked tokens with
    /// σ_t = min(η_cap, (1 − α_s)/α_t), letting the sampler revise earlier choices.
    #[serde(default)]
    pub remask_cap: Option<f64>,
    /// Forward-backward corrector steps for UDLM after each predictor step (off by default):
    /// re-noise z_s to t with q(z_t | z_s) (keep with α_t/α_s, else a uniform id), then take a
    /// reverse step t → s again. Each costs one network evaluation.
    #[serde(default)]
    pub corrector_steps: usize,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self {
            steps: 128,
            eps: 1e-5,
            use_cache: None,
            use_float64: false,
            final_denoise: false,
            batch_size: 64,
            seed: 0,
            bos_id: None,
            remask_cap: None,
            corrector_steps: 0,
        }
    }
}

/// Generated sequences and the number of network evaluations spent.
#[derive(Clone, Debug)]
pub struct Samples {
    /// Row-major [n, L].
    pub tokens: Vec<i64>,
    pub seq_len: usize,
    pub nfe: usize,
}

impl Samples {
    pub fn rows(&self) -> impl Iterator<Item = &[i64]> {
        self.tokens.chunks(self.seq_len)
    }
}

/// Class labels of the sequences of one sampling call.
#[derive(Clone, Copy, Debug)]
pub enum Labels<'a> {
    /// Unconditional (a class-conditional model samples its null class).
    None,
    /// The same class for every sequence.
    All(i64),
    /// One class per sequence.
    Each(&'a [i64]),
}

impl Labels<'_> {
    /// The labels of the `b` sequences from `start`.
    fn batch(&self, start: usize, b: usize) -> Option<Vec<i64>> {
        match *self {
            Labels::None => None,
            Labels::All(v) => Some(vec![v; b]),
            Labels::Each(y) => Some(y[start..start + b].to_vec()),
        }
    }
}

/// A sampler bound to a diffusion process and a model, with optional guidance and pinned
/// (infilled) positions.
pub struct Sampler<'a> {
    pub diffusion: &'a Diffusion,
    pub model: &'a dyn Denoiser,
    pub config: SamplerConfig,
    pub device: Device,
    pub guidance: Guidance<'a>,
    /// (position, token) pairs held fixed in every sample at every step.
    pub pinned: Vec<(usize, i64)>,
}

/// Per-sequence MDLM cache: the ids each row's denoiser output was computed for, and the
/// outputs (host copies, row-major [B, L, N]).
struct RowCache {
    z: Vec<i64>,
    log_x: Vec<f32>,
    log_x_uncond: Option<Vec<f32>>,
}

/// Per-sequence D-CBG scores of one term whose classifier ignores σ: the ids each row's
/// scores [L, N] were computed for.
struct ScoreRows {
    z: Vec<i64>,
    scores: Vec<f32>,
}

/// What one batch's reverse steps reuse: the whole step's denoiser outputs while no row
/// changed, the per-row denoiser outputs, and per-row D-CBG scores of each term.
struct Caches {
    step: Option<StepCache>,
    rows: Option<RowCache>,
    cbg_rows: Vec<Option<ScoreRows>>,
}

/// Denoiser outputs of one step, reusable while the sequences do not change (MDLM cache).
/// D-CBG scores are reused per row instead ([`ScoreRows`]).
struct StepCache {
    log_x: Tensor<3>,
    log_x_uncond: Option<Tensor<3>>,
}

impl<'a> Sampler<'a> {
    pub fn new(
        diffusion: &'a Diffusion,
        model: &'a dyn Denoiser,
        config: SamplerConfig,
        device: &Device,
    ) -> Result<Self> {
        if config.steps == 0 {
            return Err(CoreError::config("sampling.steps", "must be positive"));
        }
        if !(0.0..1.0).contains(&config.eps) {
            return Err(CoreError::config("sampling.eps", "must be in [0, 1)"));
        }
        if let Some(eta) = config.remask_cap
            && (!(0.0..=1.0).contains(&eta) || diffusion.kind() != ModelKind::Mdlm)
        {
            return Err(CoreError::config(
                "sampling.remask_cap",
                "ReMDM remasking needs an MDLM model and η_cap in [0, 1]",
            ));
        }
        if config.corrector_steps > 0 && diffusion.kind() != ModelKind::Udlm {
            return Err(CoreError::config(
                "sampling.corrector_steps",
                "corrector steps are for UDLM; use remask_cap (ReMDM) for MDLM",
            ));
        }
        if config.batch_size == 0 {
            return Err(CoreError::config("sampling.batch_size", "must be positive"));
        }
        if config.use_cache == Some(true)
            && (diffusion.time_conditioned() || diffusion.kind() != ModelKind::Mdlm)
        {
            return Err(CoreError::config(
                "sampling.use_cache",
                "the cache is valid only for MDLM models that are not time-conditioned (spec §13.11)",
            ));
        }
        Ok(Self {
            diffusion,
            model,
            config,
            device: device.clone(),
            guidance: Guidance::default(),
            pinned: Vec::new(),
        })
    }

    /// Add guidance (D-CFG and/or D-CBG terms).
    pub fn with_guidance(mut self, guidance: Guidance<'a>) -> Result<Self> {
        if let Some(g) = guidance.cfg_gamma {
            if !g.is_finite() {
                return Err(CoreError::config("guidance.cfg_gamma", "must be finite"));
            }
            if !self.model.is_conditional() {
                return Err(CoreError::config(
                    "guidance.cfg_gamma",
                    "classifier-free guidance needs a class-conditional model (trained with labels)",
                ));
            }
        }
        if let Some(nos) = &guidance.nos {
            if self.model.as_dit().is_none() {
                return Err(CoreError::config(
                    "guidance.nos",
                    "NOS works on the hidden states of a DiT generator",
                ));
            }
            if self.diffusion.kind() == ModelKind::Ar
                || !guidance.cbg.is_empty()
                || guidance.cfg_gamma.is_some()
            {
                return Err(CoreError::config(
                    "guidance.nos",
                    "NOS guides MDLM / UDLM models and is not combined with D-CFG or D-CBG here",
                ));
            }
            let c = &nos.config;
            let classes = nos.head.head.weight.val().dims()[1] as i64;
            if c.target >= classes {
                return Err(CoreError::config(
                    "guidance.target",
                    format!("class {} is not one of the NOS head's {classes}", c.target),
                ));
            }
            if c.steps == 0
                || c.step_size.is_nan()
                || c.step_size <= 0.0
                || !c.stability.is_finite()
                || c.target < 0
            {
                return Err(CoreError::config(
                    "guidance.nos",
                    "steps ≥ 1, step size > 0, finite λ and a class target",
                ));
            }
        }
        if let Some(f) = &guidance.fudge {
            f.validate()?;
            if self.diffusion.kind() != ModelKind::Ar {
                return Err(CoreError::config(
                    "guidance.fudge",
                    "FUDGE is for AR models; use D-CBG for diffusion",
                ));
            }
        }
        for term in &guidance.cbg {
            term.validate()?;
            if self.diffusion.kind() == ModelKind::Ar {
                return Err(CoreError::config(
                    "guidance.cbg",
                    "D-CBG is for diffusion models; use FUDGE for AR",
                ));
            }
            if !term.gamma.is_finite() {
                return Err(CoreError::config("guidance.gamma", "must be finite"));
            }
        }
        self.guidance = guidance;
        Ok(self)
    }

    /// Hold `(position, token)` pairs fixed in every sample (infilling / motif constraints).
    pub fn with_pinned(mut self, pinned: Vec<(usize, i64)>) -> Result<Self> {
        let cfg = &self.diffusion.config;
        for &(p, v) in &pinned {
            if p >= cfg.seq_len {
                return Err(CoreError::config(
                    "sampling.pinned",
                    format!("position {p} is beyond the length {}", cfg.seq_len),
                ));
            }
            if v < 0 || v as usize >= cfg.vocab_size || v == cfg.mask_id {
                return Err(CoreError::config(
                    "sampling.pinned",
                    format!("token {v} at position {p} is not a valid non-mask id"),
                ));
            }
        }
        self.pinned = pinned;
        Ok(self)
    }

    fn apply_pins(&self, z: &mut [i64]) {
        let l = self.diffusion.config.seq_len;
        for row in z.chunks_mut(l) {
            for &(p, v) in &self.pinned {
                row[p] = v;
            }
        }
    }

    fn use_cache(&self) -> bool {
        if self.guidance.nos.is_some() {
            return false; // NOS perturbs the hidden state per step
        }
        self.config.use_cache.unwrap_or(
            self.diffusion.kind() == ModelKind::Mdlm && !self.diffusion.time_conditioned(),
        )
    }

    /// Generate `n` sequences. `labels` (one per sample) condition a class-conditional model;
    /// None samples it unconditionally (null class).
    pub fn sample(&self, n: usize, labels: Option<&[i64]>, progress: bool) -> Result<Samples> {
        self.sample_with(n, labels, progress, &mut |_, _| {})
    }

    /// As [`Sampler::sample`], calling `on_step(step, z_s)` after each reverse step of each batch.
    pub fn sample_with(
        &self,
        n: usize,
        labels: Option<&[i64]>,
        progress: bool,
        on_step: &mut dyn FnMut(usize, &[i64]),
    ) -> Result<Samples> {
        check_sample_count(n, self.diffusion.config.seq_len)?;
        let labels = match labels {
            Some(y) => Labels::Each(y),
            None => Labels::None,
        };
        let mut tokens = Vec::with_capacity(n * self.diffusion.config.seq_len);
        let nfe = self.sample_stream(n, labels, progress, on_step, &mut |batch| {
            tokens.extend_from_slice(&batch.tokens);
            Ok(())
        })?;
        Ok(Samples {
            tokens,
            seq_len: self.diffusion.config.seq_len,
            nfe,
        })
    }

    /// Generate `n` sequences batch by batch, handing each finished batch to `on_batch` (in
    /// order) so that memory stays bounded by one batch whatever `n` is; returns the network
    /// evaluations spent. The sequences are those of [`Sampler::sample`] with the same seed:
    /// batch `i` draws from its own stream `(seed, i)`.
    pub fn sample_stream(
        &self,
        n: usize,
        labels: Labels<'_>,
        progress: bool,
        on_step: &mut dyn FnMut(usize, &[i64]),
        on_batch: &mut dyn FnMut(Samples) -> Result<()>,
    ) -> Result<usize> {
        let l = self.diffusion.config.seq_len;
        check_stream_count(n, l, self.config.batch_size)?;
        self.check_labels(n, &labels)?;
        let steps_per_batch = if self.diffusion.kind() == ModelKind::Ar {
            l - 1
        } else {
            self.config.steps
        };
        let bar = if progress {
            let total =
                (n.div_ceil(self.config.batch_size) as u64).saturating_mul(steps_per_batch as u64);
            indicatif::ProgressBar::new(total)
        } else {
            indicatif::ProgressBar::hidden()
        };
        let mut nfe = 0;
        for (bi, start) in (0..n).step_by(self.config.batch_size).enumerate() {
            let b = (n - start).min(self.config.batch_size);
            let mut rng = Rng::stream(self.config.seed, bi as u64);
            let y = labels.batch(start, b);
            let (z, used) = match self.diffusion.kind() {
                ModelKind::Ar => self.sample_ar(&mut rng, b, y.as_deref(), &bar, on_step)?,
                _ => self.sample_diffusion(&mut rng, b, y.as_deref(), &bar, on_step),
            };
            nfe += used;
            on_batch(Samples {
                tokens: z,
                seq_len: l,
                nfe: used,
            })?;
        }
        bar.finish_and_clear();
        Ok(nfe)
    }

    /// The labels must be valid classes of the model, and D-CFG needs them.
    fn check_labels(&self, n: usize, labels: &Labels<'_>) -> Result<()> {
        let bad_class = |v: i64| v < 0 || v as usize > self.model.num_classes();
        match *labels {
            Labels::Each(y) => {
                if y.len() != n {
                    return Err(CoreError::config(
                        "sampling.labels",
                        format!("{} labels for {n} samples", y.len()),
                    ));
                }
                if let Some(bad) = y.iter().find(|&&v| bad_class(v)) {
                    return Err(CoreError::config(
                        "sampling.labels",
                        format!("label {bad} is not a class of this model"),
                    ));
                }
            }
            Labels::All(v) if bad_class(v) => {
                return Err(CoreError::config(
                    "sampling.labels",
                    format!("label {v} is not a class of this model"),
                ));
            }
            Labels::All(_) => {}
            Labels::None => {
                if self.guidance.cfg_gamma.is_some() {
                    return Err(CoreError::config(
                        "sampling.labels",
                        "classifier-free guidance needs a target class per sample",
                    ));
                }
            }
        }
        Ok(())
    }

    fn label_tensor(&self, y: Option<&[i64]>, b: usize) -> Option<Tensor<1, Int>> {
        y.map(|y| Tensor::from_data(TensorData::new(y.to_vec(), [b]), &self.device))
    }

    fn draw(&self, rng: &mut Rng, probs: &[f32], n: usize) -> Vec<i64> {
        if self.config.use_float64 {
            sample_rows_f64(rng, probs, n)
        } else {
            sample_rows_f32(rng, probs, n)
        }
    }

    /// Denoiser log-probabilities for this step: conditional (or unconditional) and, for D-CFG
    /// with γ ∉ {0, 1}, the unconditional branch from the same batched pass.
    fn denoise(
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

    /// MDLM cache per sequence: a time-independent denoiser's output for a row depends only on
    /// that row, so only rows that changed since they were last evaluated are recomputed (one
    /// batched pass over the changed rows). Identical outputs, fewer rows evaluated.
    fn denoise_changed_rows(
        &self,
        z: &[i64],
        b: usize,
        t: f64,
        y: Option<&[i64]>,
        row_cache: &mut Option<RowCache>,
    ) -> (Tensor<3>, Option<Tensor<3>>) {
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        let changed = changed_rows(row_cache.as_ref().map(|rc| rc.z.as_slice()), z, l);
        if changed.len() == b || row_cache.is_none() {
            let (c, u) = self.denoise(z, b, t, y);
            *row_cache = Some(RowCache {
                z: z.to_vec(),
                log_x: to_vec_f32(c.clone()),
                log_x_uncond: u.clone().map(to_vec_f32),
            });
            return (c, u);
        }
        let rc = row_cache.as_mut().expect("row cache present");
        if !changed.is_empty() {
            let sub_y = y.map(|y| pick_rows(y, &changed, 1));
            let (c, u) = self.denoise(
                &pick_rows(z, &changed, l),
                changed.len(),
                t,
                sub_y.as_deref(),
            );
            let (c, u) = (to_vec_f32(c), u.map(to_vec_f32));
            let row = l * n;
            for (j, &r) in changed.iter().enumerate() {
                rc.log_x[r * row..(r + 1) * row].copy_from_slice(&c[j * row..(j + 1) * row]);
                if let (Some(dst), Some(src)) = (rc.log_x_uncond.as_mut(), u.as_ref()) {
                    dst[r * row..(r + 1) * row].copy_from_slice(&src[j * row..(j + 1) * row]);
                }
                rc.z[r * l..(r + 1) * l].copy_from_slice(&z[r * l..(r + 1) * l]);
            }
        }
        let to_t = |v: &Vec<f32>| {
            Tensor::<3>::from_data(TensorData::new(v.clone(), [b, l, n]), &self.device)
        };
        (to_t(&rc.log_x), rc.log_x_uncond.as_ref().map(to_t))
    }

    /// D-CBG scores of `term` [B, L, N], re-evaluating only the rows whose ids changed since
    /// `rows` was filled. Only for terms whose classifier ignores σ ([`cacheable`]): a row's
    /// scores then depend on its ids alone, so reusing them is exact.
    #[allow(clippy::too_many_arguments)]
    fn cbg_scores_changed_rows(
        &self,
        term: &CbgTerm<'_>,
        z: &[i64],
        b: usize,
        sigma: &[f64],
        editable: &[bool],
        rows: &mut Option<ScoreRows>,
    ) -> Tensor<3> {
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        let changed = changed_rows(rows.as_ref().map(|sr| sr.z.as_slice()), z, l);
        if changed.len() == b || rows.is_none() {
            let scores = cbg_scores(term, z, l, n, sigma, Some(editable), &self.device);
            *rows = Some(ScoreRows {
                z: z.to_vec(),
                scores: to_vec_f32(scores.clone()),
            });
            return scores;
        }
        let sr = rows.as_mut().expect("score rows present");
        if !changed.is_empty() {
            let sub = to_vec_f32(cbg_scores(
                term,
                &pick_rows(z, &changed, l),
                l,
                n,
                &pick_rows(sigma, &changed, 1),
                Some(&pick_rows(editable, &changed, l)),
                &self.device,
            ));
            let row = l * n;
            for (j, &r) in changed.iter().enumerate() {
                sr.scores[r * row..(r + 1) * row].copy_from_slice(&sub[j * row..(j + 1) * row]);
                sr.z[r * l..(r + 1) * l].copy_from_slice(&z[r * l..(r + 1) * l]);
            }
        }
        Tensor::<3>::from_data(TensorData::new(sr.scores.clone(), [b, l, n]), &self.device)
    }

    /// log of the (guided) reverse-step distribution [B, L, N], unnormalised.
    fn log_step(
        &self,
        z_t: Tensor<2, Int>,
        log_x: Tensor<3>,
        log_x_u: Option<Tensor<3>>,
        t: f64,
        s: f64,
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
        let remask = match (self.diffusion.noise(), self.config.remask_cap) {
            (Noise::Absorbing, Some(eta)) => {
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
        // log p(z_s | z_t) from log x_θ.
        let log_post = |lx: Tensor<3>| match &remask {
            Some((a_t, a_s, sigma)) => safe_log(remdm_posterior(
                lx.exp(),
                z_t.clone(),
                cfg.mask_id as usize,
                a_t.clone(),
                a_s.clone(),
                sigma.clone(),
            )),
            None => self.diffusion.log_reverse_step(lx, z_t.clone(), t, s),
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

    /// Reverse diffusion for one batch of `b` sequences (spec §5.2): from the prior, each step
    /// takes the denoiser's output (reused where rows did not change), forms the guided step
    /// distribution, draws z_s, applies carry-over and pins, and optionally corrects; a final
    /// noise-free step may follow.
    fn sample_diffusion(
        &self,
        rng: &mut Rng,
        b: usize,
        y: Option<&[i64]>,
        bar: &indicatif::ProgressBar,
        on_step: &mut dyn FnMut(usize, &[i64]),
    ) -> (Vec<i64>, usize) {
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        let mut z = sample_prior(rng, b * l, self.diffusion.noise(), n, cfg.mask_id);
        self.apply_pins(&mut z);
        let mut caches = Caches {
            step: None,
            rows: None,
            cbg_rows: self.guidance.cbg.iter().map(|_| None).collect(),
        };
        let nos = self.nos_models();
        let mut nfe = 0;
        let times = reverse_times(self.config.steps, self.config.eps, cfg.discrete_steps);
        for (i, &(t, s)) in times.iter().enumerate() {
            let (log_x, log_x_u) = match caches.step.take() {
                Some(c) => (c.log_x, c.log_x_uncond),
                None if nos.is_some() => {
                    // NOS runs its own (perturbed) pass; the plain denoiser is not needed.
                    nfe += 1;
                    (Tensor::zeros([b, l, n], &self.device), None)
                }
                None => {
                    nfe += 1;
                    if self.use_cache() {
                        self.denoise_changed_rows(&z, b, t, y, &mut caches.rows)
                    } else {
                        self.denoise(&z, b, t, y)
                    }
                }
            };
            let log_p = match &nos {
                Some((gen_ad, head_ad, nc)) => crate::nos::nos_log_step(
                    self.diffusion,
                    gen_ad,
                    head_ad,
                    &z,
                    self.label_tensor(y, b),
                    t,
                    s,
                    nc,
                    &self.device,
                ),
                None => {
                    let z_t = ids_tensor(&z, b, l, &self.device);
                    self.log_step(z_t, log_x.clone(), log_x_u.clone(), t, s, b)
                }
            };
            let log_p = self.with_cbg_terms(log_p, &z, b, t, &mut caches.cbg_rows);
            let mut z_s = self.draw(rng, &to_vec_f32(softmax(log_p, 2)), n);
            if self.diffusion.noise() == Noise::Absorbing {
                // Carry-over: unmasked tokens are never changed (spec §5.2 item 6); with ReMDM
                // remasking they may only return to the mask.
                carry_over(&mut z_s, &z, cfg.mask_id, self.config.remask_cap.is_some());
            }
            self.apply_pins(&mut z_s);
            nfe += self.correct(rng, &mut z_s, b, t, s, y);
            if self.use_cache() && z_s == z {
                caches.step = Some(StepCache {
                    log_x,
                    log_x_uncond: log_x_u,
                });
            }
            z = z_s;
            on_step(i, &z);
            bar.inc(1);
        }
        if self.config.final_denoise {
            self.final_step(&mut z, b, y);
            nfe += 1;
        }
        (z, nfe)
    }

    /// The generator and NOS head on the autodiff device, when NOS guides.
    fn nos_models(&self) -> Option<(Dit, NosHead, NosConfig)> {
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

    /// `log_p` plus Σγ_k(t)·s_k of the D-CBG terms at time t (spec §6.2), each term's scores
    /// reused per row where its classifier ignores σ and caching is on.
    fn with_cbg_terms(
        &self,
        log_p: Tensor<3>,
        z: &[i64],
        b: usize,
        t: f64,
        cbg_rows: &mut [Option<ScoreRows>],
    ) -> Tensor<3> {
        if self.guidance.cbg.is_empty() {
            return log_p;
        }
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        let pinned: Vec<usize> = self.pinned.iter().map(|&(p, _)| p).collect();
        let editable = editable_positions(z, l, &pinned, self.diffusion.noise(), cfg.mask_id);
        // The noise level σ(t) of z_t, whatever the generator's own time input: a
        // time-conditioned classifier guiding an MDLM (whose network takes no σ) sees σ(t), as
        // in its training and in the reference; each term zeroes it for a classifier that is
        // not time-conditioned.
        let sigma = vec![cfg.schedule.sigma(t); b];
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
        guided_log_step(log_p, terms)
    }

    /// `corrector_steps` forward–backward corrections of z_s at the same (t, s): renoise with
    /// keep probability α_t/α_s, then redraw from the step distribution. Returns the network
    /// evaluations spent.
    fn correct(
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
            let lp = self.log_step(ids_tensor(z_s, b, l, &self.device), c, u, t, s, b);
            *z_s = self.draw(rng, &to_vec_f32(softmax(lp, 2)), n);
            self.apply_pins(z_s);
        }
        self.config.corrector_steps
    }

    /// The final noise-free step at t = ε: positions that may still change take the
    /// (D-CFG-combined) denoiser's argmax.
    fn final_step(&self, z: &mut [i64], b: usize, y: Option<&[i64]>) {
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

    /// AR sampling (spec §5.3): position 0 = BOS, then L − 1 tokens one by one by
    /// argmax(log p + Gumbel) (here: the equivalent exponential race). No KV cache.
    fn sample_ar(
        &self,
        rng: &mut Rng,
        b: usize,
        y: Option<&[i64]>,
        bar: &indicatif::ProgressBar,
        on_step: &mut dyn FnMut(usize, &[i64]),
    ) -> Result<(Vec<i64>, usize)> {
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        let bos = self.config.bos_id.ok_or_else(|| {
            CoreError::config(
                "sampling.bos_id",
                "AR sampling needs the tokenizer's BOS id",
            )
        })?;
        let labels = self.label_tensor(y, b);
        let mut z = vec![cfg.pad_id.unwrap_or(bos); b * l];
        for r in 0..b {
            z[r * l] = bos;
        }
        self.apply_pins(&mut z);
        let gamma = self.guidance.cfg_gamma;
        let null = self.model.num_classes() as i64;
        for i in 1..l {
            let prefix: Vec<i64> = z.chunks(l).flat_map(|r| r[..i].to_vec()).collect();
            // Next-token log-probs [rows, 1, N] at position i − 1.
            let next_lp = |ids: &[i64], rows: usize, lab: Option<Tensor<1, Int>>| {
                let logits = self.model.forward(
                    ids_tensor(ids, rows, i, &self.device),
                    Tensor::zeros([rows], &self.device),
                    lab,
                );
                log_softmax(logits.narrow(1, i - 1, 1), 2)
            };
            let lp = match (y, gamma) {
                (Some(yv), Some(g)) if g != 0.0 && g != 1.0 => {
                    let mut ids2 = prefix.clone();
                    ids2.extend_from_slice(&prefix);
                    let mut y2 = yv.to_vec();
                    y2.extend(std::iter::repeat_n(null, b));
                    let both = next_lp(&ids2, 2 * b, self.label_tensor(Some(&y2), 2 * b));
                    cfg_combine(both.clone().narrow(0, 0, b), both.narrow(0, b, b), g)
                }
                (Some(_), Some(0.0)) => {
                    next_lp(&prefix, b, self.label_tensor(Some(&vec![null; b]), b))
                }
                _ => next_lp(&prefix, b, labels.clone()),
            };
            let next = match &self.guidance.fudge {
                None => self.draw(rng, &to_vec_f32(lp.exp().reshape([b, n])), n),
                Some(f) => self.fudge_step(rng, f, &prefix, &to_vec_f32(lp.reshape([b, n])), b, i),
            };
            for r in 0..b {
                z[r * l + i] = next[r];
            }
            self.apply_pins(&mut z);
            on_step(i - 1, &z);
            bar.inc(1);
        }
        Ok((z, l - 1))
    }
}

impl Sampler<'_> {
    /// One FUDGE step: rescore the top-k next tokens of each row with the causal classifier.
    fn fudge_step(
        &self,
        rng: &mut Rng,
        f: &FudgeTerm<'_>,
        prefix: &[i64],
        lp: &[f32],
        b: usize,
        i: usize,
    ) -> Vec<i64> {
        let n = self.diffusion.config.vocab_size;
        let k = f.top_k.min(n);
        let mut cands = Vec::with_capacity(b * k);
        let mut ids = Vec::with_capacity(b * k * (i + 1));
        for r in 0..b {
            let row = &lp[r * n..(r + 1) * n];
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &c| row[c].total_cmp(&row[a]));
            for &v in &order[..k] {
                cands.push(v);
                ids.extend_from_slice(&prefix[r * i..(r + 1) * i]);
                ids.push(v as i64);
            }
        }
        let clf = f
            .classifier
            .position_log_probs(ids_tensor(&ids, b * k, i + 1, &self.device)); // [B·k, i+1, C]
        let c = clf.dims()[2];
        let at = to_vec_f32(clf.narrow(1, i, 1).reshape([b * k, c]));
        let mut probs = Vec::with_capacity(b * k);
        for r in 0..b {
            let scores: Vec<f64> = (0..k)
                .map(|j| {
                    let v = cands[r * k + j];
                    lp[r * n + v] as f64 + f.gamma * at[(r * k + j) * c + f.target as usize] as f64
                })
                .collect();
            let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            probs.extend(scores.iter().map(|s| (s - m).exp() as f32));
        }
        self.draw(rng, &probs, k)
            .into_iter()
            .enumerate()
            .map(|(r, j)| cands[r * k + j as usize] as i64)
            .collect()
    }
}

/// Indices of the rows of `z` [B, L] that differ from `prev` (every row when there is none).
fn changed_rows(prev: Option<&[i64]>, z: &[i64], l: usize) -> Vec<usize> {
    let b = z.len() / l;
    match prev {
        Some(p) => (0..b)
            .filter(|&r| p[r * l..(r + 1) * l] != z[r * l..(r + 1) * l])
            .collect(),
        None => (0..b).collect(),
    }
}

/// The listed rows of a row-major buffer with `width` values per row, concatenated.
fn pick_rows<T: Copy>(v: &[T], rows: &[usize], width: usize) -> Vec<T> {
    rows.iter()
        .flat_map(|&r| v[r * width..(r + 1) * width].iter().copied())
        .collect()
}

/// Scores of a term can be reused for an unchanged row when they do not depend on t.
fn cacheable(term: &CbgTerm<'_>) -> bool {
    !term.classifier.time_conditioned() && !term.reference_sigma_mismatch
}

/// Most token ids one call holds in memory (8 bytes each: 4 GiB). Larger requests are refused
/// with the memory they would need rather than aborting in the allocator.
pub const MAX_SAMPLE_TOKENS: usize = 1 << 29;

/// `n` sequences of length `l` in one call: at least one, and within [`MAX_SAMPLE_TOKENS`].
pub fn check_sample_count(n: usize, l: usize) -> Result<()> {
    if n == 0 {
        return Err(CoreError::config(
            "sampling.n",
            "the number of samples must be at least 1",
        ));
    }
    match n.checked_mul(l.max(1)) {
        Some(t) if t <= MAX_SAMPLE_TOKENS => Ok(()),
        _ => Err(CoreError::config(
            "sampling.n",
            format!(
                "{n} sequences of length {l} would hold {:.1} GiB of token ids in memory at once \
                 (at most {} sequences of this length per call)",
                n as f64 * l.max(1) as f64 * 8.0 / (1u64 << 30) as f64,
                MAX_SAMPLE_TOKENS / l.max(1)
            ),
        )),
    }
}

/// `n` sequences of length `l` generated `batch` at a time ([`Sampler::sample_stream`]): at
/// least one, and one batch within [`MAX_SAMPLE_TOKENS`]; the total is not held in memory.
pub fn check_stream_count(n: usize, l: usize, batch: usize) -> Result<()> {
    if n == 0 {
        return Err(CoreError::config(
            "sampling.n",
            "the number of samples must be at least 1",
        ));
    }
    match batch.min(n).checked_mul(l.max(1)) {
        Some(t) if t <= MAX_SAMPLE_TOKENS => Ok(()),
        _ => Err(CoreError::config(
            "sampling.batch_size",
            format!(
                "{batch} sequences of length {l} per batch would hold more than {} token ids in memory",
                MAX_SAMPLE_TOKENS
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_counts_are_checked_before_any_allocation() {
        assert!(check_sample_count(1, 32).is_ok());
        let e = check_sample_count(0, 32).unwrap_err().to_string();
        assert!(e.contains("sampling.n") && e.contains("at least 1"), "{e}");
        let e = check_sample_count(1_000_000_000_000, 32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("GiB"), "{e}");
        assert!(
            check_sample_count(usize::MAX, 2).is_err(),
            "overflow is an error"
        );
    }
}
