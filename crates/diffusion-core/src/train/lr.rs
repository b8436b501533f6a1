//! Learning-rate schedules of the reference (spec §8): constant with linear warm-up, and timm's
//! cosine with a warm-up prefix.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// lr · min(1, (k + 1)/warmup) at optimizer step k. (The reference's LambdaLR starts at
    /// factor 0 on step 0; starting at 1/warmup avoids a wasted first step.)
    ConstantWarmup { warmup: usize },
    /// Linear from 1e-6 to lr over `warmup` steps, then cosine from lr to `lr_min` over the
    /// remaining `total − warmup` steps, then flat at `lr_min`.
    CosineWarmup { warmup: usize, lr_min: f64 },
}

impl Default for LrSchedule {
    fn default() -> Self {
        LrSchedule::ConstantWarmup { warmup: 2500 }
    }
}

impl LrSchedule {
    /// Learning rate at optimizer step `k` (0-based) of a run of `total` steps.
    pub fn lr(&self, base: f64, k: usize, total: usize) -> f64 {
        match *self {
            LrSchedule::ConstantWarmup { warmup } => {
                if warmup == 0 {
                    base
                } else {
                    base * ((k + 1) as f64 / warmup as f64).min(1.0)
                }
            }
            LrSchedule::CosineWarmup { warmup, lr_min } => {
                let warm_init = 1e-6;
                if k < warmup {
                    warm_init + (base - warm_init) * k as f64 / warmup as f64
                } else {
                    let span = total.saturating_sub(warmup).max(1) as f64;
                    let p = ((k - warmup) as f64 / span).min(1.0);
                    lr_min + 0.5 * (base - lr_min) * (1.0 + (std::f64::consts::PI * p).cos())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_warmup_ramps_then_holds() {
        let s = LrSchedule::ConstantWarmup { warmup: 10 };
        assert!((s.lr(1.0, 0, 100) - 0.1).abs() < 1e-12);
        assert!((s.lr(1.0, 9, 100) - 1.0).abs() < 1e-12);
        assert!((s.lr(1.0, 50, 100) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn cosine_warmup_endpoints() {
        let s = LrSchedule::CosineWarmup {
            warmup: 10,
            lr_min: 0.01,
        };
        assert!((s.lr(1.0, 0, 110) - 1e-6).abs() < 1e-12);
        assert!((s.lr(1.0, 10, 110) - 1.0).abs() < 1e-12);
        assert!((s.lr(1.0, 60, 110) - 0.505).abs() < 1e-9);
        assert!((s.lr(1.0, 110, 110) - 0.01).abs() < 1e-12);
        assert!((s.lr(1.0, 500, 110) - 0.01).abs() < 1e-12);
    }
}
