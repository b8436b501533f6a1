//! Hybrid mask-plus-uniform noise (GIDD; von Rütte et al., ICML 2025; spec §2.5).
//!
//! With a_t = (1 − t)^γ, b_t = t^γ, c_t = B (t(1 − t))^{γ/2} and C_t = a_t + b_t + N_u c_t
//! (N_u = N − 1 ids other than the mask):
//!
//! q_t(z | x) = (a_t [z = x] + b_t [z = mask] + c_t [z ≠ mask]) / C_t,
//!
//! so α_t = a_t / C_t and β_t π_t is b_t / C_t on the mask and c_t / C_t on every other id. The
//! data are pure at t = 0 and all mask at t = 1; in between some tokens show a uniformly drawn
//! id, most of them (a share p_u) at t = 1/2, where B = 2 p_u / (N_u (1 − p_u)). A model trained
//! on this noise has to find and fix wrong tokens, not only fill masks. Everything else (the
//! forward draw, the reverse step, the NELBO) is the generic form of [`NoiseProcess`].

use crate::error::{CoreError, Result};
use crate::forward::Noise;
use crate::noise::{Mixing, NoiseProcess};
use crate::schedule::{NoiseSchedule, Schedule};
use serde::{Deserialize, Serialize};

fn default_p_uniform() -> f64 {
    0.1
}
fn default_gamma() -> f64 {
    1.0
}

/// The two knobs of the hybrid process (configs: `[diffusion.gidd]`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiddConfig {
    /// p_u: the share of tokens that show uniform noise at t = 1/2 (0 gives masked diffusion
    /// with α_t = 1 − t).
    #[serde(default = "default_p_uniform")]
    pub p_uniform: f64,
    /// γ: the shape of the schedule (1 in the GIDD paper's runs).
    #[serde(default = "default_gamma")]
    pub gamma: f64,
}

impl Default for GiddConfig {
    fn default() -> Self {
        Self {
            p_uniform: default_p_uniform(),
            gamma: default_gamma(),
        }
    }
}

impl GiddConfig {
    pub fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.p_uniform) {
            return Err(CoreError::config(
                "diffusion.gidd.p_uniform",
                format!("{} is not in [0, 1)", self.p_uniform),
            ));
        }
        if !(self.gamma > 0.0 && self.gamma <= 4.0) {
            return Err(CoreError::config(
                "diffusion.gidd.gamma",
                format!("{} is not in (0, 4]", self.gamma),
            ));
        }
        Ok(())
    }
}

/// The hybrid process for a vocabulary of N ids with a mask id.
#[derive(Clone, Debug)]
pub struct Hybrid {
    pub config: GiddConfig,
    pub vocab_size: usize,
    pub mask_id: i64,
}

/// (a, b, c) and their time derivatives at t.
struct Parts {
    a: f64,
    b: f64,
    c: f64,
    da: f64,
    db: f64,
    dc: f64,
}

impl Hybrid {
    pub fn new(config: GiddConfig, vocab_size: usize, mask_id: i64) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            vocab_size,
            mask_id,
        })
    }

    fn n_u(&self) -> f64 {
        (self.vocab_size - 1) as f64
    }

    /// B = 2 p_u / (N_u (1 − p_u)), so that N_u c / C = p_u at t = 1/2.
    pub fn b_coefficient(&self) -> f64 {
        let p = self.config.p_uniform;
        2.0 * p / (self.n_u() * (1.0 - p))
    }

    fn parts(&self, t: f64) -> Parts {
        let g = self.config.gamma;
        let t = t.clamp(0.0, 1.0);
        let (a, b) = ((1.0 - t).powf(g), t.powf(g));
        let c = self.b_coefficient() * (t * (1.0 - t)).powf(g / 2.0);
        // Derivatives are taken just inside (0, 1), where they are finite.
        let u = t.clamp(1e-12, 1.0 - 1e-12);
        Parts {
            a,
            b,
            c,
            da: -g * (1.0 - u).powf(g - 1.0),
            db: g * u.powf(g - 1.0),
            dc: c * g * (1.0 - 2.0 * u) / (2.0 * u * (1.0 - u)),
        }
    }

    fn normaliser(&self, p: &Parts) -> (f64, f64) {
        let n_u = self.n_u();
        (p.a + p.b + n_u * p.c, p.da + p.db + n_u * p.dc)
    }
}

impl NoiseProcess for Hybrid {
    fn kind(&self) -> Noise {
        Noise::Hybrid
    }
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }
    fn mask_id(&self) -> i64 {
        self.mask_id
    }
    fn alpha(&self, t: f64) -> f64 {
        let p = self.parts(t);
        p.a / self.normaliser(&p).0
    }
    fn dalpha(&self, t: f64) -> f64 {
        let p = self.parts(t);
        let (c, dc) = self.normaliser(&p);
        (p.da * c - p.a * dc) / (c * c)
    }
    fn mixing(&self, t: f64) -> Mixing {
        let p = self.parts(t);
        let c = self.normaliser(&p).0;
        Mixing {
            mask: p.b / c,
            other: p.c / c,
        }
    }
    fn dmixing(&self, t: f64) -> Mixing {
        let p = self.parts(t);
        let (c, dc) = self.normaliser(&p);
        Mixing {
            mask: (p.db * c - p.b * dc) / (c * c),
            other: (p.dc * c - p.c * dc) / (c * c),
        }
    }
    /// The time input is the loglinear σ(t) (finite at t = 1, where α_t = 0 here), as GIDD
    /// models are conditioned on a monotone function of t.
    fn sigma(&self, t: f64) -> f64 {
        Schedule::loglinear().sigma(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor_util::{float_tensor, ids_tensor, to_vec_f32};
    use crate::testing::{assert_close, device};
    use burn::tensor::activation::log_softmax;

    const N: usize = 5;
    const MASK: i64 = 4;

    fn hybrid(p_uniform: f64, gamma: f64) -> Hybrid {
        Hybrid::new(GiddConfig { p_uniform, gamma }, N, MASK).unwrap()
    }

    /// The marginal by hand at t = 1/4, p_u = 0.2, γ = 1, N = 5: B = 0.4/3.2 = 0.125,
    /// a = 0.75, b = 0.25, c = 0.125·√0.1875 = 0.0541266, C = 1.2165064.
    #[test]
    fn marginal_by_hand() {
        let h = hybrid(0.2, 1.0);
        assert!((h.b_coefficient() - 0.125).abs() < 1e-15);
        assert!((h.alpha(0.25) - 0.616_519_592_698).abs() < 1e-10);
        let m = h.mixing(0.25);
        assert!((m.mask - 0.205_506_530_899).abs() < 1e-10);
        assert!((m.other - 0.044_493_469_101).abs() < 1e-10);
        // p_u of the tokens show uniform noise at t = 1/2, for every γ.
        for g in [0.5, 1.0, 2.0] {
            let h = hybrid(0.2, g);
            assert!(((N - 1) as f64 * h.mixing(0.5).other - 0.2).abs() < 1e-12);
        }
        // Pure data at t = 0, all mask at t = 1.
        assert_eq!(h.alpha(0.0), 1.0);
        assert_eq!(
            h.mixing(1.0),
            Mixing {
                mask: 1.0,
                other: 0.0
            }
        );
        assert_eq!(h.alpha(1.0), 0.0);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for g in [0.5, 1.0, 2.0] {
            let h = hybrid(0.3, g);
            for &t in &[0.05, 0.3, 0.5, 0.8, 0.97] {
                let e = 1e-6;
                let fd = |f: &dyn Fn(f64) -> f64| (f(t + e) - f(t - e)) / (2.0 * e);
                assert!(
                    (fd(&|t| h.alpha(t)) - h.dalpha(t)).abs() < 1e-5,
                    "γ={g} t={t}"
                );
                let d = h.dmixing(t);
                assert!((fd(&|t| h.mixing(t).mask) - d.mask).abs() < 1e-5);
                assert!((fd(&|t| h.mixing(t).other) - d.other).abs() < 1e-5);
                let m = h.mixing(t);
                let total = h.alpha(t) + m.mask + (N - 1) as f64 * m.other;
                assert!((total - 1.0).abs() < 1e-12);
            }
        }
    }

    /// The NELBO weights in closed form (spec §4.7): γ/(t(1 − t)) at the mask,
    /// c'/c − a'/a at a wrong id, and (c' − c a'/a)/(a + c) at the clean id.
    #[test]
    fn nelbo_weights_in_closed_form() {
        let h = hybrid(0.2, 1.0);
        let t = 0.25;
        assert!((h.nelbo_weight(t, MASK, 2) - 16.0 / 3.0).abs() < 1e-9);
        assert!((h.nelbo_weight(t, 0, 2) - 8.0 / 3.0).abs() < 1e-9);
        assert!((h.nelbo_weight(t, 2, 2) - 0.179_496_076_238).abs() < 1e-9);
        // p_u = 0: only masked tokens carry weight, 1/(t(1 − t)).
        let m = hybrid(0.0, 1.0);
        assert_eq!(m.nelbo_weight(t, 2, 2), 0.0);
        assert_eq!(m.nelbo_weight(t, 0, 2), 0.0);
    }

    /// The loss by hand at t = 1/4 (p_u = 0.2, γ = 1, N = 5, x = 2), x_θ = softmax of
    /// (0.3, −1, 2, 0.5) with no mass on the mask. q_t(· | x) = α one-hot(x) + β_t π_t and
    /// q_t(· | x_θ) = α x_θ + β_t π_t give KL = 0.1154134; D_IS at z_t = mask is 0 (both
    /// sides put b/C there), at z_t = x 0.0670775, at z_t = 0 0.3726972; times the weights
    /// 16/3, 0.1794961 and 8/3.
    #[test]
    fn nelbo_by_hand() {
        let d = device();
        let h = hybrid(0.2, 1.0);
        let logits = float_tensor(
            [0.3f32, -1.0, 2.0, 0.5, -1e6]
                .iter()
                .cycle()
                .take(3 * N)
                .copied()
                .collect(),
            [1, 3, N],
            &d,
        );
        let lx = log_softmax(logits, 2);
        let loss = to_vec_f32(h.nelbo(lx, &[2, 2, 2], &[MASK, 2, 0], &[0.25], &d));
        assert_close(&loss, &[0.615_538_1, 0.032_756_41, 1.301_628_3], 2e-5);
    }

    /// p_u = 0, γ = 1 is masked diffusion with α_t = 1 − t: the loss is the MDLM loss
    /// (1/t)·(−log x_θ[x]) at masked positions and 0 elsewhere.
    #[test]
    fn no_uniform_share_is_mdlm() {
        let d = device();
        let h = hybrid(0.0, 1.0);
        let t = 0.4;
        assert!((h.alpha(t) - 0.6).abs() < 1e-15);
        let logits = float_tensor(
            vec![0.3, -1.0, 2.0, 0.5, -1e6, 1.0, 0.0, -0.5, 0.2, -1e6],
            [1, 2, N],
            &d,
        );
        let lx = log_softmax(logits, 2);
        let host = to_vec_f32(lx.clone());
        let loss = to_vec_f32(h.nelbo(lx, &[2, 3], &[MASK, 3], &[t], &d));
        assert_close(&loss, &[-(host[2] as f64) / t, 0.0], 1e-5);
    }

    /// The reverse step with x_θ = x is the true posterior: Σ_{z_t} q_t(z_t | x) q(z_s | z_t, x)
    /// = q_s(z_s | x), and every step is a distribution.
    #[test]
    fn reverse_step_keeps_the_marginal() {
        let d = device();
        let h = hybrid(0.3, 1.0);
        let (t, s, x) = (0.7, 0.4, 1usize);
        let onehot: Vec<f32> = (0..N).map(|v| if v == x { 1.0 } else { 0.0 }).collect();
        let q = |t: f64, v: usize| {
            let m = h.mixing(t);
            (if v == x { h.alpha(t) } else { 0.0 }) + m.at(v as i64, MASK)
        };
        let mut avg = [0.0f64; N];
        for z_t in 0..N {
            let post = to_vec_f32(h.reverse_step(
                float_tensor(onehot.clone(), [1, 1, N], &d),
                ids_tensor(&[z_t as i64], 1, 1, &d),
                t,
                (h.alpha(s), h.mixing(s)),
            ));
            assert!((post.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            for (acc, p) in avg.iter_mut().zip(post) {
                *acc += q(t, z_t) * p as f64;
            }
        }
        for (v, a) in avg.iter().enumerate() {
            assert!((a - q(s, v)).abs() < 1e-6, "v={v}: {a} vs {}", q(s, v));
        }
    }

    /// Empirical forward draws match q_t(· | x), and the prior is all mask.
    #[test]
    fn forward_draws_follow_the_marginal() {
        let h = hybrid(0.4, 1.0);
        let mut rng = Rng::seed_from_u64(9);
        let n = 200_000;
        let x = vec![1i64; n];
        let z = h.q_xt(&mut rng, &x, n, &[0.5]);
        let m = h.mixing(0.5);
        for v in 0..N as i64 {
            let want = if v == 1 { h.alpha(0.5) } else { 0.0 } + m.at(v, MASK);
            let got = z.iter().filter(|&&u| u == v).count() as f64 / n as f64;
            assert!((got - want).abs() < 5e-3, "id {v}: {got} vs {want}");
        }
        assert!(h.sample_prior(&mut rng, 20).iter().all(|&v| v == MASK));
    }

    #[test]
    fn bad_knobs_are_refused() {
        let e = Hybrid::new(
            GiddConfig {
                p_uniform: 1.0,
                gamma: 1.0,
            },
            N,
            MASK,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("p_uniform"), "{e}");
        let e = GiddConfig {
            p_uniform: 0.1,
            gamma: 0.0,
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("gamma"), "{e}");
    }
}
