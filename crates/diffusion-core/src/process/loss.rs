//! Per-token training losses (spec §4). Every function returns a per-token loss [B, L];
//! [`token_mean`] reduces it the way the reference does.

use crate::tensor_util::{gather_vocab, per_batch2, per_batch3};
use burn::prelude::*;

/// MDLM continuous-time NELBO term (spec §4.1): w(t) · (−log x_θ[x]) with
/// w = −α'_t/(1 − α_t) (= 1/t for loglinear). With SUBS, unmasked positions have
/// log x_θ[x] = 0 and contribute nothing.
///
/// Shapes: `log_x_theta` [B, L, N], `x` [B, L], `weight` [B] → [B, L].
pub fn mdlm_loss(log_x_theta: Tensor<3>, x: Tensor<2, Int>, weight: Tensor<1>) -> Tensor<2> {
    gather_vocab(log_x_theta, x).neg() * per_batch2(weight)
}

/// UDLM continuous-time NELBO (spec §4.2), the paper's new bound:
///
/// L = (α'_t / (N α_t)) · [N/x̄_i − N/x̄_{θ,i} − Σ_j (x̄_j/x̄_i) log((x̄_{θ,i} x̄_j)/(x̄_{θ,j} x̄_i))]
///
/// with x̄ = N α_t x + (1 − α_t) 1, x̄_θ = N α_t x_θ + (1 − α_t) 1 and i = z_t. It is ≥ 0 and 0
/// iff x_θ = x.
///
/// Shapes: `log_x_theta` [B, L, N], `x`, `z_t` [B, L], `alpha_t`, `dalpha_t` [B] → [B, L].
pub fn udlm_loss(
    log_x_theta: Tensor<3>,
    x: Tensor<2, Int>,
    z_t: Tensor<2, Int>,
    alpha_t: Tensor<1>,
    dalpha_t: Tensor<1>,
) -> Tensor<2> {
    let [_, _, n] = log_x_theta.dims();
    let nf = n as f64;
    let a3 = per_batch3(alpha_t.clone());
    let off = a3.clone().neg().add_scalar(1.0); // 1 − α_t
    let x_bar = x.one_hot::<3>(n).float() * a3.clone().mul_scalar(nf) + off.clone(); // [B, L, N]
    let x_theta_bar = log_x_theta.exp() * a3.mul_scalar(nf) + off; // [B, L, N]
    let x_bar_i = gather_vocab(x_bar.clone(), z_t.clone()); // [B, L]
    let x_theta_bar_i = gather_vocab(x_theta_bar.clone(), z_t);
    let term1 =
        x_bar_i.clone().recip().mul_scalar(nf) - x_theta_bar_i.clone().recip().mul_scalar(nf);
    let [b, l] = x_bar_i.dims();
    let x_bar_i3 = x_bar_i.reshape([b, l, 1]);
    let x_theta_bar_i3 = x_theta_bar_i.reshape([b, l, 1]);
    let log_ratio =
        x_theta_bar_i3.log() - x_theta_bar.log() + x_bar.clone().log() - x_bar_i3.clone().log();
    let term2 = (x_bar / x_bar_i3 * log_ratio).sum_dim(2).reshape([b, l]);
    let coeff = dalpha_t / alpha_t.mul_scalar(nf); // α'_t / (N α_t), [B]
    (term1 - term2) * per_batch2(coeff)
}

/// Discrete-time uniform D3PM loss (spec §4.3): T · KL(q(z_s|z_t,x) ‖ p_θ(z_s|z_t)) with
/// KL = Σ_v q_v (log(q_v + 1e-12) − log p_v). Both posteriors come from
/// [`crate::posterior::uniform_posterior`].
pub fn d3pm_uniform_loss(
    log_x_theta: Tensor<3>,
    x: Tensor<2, Int>,
    z_t: Tensor<2, Int>,
    alpha_t: Tensor<1>,
    alpha_s: Tensor<1>,
    steps: usize,
) -> Tensor<2> {
    let [b, l, n] = log_x_theta.dims();
    let z_oh = z_t.one_hot::<3>(n).float();
    let q = crate::posterior::uniform_posterior(
        x.one_hot::<3>(n).float(),
        z_oh.clone(),
        alpha_t.clone(),
        alpha_s.clone(),
    );
    let p = crate::posterior::uniform_posterior(log_x_theta.exp(), z_oh, alpha_t, alpha_s);
    let kl = (q.clone() * (q.add_scalar(1e-12).log() - p.log())).sum_dim(2);
    kl.reshape([b, l]).mul_scalar(steps as f64)
}

/// Discrete-time absorbing D3PM loss (spec §4.3), at masked positions, written with move
/// chances m = 1 − α (the reference's loglinear case has m_t = t, m_s = t − 1/T):
///
/// L_vb = (Δ/m_t)[log(α_t x_θ[m]/m_t + 1) − log x_θ[x]]
///      + (1 − Δ/m_t)[log(α_t x_θ[m]/m_t + 1) − log(α_s x_θ[m]/m_s + 1)],  Δ = m_t − m_s,
///
/// returned as T · L_vb. With SUBS (x_θ[m] = 0) it reduces to T·(Δ/m_t)(−log x_θ[x]).
pub fn d3pm_absorbing_loss(
    log_x_theta: Tensor<3>,
    x: Tensor<2, Int>,
    z_t: Tensor<2, Int>,
    mask_id: usize,
    alpha_t: Tensor<1>,
    alpha_s: Tensor<1>,
    steps: usize,
) -> Tensor<2> {
    let [b, l, _] = log_x_theta.dims();
    let x_m = log_x_theta
        .clone()
        .narrow(2, mask_id, 1)
        .reshape([b, l])
        .exp(); // x_θ[m], [B, L]
    let log_x = gather_vocab(log_x_theta, x);
    let a_t = per_batch2(alpha_t);
    let a_s = per_batch2(alpha_s);
    let m_t = a_t.clone().neg().add_scalar(1.0);
    let m_s = a_s.clone().neg().add_scalar(1.0);
    let ratio = (m_t.clone() - m_s.clone()) / m_t.clone(); // Δ/m_t
    let log_t = (a_t * x_m.clone() / m_t).add_scalar(1.0).log();
    let log_s = (a_s * x_m / m_s).add_scalar(1.0).log();
    let l_vb =
        ratio.clone() * (log_t.clone() - log_x) + ratio.neg().add_scalar(1.0) * (log_t - log_s);
    let masked = z_t.equal_elem(mask_id as i64).float();
    (l_vb * masked).mul_scalar(steps as f64)
}

/// Autoregressive cross-entropy (spec §4.4): `log_probs` [B, L−1, N] predicted from x[:, :−1],
/// `target` = x[:, 1:] [B, L−1] → −log p_θ(x_{i+1} | x_{≤i}) [B, L−1].
pub fn ar_loss(log_probs: Tensor<3>, target: Tensor<2, Int>) -> Tensor<2> {
    gather_vocab(log_probs, target).neg()
}

/// Plain cross-entropy −log x_θ[x] at every position (spec §4.5, `use_simple_ce_loss`).
pub fn simple_ce_loss(log_x_theta: Tensor<3>, x: Tensor<2, Int>) -> Tensor<2> {
    gather_vocab(log_x_theta, x).neg()
}

/// Σ(loss ⊙ mask) / Σ mask (spec §4): the reference's token-level NLL. Pass a mask of ones
/// for `compute_loss_on_pad_tokens` (the plain mean).
pub fn token_mean(loss: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    (loss * mask.clone()).sum() / mask.sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_util::{float_tensor, ids_tensor, to_vec_f32, vec_tensor};
    use crate::testing::{device, softmax_host};

    fn log_x_theta_spec() -> Vec<f32> {
        softmax_host(&[0.1, -0.3, 0.5, 0.0, 0.2])
            .iter()
            .map(|p| p.ln())
            .collect()
    }

    fn udlm_case(log_x: Vec<f32>, x: i64, z: i64, t: f64) -> f32 {
        let d = device();
        let lx = float_tensor(log_x, [1, 1, 5], &d);
        let out = udlm_loss(
            lx,
            ids_tensor(&[x], 1, 1, &d),
            ids_tensor(&[z], 1, 1, &d),
            vec_tensor(&[1.0 - t], &d),
            vec_tensor(&[-1.0], &d),
        );
        to_vec_f32(out)[0]
    }

    /// Spec §14 item 2 (α_t = 1 − t, α' = −1, N = 5).
    #[test]
    fn udlm_loss_matches_spec_vectors() {
        let cases = [
            (2, 2, 0.3, 0.518151),
            (2, 0, 0.3, 4.901663),
            (0, 4, 0.9, 0.278373),
            (1, 1, 0.05, 1.317992),
        ];
        for (x, z, t, want) in cases {
            let got = udlm_case(log_x_theta_spec(), x, z, t) as f64;
            assert!(
                (got - want).abs() < 1e-5,
                "x={x} z={z} t={t}: {got} vs {want}"
            );
        }
    }

    /// Property: L_diff ≥ 0 for random inputs, and 0 when x_θ = x.
    #[test]
    fn udlm_loss_nonnegative_and_zero_at_truth() {
        let mut rng = crate::rng::Rng::seed_from_u64(4);
        for _ in 0..50 {
            let logits: Vec<f32> = (0..5).map(|_| rng.uniform_f32() * 8.0 - 4.0).collect();
            let lx: Vec<f32> = softmax_host(&logits).iter().map(|p| p.ln()).collect();
            let x = rng.below(5) as i64;
            let z = rng.below(5) as i64;
            let t = rng.uniform() * 0.98 + 0.01;
            assert!(udlm_case(lx, x, z, t) >= -1e-5);
            // x_θ = one-hot x: the log of 0 is clamped to a very negative value.
            let truth: Vec<f32> = (0..5).map(|v| if v == x { 0.0 } else { -1e4 }).collect();
            assert!(udlm_case(truth, x, z, t).abs() < 1e-5);
        }
    }

    /// T · (discrete loss) → continuous loss as T grows (spec §4.2 validity check, §14 item 2).
    #[test]
    fn discrete_uniform_loss_converges_to_continuous() {
        let d = device();
        let lx = log_x_theta_spec();
        for (x, z, t) in [(2i64, 2i64, 0.3), (2, 0, 0.3), (0, 4, 0.9)] {
            let cont = udlm_case(lx.clone(), x, z, t) as f64;
            let mut gaps = Vec::new();
            for steps in [10usize, 100, 1000] {
                let s = t - 1.0 / steps as f64;
                let out = d3pm_uniform_loss(
                    float_tensor(lx.clone(), [1, 1, 5], &d),
                    ids_tensor(&[x], 1, 1, &d),
                    ids_tensor(&[z], 1, 1, &d),
                    vec_tensor(&[1.0 - t], &d),
                    vec_tensor(&[1.0 - s], &d),
                    steps,
                );
                gaps.push((to_vec_f32(out)[0] as f64 - cont).abs());
            }
            assert!(gaps[1] < gaps[0] && gaps[2] < gaps[1], "gaps {gaps:?}");
            assert!(gaps[2] < 0.01 * cont.max(0.1), "gaps {gaps:?} cont {cont}");
        }
    }

    /// With SUBS (x_θ[m] = 0) the absorbing discrete loss is (T Δ/m_t)(−log x_θ[x]), and
    /// T·Δ/m_t → −α'/(1−α) = 1/t for loglinear.
    #[test]
    fn discrete_absorbing_loss_reduces_to_weighted_ce() {
        let d = device();
        // mask id 4 has probability 0.
        let lx: Vec<f32> = {
            let mut p = softmax_host(&[0.1, -0.3, 0.5, 0.0]);
            p.push(0.0);
            p.iter()
                .map(|v| if *v == 0.0 { -1e6 } else { v.ln() })
                .collect()
        };
        let t = 0.4;
        let steps = 1000;
        let s = t - 1.0 / steps as f64;
        let out = d3pm_absorbing_loss(
            float_tensor(lx.clone(), [1, 1, 5], &d),
            ids_tensor(&[2], 1, 1, &d),
            ids_tensor(&[4], 1, 1, &d),
            4,
            vec_tensor(&[1.0 - t], &d),
            vec_tensor(&[1.0 - s], &d),
            steps,
        );
        let want = -(lx[2] as f64) / t;
        let got = to_vec_f32(out)[0] as f64;
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }

    #[test]
    fn token_mean_respects_mask() {
        let d = device();
        let loss = float_tensor(vec![1.0, 2.0, 3.0, 100.0], [2, 2], &d);
        let mask = float_tensor(vec![1.0, 1.0, 1.0, 0.0], [2, 2], &d);
        let m = to_vec_f32(token_mean(loss, mask))[0];
        assert!((m - 2.0).abs() < 1e-6);
    }
}
