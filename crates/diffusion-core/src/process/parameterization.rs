//! Denoiser parameterisations (spec §3): turn backbone logits into log x_θ.

use crate::tensor_util::mask_column;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

/// The large negative constant the reference uses in place of −∞.
pub const NEG_INF: f32 = -1e6;

/// How backbone logits become the denoiser x_θ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parameterization {
    /// MDLM: zero mask probability and carry-over unmasking.
    Subs,
    /// UDLM: plain log-softmax over all N ids.
    D3pm,
    /// Causal AR: position i predicts token i + 1.
    Ar,
    /// GIDD: log-softmax with no mass on the mask and no carry-over (any token may be noise).
    MaskFree,
}

/// SUBS (spec §3): (i) the mask logit gets −1e6, (ii) at unmasked positions every logit is −1e6
/// except that of z_t, which is 0, (iii) log-softmax.
///
/// Shapes: `logits` [B, L, N], `z_t` [B, L] → log x_θ [B, L, N]. No infinities are produced, so
/// gradients stay finite.
pub fn subs_log_probs(logits: Tensor<3>, z_t: Tensor<2, Int>, mask_id: usize) -> Tensor<3> {
    let [b, l, n] = logits.dims();
    let device = logits.device();
    let mask_col = mask_column(mask_id, n, &device);
    let log_probs = log_softmax(logits + mask_col.mul_scalar(NEG_INF), 2);
    let is_masked = z_t
        .clone()
        .equal_elem(mask_id as i64)
        .float()
        .reshape([b, l, 1]);
    // Carry-over: 0 at z_t, −1e6 elsewhere.
    let carry = (z_t.one_hot::<3>(n).float().sub_scalar(1.0)).mul_scalar(-NEG_INF);
    log_probs * is_masked.clone() + carry * is_masked.neg().add_scalar(1.0)
}

/// UDLM / D3PM (spec §3): log x_θ = log_softmax(ℓ) over all N ids; nothing is forced.
pub fn d3pm_log_probs(logits: Tensor<3>) -> Tensor<3> {
    log_softmax(logits, 2)
}

/// GIDD (spec §3): the mask logit gets −1e6, then log-softmax; nothing is copied from z_t.
pub fn mask_free_log_probs(logits: Tensor<3>, mask_id: usize) -> Tensor<3> {
    let [_, _, n] = logits.dims();
    let mask_col = mask_column(mask_id, n, &logits.device());
    log_softmax(logits + mask_col.mul_scalar(NEG_INF), 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_util::{float_tensor, ids_tensor, to_vec_f32};
    use crate::testing::device;

    /// Spec §14 item 4: log x_θ[mask] ≈ −1e6; at unmasked positions log x_θ[z_t] = 0.
    #[test]
    fn subs_zero_mask_and_carry_over() {
        let d = device();
        let logits = float_tensor(
            vec![0.3, -1.0, 2.0, 5.0, 0.3, -1.0, 2.0, 5.0],
            [1, 2, 4],
            &d,
        );
        let z = ids_tensor(&[3, 1], 1, 2, &d); // mask id 3; position 1 is unmasked (token 1)
        let lp = to_vec_f32(subs_log_probs(logits, z, 3));
        assert!(lp[3] <= -1e5, "mask log-prob {}", lp[3]);
        let p: f32 = lp[..4].iter().map(|v| v.exp()).sum();
        assert!((p - 1.0).abs() < 1e-6);
        assert_eq!(lp[5], 0.0);
        assert!(lp[4] <= -1e5 && lp[6] <= -1e5 && lp[7] <= -1e5);
    }
}
