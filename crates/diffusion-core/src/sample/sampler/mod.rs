//! Ancestral samplers (spec §5.2–5.3): MDLM and UDLM reverse diffusion on the grid
//! linspace(1, ε, T + 1), with the MDLM cache and an optional final noise-removal step, and
//! the AR sampler.
//!
//! This file holds the settings, the checks and the batching ([`Sampler::sample_stream`]);
//! `reverse.rs` the reverse-diffusion loop of one batch (with the Ψ-samplers of §5.4), `cache.rs` what it reuses between
//! steps, `steer.rs` reward steering inside that loop (SMC, SVDD, best-of-N; §6.5), `ar.rs`
//! autoregressive decoding with FUDGE.

use crate::categorical::{sample_rows_f32, sample_rows_f64};
use crate::denoiser::Denoiser;
use crate::diffusion::{Diffusion, ModelKind};
use crate::error::{CoreError, Result};
use crate::guidance::Guidance;
use crate::psi::PsiConfig;
use crate::rng::Rng;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

mod ar;
mod cache;
mod reverse;
mod steer;

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
    /// A Ψ-sampler (spec §5.4; off by default): steps draw from a mix of the reverse step and
    /// the re-noised prediction of the clean token, at no extra network cost.
    #[serde(default)]
    pub psi: Option<PsiConfig>,
    /// Nucleus (top-p) sampling (off by default): x_θ (AR: the next-token distribution) is
    /// truncated to its smallest top set of probability ≥ p and renormalised before each draw.
    pub top_p: Option<f64>,
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
            psi: None,
            top_p: None,
        }
    }
}

impl SamplerConfig {
    /// T reverse steps, batches of `batch_size`, seed `seed`; every refinement off.
    pub fn run(steps: usize, batch_size: usize, seed: u64) -> Self {
        Self {
            steps,
            batch_size,
            seed,
            ..Default::default()
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
    /// What reward steering did, when it was on.
    pub steer: Option<crate::guidance::steer::SteerStats>,
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
        if let Some(p) = config.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(CoreError::config("sampling.top_p", "must be in (0, 1]"));
        }
        if config.corrector_steps > 0 && diffusion.kind() != ModelKind::Udlm {
            return Err(CoreError::config(
                "sampling.corrector_steps",
                "corrector steps are for UDLM; use remask_cap (ReMDM) for MDLM",
            ));
        }
        if let Some(psi) = &config.psi {
            psi.validate()?;
            if diffusion.kind() == ModelKind::Ar {
                return Err(CoreError::config(
                    "sampling.psi",
                    "Ψ-samplers are for MDLM / UDLM models",
                ));
            }
            if config.remask_cap.is_some() {
                return Err(CoreError::config(
                    "sampling.psi",
                    "choose Ψ or ReMDM remasking, not both (Ψ with max-capped-η is ReMDM-cap)",
                ));
            }
            if psi.loop_alpha.is_some() && diffusion.config.discrete_steps > 0 {
                return Err(CoreError::config(
                    "sampling.psi.loop_alpha",
                    "the loop needs a continuous-time model (discrete_steps = 0)",
                ));
            }
            // The step plan itself (a loop needs steps on both sides of its window).
            let times = crate::step::reverse_times(config.steps, config.eps, 0);
            psi.plan(&times, config.eps, &|t| diffusion.process().alpha(t))?;
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
        self.check_nos(&guidance)?;
        if let Some(st) = &guidance.steer {
            st.method.validate()?;
            if self.diffusion.kind() == ModelKind::Ar || guidance.nos.is_some() {
                return Err(CoreError::config(
                    "--steer",
                    "reward steering is for MDLM / UDLM sampling and is not combined with NOS",
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

    /// NOS needs a DiT generator (it perturbs its hidden states), stands alone (no D-CFG, D-CBG
    /// or Ψ) and a head whose classes include the target.
    fn check_nos(&self, guidance: &Guidance<'a>) -> Result<()> {
        let Some(nos) = &guidance.nos else {
            return Ok(());
        };
        if self.model.as_dit().is_none() {
            return Err(CoreError::config(
                "guidance.nos",
                "NOS works on the hidden states of a DiT generator",
            ));
        }
        if self.diffusion.kind() == ModelKind::Ar
            || !guidance.cbg.is_empty()
            || guidance.cfg_gamma.is_some()
            || self.config.psi.is_some()
        {
            return Err(CoreError::config(
                "guidance.nos",
                "NOS guides MDLM / UDLM models and is not combined with D-CFG, D-CBG or Ψ here",
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
        Ok(())
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
        let mut steer: Option<crate::guidance::steer::SteerStats> = None;
        let nfe = self.sample_stream(n, labels, progress, on_step, &mut |batch| {
            tokens.extend_from_slice(&batch.tokens);
            if let Some(s) = &batch.steer {
                steer.get_or_insert_with(Default::default).extend(s);
            }
            Ok(())
        })?;
        Ok(Samples {
            tokens,
            seq_len: self.diffusion.config.seq_len,
            nfe,
            steer,
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
            let (z, used, steer) = match self.diffusion.kind() {
                ModelKind::Ar => {
                    let (z, used) = self.sample_ar(&mut rng, b, y.as_deref(), &bar, on_step)?;
                    (z, used, None)
                }
                _ => self.sample_diffusion(&mut rng, b, y.as_deref(), &bar, on_step),
            };
            nfe += used;
            on_batch(Samples {
                tokens: z,
                seq_len: l,
                nfe: used,
                steer,
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
