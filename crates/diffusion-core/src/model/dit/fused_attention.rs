//! Self-attention as one autodiff node with a recomputing backward pass (FlashAttention's
//! scheme, in backend tensor ops), for the CPU backends.
//!
//! burn 0.22 has no attention backward: under autodiff its attention falls back to a graph of
//! generic ops that keeps [B, heads, L, L] tensors of every block alive until the backward pass
//! (4.7 GiB at genomics size, L = 1,024). This operation keeps only q, k, v, the output o and
//! the row log-sum-exp ℓ [B, heads, L, 1]; its backward recomputes P = exp(s − ℓ) one block at
//! a time and applies
//!
//!   dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),  dQ = c dS K,  dK = c dSᵀ Q,
//!
//! with s = c q kᵀ (+ −∞ above the diagonal when causal), c = 1/√d_h. Without autodiff it is
//! the backend's fused kernel. GPU backends are not routed here (callers check
//! [`crate::backend::is_host_device`]).

// burn-ndarray is deprecated upstream; it stays selectable here as the comparison backend.
#![allow(deprecated)]

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, TensorMetadata, backend_extension};
use burn::prelude::*;

/// softmax(q kᵀ / √d_h) v through the fused operation; q, k, v [B, heads, L, d_h] f32 on a
/// host device.
pub fn attention_fused(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, causal: bool) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as FusedAttention>::sdpa(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        causal,
    ))
}

#[backend_extension(Autodiff, Flex: cfg(feature = "flex"), NdArray: cfg(feature = "ndarray"))]
pub trait FusedAttention: Backend {
    /// softmax(q kᵀ / √d_h (+ causal mask)) v, [B, heads, L, d_h] → [B, heads, L, d_h].
    fn sdpa(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        causal: bool,
    ) -> FloatTensor<Self> {
        Self::attention(q, k, v, None, None, super::attention::options(causal))
    }
}

#[cfg(feature = "flex")]
impl FusedAttention for burn::backend::Flex {}

#[cfg(feature = "ndarray")]
impl FusedAttention for burn::backend::NdArray {}

/// s = c q kᵀ (+ −∞ above the diagonal), [B, heads, L, L].
fn scores<B: Backend>(
    q: FloatTensor<B>,
    k: FloatTensor<B>,
    scale: f64,
    causal: bool,
) -> FloatTensor<B> {
    let s = B::float_matmul(
        B::float_mul_scalar(q, scale.into()),
        B::float_swap_dims(k, 2, 3),
    );
    if !causal {
        return s;
    }
    let [.., l, _] = s.shape().dims::<4>();
    let bias = super::attention::causal_bias_values(l);
    let bias = B::float_from_data(TensorData::new(bias, [1, 1, l, l]), &s.device());
    B::float_add(s, bias)
}

/// (o, ℓ): the attention output and the row log-sum-exp of the scores.
fn forward_with_lse<B: Backend>(
    q: FloatTensor<B>,
    k: FloatTensor<B>,
    v: FloatTensor<B>,
    scale: f64,
    causal: bool,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let s = scores::<B>(q, k, scale, causal);
    let m = B::float_max_dim(s.clone(), 3); // [B, heads, L, 1]; the diagonal keeps it finite
    let e = B::float_exp(B::float_sub(s, m.clone()));
    let z = B::float_sum_dim(e.clone(), 3); // ≥ 1
    let o = B::float_div(B::float_matmul(e, v), z.clone());
    (o, B::float_add(m, B::float_log(z)))
}

#[derive(Debug)]
struct Sdpa;

/// q, k, v, o, ℓ, scale, causal.
type SdpaState<B> = (
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    f64,
    bool,
);

impl<B: Backend> Backward<B, 3> for Sdpa {
    type State = SdpaState<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let d_o = grads.consume::<B>(&ops.node);
        let (q, k, v, o, lse, scale, causal) = ops.state;
        let [node_q, node_k, node_v] = ops.parents;
        let p = B::float_exp(B::float_sub(
            scores::<B>(q.clone(), k.clone(), scale, causal),
            lse,
        )); // [B, heads, L, L]
        if let Some(node) = node_v {
            let dv = B::float_matmul(B::float_swap_dims(p.clone(), 2, 3), d_o.clone());
            grads.register::<B>(node.id, dv);
        }
        if node_q.is_none() && node_k.is_none() {
            return;
        }
        let dp = B::float_matmul(d_o.clone(), B::float_swap_dims(v, 2, 3));
        let dd = B::float_sum_dim(B::float_mul(d_o, o), 3); // [B, heads, L, 1]
        let ds = B::float_mul(p, B::float_sub(dp, dd));
        if let Some(node) = node_q {
            let dq = B::float_mul_scalar(B::float_matmul(ds.clone(), k), scale.into());
            grads.register::<B>(node.id, dq);
        }
        if let Some(node) = node_k {
            let dk = B::float_mul_scalar(
                B::float_matmul(B::float_swap_dims(ds, 2, 3), q),
                scale.into(),
            );
            grads.register::<B>(node.id, dk);
        }
    }
}

impl<B: Backend + FusedAttention, C: CheckpointStrategy> FusedAttention for Autodiff<B, C> {
    fn sdpa(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        causal: bool,
    ) -> FloatTensor<Self> {
        let prep = Sdpa
            .prepare::<C>([q.node(), k.node(), v.node()])
            .compute_bound()
            .stateful();
        let (q, k, v) = (q.into_primitive(), k.into_primitive(), v.into_primitive());
        match prep {
            OpsKind::Tracked(prep) => {
                let dh = q.shape().dims::<4>()[3];
                let scale = 1.0 / (dh as f64).sqrt();
                let (o, lse) =
                    forward_with_lse::<B>(q.clone(), k.clone(), v.clone(), scale, causal);
                prep.finish((q, k, v, o.clone(), lse, scale, causal), o)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::sdpa(q, k, v, causal)),
        }
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::dit::attention::lean_attention;
    use crate::tensor_util::to_vec_f32;
    use crate::testing::{device, uniform_tensor as random};

    /// Output and the gradients of q, k, v against the lean tensor-op form (whose gradients are
    /// tested against burn's generic graph), causal and not, with and without tracking.
    #[test]
    fn fused_attention_matches_the_tensor_op_form_with_gradients() {
        let ad = device().autodiff();
        for causal in [false, true] {
            for l in [1, 9, 33] {
                let shape = [2, 3, l, 4];
                let run = |fused: bool| {
                    let (q, k, v) = (
                        random(shape, 4, &ad).require_grad(),
                        random(shape, 5, &ad).require_grad(),
                        random(shape, 6, &ad).require_grad(),
                    );
                    let w = random(shape, 7, &ad);
                    let o = if fused {
                        attention_fused(q.clone(), k.clone(), v.clone(), causal)
                    } else {
                        lean_attention(q.clone(), k.clone(), v.clone(), causal)
                    };
                    let out = to_vec_f32(o.clone().inner());
                    let g = (o * w).sum().backward();
                    let grads =
                        [q, k, v].map(|t| to_vec_f32(t.grad(&g).expect("gradient").inner()));
                    (out, grads)
                };
                let (fo, fg) = run(true);
                let (lo, lg) = run(false);
                for (a, b) in fo.iter().zip(&lo) {
                    assert!(
                        (a - b).abs() < 1e-5,
                        "causal {causal} L {l} output: {a} vs {b}"
                    );
                }
                for (which, (g, w)) in ["q", "k", "v"].iter().zip(fg.iter().zip(&lg)) {
                    for (a, b) in g.iter().zip(w) {
                        assert!(a.is_finite(), "causal {causal} L {l} d{which}: {a}");
                        assert!(
                            (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                            "causal {causal} L {l} d{which}: {a} vs {b}"
                        );
                    }
                }
            }
        }
        // Without tracking: the backend's fused kernel.
        let d = device();
        let shape = [2, 2, 7, 4];
        let (q, k, v) = (
            random(shape, 1, &d),
            random(shape, 2, &d),
            random(shape, 3, &d),
        );
        let a = to_vec_f32(attention_fused(q.clone(), k.clone(), v.clone(), true));
        let b = to_vec_f32(lean_attention(q, k, v, true));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    /// Only some inputs tracked (e.g. a frozen k/v): gradients still reach the tracked ones.
    #[test]
    fn gradients_reach_only_the_tracked_inputs() {
        let ad = device().autodiff();
        let shape = [1, 2, 5, 4];
        let q = random(shape, 1, &ad).require_grad();
        let (k, v) = (random(shape, 2, &ad), random(shape, 3, &ad));
        let g = attention_fused(q.clone(), k.clone(), v.clone(), false)
            .sum()
            .backward();
        assert!(q.grad(&g).is_some());
        assert!(k.grad(&g).is_none() && v.grad(&g).is_none());
    }
}
