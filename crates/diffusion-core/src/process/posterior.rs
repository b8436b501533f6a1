//! Exact reverse-step posteriors q(z_s | z_t, x) (spec §5.1). The reverse model is the same
//! formula with the clean token replaced by the denoiser output x_θ(z_t, t).

use crate::tensor_util::{mask_column, per_batch3};
use burn::prelude::*;

/// Uniform-noise posterior q(z_s | z_t, x) (spec §5.1, "Uniform"):
///
/// [N α_t (z_t ⊙ x) + (α_t/α_s − α_t) z_t + (α_s − α_t) x + (α_s − α_t)(1 − α_s)/(N α_s) 1]
///   / (N α_t ⟨z_t, x⟩ + 1 − α_t)
///
/// * `x`: a probability vector per position [B, L, N] (one-hot for the true posterior, x_θ for
///   the model's reverse step);
/// * `z_t`: one-hot noisy tokens [B, L, N];
/// * `alpha_t`, `alpha_s`: keep probabilities per sequence [B], with α_s ≥ α_t.
///
/// Returns a distribution over z_s per position [B, L, N] that sums to 1.
pub fn uniform_posterior(
    x: Tensor<3>,
    z_t: Tensor<3>,
    alpha_t: Tensor<1>,
    alpha_s: Tensor<1>,
) -> Tensor<3> {
    let [_, _, n] = x.dims();
    let nf = n as f64;
    let a_t = per_batch3(alpha_t);
    let a_s = per_batch3(alpha_s);
    let a_ts = a_t.clone() / a_s.clone(); // α_{t|s}
    let zx = z_t.clone() * x.clone(); // [B, L, N]
    let dot = zx.clone().sum_dim(2); // ⟨z_t, x⟩ [B, L, 1]
    let constant = (a_s.clone() - a_t.clone()) * (a_s.clone().neg().add_scalar(1.0))
        / a_s.clone().mul_scalar(nf); // [B, 1, 1]
    let numerator = zx * a_t.clone().mul_scalar(nf)
        + z_t * (a_ts - a_t.clone())
        + x * (a_s - a_t.clone())
        + constant;
    let denominator = dot * a_t.clone().mul_scalar(nf) + a_t.neg().add_scalar(1.0);
    numerator / denominator
}

/// Absorbing-noise reverse step (spec §5.1, "Absorbing"; the reference `_ddpm_denoise`):
/// at masked positions p(z_s = v) = (m_t − m_s)/m_t · x_θ[v] for v ≠ mask and
/// p(z_s = mask) = m_s/m_t; unmasked positions are copied (one-hot at z_t).
///
/// * `x_theta`: denoiser probabilities [B, L, N] (its mass on the mask is ignored, as SUBS
///   makes it 0);
/// * `z_t`: noisy ids [B, L];
/// * `move_t`, `move_s`: move chances m(t), m(s) per sequence [B].
pub fn absorbing_posterior(
    x_theta: Tensor<3>,
    z_t: Tensor<2, Int>,
    mask_id: usize,
    move_t: Tensor<1>,
    move_s: Tensor<1>,
) -> Tensor<3> {
    let [b, l, n] = x_theta.dims();
    let device = x_theta.device();
    let m_t = per_batch3(move_t);
    let m_s = per_batch3(move_s);
    let mask_col = mask_column(mask_id, n, &device);
    let not_mask_col = mask_col.clone().neg().add_scalar(1.0);
    let unmask_rate = (m_t.clone() - m_s.clone()) / m_t.clone();
    let stay_rate = m_s / m_t;
    let at_mask = x_theta * not_mask_col * unmask_rate + mask_col * stay_rate; // [B, L, N]
    let is_masked = z_t
        .clone()
        .equal_elem(mask_id as i64)
        .float()
        .reshape([b, l, 1]);
    let copy = z_t.one_hot::<3>(n).float();
    at_mask * is_masked.clone() + copy * is_masked.neg().add_scalar(1.0)
}

/// Reverse step p_θ(z_s | z_t) for uniform noise, from denoiser log-probabilities.
pub fn uniform_reverse_step(
    log_x_theta: Tensor<3>,
    z_t: Tensor<2, Int>,
    alpha_t: Tensor<1>,
    alpha_s: Tensor<1>,
) -> Tensor<3> {
    let [_, _, n] = log_x_theta.dims();
    uniform_posterior(
        log_x_theta.exp(),
        z_t.one_hot::<3>(n).float(),
        alpha_t,
        alpha_s,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_util::{float_tensor, ids_tensor, to_vec_f32, vec_tensor};
    use crate::testing::{assert_close, device, softmax_host};

    fn one_hot_row(n: usize, i: usize) -> Vec<f32> {
        (0..n).map(|j| if j == i { 1.0 } else { 0.0 }).collect()
    }

    fn uniform_case(x: Vec<f32>, zt: usize) -> Vec<f32> {
        let d = device();
        let x = float_tensor(x, [1, 1, 5], &d);
        let z = float_tensor(one_hot_row(5, zt), [1, 1, 5], &d);
        to_vec_f32(uniform_posterior(
            x,
            z,
            vec_tensor(&[0.5], &d),
            vec_tensor(&[0.6], &d),
        ))
    }

    /// Spec §14 item 1.
    #[test]
    fn uniform_posterior_matches_spec_vectors() {
        let q = uniform_case(one_hot_row(5, 1), 3);
        assert_close(
            &q,
            &[0.026667, 0.226667, 0.026667, 0.693333, 0.026667],
            1e-5,
        );
        let q = uniform_case(one_hot_row(5, 1), 1);
        assert_close(
            &q,
            &[0.004444, 0.982222, 0.004444, 0.004444, 0.004444],
            1e-5,
        );
        let x_theta = softmax_host(&[0.1, -0.3, 0.5, 0.0, 0.2]);
        assert_close(
            &x_theta,
            &[0.193343, 0.129602, 0.288434, 0.174944, 0.213677],
            1e-5,
        );
        let p = uniform_case(x_theta, 3);
        assert_close(
            &p,
            &[0.034851, 0.028051, 0.044995, 0.855084, 0.037020],
            1e-5,
        );
    }

    /// Property: both posteriors sum to 1 for random probability vectors and noise levels.
    #[test]
    fn posteriors_normalise_for_random_inputs() {
        let d = device();
        let mut rng = crate::rng::Rng::seed_from_u64(9);
        let (b, l, n) = (4, 6, 7);
        for _ in 0..10 {
            let logits: Vec<f32> = (0..b * l * n)
                .map(|_| rng.uniform_f32() * 6.0 - 3.0)
                .collect();
            let probs: Vec<f32> = logits.chunks(n).flat_map(softmax_host).collect();
            let ids: Vec<i64> = (0..b * l).map(|_| rng.below(n as u64) as i64).collect();
            let a_t: Vec<f64> = (0..b).map(|_| rng.uniform() * 0.9 + 0.01).collect();
            let a_s: Vec<f64> = a_t.iter().map(|&a| a + (1.0 - a) * rng.uniform()).collect();
            let x = float_tensor(probs.clone(), [b, l, n], &d);
            let z = ids_tensor(&ids, b, l, &d);
            let q = uniform_posterior(
                x.clone(),
                z.clone().one_hot::<3>(n).float(),
                vec_tensor(&a_t, &d),
                vec_tensor(&a_s, &d),
            );
            for s in to_vec_f32(q.clone().sum_dim(2)) {
                assert!((s - 1.0).abs() < 1e-5, "uniform sum {s}");
            }
            assert!(to_vec_f32(q).iter().all(|&v| v >= 0.0));
            let m_t: Vec<f64> = a_t.iter().map(|a| 1.0 - a).collect();
            let m_s: Vec<f64> = a_s.iter().map(|a| 1.0 - a).collect();
            let p = absorbing_posterior(x, z, n - 1, vec_tensor(&m_t, &d), vec_tensor(&m_s, &d));
            // With a non-SUBS x_θ the mask column is dropped, so renormalise the check on
            // SUBS-like inputs: mass on tokens is (m_t − m_s)/m_t · (1 − x_θ[mask]).
            let pv = to_vec_f32(p);
            for (pos, row) in pv.chunks(n).enumerate() {
                let bi = pos / l;
                let xrow = &probs[pos * n..(pos + 1) * n];
                let expect = if ids[pos] as usize == n - 1 {
                    ((m_t[bi] - m_s[bi]) / m_t[bi]) as f32 * (1.0 - xrow[n - 1])
                        + (m_s[bi] / m_t[bi]) as f32
                } else {
                    1.0
                };
                let s: f32 = row.iter().sum();
                assert!((s - expect).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn absorbing_posterior_copies_unmasked_and_keeps_mask_rate() {
        let d = device();
        let n = 4; // mask id 3
        let x_theta = float_tensor(
            vec![0.5, 0.25, 0.25, 0.0, 0.1, 0.2, 0.7, 0.0],
            [1, 2, n],
            &d,
        );
        let z = ids_tensor(&[3, 1], 1, 2, &d);
        let p = to_vec_f32(absorbing_posterior(
            x_theta,
            z,
            3,
            vec_tensor(&[0.5], &d),
            vec_tensor(&[0.4], &d),
        ));
        assert_close(&p[..4], &[0.1, 0.05, 0.05, 0.8], 1e-6);
        assert_close(&p[4..], &[0.0, 1.0, 0.0, 0.0], 0.0);
    }
}

/// ReMDM reverse step with remasking probability σ_t (Wang et al. 2025, "Remasking Discrete
/// Diffusion Models with Inference-Time Scaling"): at masked positions
/// p(v) = (α_s − (1 − σ_t) α_t)/(1 − α_t) · x_θ[v] and p(mask) = (1 − α_s − σ_t α_t)/(1 − α_t);
/// at unmasked positions the token is kept with 1 − σ_t and re-masked with σ_t. Valid for
/// 0 ≤ σ_t ≤ min(1, (1 − α_s)/α_t); σ_t = 0 is [`absorbing_posterior`].
///
/// Shapes: `x_theta` [B, L, N], `z_t` [B, L], `alpha_t`, `alpha_s`, `sigma` [B].
pub fn remdm_posterior(
    x_theta: Tensor<3>,
    z_t: Tensor<2, Int>,
    mask_id: usize,
    alpha_t: Tensor<1>,
    alpha_s: Tensor<1>,
    sigma: Tensor<1>,
) -> Tensor<3> {
    let [b, l, n] = x_theta.dims();
    let device = x_theta.device();
    let a_t = per_batch3(alpha_t);
    let a_s = per_batch3(alpha_s);
    let sg = per_batch3(sigma);
    let mask_col = mask_column(mask_id, n, &device);
    let not_mask_col = mask_col.clone().neg().add_scalar(1.0);
    let one_minus_at = a_t.clone().neg().add_scalar(1.0);
    let token_rate =
        (a_s.clone() - sg.clone().neg().add_scalar(1.0) * a_t.clone()) / one_minus_at.clone();
    let mask_rate = (a_s.neg().add_scalar(1.0) - sg.clone() * a_t) / one_minus_at;
    let at_mask = x_theta * not_mask_col * token_rate + mask_col.clone() * mask_rate;
    let is_masked = z_t
        .clone()
        .equal_elem(mask_id as i64)
        .float()
        .reshape([b, l, 1]);
    let keep = z_t.one_hot::<3>(n).float() * sg.clone().neg().add_scalar(1.0) + mask_col * sg;
    at_mask * is_masked.clone() + keep * is_masked.neg().add_scalar(1.0)
}

#[cfg(test)]
mod remdm_tests {
    use super::*;
    use crate::tensor_util::{float_tensor, ids_tensor, to_vec_f32, vec_tensor};
    use crate::testing::device;

    #[test]
    fn remdm_normalises_and_reduces_to_mdlm_at_zero() {
        let d = device();
        let x = float_tensor(
            vec![0.5, 0.25, 0.25, 0.0, 0.1, 0.2, 0.7, 0.0],
            [1, 2, 4],
            &d,
        );
        let z = ids_tensor(&[3, 1], 1, 2, &d);
        let (a_t, a_s) = (0.5, 0.6);
        let zero = to_vec_f32(remdm_posterior(
            x.clone(),
            z.clone(),
            3,
            vec_tensor(&[a_t], &d),
            vec_tensor(&[a_s], &d),
            vec_tensor(&[0.0], &d),
        ));
        let mdlm = to_vec_f32(absorbing_posterior(
            x.clone(),
            z.clone(),
            3,
            vec_tensor(&[1.0 - a_t], &d),
            vec_tensor(&[1.0 - a_s], &d),
        ));
        for (a, b) in zero.iter().zip(&mdlm) {
            assert!((a - b).abs() < 1e-6);
        }
        let sigma_max = ((1.0 - a_s) / a_t).min(1.0);
        for sigma in [0.1, 0.5 * sigma_max, sigma_max] {
            let p = to_vec_f32(remdm_posterior(
                x.clone(),
                z.clone(),
                3,
                vec_tensor(&[a_t], &d),
                vec_tensor(&[a_s], &d),
                vec_tensor(&[sigma], &d),
            ));
            for row in p.chunks(4) {
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                assert!(row.iter().all(|&v| v >= -1e-7));
            }
            // Unmasked position 1 (token 1): kept with 1 − σ, re-masked with σ.
            assert!(
                (p[5] - (1.0 - sigma) as f32).abs() < 1e-6 && (p[7] - sigma as f32).abs() < 1e-6
            );
        }
    }
}
