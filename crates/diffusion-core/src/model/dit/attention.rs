//! Scaled dot-product self-attention, softmax(q kᵀ / √d_h) v, in two forms.
//!
//! Without gradient tracking this is the backend's fused kernel (`burn::tensor::module::attention`;
//! on `flex` a tiled online-softmax kernel for long sequences). Under autodiff burn 0.22 has no
//! fused attention and falls back to a generic graph that keeps several [B, heads, L, L]
//! tensors per block alive for the backward pass (the scaled scores, the un-normalised
//! exponentials, the softmax and the max's gradient path). The training form below keeps one:
//!
//!   e = exp(s − max(s))   with the max detached (any shift gives the same softmax),
//!   o = (e v) / Σ_k e     normalising the [B, heads, L, d_h] output instead of the L × L matrix,
//!
//! and scales q (L · d_h values) instead of the scores (L² values). It is the same function with
//! the same gradient. Long sequences go further: see [`RECOMPUTE_FROM`].

use burn::prelude::*;
use burn::tensor::module::attention as fused_attention;
use burn::tensor::ops::AttentionModuleOptions;

/// Score elements (B · heads · L²) from which training uses the recomputing fused operation
/// ([`super::fused_attention`], CPU backends): its backward recomputes the scores, which costs
/// ≈ 5 % of a step at QM9 size (L = 32) but saves 2.1 GB and some time at L = 1,024 (measured).
pub const RECOMPUTE_FROM: usize = 1 << 22;

/// q, k, v [B, heads, L, d_h] → [B, heads, L, d_h]; `causal` masks keys after the query.
pub fn self_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, causal: bool) -> Tensor<4> {
    let [b, heads, l, _] = q.dims();
    if q.is_autodiff()
        && b * heads * l * l >= RECOMPUTE_FROM
        && q.dtype() == burn::tensor::DType::F32
        && crate::backend::is_host_device(&q.device())
    {
        return super::fused_attention::attention_fused(q, k, v, causal);
    }
    if !q.is_autodiff() {
        return fused_attention(q, k, v, None, None, options(causal));
    }
    lean_attention(q, k, v, causal)
}

/// The backend attention's options: default scale 1/√d_h, no softcap, optionally causal.
pub(crate) fn options(causal: bool) -> AttentionModuleOptions {
    AttentionModuleOptions {
        scale: None,
        softcap: None,
        is_causal: causal,
    }
}

/// The autodiff-friendly form (see the module docs); public so tests can compare it with the
/// fused kernel on any device.
pub fn lean_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, causal: bool) -> Tensor<4> {
    let [_, _, l, dh] = q.dims();
    let q = q.mul_scalar(1.0 / (dh as f64).sqrt());
    let mut s = q.matmul(k.swap_dims(2, 3)); // [B, heads, L, L]
    if causal {
        s = s + causal_bias(l, &v.device()); // −∞ above the diagonal
    }
    let shift = s.clone().detach().max_dim(3); // [B, heads, L, 1]; the diagonal keeps it finite
    let e = (s - shift).exp(); // [B, heads, L, L]
    let z = e.clone().sum_dim(3); // [B, heads, L, 1], ≥ 1 (the row maximum contributes e⁰)
    e.matmul(v) / z // [B, heads, L, d_h]
}

/// The L × L causal bias, row-major: 0 where key ≤ query, −∞ where key > query.
pub(crate) fn causal_bias_values(l: usize) -> Vec<f32> {
    let mut bias = vec![0f32; l * l];
    for i in 0..l {
        for j in i + 1..l {
            bias[i * l + j] = f32::NEG_INFINITY;
        }
    }
    bias
}

/// [1, 1, L, L]: [`causal_bias_values`] as a tensor.
fn causal_bias(l: usize, device: &Device) -> Tensor<4> {
    Tensor::<4>::from_data(TensorData::new(causal_bias_values(l), [1, 1, l, l]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_util::to_vec_f32;
    use crate::testing::{device, uniform_tensor as random};

    #[test]
    fn lean_attention_equals_the_fused_kernel() {
        let d = device();
        for causal in [false, true] {
            for l in [1, 7, 40] {
                let shape = [2, 3, l, 8];
                let (q, k, v) = (
                    random(shape, 1, &d),
                    random(shape, 2, &d),
                    random(shape, 3, &d),
                );
                let options = AttentionModuleOptions {
                    scale: None,
                    softcap: None,
                    is_causal: causal,
                };
                let want = to_vec_f32(fused_attention(
                    q.clone(),
                    k.clone(),
                    v.clone(),
                    None,
                    None,
                    options,
                ));
                let got = to_vec_f32(lean_attention(q, k, v, causal));
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-5, "causal {causal} L {l}: {g} vs {w}");
                }
            }
        }
    }

    #[test]
    fn lean_attention_gradients_equal_the_generic_graphs() {
        // Reference: burn's generic attention graph (what autodiff used before), same inputs.
        let ad = device().autodiff();
        for causal in [false, true] {
            let shape = [2, 2, 9, 4];
            let grads_of = |lean: bool| {
                let (q, k, v) = (
                    random(shape, 4, &ad).require_grad(),
                    random(shape, 5, &ad).require_grad(),
                    random(shape, 6, &ad).require_grad(),
                );
                let w = random(shape, 7, &ad); // a non-trivial upstream gradient
                let o = if lean {
                    lean_attention(q.clone(), k.clone(), v.clone(), causal)
                } else {
                    let options = AttentionModuleOptions {
                        scale: None,
                        softcap: None,
                        is_causal: causal,
                    };
                    fused_attention(q.clone(), k.clone(), v.clone(), None, None, options)
                };
                let g = (o * w).sum().backward();
                [q, k, v].map(|t| to_vec_f32(t.grad(&g).expect("gradient").inner()))
            };
            let (got, want) = (grads_of(true), grads_of(false));
            for (which, (g, w)) in ["q", "k", "v"].iter().zip(got.iter().zip(&want)) {
                for (a, b) in g.iter().zip(w) {
                    assert!(a.is_finite(), "causal {causal} d{which}: {a}");
                    assert!((a - b).abs() < 1e-4, "causal {causal} d{which}: {a} vs {b}");
                }
            }
        }
    }
}
