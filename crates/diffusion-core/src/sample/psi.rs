//! Ψ-samplers (Deschenaux, Gulcehre & Sahoo, "The Diffusion Duality, Chapter II", ICLR 2026;
//! spec §5.4): a predictor–corrector step at the price of an ancestral one. The step draws z_s
//! from the Ψ-posterior
//!
//!   Ψ(z_s | z_t) = κ_t · p_θ(z_s | z_t) + (1 − κ_t) · [α_s · p_θ(z_0 | z_t) + (1 − α_s) · π],
//!
//! a mix of the reverse step (the predictor) and the forward marginal at s of the model's
//! posterior over the clean token (the corrector: "predict x, then noise it back to s"). Both
//! halves come from the step's one denoiser pass. With the true x both halves have the marginal
//! q(z_s | x), so any κ keeps the process's marginals; κ < 1 lets uniform noise revise tokens
//! more than the ancestral step does, and lets absorbing noise re-mask decoded tokens (with
//! σ_t = (1 − κ_t)(1 − α_s) it is exactly ReMDM).
//!
//! [`PsiConfig`] sets κ_t by a mode inside a window of the steps (the ancestral step outside
//! it) and may hold t fixed inside the window (ReMDM's "loop").

use crate::error::{CoreError, Result};
use crate::noise::Mixing;
use crate::tensor_util::mask_column;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How κ_t, the predictor's weight, is chosen at a step inside the window. The ReMDM-style
/// modes give a re-noising budget σ_t and set κ_t = clip(1 − σ_t/(1 − α_s), 0, 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PsiMode {
    /// κ = 1: the ancestral step (`posterior`).
    Posterior,
    /// κ = 0: predict the clean token and noise it back to s (`pc`).
    Pc,
    /// A constant κ (`constant-K`).
    Constant(f64),
    /// σ_t = η (`remdm-constant-η`; ReMDM's "loop" uses it with t held fixed).
    RemdmConstant(f64),
    /// σ_t = min(η, (1 − α_s)/α_t) (`max-capped-η`, ReMDM-cap).
    MaxCapped(f64),
    /// σ_t = η · min(1, (1 − α_s)/α_t) (`max-rescale-η`, ReMDM-rescale).
    MaxRescale(f64),
}

impl PsiMode {
    /// κ_t for a step from keep probability α_t to α_s (α_s ≥ α_t).
    pub fn kappa(self, alpha_t: f64, alpha_s: f64) -> f64 {
        let sigma = match self {
            PsiMode::Posterior => return 1.0,
            PsiMode::Pc => return 0.0,
            PsiMode::Constant(k) => return k,
            PsiMode::RemdmConstant(eta) => eta,
            PsiMode::MaxCapped(eta) if alpha_t > 0.0 => eta.min((1.0 - alpha_s) / alpha_t),
            PsiMode::MaxCapped(eta) => eta,
            PsiMode::MaxRescale(eta) if alpha_t > 0.0 => eta * ((1.0 - alpha_s) / alpha_t).min(1.0),
            PsiMode::MaxRescale(eta) => eta,
        };
        let room = 1.0 - alpha_s;
        if room <= 0.0 {
            return 1.0; // s is the clean data: nothing to re-noise
        }
        (1.0 - sigma / room).clamp(0.0, 1.0)
    }

    fn parameter(self) -> Option<f64> {
        match self {
            PsiMode::Posterior | PsiMode::Pc => None,
            PsiMode::Constant(v)
            | PsiMode::RemdmConstant(v)
            | PsiMode::MaxCapped(v)
            | PsiMode::MaxRescale(v) => Some(v),
        }
    }
}

impl fmt::Display for PsiMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PsiMode::Posterior => write!(f, "posterior"),
            PsiMode::Pc => write!(f, "pc"),
            PsiMode::Constant(k) => write!(f, "constant-{k}"),
            PsiMode::RemdmConstant(e) => write!(f, "remdm-constant-{e}"),
            PsiMode::MaxCapped(e) => write!(f, "max-capped-{e}"),
            PsiMode::MaxRescale(e) => write!(f, "max-rescale-{e}"),
        }
    }
}

impl FromStr for PsiMode {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            CoreError::config(
                "sampling.psi.mode",
                format!(
                    "'{s}': {why} (posterior, pc, constant-K, remdm-constant-η, max-capped-η or \
                     max-rescale-η, with K and η in [0, 1])"
                ),
            )
        };
        let s = s.trim();
        match s {
            "posterior" => return Ok(PsiMode::Posterior),
            "pc" => return Ok(PsiMode::Pc),
            _ => {}
        }
        let (name, value) = s
            .rsplit_once('-')
            .ok_or_else(|| bad("not a Ψ-sampler mode"))?;
        let v: f64 = value
            .parse()
            .map_err(|_| bad("the value after the last '-' is not a number"))?;
        if !(0.0..=1.0).contains(&v) {
            return Err(bad("the value is outside [0, 1]"));
        }
        match name {
            "constant" => Ok(PsiMode::Constant(v)),
            "remdm-constant" => Ok(PsiMode::RemdmConstant(v)),
            "max-capped" => Ok(PsiMode::MaxCapped(v)),
            "max-rescale" => Ok(PsiMode::MaxRescale(v)),
            _ => Err(bad("not a Ψ-sampler mode")),
        }
    }
}

impl TryFrom<String> for PsiMode {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<PsiMode> for String {
    fn from(m: PsiMode) -> String {
        m.to_string()
    }
}

fn full_window() -> [f64; 2] {
    [0.0, 1.0]
}

/// A Ψ-sampler (`sampling.psi`; spec §5.4): `mode` sets κ_t on the steps inside `window`, the
/// ancestral step (κ = 1) runs outside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsiConfig {
    pub mode: PsiMode,
    /// The steps where `mode` applies, as fractions [start, end) of the T steps counted from
    /// t = 1: [0.5, 0.9] with T = 100 is steps 50…89, i.e. t from 0.5 down to 0.1.
    #[serde(default = "full_window")]
    pub window: [f64; 2],
    /// Hold t fixed inside the window at the time where α_t = `loop_alpha` (ReMDM's "loop"):
    /// the steps before the window go from t = 1 to that time, those after it from there to ε.
    #[serde(default)]
    pub loop_alpha: Option<f64>,
}

impl PsiConfig {
    /// `mode` on every step.
    pub fn everywhere(mode: PsiMode) -> Self {
        Self {
            mode,
            window: full_window(),
            loop_alpha: None,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if let Some(v) = self.mode.parameter()
            && !(0.0..=1.0).contains(&v)
        {
            return Err(CoreError::config(
                "sampling.psi.mode",
                format!("{}: the value must be in [0, 1]", self.mode),
            ));
        }
        let [a, b] = self.window;
        if !(0.0 <= a && a <= b && b <= 1.0) {
            return Err(CoreError::config(
                "sampling.psi.window",
                format!("[{a}, {b}]: need 0 ≤ start ≤ end ≤ 1 (fractions of the steps)"),
            ));
        }
        if let Some(c) = self.loop_alpha
            && !(c > 0.0 && c < 1.0)
        {
            return Err(CoreError::config(
                "sampling.psi.loop_alpha",
                format!("{c}: must be in (0, 1)"),
            ));
        }
        Ok(())
    }

    /// The step indices [first, end) inside the window for T = `steps`.
    pub fn window_steps(&self, steps: usize) -> (usize, usize) {
        let at = |f: f64| ((f * steps as f64).round() as usize).min(steps);
        (at(self.window[0]), at(self.window[1]))
    }

    /// The (t, s, κ) of each of the `steps` reverse steps. Without a loop the times are the
    /// ancestral grid `times` (from [`crate::step::reverse_times`]); with one they are
    /// rebuilt around t_c = t(α = loop_alpha), which must lie inside (ε, 1) and leave at least
    /// one step on either side of the window.
    pub fn plan(
        &self,
        times: &[(f64, f64)],
        eps: f64,
        alpha: &dyn Fn(f64) -> f64,
    ) -> Result<Vec<(f64, f64, f64)>> {
        self.validate()?;
        let steps = times.len();
        let (first, end) = self.window_steps(steps);
        let times: Vec<(f64, f64)> = match self.loop_alpha {
            None => times.to_vec(),
            Some(c) => {
                let t_c = t_for_alpha(alpha, c);
                if first == 0 || end >= steps || t_c <= eps || t_c >= 1.0 {
                    return Err(CoreError::config(
                        "sampling.psi.loop_alpha",
                        format!(
                            "the loop at α = {c} (t = {t_c:.4}) needs a window with steps before \
                             and after it and ε < t < 1; the window covers steps {first}..{end} of {steps}"
                        ),
                    ));
                }
                let segment = |from: f64, to: f64, n: usize| -> Vec<(f64, f64)> {
                    (0..n)
                        .map(|i| {
                            let at = |j: usize| from + (to - from) * j as f64 / n as f64;
                            (at(i), at(i + 1))
                        })
                        .collect()
                };
                let mut ts = segment(1.0, t_c, first);
                ts.extend(std::iter::repeat_n((t_c, t_c), end - first));
                ts.extend(segment(t_c, eps, steps - end));
                ts
            }
        };
        Ok(times
            .into_iter()
            .enumerate()
            .map(|(i, (t, s))| {
                let kappa = if (first..end).contains(&i) {
                    self.mode.kappa(alpha(t), alpha(s))
                } else {
                    1.0
                };
                (t, s, kappa)
            })
            .collect())
    }
}

/// The time t ∈ [0, 1] with α_t = `alpha` (α decreasing in t), by bisection to 1e-12.
pub fn t_for_alpha(alpha_of: &dyn Fn(f64) -> f64, alpha: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if alpha_of(mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The Ψ-posterior [B, L, N] (spec §5.4): κ·`q_s` + (1 − κ)·(α_s·`q_0` + β_s π_s), where
/// `q_s` is the (guided) reverse step to s, `q_0` the (guided) posterior over the clean token,
/// both normalised [B, L, N], and β_s π_s the process's mixing part at s (`mix_s`: 1 − α_s on
/// the mask for absorbing noise, (1 − α_s)/N everywhere for uniform noise).
pub fn psi_posterior(
    q_s: Tensor<3>,
    q_0: Tensor<3>,
    (alpha_s, mix_s): (f64, Mixing),
    kappa: f64,
    mask_id: usize,
) -> Tensor<3> {
    let [_, _, n] = q_s.dims();
    let renoised = if mix_s.other == 0.0 {
        // Absorbing: β_s π_s = (1 − α_s) at the mask.
        let pi = mask_column(mask_id, n, &q_0.device());
        q_0.mul_scalar(alpha_s) + pi.mul_scalar(1.0 - alpha_s)
    } else if mix_s.mask == mix_s.other {
        q_0.mul_scalar(alpha_s).add_scalar(mix_s.other)
    } else {
        let row = mix_s.row(n, mask_id, &q_0.device());
        q_0.mul_scalar(alpha_s) + row
    };
    q_s.mul_scalar(kappa) + renoised.mul_scalar(1.0 - kappa)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posterior::{remdm_posterior, uniform_posterior};
    use crate::schedule::{NoiseSchedule, Schedule};
    use crate::tensor_util::{float_tensor, ids_tensor, to_vec_f32, vec_tensor};
    use crate::testing::{assert_close, device};

    #[test]
    fn modes_parse_print_and_refuse_bad_values() {
        for (s, m) in [
            ("posterior", PsiMode::Posterior),
            ("pc", PsiMode::Pc),
            ("constant-0.95", PsiMode::Constant(0.95)),
            ("remdm-constant-0.01", PsiMode::RemdmConstant(0.01)),
            ("max-capped-0.02", PsiMode::MaxCapped(0.02)),
            ("max-rescale-0.5", PsiMode::MaxRescale(0.5)),
        ] {
            assert_eq!(s.parse::<PsiMode>().unwrap(), m);
            assert_eq!(m.to_string(), s);
        }
        for bad in [
            "",
            "constant",
            "constant-x",
            "constant-1.5",
            "remdm-0.1",
            "max-capped--1",
        ] {
            let e = bad.parse::<PsiMode>().unwrap_err().to_string();
            assert!(e.contains("sampling.psi.mode") && e.contains(bad), "{e}");
        }
    }

    /// κ by hand for α_t = 0.5, α_s = 0.6 (1 − α_s = 0.4, (1 − α_s)/α_t = 0.8).
    #[test]
    fn kappa_by_hand() {
        let k = |m: PsiMode| m.kappa(0.5, 0.6);
        assert_eq!(k(PsiMode::Posterior), 1.0);
        assert_eq!(k(PsiMode::Pc), 0.0);
        assert_eq!(k(PsiMode::Constant(0.95)), 0.95);
        // σ = 0.1 → κ = 1 − 0.1/0.4 = 0.75.
        assert!((k(PsiMode::RemdmConstant(0.1)) - 0.75).abs() < 1e-12);
        // capped: σ = min(0.1, 0.8) = 0.1 → 0.75; min(0.9, 0.8) = 0.8 → κ = 1 − 2 → clipped to 0.
        assert!((k(PsiMode::MaxCapped(0.1)) - 0.75).abs() < 1e-12);
        assert_eq!(k(PsiMode::MaxCapped(0.9)), 0.0);
        // rescale: σ = 0.25 · min(1, 0.8) = 0.2 → κ = 0.5.
        assert!((k(PsiMode::MaxRescale(0.25)) - 0.5).abs() < 1e-12);
        // α_t = 0 (t = 1 under log-linear with ε = 0): capped and rescaled use η.
        assert!((PsiMode::MaxCapped(0.1).kappa(0.0, 0.2) - (1.0 - 0.1 / 0.8)).abs() < 1e-12);
        // s at the clean data: nothing to re-noise.
        assert_eq!(PsiMode::RemdmConstant(0.1).kappa(0.9, 1.0), 1.0);
    }

    #[test]
    fn plan_window_and_loop_by_hand() {
        let sched = Schedule::Loglinear { eps: 0.0 }; // α_t = 1 − t
        let times = crate::step::reverse_times(10, 0.0, 0);
        let cfg = PsiConfig {
            mode: PsiMode::Constant(0.9),
            window: [0.2, 0.7],
            loop_alpha: None,
        };
        assert_eq!(cfg.window_steps(10), (2, 7));
        let plan = cfg.plan(&times, 0.0, &|t| sched.alpha(t)).unwrap();
        let kappas: Vec<f64> = plan.iter().map(|p| p.2).collect();
        assert_eq!(kappas, [1.0, 1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.0]);
        assert!(
            plan.iter()
                .zip(&times)
                .all(|(p, q)| p.0 == q.0 && p.1 == q.1)
        );
        // Loop at α = 0.6 (t_c = 0.4): 2 steps 1 → 0.4, 5 steps held at 0.4, 3 steps 0.4 → 0.
        let looped = PsiConfig {
            mode: PsiMode::RemdmConstant(0.1),
            loop_alpha: Some(0.6),
            ..cfg
        };
        let plan = looped.plan(&times, 0.0, &|t| sched.alpha(t)).unwrap();
        let want = [
            (1.0, 0.7),
            (0.7, 0.4),
            (0.4, 0.4),
            (0.4, 0.4),
            (0.4, 0.4),
            (0.4, 0.4),
            (0.4, 0.4),
            (0.4, 0.4 * 2.0 / 3.0),
            (0.4 * 2.0 / 3.0, 0.4 / 3.0),
            (0.4 / 3.0, 0.0),
        ];
        for (p, w) in plan.iter().zip(want) {
            assert!(
                (p.0 - w.0).abs() < 1e-9 && (p.1 - w.1).abs() < 1e-9,
                "{plan:?}"
            );
        }
        // Inside the loop α_s = α_t = 0.6: σ = 0.1 → κ = 1 − 0.1/0.4 = 0.75.
        assert!((plan[4].2 - 0.75).abs() < 1e-9 && plan[1].2 == 1.0 && plan[7].2 == 1.0);
        // A loop needs steps before and after the window.
        let bad = PsiConfig {
            window: [0.0, 0.7],
            ..looped.clone()
        };
        let e = bad
            .plan(&times, 0.0, &|t| sched.alpha(t))
            .unwrap_err()
            .to_string();
        assert!(e.contains("sampling.psi.loop_alpha"), "{e}");
        let bad = PsiConfig {
            window: [0.7, 0.2],
            ..looped
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("sampling.psi.window")
        );
    }

    #[test]
    fn t_for_alpha_inverts_the_schedules() {
        for sched in [
            Schedule::loglinear(),
            Schedule::cosine(),
            Schedule::linear(),
        ] {
            for a in [0.05, 0.3, 0.9] {
                let t = t_for_alpha(&|t| sched.alpha(t), a);
                assert!((sched.alpha(t) - a).abs() < 1e-9, "{sched:?} {a} {t}");
            }
        }
    }

    /// By hand, N = 3, α_s = 0.8, κ = 0.5: uniform π = 1/3, absorbing π = e_mask (id 2).
    #[test]
    fn psi_posterior_by_hand() {
        let d = device();
        let q_s = float_tensor(vec![0.6, 0.3, 0.1], [1, 1, 3], &d);
        let q_0 = float_tensor(vec![0.5, 0.5, 0.0], [1, 1, 3], &d);
        // renoised = 0.8·(0.5, 0.5, 0) + 0.2/3 = (0.46667, 0.46667, 0.06667)
        let u = to_vec_f32(psi_posterior(
            q_s.clone(),
            q_0.clone(),
            (0.8, Mixing::uniform(0.8, 3)),
            0.5,
            2,
        ));
        assert_close(&u, &[0.533333, 0.383333, 0.083333], 1e-6);
        // renoised = (0.4, 0.4, 0.2)
        let a = to_vec_f32(psi_posterior(
            q_s,
            q_0,
            (0.8, Mixing::absorbing(0.8)),
            0.5,
            2,
        ));
        assert_close(&a, &[0.5, 0.35, 0.15], 1e-6);
    }

    /// Absorbing noise: the Ψ-posterior with κ = 1 − σ/(1 − α_s) is the ReMDM step with σ,
    /// at masked and unmasked positions alike.
    #[test]
    fn absorbing_psi_is_remdm() {
        let d = device();
        let (a_t, a_s, mask) = (0.3, 0.55, 3usize);
        // x_θ over 4 ids (SUBS: no mass on the mask); position 0 masked, position 1 holds id 1.
        let x = float_tensor(vec![0.2, 0.5, 0.3, 0.0, 0.0, 1.0, 0.0, 0.0], [1, 2, 4], &d);
        let z = ids_tensor(&[3, 1], 1, 2, &d);
        let m = |a: f64| vec_tensor(&[1.0 - a], &d);
        let q_s = crate::posterior::absorbing_posterior(x.clone(), z.clone(), mask, m(a_t), m(a_s));
        let q_0 = crate::posterior::absorbing_posterior(x.clone(), z.clone(), mask, m(a_t), m(1.0));
        for eta in [0.0, 0.1, 0.3] {
            let mode = PsiMode::MaxCapped(eta);
            let kappa = mode.kappa(a_t, a_s);
            let sigma = eta.min((1.0 - a_s) / a_t);
            let psi = to_vec_f32(psi_posterior(
                q_s.clone(),
                q_0.clone(),
                (a_s, Mixing::absorbing(a_s)),
                kappa,
                mask,
            ));
            let remdm = to_vec_f32(remdm_posterior(
                x.clone(),
                z.clone(),
                mask,
                vec_tensor(&[a_t], &d),
                vec_tensor(&[a_s], &d),
                vec_tensor(&[sigma], &d),
            ));
            let remdm: Vec<f64> = remdm.iter().map(|&v| v as f64).collect();
            assert_close(&psi, &remdm, 1e-6);
        }
    }

    /// Uniform noise: with the true x, averaging Ψ(· | z_t) over z_t ~ q(z_t | x) gives the
    /// forward marginal q(z_s | x) = α_s x + (1 − α_s)/N for every κ; the predictor half and
    /// the corrector half each keep the marginal.
    #[test]
    fn uniform_psi_keeps_the_marginal() {
        let d = device();
        let (n, x_id, a_t, a_s) = (4usize, 1usize, 0.35, 0.7);
        let onehot = |i: usize| -> Vec<f32> { (0..n).map(|j| (i == j) as u8 as f32).collect() };
        let x = float_tensor(onehot(x_id), [1, 1, n], &d);
        for kappa in [0.0, 0.4, 1.0] {
            let mut avg = vec![0.0f64; n];
            for zt in 0..n {
                let q_zt = a_t * (zt == x_id) as u8 as f64 + (1.0 - a_t) / n as f64;
                let z = float_tensor(onehot(zt), [1, 1, n], &d);
                let post = |a: f64| {
                    uniform_posterior(
                        x.clone(),
                        z.clone(),
                        vec_tensor(&[a_t], &d),
                        vec_tensor(&[a], &d),
                    )
                };
                let psi = to_vec_f32(psi_posterior(
                    post(a_s),
                    post(1.0),
                    (a_s, Mixing::uniform(a_s, n)),
                    kappa,
                    n,
                ));
                assert!((psi.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{psi:?}");
                for (acc, p) in avg.iter_mut().zip(psi) {
                    *acc += q_zt * p as f64;
                }
            }
            let want: Vec<f64> = (0..n)
                .map(|j| a_s * (j == x_id) as u8 as f64 + (1.0 - a_s) / n as f64)
                .collect();
            let got: Vec<f32> = avg.iter().map(|&v| v as f32).collect();
            assert_close(&got, &want, 1e-6);
        }
    }
}
