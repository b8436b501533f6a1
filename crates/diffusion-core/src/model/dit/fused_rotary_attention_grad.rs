//! Training-time self-attention of a DiT block as one autodiff node on the `flex` backend:
//! rotary on q and k, softmax(q kᵀ / √d_h) v, and the merge of heads, read from the
//! [B, L, 3H] qkv projection and written as [B, L, H], with a backward pass that returns the
//! gradient of qkv directly.
//!
//! In tensor ops (block.rs) the same work under autodiff is a transpose of qkv, the rotary
//! (slices, a concatenation, two products and a sum over q and k), the attention graph
//! ([`super::attention`] or [`super::fused_attention`]) and a transpose back, each recorded with
//! its own backward node: on a 2-core Intel Xeon `perf` put the libm `expf` of the attention
//! graph alone at 17 % of a genomics-size training step (L = 1,024), with memory copies and
//! fills at another 12 %. Here each (sequence, head) pair is handled in per-thread buffers:
//!
//!   forward:  S = c q̃ k̃ᵀ,  P = softmax(S) (rows masked after the diagonal when causal),
//!             O = P V,
//!   backward: P recomputed from q̃, k̃ (the node keeps only qkv and O), then
//!             dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),
//!             dq̃ = c dS k̃,  dk̃ = c dSᵀ q̃,
//!             and dq, dk by the inverse rotation (the transpose of the rotary map),
//!
//! with q̃, k̃ the rotated q, k and c = 1/√d_h. The matrix products are `gemm` calls (the
//! library burn's `flex` backend uses for its own matmuls), single-threaded per pair, with
//! sequences spread over the rayon pool; the softmax and dS loops are vectorised with the
//! polynomial `exp` of [`super::fused_gelu`].
//!
//! Only `flex` implements it (callers check [`crate::backend::is_flex_device`]); other backends
//! keep the tensor-op form.

// Without `flex` the extension macro generates a dispatch body with no backend to use the arguments.
#![cfg_attr(not(feature = "flex"), allow(unused_variables))]

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::prelude::*;

/// Rotary self-attention from the qkv projection with gradients: qkv [B, L, 3H] (q, k, v blocks
/// of H = heads · d_h columns, head-major inside each) → [B, L, H]. `qkv` must be f32 on the
/// `flex` backend (with or without autodiff); d_h must be even.
pub fn rotary_attention_trainable(qkv: Tensor<3>, heads: usize, causal: bool) -> Tensor<3> {
    Tensor::from_dispatch(
        <Dispatch as FusedRotaryAttentionGrad>::rotary_attention_forward(
            qkv.into_dispatch(),
            heads,
            causal,
        ),
    )
}

#[backend_extension(Autodiff, Flex: cfg(feature = "flex"))]
pub trait FusedRotaryAttentionGrad: Backend {
    /// qkv [B, L, 3H] → o [B, L, H].
    fn rotary_attention_forward(
        qkv: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> FloatTensor<Self>;

    /// The gradient of qkv [B, L, 3H] given qkv, the forward output o and its gradient d_o
    /// [B, L, H].
    fn rotary_attention_backward(
        qkv: FloatTensor<Self>,
        o: FloatTensor<Self>,
        d_o: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> FloatTensor<Self>;
}

#[cfg(feature = "flex")]
impl FusedRotaryAttentionGrad for burn::backend::Flex {
    fn rotary_attention_forward(
        qkv: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> FloatTensor<Self> {
        let (xs, shape) = host_input(qkv, heads, causal);
        let out = kernel::forward(values(&xs), shape);
        tensor(out, [shape.b, shape.l, shape.heads * shape.dh])
    }

    fn rotary_attention_backward(
        qkv: FloatTensor<Self>,
        o: FloatTensor<Self>,
        d_o: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> FloatTensor<Self> {
        let (xs, shape) = host_input(qkv, heads, causal);
        let (os, dos) = (contiguous(o), contiguous(d_o));
        let dx = kernel::backward(values(&xs), values(&os), values(&dos), shape);
        tensor(dx, [shape.b, shape.l, 3 * shape.heads * shape.dh])
    }
}

#[cfg(feature = "flex")]
use super::host::{contiguous, tensor, values};

#[cfg(feature = "flex")]
fn host_input(
    qkv: burn::backend::flex::FlexTensor,
    heads: usize,
    causal: bool,
) -> (burn::backend::flex::FlexTensor, kernel::Shape) {
    use burn::backend::TensorMetadata;
    let [b, l, h3] = qkv.shape().dims::<3>();
    assert_eq!(qkv.dtype(), burn::tensor::DType::F32, "f32 only");
    assert!(
        heads > 0 && h3.is_multiple_of(3 * heads) && (h3 / (3 * heads)).is_multiple_of(2),
        "qkv width {h3} is not 3 · {heads} heads · an even head size"
    );
    let shape = kernel::Shape {
        b,
        l,
        heads,
        dh: h3 / (3 * heads),
        causal,
    };
    (contiguous(qkv), shape)
}

#[derive(Debug)]
struct RotaryAttention;

/// qkv, o, heads, causal.
type State<B> = (FloatTensor<B>, FloatTensor<B>, usize, bool);

impl<B: Backend + FusedRotaryAttentionGrad> Backward<B, 1> for RotaryAttention {
    type State = State<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let d_o = grads.consume::<B>(&ops.node);
        let (qkv, o, heads, causal) = ops.state;
        if let [Some(node)] = ops.parents {
            let dx = B::rotary_attention_backward(qkv, o, d_o, heads, causal);
            grads.register::<B>(node.id, dx);
        }
    }
}

impl<B: Backend + FusedRotaryAttentionGrad, C: CheckpointStrategy> FusedRotaryAttentionGrad
    for Autodiff<B, C>
{
    fn rotary_attention_forward(
        qkv: FloatTensor<Self>,
        heads: usize,
        causal: bool,
    ) -> FloatTensor<Self> {
        let prep = RotaryAttention
            .prepare::<C>([qkv.node()])
            .compute_bound()
            .stateful();
        let qkv = qkv.into_primitive();
        match prep {
            OpsKind::Tracked(prep) => {
                let o = B::rotary_attention_forward(qkv.clone(), heads, causal);
                prep.finish((qkv, o.clone(), heads, causal), o)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::rotary_attention_forward(qkv, heads, causal))
            }
        }
    }

    fn rotary_attention_backward(
        _qkv: FloatTensor<Self>,
        _o: FloatTensor<Self>,
        _d_o: FloatTensor<Self>,
        _heads: usize,
        _causal: bool,
    ) -> FloatTensor<Self> {
        unreachable!("the backward pass runs on the inner backend")
    }
}

/// The host kernels.
#[cfg(feature = "flex")]
pub(crate) mod kernel {
    use super::super::fused_gelu::exp_f32;
    use rayon::prelude::*;

    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Shape {
        pub b: usize,
        pub l: usize,
        pub heads: usize,
        pub dh: usize,
        pub causal: bool,
    }

    /// cos and sin of the rotary angles, [L, d_h / 2] each.
    type Tables = (Vec<f32>, Vec<f32>);

    impl Shape {
        fn h(&self) -> usize {
            self.heads * self.dh
        }
    }

    /// Per-thread buffers: scores / probabilities and their gradient [L, L], the rotated
    /// (q scaled by c) q̃, k̃ [L, d_h] and one [L, d_h] gradient.
    struct Scratch {
        p: Vec<f32>,
        dp: Vec<f32>,
        q: Vec<f32>,
        k: Vec<f32>,
        g: Vec<f32>,
    }

    impl Scratch {
        fn new(s: Shape, backward: bool) -> Self {
            let ll = s.l * s.l;
            Self {
                p: vec![0.0; ll],
                dp: vec![0.0; if backward { ll } else { 0 }],
                q: vec![0.0; s.l * s.dh],
                k: vec![0.0; s.l * s.dh],
                g: vec![0.0; if backward { s.l * s.dh } else { 0 }],
            }
        }
    }

    /// qkv [B, L, 3H] → o [B, L, H].
    pub(crate) fn forward(qkv: &[f32], s: Shape) -> Vec<f32> {
        let h = s.h();
        let mut out = vec![0f32; s.b * s.l * h];
        if out.is_empty() {
            return out;
        }
        let tables = super::super::rotary::angle_tables(s.l, s.dh);
        out.par_chunks_mut(s.l * h)
            .zip(qkv.par_chunks(s.l * 3 * h))
            .for_each_init(
                || Scratch::new(s, false),
                |scratch, (o, x)| forward_sequence(x, o, &tables, s, scratch),
            );
        out
    }

    /// (qkv [B, L, 3H], o [B, L, H], d_o [B, L, H]) → d_qkv [B, L, 3H].
    pub(crate) fn backward(qkv: &[f32], o: &[f32], d_o: &[f32], s: Shape) -> Vec<f32> {
        let h = s.h();
        let mut dx = vec![0f32; s.b * s.l * 3 * h];
        if dx.is_empty() {
            return dx;
        }
        let tables = super::super::rotary::angle_tables(s.l, s.dh);
        dx.par_chunks_mut(s.l * 3 * h)
            .zip(qkv.par_chunks(s.l * 3 * h))
            .zip(o.par_chunks(s.l * h).zip(d_o.par_chunks(s.l * h)))
            .for_each_init(
                || Scratch::new(s, true),
                |scratch, ((dx, x), d)| backward_sequence(x, d, dx, &tables, s, scratch),
            );
        dx
    }

    super::super::fused_gelu::isa_fn! {
        /// One sequence forward (all heads).
        fn forward_sequence(x: &[f32], o: &mut [f32], tables: &Tables, s: Shape, scratch: &mut Scratch) {
            for head in 0..s.heads {
                forward_head(x, o, tables, s, head, scratch);
            }
        }
    }

    super::super::fused_gelu::isa_fn! {
        /// One sequence backward (all heads): `d` = (o, d_o) of the sequence, gradient into dx.
        fn backward_sequence(x: &[f32], d: (&[f32], &[f32]), dx: &mut [f32], tables: &Tables, s: Shape, scratch: &mut Scratch) {
            for head in 0..s.heads {
                backward_head(x, d.0, d.1, dx, tables, s, head, scratch);
            }
        }
    }

    /// q̃ = c · rot(q) and k̃ = rot(k) of one head into `q`, `k` [L, d_h].
    #[inline(always)]
    fn rotate_qk(
        x: &[f32],
        (cos, sin): &Tables,
        s: Shape,
        head: usize,
        q: &mut [f32],
        k: &mut [f32],
    ) {
        let (h, dh) = (s.h(), s.dh);
        let half = dh / 2;
        let c = 1.0 / (dh as f32).sqrt();
        for pos in 0..s.l {
            let row = &x[pos * 3 * h..(pos + 1) * 3 * h];
            let (cs, sn) = (
                &cos[pos * half..(pos + 1) * half],
                &sin[pos * half..(pos + 1) * half],
            );
            for (src, dst, scale) in [
                (
                    &row[head * dh..(head + 1) * dh],
                    &mut q[pos * dh..(pos + 1) * dh],
                    c,
                ),
                (
                    &row[h + head * dh..h + (head + 1) * dh],
                    &mut k[pos * dh..(pos + 1) * dh],
                    1.0,
                ),
            ] {
                for j in 0..half {
                    let (a, b) = (src[j], src[j + half]);
                    dst[j] = (a * cs[j] - b * sn[j]) * scale;
                    dst[j + half] = (b * cs[j] + a * sn[j]) * scale;
                }
            }
        }
    }

    /// Adds the inverse rotation of g [L, d_h], times `scale`, into the columns `col..col + d_h`
    /// of dx [L, 3H].
    #[inline(always)]
    fn unrotate_into(
        g: &[f32],
        (cos, sin): &Tables,
        s: Shape,
        col: usize,
        scale: f32,
        dx: &mut [f32],
    ) {
        let (h3, dh) = (3 * s.h(), s.dh);
        let half = dh / 2;
        for pos in 0..s.l {
            let (cs, sn) = (
                &cos[pos * half..(pos + 1) * half],
                &sin[pos * half..(pos + 1) * half],
            );
            let gr = &g[pos * dh..(pos + 1) * dh];
            let out = &mut dx[pos * h3 + col..pos * h3 + col + dh];
            for j in 0..half {
                let (a, b) = (gr[j], gr[j + half]);
                out[j] = (a * cs[j] + b * sn[j]) * scale;
                out[j + half] = (b * cs[j] - a * sn[j]) * scale;
            }
        }
    }

    /// One strided product dst = lhs · rhs of an [m, k] by a [k, n] matrix, each given by its
    /// pointer, row stride and column stride (in elements), single-threaded.
    ///
    /// # Safety
    /// Every index the strides reach must lie inside the pointed-to allocations, and `dst` must
    /// not overlap `lhs` or `rhs`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn matmul(
        (m, n, k): (usize, usize, usize),
        dst: (*mut f32, isize, isize),
        lhs: (*const f32, isize, isize),
        rhs: (*const f32, isize, isize),
    ) {
        // SAFETY: forwarded from the caller.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.0,
                dst.2,
                dst.1,
                false,
                lhs.0,
                lhs.2,
                lhs.1,
                rhs.0,
                rhs.2,
                rhs.1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }

    /// S = q̃ k̃ᵀ into `p` [L, L], then each row's softmax over its keys (j ≤ i when causal;
    /// later entries 0).
    #[inline(always)]
    fn probabilities(q: &[f32], k: &[f32], p: &mut [f32], s: Shape) {
        let (l, dh) = (s.l as isize, s.dh as isize);
        // SAFETY: q, k are [L, d_h] and p is [L, L], all row-major and distinct.
        unsafe {
            matmul(
                (s.l, s.l, s.dh),
                (p.as_mut_ptr(), l, 1),
                (q.as_ptr(), dh, 1),
                (k.as_ptr(), 1, dh),
            );
        }
        for (i, row) in p.chunks_exact_mut(s.l).enumerate() {
            let n = if s.causal { i + 1 } else { s.l };
            softmax_row(row, n);
        }
    }

    /// Lanes of the softmax reductions: independent accumulators, so the max and the sum
    /// vectorise (a single running f32 sum would be one serial chain).
    const W: usize = 16;

    /// Softmax of row[..n] in place; row[n..] set to 0.
    #[inline(always)]
    fn softmax_row(row: &mut [f32], n: usize) {
        let (live, masked) = row.split_at_mut(n);
        masked.fill(0.0);
        let mut lane_max = [f32::NEG_INFINITY; W];
        let mut chunks = live.chunks_exact(W);
        for c in &mut chunks {
            for t in 0..W {
                lane_max[t] = lane_max[t].max(c[t]);
            }
        }
        let m = chunks
            .remainder()
            .iter()
            .chain(&lane_max)
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        let mut lane_sum = [0f32; W];
        let mut chunks = live.chunks_exact_mut(W);
        for c in &mut chunks {
            for t in 0..W {
                c[t] = exp_f32(c[t] - m);
                lane_sum[t] += c[t];
            }
        }
        let mut z: f32 = lane_sum.iter().sum();
        for v in chunks.into_remainder() {
            *v = exp_f32(*v - m);
            z += *v;
        }
        let inv = 1.0 / z;
        for v in live.iter_mut() {
            *v *= inv;
        }
    }

    #[inline(always)]
    fn forward_head(
        x: &[f32],
        o: &mut [f32],
        tables: &Tables,
        s: Shape,
        head: usize,
        scratch: &mut Scratch,
    ) {
        let (l, h, dh) = (s.l as isize, s.h(), s.dh);
        rotate_qk(x, tables, s, head, &mut scratch.q, &mut scratch.k);
        probabilities(&scratch.q, &scratch.k, &mut scratch.p, s);
        // O = P V: V is the head's columns of x [L, 3H], O the head's columns of o [L, H].
        // SAFETY: the strides stay inside x [L, 3H], o [L, H] and p [L, L].
        unsafe {
            matmul(
                (s.l, dh, s.l),
                (o.as_mut_ptr().add(head * dh), h as isize, 1),
                (scratch.p.as_ptr(), l, 1),
                (x.as_ptr().add(2 * h + head * dh), 3 * h as isize, 1),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn backward_head(
        x: &[f32],
        o: &[f32],
        d_o: &[f32],
        dx: &mut [f32],
        tables: &Tables,
        s: Shape,
        head: usize,
        scratch: &mut Scratch,
    ) {
        let (l, h, dh) = (s.l as isize, s.h(), s.dh);
        let (hs, h3) = (h as isize, 3 * h as isize);
        let Scratch { p, dp, q, k, g } = scratch;
        rotate_qk(x, tables, s, head, q, k);
        probabilities(q, k, p, s);
        let (v_at, o_at) = (2 * h + head * dh, head * dh);
        // SAFETY (all products): the strides stay inside x, dx [L, 3H], o, d_o [L, H], p, dp
        // [L, L] and q, k, g [L, d_h]; destinations are distinct from their operands.
        unsafe {
            // dV = Pᵀ dO, straight into dx's v columns.
            matmul(
                (s.l, dh, s.l),
                (dx.as_mut_ptr().add(v_at), h3, 1),
                (p.as_ptr(), 1, l),
                (d_o.as_ptr().add(o_at), hs, 1),
            );
            // dP = dO Vᵀ.
            matmul(
                (s.l, s.l, dh),
                (dp.as_mut_ptr(), l, 1),
                (d_o.as_ptr().add(o_at), hs, 1),
                (x.as_ptr().add(v_at), 1, h3),
            );
        }
        // dS = P ⊙ (dP − rowsum(dO ⊙ O)), in dp.
        for (i, (dp_row, p_row)) in dp
            .chunks_exact_mut(s.l)
            .zip(p.chunks_exact(s.l))
            .enumerate()
        {
            let at = i * h + o_at;
            let d: f32 = d_o[at..at + dh]
                .iter()
                .zip(&o[at..at + dh])
                .map(|(a, b)| a * b)
                .sum();
            for (g, &pv) in dp_row.iter_mut().zip(p_row) {
                *g = pv * (*g - d);
            }
        }
        let c = 1.0 / (dh as f32).sqrt();
        // SAFETY: as above.
        unsafe {
            // dq̃ = dS k̃ (q̃ carries c, so dq_rot = c · dS k̃).
            matmul(
                (s.l, dh, s.l),
                (g.as_mut_ptr(), dh as isize, 1),
                (dp.as_ptr(), l, 1),
                (k.as_ptr(), dh as isize, 1),
            );
        }
        unrotate_into(g, tables, s, head * dh, c, dx);
        // SAFETY: as above.
        unsafe {
            // dk̃ = dSᵀ q̃ (q̃ already scaled by c).
            matmul(
                (s.l, dh, s.l),
                (g.as_mut_ptr(), dh as isize, 1),
                (dp.as_ptr(), 1, l),
                (q.as_ptr(), dh as isize, 1),
            );
        }
        unrotate_into(g, tables, s, h + head * dh, 1.0, dx);
    }
}

#[cfg(all(test, feature = "flex"))]
#[path = "fused_rotary_attention_grad_tests.rs"]
mod tests;
