//! The particle arithmetic of steering (docs/spec.md §6.5): log-sum-exp, normalised weights and
//! ESS, systematic and multinomial resampling, SVDD's candidate choice, the x̂₀ a reward reads,
//! and the per-group weights, potentials and log Ẑ of SMC.

use super::{FinalPick, Potential, Resampling, SmcConfig, X0Estimate};
use crate::forward::Noise;
use crate::rng::Uniforms;

pub(super) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// log Σ exp(v) computed stably (−∞ for an empty or all −∞ input).
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Normalised weights w_k / Σ w from log-weights.
pub fn normalised_weights(log_w: &[f64]) -> Vec<f64> {
    let lse = log_sum_exp(log_w);
    log_w.iter().map(|l| (l - lse).exp()).collect()
}

/// Effective sample size (Σ w)² / Σ w² of a group, in [1, K].
pub fn ess(log_w: &[f64]) -> f64 {
    let w = normalised_weights(log_w);
    1.0 / w.iter().map(|x| x * x).sum::<f64>()
}

/// Systematic resampling: ancestors of K offspring at positions (u + k)/K, u ∈ [0, 1), on the
/// cumulative sum of the normalised weights `w`.
pub fn systematic_resample(w: &[f64], u: f64) -> Vec<usize> {
    let k = w.len();
    let mut out = Vec::with_capacity(k);
    let (mut i, mut cum) = (0, w[0]);
    for j in 0..k {
        let pos = (u + j as f64) / k as f64;
        while pos >= cum && i + 1 < k {
            i += 1;
            cum += w[i];
        }
        out.push(i);
    }
    out
}

/// Inverse-CDF draw from normalised weights `w` with uniform `u`.
pub fn draw_index(w: &[f64], u: f64) -> usize {
    let mut cum = 0.0;
    for (i, &x) in w.iter().enumerate() {
        cum += x;
        if u < cum {
            return i;
        }
    }
    // Rounding left the total just below 1: the last index with weight.
    w.iter().rposition(|&x| x > 0.0).unwrap_or(w.len() - 1)
}

/// Multinomial resampling: K independent inverse-CDF draws.
pub fn multinomial_resample(w: &[f64], rng: &mut impl Uniforms) -> Vec<usize> {
    (0..w.len()).map(|_| draw_index(w, rng.uniform())).collect()
}

/// SVDD's choice among candidate values `v`: the first best (α = 0), else a draw with
/// probabilities ∝ exp(v/α) using uniform `u`.
pub fn svdd_select(v: &[f64], alpha: f64, u: f64) -> usize {
    if alpha == 0.0 {
        let mut best = 0;
        for (i, &x) in v.iter().enumerate() {
            if x > v[best] {
                best = i;
            }
        }
        return best;
    }
    let scaled: Vec<f64> = v.iter().map(|x| x / alpha).collect();
    draw_index(&normalised_weights(&scaled), u)
}

/// x̂₀ for the reward from log x_θ (row-major [B, L, N]) and z_t [B, L]: positions that may still
/// change take the argmax (or a draw) of x_θ, never the mask id; absorbing noise keeps unmasked
/// tokens, and `pinned` positions keep theirs.
#[allow(clippy::too_many_arguments)]
pub fn predict_clean(
    log_x: &[f32],
    z: &[i64],
    n: usize,
    seq_len: usize,
    pinned: &[usize],
    noise: Noise,
    mask_id: i64,
    mode: X0Estimate,
    rng: &mut impl Uniforms,
) -> Vec<i64> {
    let mut out = z.to_vec();
    for (k, v) in out.iter_mut().enumerate() {
        let keep = pinned.contains(&(k % seq_len)) || (noise == Noise::Absorbing && *v != mask_id);
        if keep {
            continue;
        }
        let row = &log_x[k * n..(k + 1) * n];
        let allowed = |j: usize| j as i64 != mask_id;
        *v = match mode {
            X0Estimate::Argmax => {
                let mut best = None::<usize>;
                for j in (0..n).filter(|&j| allowed(j)) {
                    if best.is_none_or(|b| row[j] > row[b]) {
                        best = Some(j);
                    }
                }
                best.unwrap_or(0) as i64
            }
            X0Estimate::Sample => {
                let logits: Vec<f64> = (0..n)
                    .map(|j| {
                        if allowed(j) {
                            row[j] as f64
                        } else {
                            f64::NEG_INFINITY
                        }
                    })
                    .collect();
                draw_index(&normalised_weights(&logits), rng.uniform()) as i64
            }
        };
    }
    out
}

/// The SMC state of one batch: `groups` groups of K particles, row r = group r / K.
#[derive(Clone, Debug)]
pub struct ParticleWeights {
    pub k: usize,
    pub log_w: Vec<f64>,
    /// The potential's path statistic per particle, and φ = λ·stat of the last update.
    pub stat: Vec<f64>,
    pub phi: Vec<f64>,
    /// log Ẑ per group, accumulated at each resampling.
    pub log_z: Vec<f64>,
    pub resamples: usize,
}

impl ParticleWeights {
    pub fn new(groups: usize, k: usize, potential: Potential) -> Self {
        Self {
            k,
            log_w: vec![0.0; groups * k],
            stat: vec![potential.initial(); groups * k],
            phi: vec![0.0; groups * k],
            log_z: vec![0.0; groups],
            resamples: 0,
        }
    }

    /// Multiply each particle's weight by exp(φ_new − φ_old) for its reward `r`.
    pub fn reweight(&mut self, c: &SmcConfig, r: &[f64]) {
        for (i, &ri) in r.iter().enumerate() {
            self.stat[i] = c.potential.next(self.stat[i], ri);
            let phi = c.lambda * self.stat[i];
            // A −∞ reward makes the particle worthless rather than NaN.
            self.log_w[i] += if phi.is_finite() {
                phi - self.phi[i]
            } else {
                f64::NEG_INFINITY
            };
            self.phi[i] = if phi.is_finite() { phi } else { self.phi[i] };
        }
    }

    /// Resample every group whose ESS is below `threshold`·K; returns the ancestor of every row
    /// (identity for groups left alone), or None if no group was resampled.
    pub fn maybe_resample(&mut self, c: &SmcConfig, rng: &mut impl Uniforms) -> Option<Vec<usize>> {
        let k = self.k;
        let groups = self.log_w.len() / k;
        let mut anc: Vec<usize> = (0..groups * k).collect();
        let mut resampled = vec![false; groups];
        for g in 0..groups {
            let lw = &self.log_w[g * k..(g + 1) * k];
            if k == 1 || lw.iter().all(|x| *x == f64::NEG_INFINITY) {
                continue;
            }
            if ess(lw) >= c.ess_threshold * k as f64 {
                continue;
            }
            let w = normalised_weights(lw);
            let picks = match c.resampling {
                Resampling::Systematic => systematic_resample(&w, rng.uniform()),
                Resampling::Multinomial => multinomial_resample(&w, rng),
            };
            self.log_z[g] += log_sum_exp(lw) - (k as f64).ln();
            for (j, p) in picks.into_iter().enumerate() {
                anc[g * k + j] = g * k + p;
            }
            resampled[g] = true;
            self.resamples += 1;
        }
        if !resampled.contains(&true) {
            return None;
        }
        // Offspring inherit their ancestor's path statistic and start with equal weights.
        let (stat, phi) = (self.stat.clone(), self.phi.clone());
        for (r, &a) in anc.iter().enumerate() {
            if resampled[r / k] {
                self.stat[r] = stat[a];
                self.phi[r] = phi[a];
                self.log_w[r] = 0.0;
            }
        }
        Some(anc)
    }

    /// The returned particle of each group, its group's final ESS / K and log Ẑ.
    pub fn finish(
        &mut self,
        c: &SmcConfig,
        final_rewards: &[f64],
        rng: &mut impl Uniforms,
    ) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
        let k = self.k;
        let groups = self.log_w.len() / k;
        let mut picks = Vec::with_capacity(groups);
        let mut ess_frac = Vec::with_capacity(groups);
        let mut log_z = Vec::with_capacity(groups);
        for g in 0..groups {
            let lw = &self.log_w[g * k..(g + 1) * k];
            let r = &final_rewards[g * k..(g + 1) * k];
            let dead = lw.iter().all(|x| *x == f64::NEG_INFINITY);
            let p = match c.pick {
                FinalPick::Best => svdd_select(r, 0.0, 0.0),
                FinalPick::Sample if dead => svdd_select(r, 0.0, 0.0),
                FinalPick::Sample => draw_index(&normalised_weights(lw), rng.uniform()),
            };
            picks.push(g * k + p);
            // ESS ≤ K up to rounding.
            ess_frac.push(if dead {
                0.0
            } else {
                (ess(lw) / k as f64).min(1.0)
            });
            log_z.push(self.log_z[g] + log_sum_exp(lw) - (k as f64).ln());
        }
        (picks, ess_frac, log_z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::GivenUniforms;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn ess_by_hand() {
        // w ∝ (1, 1, 2): normalised (0.25, 0.25, 0.5), Σw² = 0.375, ESS = 8/3.
        let lw = [0.0, 0.0, 2f64.ln()];
        assert!(close(ess(&lw), 8.0 / 3.0));
        // Equal weights: ESS = K; one particle with all the weight: ESS = 1.
        assert!(close(ess(&[0.3; 4]), 4.0));
        assert!(close(
            ess(&[0.0, f64::NEG_INFINITY, f64::NEG_INFINITY]),
            1.0
        ));
        // Invariant to a common shift of the log-weights.
        assert!(close(ess(&[1000.0, 1000.0, 1000.0 + 2f64.ln()]), 8.0 / 3.0));
    }

    #[test]
    fn systematic_resampling_by_hand() {
        // w = (0.1, 0.6, 0.3), u = 0.5: positions 1/6, 1/2, 5/6 on cumsum (0.1, 0.7, 1.0).
        assert_eq!(systematic_resample(&[0.1, 0.6, 0.3], 0.5), [1, 1, 2]);
        // u = 0.2: positions 0.0667, 0.4, 0.7333 → 0, 1, 2.
        assert_eq!(systematic_resample(&[0.1, 0.6, 0.3], 0.2), [0, 1, 2]);
        // All the weight on one particle: every offspring descends from it.
        assert_eq!(systematic_resample(&[0.0, 1.0, 0.0], 0.99), [1, 1, 1]);
    }

    #[test]
    fn multinomial_and_svdd_draws_by_hand() {
        let w = [0.1, 0.6, 0.3];
        let mut g = GivenUniforms::new(&[0.05, 0.69, 0.71]);
        assert_eq!(multinomial_resample(&w, &mut g), [0, 1, 2]);
        // SVDD: α = 0 keeps the first best; α = 1 draws ∝ e^v: v = (0, ln 3) → (0.25, 0.75).
        assert_eq!(svdd_select(&[1.0, 3.0, 3.0], 0.0, 0.0), 1);
        let v = [0.0, 3f64.ln()];
        assert_eq!(svdd_select(&v, 1.0, 0.24), 0);
        assert_eq!(svdd_select(&v, 1.0, 0.26), 1);
        // α = 2 halves the log-odds: (1, √3) / (1 + √3) → p0 = 0.366.
        assert_eq!(svdd_select(&v, 2.0, 0.36), 0);
        assert_eq!(svdd_select(&v, 2.0, 0.37), 1);
    }

    #[test]
    fn potentials_by_hand() {
        let c = |potential| SmcConfig {
            particles: 2,
            lambda: 2.0,
            potential,
            ess_threshold: 0.0,
            resampling: Resampling::Systematic,
            pick: FinalPick::Sample,
        };
        // Rewards over three steps, particle 0: 1, 3, 2; particle 1: 0, 0, 5.
        let steps = [[1.0, 0.0], [3.0, 0.0], [2.0, 5.0]];
        // Difference: log w = λ·r_last = (4, 10); Max: λ·max = (6, 10); Sum: λ·Σ = (12, 10).
        for (p, want) in [
            (Potential::Difference, [4.0, 10.0]),
            (Potential::Max, [6.0, 10.0]),
            (Potential::Sum, [12.0, 10.0]),
        ] {
            let mut w = ParticleWeights::new(1, 2, p);
            for r in steps {
                w.reweight(&c(p), &r);
            }
            assert!(
                close(w.log_w[0], want[0]) && close(w.log_w[1], want[1]),
                "{p:?}: {:?}",
                w.log_w
            );
        }
    }

    #[test]
    fn resampling_resets_weights_and_carries_the_statistic() {
        let c = SmcConfig {
            particles: 3,
            lambda: 1.0,
            potential: Potential::Difference,
            ess_threshold: 0.9,
            resampling: Resampling::Systematic,
            pick: FinalPick::Sample,
        };
        // Two groups of 3. Group 0: rewards (0, ln 6, ln 3) → w ∝ (1, 6, 3), ESS = 100/46 < 2.7;
        // group 1: equal rewards → ESS = 3, left alone.
        let mut w = ParticleWeights::new(2, 3, c.potential);
        w.reweight(&c, &[0.0, 6f64.ln(), 3f64.ln(), 1.0, 1.0, 1.0]);
        let mut g = GivenUniforms::new(&[0.5]);
        let anc = w.maybe_resample(&c, &mut g).expect("group 0 resampled");
        // Normalised (0.1, 0.6, 0.3), u = 0.5 → ancestors (1, 1, 2).
        assert_eq!(anc, [1, 1, 2, 3, 4, 5]);
        assert_eq!(w.resamples, 1);
        assert_eq!(&w.log_w[..3], &[0.0, 0.0, 0.0]);
        assert!(close(w.phi[0], 6f64.ln()) && close(w.phi[2], 3f64.ln()));
        assert_eq!(&w.log_w[3..], &[1.0, 1.0, 1.0]);
        // log Ẑ of group 0: log mean(1, 6, 3) = ln(10/3).
        assert!(close(w.log_z[0], (10.0f64 / 3.0).ln()));
        // A later reward of ln 12 for every particle: Difference adds λ·(r − φ_ancestor).
        w.reweight(&c, &[12f64.ln(); 6]);
        assert!(close(w.log_w[0], 2f64.ln()) && close(w.log_w[2], 4f64.ln()));
    }

    #[test]
    fn final_pick_by_weight_or_best_reward() {
        let mut c = SmcConfig::best_of_n(3);
        let mut w = ParticleWeights::new(1, 3, c.potential);
        let r = [0.2, 0.9, 0.5];
        w.reweight(&c, &r);
        let (picks, ess_frac, log_z) = w.finish(&c, &r, &mut GivenUniforms::new(&[]));
        assert_eq!(picks, [1]);
        // λ = 0: weights stay equal, ESS/K = 1 and log Ẑ = 0.
        assert!(close(ess_frac[0], 1.0) && close(log_z[0], 0.0));
        c.pick = FinalPick::Sample;
        c.lambda = 1.0;
        let mut w = ParticleWeights::new(1, 3, c.potential);
        // Weights ∝ (1, 6, 3): u = 0.05 → 0, u = 0.69 → 1, u = 0.75 → 2.
        let r = [0.0, 6f64.ln(), 3f64.ln()];
        w.reweight(&c, &r);
        for (u, want) in [(0.05, 0), (0.69, 1), (0.75, 2)] {
            let (p, _, _) = w.clone().finish(&c, &r, &mut GivenUniforms::new(&[u]));
            assert_eq!(p, [want]);
        }
    }

    #[test]
    fn predict_clean_keeps_what_cannot_change() {
        // N = 3 with mask id 2; L = 3; z = (mask, 1, mask), position 2 pinned.
        let log_x = [
            -1.0, -0.5, 0.0, // position 0: best non-mask is 1
            -0.1, -3.0, 0.0, // position 1 (unmasked: kept for absorbing)
            -0.2, -0.3, 0.0, // position 2 (pinned)
        ];
        let z = [2, 1, 2];
        let mut g = GivenUniforms::new(&[]);
        let abs = predict_clean(
            &log_x,
            &z,
            3,
            3,
            &[2],
            Noise::Absorbing,
            2,
            X0Estimate::Argmax,
            &mut g,
        );
        assert_eq!(abs, [1, 1, 2]);
        let uni = predict_clean(
            &log_x,
            &z,
            3,
            3,
            &[2],
            Noise::Uniform,
            2,
            X0Estimate::Argmax,
            &mut g,
        );
        assert_eq!(uni, [1, 0, 2]);
        // A draw: position 0 over exp(−1), exp(−0.5) normalised = (0.3775, 0.6225).
        let mut g = GivenUniforms::new(&[0.37]);
        let s = predict_clean(
            &log_x,
            &z,
            3,
            3,
            &[2],
            Noise::Absorbing,
            2,
            X0Estimate::Sample,
            &mut g,
        );
        assert_eq!(s, [0, 1, 2]);
    }
}
