//! The noise process as one abstraction (spec §2.4).
//!
//! Every process here belongs to the interpolating family q_t(z | x) = α_t x + β_t π_t, where
//! the mixing part β_t π_t (the mass that noise puts on each id) takes one value at the mask id
//! and one at every other id. Absorbing noise (MDLM), uniform noise (UDLM) and the hybrid
//! mask-plus-uniform noise of GIDD ([`crate::hybrid`]) differ only in α_t and that pair of
//! numbers; the forward draw, the prior, the reverse step and the NELBO follow from them
//! (spec §2.4, §4.7, §5.1). A process may override a generic method with a faster special case
//! that gives the same numbers (absorbing and uniform keep the kernels the reference checks).

use crate::forward::{Noise, q_xt, sample_prior};
use crate::rng::Uniforms;
use crate::schedule::{NoiseSchedule, Schedule};
use crate::tensor_util::{gather_vocab, mask_column, per_batch3, vec_tensor};
use burn::prelude::*;
use std::fmt::Debug;

/// β_t π_t: the probability that noise puts on the mask id and on each other id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mixing {
    pub mask: f64,
    pub other: f64,
}

impl Mixing {
    /// Absorbing noise: all of 1 − α on the mask.
    pub fn absorbing(alpha: f64) -> Self {
        Self {
            mask: 1.0 - alpha,
            other: 0.0,
        }
    }

    /// Uniform noise over all N ids (the mask id included, spec §13.6).
    pub fn uniform(alpha: f64, n: usize) -> Self {
        let v = (1.0 - alpha) / n as f64;
        Self { mask: v, other: v }
    }

    /// The mixing entry of id `z`.
    pub fn at(&self, z: i64, mask_id: i64) -> f64 {
        if z == mask_id { self.mask } else { self.other }
    }

    /// The mixing vector as a row [1, 1, N] that broadcasts over [B, L, N].
    pub fn row(&self, n: usize, mask_id: usize, device: &Device) -> Tensor<3> {
        let m = mask_column(mask_id, n, device);
        m.clone().mul_scalar(self.mask) + m.neg().add_scalar(1.0).mul_scalar(self.other)
    }
}

/// α_t, β_t π_t and their time derivatives at one time.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    pub alpha: f64,
    pub dalpha: f64,
    pub mix: Mixing,
    pub dmix: Mixing,
}

impl Rates {
    /// w_t(z_t, x) of [`NoiseProcess::nelbo_weight`]; 0 where z_t cannot occur.
    pub fn nelbo_weight(&self, z_t: i64, x: i64, mask_id: i64) -> f64 {
        let q = if z_t == x { self.alpha } else { 0.0 } + self.mix.at(z_t, mask_id);
        if q <= 0.0 {
            return 0.0;
        }
        (self.dmix.at(z_t, mask_id) - self.dalpha / self.alpha * self.mix.at(z_t, mask_id)) / q
    }
}

/// A forward noise process and everything derived from it (spec §2.4).
pub trait NoiseProcess: Send + Sync + Debug {
    /// The tag stored in configs and checked between a classifier and its generator.
    fn kind(&self) -> Noise;
    /// N, the mask id included.
    fn vocab_size(&self) -> usize;
    fn mask_id(&self) -> i64;
    /// α_t: the probability that a token is still its clean value by way of the signal part.
    fn alpha(&self, t: f64) -> f64;
    /// dα_t/dt.
    fn dalpha(&self, t: f64) -> f64;
    /// β_t π_t.
    fn mixing(&self, t: f64) -> Mixing;
    /// d(β_t π_t)/dt.
    fn dmixing(&self, t: f64) -> Mixing;
    /// The network's time input σ(t) for time-conditioned models.
    fn sigma(&self, t: f64) -> f64;

    /// Absorbing noise: a token that is not the mask is final in the reverse process, so the
    /// sampler carries it over and edits only masked positions.
    fn unmasked_is_final(&self) -> bool {
        self.kind() == Noise::Absorbing
    }

    /// Draw z_t ~ q_t(· | x) for row-major ids `x` [B, L] at per-sequence times `t` [B]: a token
    /// moves with probability 1 − α_t (one uniform), then takes a draw from π_t (spec §2.4).
    fn q_xt(&self, rng: &mut dyn Uniforms, x: &[i64], seq_len: usize, t: &[f64]) -> Vec<i64> {
        assert_eq!(x.len(), t.len() * seq_len, "q_xt: shape mismatch");
        // (move chance, β_t π_t) once per sequence, not per token.
        let levels: Vec<(f64, Mixing)> = t
            .iter()
            .map(|&t| (1.0 - self.alpha(t), self.mixing(t)))
            .collect();
        x.iter()
            .enumerate()
            .map(|(i, &tok)| {
                let (moves, mix) = levels[i / seq_len];
                if rng.uniform() < moves {
                    self.draw_pi(rng, mix)
                } else {
                    tok
                }
            })
            .collect()
    }

    /// One draw from π_t = β_t π_t / (1 − α_t), given `mix` = β_t π_t: the mask, or an id other than the mask drawn
    /// uniformly. Uses no number when π_t is a single point and one `below` when it is uniform
    /// over all ids, so that absorbing and uniform noise draw as [`q_xt`] does.
    fn draw_pi(&self, rng: &mut dyn Uniforms, mix: Mixing) -> i64 {
        let (n, mask) = (self.vocab_size(), self.mask_id());
        if mix.other == 0.0 {
            return mask;
        }
        if mix.mask == mix.other {
            return rng.below(n as u64) as i64;
        }
        let to_mask = mix.mask / (mix.mask + (n - 1) as f64 * mix.other);
        if rng.uniform() < to_mask {
            return mask;
        }
        let j = rng.below((n - 1) as u64) as i64;
        if j >= mask { j + 1 } else { j }
    }

    /// The sampler's starting point z_1, `n_tokens` ids.
    fn sample_prior(&self, rng: &mut dyn Uniforms, n_tokens: usize) -> Vec<i64> {
        let mix = self.mixing(1.0);
        (0..n_tokens).map(|_| self.draw_pi(rng, mix)).collect()
    }

    /// p_θ(z_s | z_t) [B, L, N] from denoiser probabilities `x_theta` [B, L, N] and ids
    /// `z_t` [B, L], from time t to the noise level (α_s, β_s π_s) shared by the batch
    /// (spec §5.1, generic form):
    ///
    /// p(v) ∝ q_{t|s}(z_t | v) · (α_s x_θ[v] + β_s π_s[v]),
    /// q_{t|s}(z_t | v) = α_{t|s} [v = z_t] + (β_t π_t − α_{t|s} β_s π_s)[z_t], α_{t|s} = α_t/α_s.
    ///
    /// α_s = 1 with no mixing gives the posterior over the clean token p_θ(z_0 | z_t).
    fn reverse_step(
        &self,
        x_theta: Tensor<3>,
        z_t: Tensor<2, Int>,
        t: f64,
        (alpha_s, mix_s): (f64, Mixing),
    ) -> Tensor<3> {
        generic_reverse_step(
            x_theta,
            z_t,
            self.mask_id() as usize,
            (self.alpha(t), self.mixing(t)),
            (alpha_s, mix_s),
        )
    }

    /// The continuous-time NELBO weight w_t(z_t, x) of spec §4.7: the rate at which noise
    /// flows into z_t, over the probability of z_t,
    ///
    /// w = [d(β_t π_t)/dt − (α'_t/α_t) β_t π_t][z_t] / q_t(z_t | x).
    ///
    /// 0 where z_t cannot occur.
    fn nelbo_weight(&self, t: f64, z_t: i64, x: i64) -> f64 {
        self.rates(t).nelbo_weight(z_t, x, self.mask_id())
    }

    /// α_t, β_t π_t and their time derivatives at t.
    fn rates(&self, t: f64) -> Rates {
        Rates {
            alpha: self.alpha(t),
            dalpha: self.dalpha(t),
            mix: self.mixing(t),
            dmix: self.dmixing(t),
        }
    }

    /// The per-token continuous-time NELBO [B, L] (spec §4.7) at per-sequence times `t` [B]:
    ///
    /// w_t(z_t, x) · [KL(q_t(· | x) ‖ q_t(· | x_θ)) + D_IS(q_t(z_t | x) ‖ q_t(z_t | x_θ))],
    /// D_IS(a ‖ b) = a/b − log(a/b) − 1, q_t(· | x_θ) = α_t x_θ + β_t π_t.
    ///
    /// `x`, `z_t` are host ids [B, L] (row-major); `log_x_theta` [B, L, N].
    fn nelbo(
        &self,
        log_x_theta: Tensor<3>,
        x: &[i64],
        z_t: &[i64],
        t: &[f64],
        device: &Device,
    ) -> Tensor<2> {
        let [b, l, _] = log_x_theta.dims();
        let mask = self.mask_id();
        // The process quantities once per sequence; the weights per token from them.
        let rates: Vec<Rates> = t.iter().map(|&t| self.rates(t)).collect();
        let w: Vec<f64> = x
            .iter()
            .zip(z_t)
            .enumerate()
            .map(|(i, (&x, &z))| rates[i / l].nelbo_weight(z, x, mask))
            .collect();
        let alpha: Vec<f64> = rates.iter().map(|r| r.alpha).collect();
        let mix: Vec<Mixing> = rates.iter().map(|r| r.mix).collect();
        generic_nelbo(
            log_x_theta,
            crate::tensor_util::ids_tensor(x, b, l, device),
            crate::tensor_util::ids_tensor(z_t, b, l, device),
            &alpha,
            &mix,
            self.mask_id() as usize,
        ) * crate::tensor_util::float_tensor(w.iter().map(|&v| v as f32).collect(), [b, l], device)
    }
}

/// The generic reverse step of [`NoiseProcess::reverse_step`] with the process quantities given.
pub fn generic_reverse_step(
    x_theta: Tensor<3>,
    z_t: Tensor<2, Int>,
    mask_id: usize,
    (alpha_t, mix_t): (f64, Mixing),
    (alpha_s, mix_s): (f64, Mixing),
) -> Tensor<3> {
    let [b, l, n] = x_theta.dims();
    let device = x_theta.device();
    let a_ts = alpha_t / alpha_s;
    // (β_t π_t − α_{t|s} β_s π_s)[z_t]: the jump into z_t from anywhere.
    let r_mask = mix_t.mask - a_ts * mix_s.mask;
    let r_other = mix_t.other - a_ts * mix_s.other;
    let is_mask = z_t
        .clone()
        .equal_elem(mask_id as i64)
        .float()
        .reshape([b, l, 1]);
    let r = is_mask.clone().mul_scalar(r_mask) + is_mask.neg().add_scalar(1.0).mul_scalar(r_other);
    let transition = z_t.one_hot::<3>(n).float().mul_scalar(a_ts) + r; // q_{t|s}(z_t | v) [B, L, N]
    let marginal_s = x_theta.mul_scalar(alpha_s) + mix_s.row(n, mask_id, &device); // q_s(v | x_θ)
    let joint = transition * marginal_s;
    joint.clone() / joint.sum_dim(2)
}

/// KL(q_t(· | x) ‖ q_t(· | x_θ)) + D_IS(q_t(z_t | x) ‖ q_t(z_t | x_θ)) per token [B, L]
/// (spec §4.7), for per-sequence α_t and β_t π_t.
pub fn generic_nelbo(
    log_x_theta: Tensor<3>,
    x: Tensor<2, Int>,
    z_t: Tensor<2, Int>,
    alpha: &[f64],
    mix: &[Mixing],
    mask_id: usize,
) -> Tensor<2> {
    let [b, l, n] = log_x_theta.dims();
    let device = log_x_theta.device();
    let a3 = per_batch3(vec_tensor(alpha, &device)); // [B, 1, 1]
    let m = mask_column(mask_id, n, &device);
    let not_m = m.clone().neg().add_scalar(1.0);
    let mix_mask = per_batch3(vec_tensor(
        &mix.iter().map(|v| v.mask).collect::<Vec<_>>(),
        &device,
    ));
    let mix_other = per_batch3(vec_tensor(
        &mix.iter().map(|v| v.other).collect::<Vec<_>>(),
        &device,
    ));
    let pi = m * mix_mask + not_m * mix_other; // β_t π_t [B, 1, N]
    let q = x.one_hot::<3>(n).float() * a3.clone() + pi.clone(); // q_t(· | x) [B, L, N]
    let p = log_x_theta.exp() * a3 + pi; // q_t(· | x_θ) [B, L, N]
    let log_q = q.clone().clamp_min(1e-30).log();
    let log_p = p.clamp_min(1e-30).log();
    let kl = (q * (log_q.clone() - log_p.clone()))
        .sum_dim(2)
        .reshape([b, l]);
    let log_ratio = gather_vocab(log_q, z_t.clone()) - gather_vocab(log_p, z_t); // [B, L]
    let is = log_ratio.clone().exp() - log_ratio - 1.0;
    kl + is
}

/// Absorbing noise (MDLM) with a schedule's α_t.
#[derive(Clone, Debug)]
pub struct Absorbing {
    pub schedule: Schedule,
    pub vocab_size: usize,
    pub mask_id: i64,
}

/// Uniform noise (UDLM) over all N ids with a schedule's α_t.
#[derive(Clone, Debug)]
pub struct Uniform {
    pub schedule: Schedule,
    pub vocab_size: usize,
    pub mask_id: i64,
}

/// The methods that absorbing and uniform noise share: the schedule's α_t and σ(t), and the
/// draws of `process/forward.rs` (§2.1), which the generic draws equal (tested below).
macro_rules! scheduled_process {
    ($kind:expr) => {
        fn kind(&self) -> Noise {
            $kind
        }
        fn vocab_size(&self) -> usize {
            self.vocab_size
        }
        fn mask_id(&self) -> i64 {
            self.mask_id
        }
        fn alpha(&self, t: f64) -> f64 {
            self.schedule.alpha(t)
        }
        fn dalpha(&self, t: f64) -> f64 {
            self.schedule.dalpha(t)
        }
        fn sigma(&self, t: f64) -> f64 {
            self.schedule.sigma(t)
        }
        fn q_xt(&self, rng: &mut dyn Uniforms, x: &[i64], seq_len: usize, t: &[f64]) -> Vec<i64> {
            let m: Vec<f64> = t.iter().map(|&t| self.schedule.move_chance(t)).collect();
            q_xt(
                &mut &mut *rng,
                x,
                seq_len,
                &m,
                $kind,
                self.vocab_size,
                self.mask_id,
            )
        }
        fn sample_prior(&self, rng: &mut dyn Uniforms, n_tokens: usize) -> Vec<i64> {
            sample_prior(
                &mut &mut *rng,
                n_tokens,
                $kind,
                self.vocab_size,
                self.mask_id,
            )
        }
    };
}

impl NoiseProcess for Absorbing {
    scheduled_process!(Noise::Absorbing);
    fn mixing(&self, t: f64) -> Mixing {
        Mixing {
            mask: self.schedule.move_chance(t),
            other: 0.0,
        }
    }
    fn dmixing(&self, t: f64) -> Mixing {
        Mixing {
            mask: -self.schedule.dalpha(t),
            other: 0.0,
        }
    }
    /// The reference's absorbing step (spec §5.1): unmasked positions copied.
    fn reverse_step(
        &self,
        x_theta: Tensor<3>,
        z_t: Tensor<2, Int>,
        t: f64,
        (_, mix_s): (f64, Mixing),
    ) -> Tensor<3> {
        let [b, _, _] = x_theta.dims();
        let device = x_theta.device();
        let per_seq = |v: f64| vec_tensor(&vec![v; b], &device);
        crate::posterior::absorbing_posterior(
            x_theta,
            z_t,
            self.mask_id as usize,
            per_seq(self.schedule.move_chance(t)),
            per_seq(mix_s.mask),
        )
    }
}

impl NoiseProcess for Uniform {
    scheduled_process!(Noise::Uniform);
    fn mixing(&self, t: f64) -> Mixing {
        Mixing::uniform(self.schedule.alpha(t), self.vocab_size)
    }
    fn dmixing(&self, t: f64) -> Mixing {
        let v = -self.schedule.dalpha(t) / self.vocab_size as f64;
        Mixing { mask: v, other: v }
    }
    /// The reference's uniform posterior (spec §5.1, checked against its vectors).
    fn reverse_step(
        &self,
        x_theta: Tensor<3>,
        z_t: Tensor<2, Int>,
        t: f64,
        (alpha_s, _): (f64, Mixing),
    ) -> Tensor<3> {
        let [b, _, n] = x_theta.dims();
        let device = x_theta.device();
        let per_seq = |v: f64| vec_tensor(&vec![v; b], &device);
        crate::posterior::uniform_posterior(
            x_theta,
            z_t.one_hot::<3>(n).float(),
            per_seq(self.schedule.alpha(t)),
            per_seq(alpha_s),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{mdlm_loss, udlm_loss};
    use crate::rng::{GivenUniforms, Rng};
    use crate::tensor_util::{float_tensor, ids_tensor, to_vec_f32};
    use crate::testing::{assert_close, device};

    const N: usize = 5;
    const MASK: i64 = 4;

    fn absorbing() -> Absorbing {
        Absorbing {
            schedule: Schedule::loglinear(),
            vocab_size: N,
            mask_id: MASK,
        }
    }
    fn uniform() -> Uniform {
        Uniform {
            schedule: Schedule::loglinear(),
            vocab_size: N,
            mask_id: MASK,
        }
    }

    fn f64s(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&x| x as f64).collect()
    }

    fn logits() -> Vec<f32> {
        vec![
            0.3, -1.0, 2.0, 0.5, -0.2, //
            1.1, 0.4, -0.7, 0.0, 0.9, //
            -0.5, 0.8, 0.1, 1.5, -1.2, //
            0.2, 0.2, -0.3, 0.6, 0.7,
        ]
    }

    /// Mixing and its derivative agree with finite differences, and q_t sums to 1.
    #[test]
    fn mixing_is_consistent() {
        let procs: [&dyn NoiseProcess; 2] = [&absorbing(), &uniform()];
        for p in procs {
            for &t in &[0.1, 0.5, 0.9] {
                let m = p.mixing(t);
                let total = p.alpha(t) + m.mask + (N - 1) as f64 * m.other;
                assert!((total - 1.0).abs() < 1e-12, "{p:?} t={t}");
                let h = 1e-6;
                let (a, b) = (p.mixing(t + h), p.mixing(t - h));
                let d = p.dmixing(t);
                assert!(((a.mask - b.mask) / (2.0 * h) - d.mask).abs() < 1e-6);
                assert!(((a.other - b.other) / (2.0 * h) - d.other).abs() < 1e-6);
            }
        }
    }

    /// The generic forward draw spends uniforms exactly as the absorbing / uniform `q_xt`.
    #[test]
    fn generic_draw_matches_the_special_cases() {
        #[derive(Debug)]
        struct Generic<P>(P);
        impl<P: NoiseProcess> NoiseProcess for Generic<P> {
            fn kind(&self) -> Noise {
                self.0.kind()
            }
            fn vocab_size(&self) -> usize {
                N
            }
            fn mask_id(&self) -> i64 {
                MASK
            }
            fn alpha(&self, t: f64) -> f64 {
                self.0.alpha(t)
            }
            fn dalpha(&self, t: f64) -> f64 {
                self.0.dalpha(t)
            }
            fn mixing(&self, t: f64) -> Mixing {
                self.0.mixing(t)
            }
            fn dmixing(&self, t: f64) -> Mixing {
                self.0.dmixing(t)
            }
            fn sigma(&self, t: f64) -> f64 {
                self.0.sigma(t)
            }
        }
        let x: Vec<i64> = (0..400).map(|i| i % 4).collect();
        let t = [0.3, 0.9, 0.6, 0.1];
        let pairs: [(&dyn NoiseProcess, &dyn NoiseProcess); 2] = [
            (&absorbing(), &Generic(absorbing())),
            (&uniform(), &Generic(uniform())),
        ];
        for (special, generic) in pairs {
            let (mut r1, mut r2) = (Rng::seed_from_u64(3), Rng::seed_from_u64(3));
            assert_eq!(
                special.q_xt(&mut r1, &x, 100, &t),
                generic.q_xt(&mut r2, &x, 100, &t)
            );
            assert_eq!(
                special.sample_prior(&mut r1, 50),
                generic.sample_prior(&mut r2, 50)
            );
        }
    }

    /// The generic reverse step equals the reference's absorbing and uniform steps.
    #[test]
    fn generic_reverse_step_matches_the_special_cases() {
        let d = device();
        let x_theta = burn::tensor::activation::softmax(float_tensor(logits(), [1, 4, N], &d), 2);
        let z = ids_tensor(&[MASK, 1, MASK, 3], 1, 4, &d);
        for (t, s) in [(0.8, 0.5), (0.3, 0.1), (1.0, 0.0)] {
            let procs: [&dyn NoiseProcess; 2] = [&absorbing(), &uniform()];
            for p in procs {
                // SUBS gives x_θ no mass on the mask for absorbing noise.
                let x = if p.kind() == Noise::Absorbing {
                    let m = mask_column(MASK as usize, N, &d).neg().add_scalar(1.0);
                    let v = x_theta.clone() * m;
                    v.clone() / v.sum_dim(2)
                } else {
                    x_theta.clone()
                };
                let special = p.reverse_step(x.clone(), z.clone(), t, (p.alpha(s), p.mixing(s)));
                let generic = generic_reverse_step(
                    x,
                    z.clone(),
                    MASK as usize,
                    (p.alpha(t), p.mixing(t)),
                    (p.alpha(s), p.mixing(s)),
                );
                let (a, b) = (to_vec_f32(special), to_vec_f32(generic));
                // Unmasked absorbing positions: the generic step copies z_t as well.
                assert_close(&a, &f64s(&b), 2e-6);
            }
        }
    }

    /// The generic NELBO (spec §4.7) is the MDLM and the UDLM NELBO (spec §4.1, §4.2).
    #[test]
    fn generic_nelbo_is_mdlm_and_udlm() {
        let d = device();
        let x = [0i64, 2, 1, 3];
        let t = [0.37];
        // UDLM: every z_t.
        let u = uniform();
        let lx = burn::tensor::activation::log_softmax(float_tensor(logits(), [1, 4, N], &d), 2);
        for z in [[0i64, 2, 1, 3], [4, 0, 1, 2], [1, 2, 4, 4]] {
            let generic = to_vec_f32(u.nelbo(lx.clone(), &x, &z, &t, &d));
            let special = to_vec_f32(udlm_loss(
                lx.clone(),
                ids_tensor(&x, 1, 4, &d),
                ids_tensor(&z, 1, 4, &d),
                vec_tensor(&[u.alpha(t[0])], &d),
                vec_tensor(&[u.dalpha(t[0])], &d),
            ));
            assert_close(&generic, &f64s(&special), 2e-5);
        }
        // MDLM: masked positions give w·(−log x_θ[x]); unmasked ones 0.
        let a = absorbing();
        let z = [MASK, 2, MASK, 3];
        let sub = crate::parameterization::subs_log_probs(
            float_tensor(logits(), [1, 4, N], &d),
            ids_tensor(&z, 1, 4, &d),
            MASK as usize,
        );
        let generic = to_vec_f32(a.nelbo(sub.clone(), &x, &z, &t, &d));
        let special = to_vec_f32(mdlm_loss(
            sub,
            ids_tensor(&x, 1, 4, &d),
            vec_tensor(&[a.schedule.mdlm_weight(t[0])], &d),
        ));
        assert_close(&generic, &f64s(&special), 2e-5);
        assert_eq!(generic[1], 0.0);
    }

    /// By hand: a uniform π over N = 5 ids, with given numbers.
    #[test]
    fn draw_pi_on_given_uniforms() {
        let u = uniform();
        let mut g = GivenUniforms::new(&[0.1, 0.05, 0.5]);
        // α(0.5) = 0.5005: 0.1 < 0.4995 moves, ⌊0.05·5⌋ = 0; 0.5 ≥ 0.4995 keeps.
        assert_eq!(u.q_xt(&mut g, &[3, 3], 1, &[0.5, 0.5]), [0, 3]);
    }
}
