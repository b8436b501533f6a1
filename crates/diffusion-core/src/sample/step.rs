//! The pieces of one reverse step of the diffusion sampler (spec §5.2, §6), each a public
//! function so it can be checked on its own against hand-computed values:
//!
//! 1. [`reverse_times`]: the (t, s) pairs of a T-step sampler;
//! 2. the process's reverse step p_θ(z_s | z_t) ([`crate::diffusion::Diffusion::reverse_step`]),
//!    with D-CFG ([`crate::guidance::cfg_combine`]);
//! 3. [`editable_positions`] and the D-CBG scores ([`crate::guidance::cbg_exact_scores`],
//!    [`crate::guidance::cbg_first_order_scores`]), combined by [`guided_log_step`];
//! 4. the categorical draw ([`crate::categorical`]), then [`carry_over`] for absorbing noise;
//! 5. optional [`corrector_renoise`] (forward–backward corrector) and [`fill_masked`] (the final
//!    noise-free step).

use crate::forward::Noise;
use crate::rng::Uniforms;
use burn::prelude::*;

/// The reverse-process times of a `steps`-step sampler: t runs over linspace(1, ε, T + 1)
/// without its last point and s = t − (1 − ε)/T. A discrete-time model (`discrete_steps` =
/// T_d > 0) quantises t to its training grid {1/T_d, …, 1}: t ← min(⌊t·T_d⌋/T_d + 1/T_d, 1).
/// The reference omits the min, so its first step runs at t = 1 + 1/T_d, outside the process
/// (α_t < 0 for uniform noise; spec §5.2 item 2).
pub fn reverse_times(steps: usize, eps: f64, discrete_steps: usize) -> Vec<(f64, f64)> {
    let dt = (1.0 - eps) / steps as f64;
    crate::time::sampling_grid(steps, eps)[..steps]
        .iter()
        .map(|&t| {
            let t = if discrete_steps > 0 {
                crate::time::quantise_t(t, discrete_steps).min(1.0)
            } else {
                t
            };
            (t, t - dt)
        })
        .collect()
}

/// The guided step in log space (spec §6.2): log p(z_s | z_t) + Σ_k γ_k · s_k, [B, L, N],
/// unnormalised; the step's distribution is its softmax over the last axis. Each term is a
/// D-CBG score s_k[b, ℓ, v] = log p_φk(y_k | z_t with ℓ ← v) and its strength γ_k.
pub fn guided_log_step(log_p: Tensor<3>, terms: Vec<(Tensor<3>, f64)>) -> Tensor<3> {
    terms
        .into_iter()
        .fold(log_p, |acc, (score, gamma)| acc + score.mul_scalar(gamma))
}

/// Positions a reverse step may change, row-major [B·L]: not pinned, and (absorbing noise)
/// still masked, since unmasked tokens are carried over.
pub fn editable_positions(
    z: &[i64],
    seq_len: usize,
    pinned: &[usize],
    noise: Noise,
    mask_id: i64,
) -> Vec<bool> {
    z.iter()
        .enumerate()
        .map(|(k, &v)| {
            !pinned.contains(&(k % seq_len)) && (!noise.unmasked_is_final() || v == mask_id)
        })
        .collect()
}

/// Carry-over for absorbing noise (spec §5.2 item 6): a token unmasked in z_t keeps its value
/// in z_s. With ReMDM remasking (`remasking`) it may instead return to the mask.
pub fn carry_over(z_s: &mut [i64], z_t: &[i64], mask_id: i64, remasking: bool) {
    for (zs, &zt) in z_s.iter_mut().zip(z_t) {
        if zt != mask_id && !(remasking && *zs == mask_id) {
            *zs = zt;
        }
    }
}

/// The forward half of the uniform-noise corrector: each token is kept with probability
/// `keep` = α_t / α_s (one uniform draw per token, u < keep keeps it) and otherwise replaced
/// by a uniform draw over the `vocab` ids (one more draw).
pub fn corrector_renoise(rng: &mut impl Uniforms, z: &mut [i64], keep: f64, vocab: usize) {
    for v in z.iter_mut() {
        if rng.uniform() >= keep {
            *v = rng.below(vocab as u64) as i64;
        }
    }
}

/// The final noise-free step: every position that may still change (all positions for
/// uniform noise, the masked ones for absorbing noise) takes the denoiser's argmax `best`.
pub fn fill_masked(z: &mut [i64], best: &[i64], noise: Noise, mask_id: i64) {
    for (zi, &bi) in z.iter_mut().zip(best) {
        if !noise.unmasked_is_final() || *zi == mask_id {
            *zi = bi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::GivenUniforms;

    #[test]
    fn reverse_times_by_hand() {
        // T = 4, ε = 0.2: t ∈ {1, 0.8, 0.6, 0.4}, dt = 0.2.
        let ts = reverse_times(4, 0.2, 0);
        let want = [(1.0, 0.8), (0.8, 0.6), (0.6, 0.4), (0.4, 0.2)];
        for ((t, s), (wt, ws)) in ts.iter().zip(want) {
            assert!((t - wt).abs() < 1e-12 && (s - ws).abs() < 1e-12, "{ts:?}");
        }
        // Discrete time T_d = 2: t ← min(⌊2t⌋/2 + 1/2, 1), so 1 → 1 (not 1.5), 0.8 → 1,
        // 0.6 → 1, 0.4 → 0.5.
        let ts = reverse_times(4, 0.2, 2);
        let want = [(1.0, 0.8), (1.0, 0.8), (1.0, 0.8), (0.5, 0.3)];
        for ((t, s), (wt, ws)) in ts.iter().zip(want) {
            assert!((t - wt).abs() < 1e-12 && (s - ws).abs() < 1e-12, "{ts:?}");
        }
    }

    #[test]
    fn editable_carry_over_and_fill_by_hand() {
        let m = 9;
        let z = [m, 3, m, m, 2, 5];
        assert_eq!(
            editable_positions(&z, 3, &[2], Noise::Absorbing, m),
            [true, false, false, true, false, false]
        );
        assert_eq!(
            editable_positions(&z, 3, &[2], Noise::Uniform, m),
            [true, true, false, true, true, false]
        );
        let mut zs = [1, 4, m, 7, m, 0];
        carry_over(&mut zs, &z, m, false);
        assert_eq!(zs, [1, 3, m, 7, 2, 5]);
        let mut zs = [1, 4, m, 7, m, 0];
        carry_over(&mut zs, &z, m, true);
        assert_eq!(zs, [1, 3, m, 7, m, 5]);
        let mut zf = [m, 3, m];
        fill_masked(&mut zf, &[6, 6, 6], Noise::Absorbing, m);
        assert_eq!(zf, [6, 3, 6]);
        let mut zf = [m, 3, m];
        fill_masked(&mut zf, &[6, 6, 6], Noise::Uniform, m);
        assert_eq!(zf, [6, 6, 6]);
    }

    #[test]
    fn corrector_renoise_by_hand() {
        // keep = 0.7: u = 0.5 keeps, u = 0.8 moves to ⌊0.45·5⌋ = 2, u = 0.69 keeps.
        let mut z = [4, 1, 3];
        let mut g = GivenUniforms::new(&[0.5, 0.8, 0.45, 0.69]);
        corrector_renoise(&mut g, &mut z, 0.7, 5);
        assert_eq!(z, [4, 2, 3]);
        assert_eq!(g.used(), 4);
    }

    #[test]
    fn guided_log_step_adds_weighted_scores() {
        let d = Default::default();
        let lp = Tensor::<3>::from_floats([[[-1.0, -2.0]]], &d);
        let s1 = Tensor::<3>::from_floats([[[0.5, -0.5]]], &d);
        let s2 = Tensor::<3>::from_floats([[[1.0, 3.0]]], &d);
        let out = guided_log_step(lp.clone(), vec![(s1, 2.0), (s2, -0.5)]);
        let v = crate::tensor_util::to_vec_f32(out);
        // −1 + 2·0.5 − 0.5·1 = −0.5; −2 + 2·(−0.5) − 0.5·3 = −4.5.
        assert!(
            (v[0] + 0.5).abs() < 1e-6 && (v[1] + 4.5).abs() < 1e-6,
            "{v:?}"
        );
        let same = crate::tensor_util::to_vec_f32(guided_log_step(lp, vec![]));
        assert_eq!(same, [-1.0, -2.0]);
    }
}
