//! Reward steering inside the reverse loop (§6.5): SMC reweighting and resampling of the K
//! particles of each sequence from the reward of x̂₀ at each step, SVDD's choice among M
//! candidates of z_s, and the returned particle per sequence. The formulas live in
//! [`crate::guidance::steer`]; this file applies them to the sampler's rows.

use super::Sampler;
use super::cache::pick_rows;
use crate::guidance::steer::{
    ParticleWeights, SmcConfig, SteerMethod, SteerStats, predict_clean, svdd_select,
};
use crate::rng::Rng;
use crate::tensor_util::{ids_tensor, to_vec_f32, vec_tensor};

impl Sampler<'_> {
    /// Rows carried per returned sequence (K under SMC, else 1).
    pub(super) fn particles(&self) -> usize {
        self.guidance
            .steer
            .as_ref()
            .map_or(1, |s| s.method.particles())
    }

    /// Fresh SMC weights for `groups` sequences, when SMC steers.
    pub(super) fn smc_weights(&self, groups: usize) -> Option<(SmcConfig, ParticleWeights)> {
        match self.guidance.steer.as_ref()?.method {
            SteerMethod::Smc(c) => {
                Some((c, ParticleWeights::new(groups, c.particles, c.potential)))
            }
            SteerMethod::Svdd { .. } => None,
        }
    }

    /// SVDD's (M, α), when SVDD steers.
    pub(super) fn svdd(&self) -> Option<(usize, f64)> {
        match self.guidance.steer.as_ref()?.method {
            SteerMethod::Svdd { candidates, alpha } => Some((candidates, alpha)),
            SteerMethod::Smc(_) => None,
        }
    }

    /// Score x̂₀ of every particle of z_t (read from this step's denoiser output `log_x`),
    /// update the weights, and resample the groups whose ESS fell below the threshold: z is
    /// replaced by the offspring, and the ancestor of each row is returned so the caller can
    /// reorder what it holds per row. λ = 0 (best-of-N) scores nothing here.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn smc_reweight(
        &self,
        rng: &mut Rng,
        c: &SmcConfig,
        w: &mut ParticleWeights,
        z: &mut Vec<i64>,
        log_x: &burn::prelude::Tensor<3>,
        pinned: &[usize],
        stats: &mut SteerStats,
    ) -> Option<Vec<usize>> {
        if c.lambda == 0.0 {
            return None;
        }
        let l = self.diffusion.config.seq_len;
        let r = self.x0_rewards(log_x.clone(), z, pinned, rng, stats);
        w.reweight(c, &r);
        let anc = w.maybe_resample(c, rng)?;
        *z = pick_rows(z, &anc, l);
        Some(anc)
    }

    /// SVDD: M draws of z_s per row from `probs`, each valued by the reward of x̂₀(z_s) from the
    /// denoiser at s (one batched pass over the M·B candidates; D-CFG's unconditional branch is
    /// not needed for a value); the chosen candidate per row.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn svdd_step(
        &self,
        rng: &mut Rng,
        probs: &[f32],
        z: &[i64],
        s: f64,
        y: Option<&[i64]>,
        pinned: &[usize],
        (m, alpha): (usize, f64),
        stats: &mut SteerStats,
    ) -> Vec<i64> {
        let l = self.diffusion.config.seq_len;
        let b = z.len() / l;
        // Candidate-major: candidate j of row r is row j·B + r.
        let mut cands = Vec::with_capacity(m * b * l);
        for _ in 0..m {
            cands.extend(self.draw_step(rng, probs, z));
        }
        let ym: Option<Vec<i64>> = y.map(|y| y.iter().copied().cycle().take(m * b).collect());
        let log_x = self.diffusion.log_x_theta(
            self.model,
            ids_tensor(&cands, m * b, l, &self.device),
            vec_tensor(&self.diffusion.sigma_input(&vec![s; m * b]), &self.device),
            self.label_tensor(ym.as_deref(), m * b),
        );
        let v = self.x0_rewards(log_x, &cands, pinned, rng, stats);
        let chosen: Vec<usize> = (0..b)
            .map(|r| {
                let vr: Vec<f64> = (0..m).map(|j| v[j * b + r]).collect();
                let u = if alpha == 0.0 { 0.0 } else { rng.uniform() };
                svdd_select(&vr, alpha, u) * b + r
            })
            .collect();
        pick_rows(&cands, &chosen, l)
    }

    /// The steering reward of x̂₀ read from the denoiser output `log_x` [B, L, N] at ids `z`
    /// (row-major [B, L]), counted in `stats`.
    fn x0_rewards(
        &self,
        log_x: burn::prelude::Tensor<3>,
        z: &[i64],
        pinned: &[usize],
        rng: &mut Rng,
        stats: &mut SteerStats,
    ) -> Vec<f64> {
        let st = self
            .guidance
            .steer
            .as_ref()
            .expect("rewards are read only under steering");
        let cfg = &self.diffusion.config;
        let x0 = predict_clean(
            &to_vec_f32(log_x),
            z,
            cfg.vocab_size,
            cfg.seq_len,
            pinned,
            self.diffusion.noise(),
            cfg.mask_id,
            st.x0,
            rng,
        );
        let r = st.reward.score(&x0, cfg.seq_len, st.target);
        stats.reward_evals += r.len();
        r
    }

    /// After the last step: SMC scores the clean particles, takes its last weight update and
    /// keeps one particle per sequence (z shrinks to one row per sequence); SVDD scores its
    /// samples. The statistics are returned when steering was on.
    pub(super) fn finish_steering(
        &self,
        rng: &mut Rng,
        z: &mut Vec<i64>,
        smc: Option<(SmcConfig, ParticleWeights)>,
        mut stats: SteerStats,
    ) -> Option<SteerStats> {
        let st = self.guidance.steer.as_ref()?;
        let l = self.diffusion.config.seq_len;
        let r = st.reward.score(z, l, st.target);
        stats.reward_evals += r.len();
        match smc {
            Some((c, mut w)) => {
                w.reweight(&c, &r);
                let (picks, ess, log_z) = w.finish(&c, &r, rng);
                *z = pick_rows(z, &picks, l);
                stats.rewards = picks.iter().map(|&p| r[p]).collect();
                stats.final_ess = ess;
                stats.log_z = log_z;
                stats.resamples = w.resamples;
            }
            None => {
                stats.final_ess = vec![1.0; r.len()];
                stats.log_z = vec![0.0; r.len()];
                stats.rewards = r;
            }
        }
        Some(stats)
    }
}
