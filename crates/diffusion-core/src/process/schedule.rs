//! Noise schedules (spec §2.2).
//!
//! A schedule gives the total noise σ(t) and its derivative σ'(t); the keep-probability is
//! α_t = exp(−σ(t)) and the move chance m(t) = 1 − α_t. The network is conditioned on σ(t)
//! (zeroed for models that are not time-conditioned).

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A noise schedule in the "total noise" form of the reference code.
pub trait NoiseSchedule {
    /// Total noise σ(t).
    fn sigma(&self, t: f64) -> f64;
    /// dσ/dt.
    fn dsigma(&self, t: f64) -> f64;
    /// Keep probability α_t = exp(−σ(t)).
    fn alpha(&self, t: f64) -> f64 {
        (-self.sigma(t)).exp()
    }
    /// dα/dt = −σ'(t) α_t.
    fn dalpha(&self, t: f64) -> f64 {
        -self.dsigma(t) * self.alpha(t)
    }
    /// Move chance m(t) = 1 − α_t, computed without cancellation.
    fn move_chance(&self, t: f64) -> f64 {
        -(-self.sigma(t)).exp_m1()
    }
    /// MDLM continuous-time weight −α'_t / (1 − α_t) = σ'(t) / (e^{σ(t)} − 1) (spec §4.1).
    fn mdlm_weight(&self, t: f64) -> f64 {
        self.dsigma(t) / self.sigma(t).exp_m1()
    }
}

/// The schedules of the reference code. Serialised with a `type` tag in configs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Schedule {
    /// σ(t) = −log(1 − (1−ε)t), so α_t = 1 − (1−ε)t. The default, used in every experiment.
    Loglinear { eps: f64 },
    /// σ(t) = −log(ε + (1−ε) cos(πt/2)).
    Cosine { eps: f64 },
    /// σ(t) = σ_min + t(σ_max − σ_min).
    Linear { sigma_min: f64, sigma_max: f64 },
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Loglinear { eps: 1e-3 }
    }
}

impl Schedule {
    pub fn loglinear() -> Self {
        Self::default()
    }
    pub fn cosine() -> Self {
        Schedule::Cosine { eps: 1e-3 }
    }
    /// `configs/noise/linear.yaml` of the reference: σ_min 1e-3, σ_max 7.
    pub fn linear() -> Self {
        Schedule::Linear {
            sigma_min: 1e-3,
            sigma_max: 7.0,
        }
    }
    pub fn is_loglinear(&self) -> bool {
        matches!(self, Schedule::Loglinear { .. })
    }
}

impl NoiseSchedule for Schedule {
    fn sigma(&self, t: f64) -> f64 {
        match *self {
            Schedule::Loglinear { eps } => -(-(1.0 - eps) * t).ln_1p(),
            Schedule::Cosine { eps } => -(eps + (1.0 - eps) * (PI * t / 2.0).cos()).ln(),
            Schedule::Linear {
                sigma_min,
                sigma_max,
            } => sigma_min + t * (sigma_max - sigma_min),
        }
    }

    fn dsigma(&self, t: f64) -> f64 {
        match *self {
            Schedule::Loglinear { eps } => (1.0 - eps) / (1.0 - (1.0 - eps) * t),
            Schedule::Cosine { eps } => {
                let c = (PI * t / 2.0).cos();
                (PI / 2.0) * (1.0 - eps) * (PI * t / 2.0).sin() / ((1.0 - eps) * c + eps)
            }
            Schedule::Linear {
                sigma_min,
                sigma_max,
            } => sigma_max - sigma_min,
        }
    }

    fn alpha(&self, t: f64) -> f64 {
        match *self {
            // Exact closed form avoids exp(log(.)) round trips.
            Schedule::Loglinear { eps } => 1.0 - (1.0 - eps) * t,
            Schedule::Cosine { eps } => eps + (1.0 - eps) * (PI * t / 2.0).cos(),
            _ => (-self.sigma(t)).exp(),
        }
    }

    fn move_chance(&self, t: f64) -> f64 {
        match *self {
            Schedule::Loglinear { eps } => (1.0 - eps) * t,
            _ => 1.0 - self.alpha(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_derivative(f: impl Fn(f64) -> f64, t: f64) -> f64 {
        let h = 1e-6;
        (f(t + h) - f(t - h)) / (2.0 * h)
    }

    #[test]
    fn loglinear_endpoints() {
        let s = Schedule::loglinear();
        assert!((s.alpha(0.0) - 1.0).abs() < 1e-15);
        assert!((s.alpha(1.0) - 1e-3).abs() < 1e-15);
        assert!((s.sigma(0.0)).abs() < 1e-15);
        assert!((s.move_chance(0.5) - 0.4995).abs() < 1e-15);
    }

    /// Spec §14 item 3: σ'(t)/(e^{σ(t)} − 1) = 1/t for loglinear with ε = 1e-3.
    #[test]
    fn mdlm_weight_is_one_over_t_for_loglinear() {
        let s = Schedule::loglinear();
        for &t in &[1e-3, 0.01, 0.1, 0.3, 0.5, 0.77, 0.999] {
            let w = s.mdlm_weight(t);
            assert!(((w - 1.0 / t) * t).abs() < 1e-6, "t={t} w={w}");
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for s in [
            Schedule::loglinear(),
            Schedule::cosine(),
            Schedule::linear(),
        ] {
            for &t in &[0.1, 0.4, 0.8] {
                let d = numeric_derivative(|t| s.sigma(t), t);
                assert!(
                    (d - s.dsigma(t)).abs() < 1e-5 * d.abs().max(1.0),
                    "{s:?} t={t}"
                );
                let da = numeric_derivative(|t| s.alpha(t), t);
                assert!((da - s.dalpha(t)).abs() < 1e-5, "{s:?} t={t}");
                assert!(((-s.sigma(t)).exp() - s.alpha(t)).abs() < 1e-12);
            }
        }
    }
}
