//! Inference-time self-attention of a DiT block as one pass: rotary on q and k, scaled dot
//! products, softmax and the value sum, read straight from the [B, L, 3H] qkv projection and
//! written straight into the [B, L, H] layout the output projection takes.
//!
//! In tensor ops the same work is a transpose of qkv to [B, 3·heads, L, d_h], the rotary
//! (a half-swap matmul, two products and a sum over q and k), the backend's attention kernel
//! and a transpose back: at sampling sizes (L = 32, d_h = 16–32) these are memory passes
//! around very little arithmetic, and `perf` put them at ≈ 30 % of an uncached sampling step
//! and of exact D-CBG's classifier passes. Here each (sequence, head) pair is handled in
//! cache: q and k are rotated into small buffers (k transposed so that the score loop runs
//! along keys and vectorises), then each query row takes its scores, softmax and weighted
//! value sum.
//!
//! It has no backward pass: callers use it only without gradient tracking, on f32 host
//! tensors ([`crate::backend::is_host_device`]), and up to [`MAX_LEN`]. Other backends and
//! dtypes take the trait's default body, which is the tensor-op form of `block.rs`.

// burn-ndarray is deprecated upstream; it stays selectable here as the comparison backend.
#![allow(deprecated)]

use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::prelude::*;

/// Longest sequence routed here: per query row the kernel keeps L scores, and beyond a few
/// hundred keys the backend's tiled kernel (with its matmuls) is the better choice.
pub const MAX_LEN: usize = 256;

/// Rotary self-attention from the qkv projection: qkv [B, L, 3H] (q, k, v blocks of H =
/// heads · d_h columns, head-major inside each) → [B, L, H], with `causal` masking keys after
/// the query. Equal (to float rounding) to rotary + `attention::self_attention` + the merge
/// of heads in `block.rs`.
pub fn rotary_attention_fused(qkv: Tensor<3>, heads: usize, causal: bool) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedRotaryAttention>::rotary_attention(
        qkv.into_dispatch(),
        heads,
        causal,
    ))
}

#[backend_extension(Autodiff, Flex: cfg(feature = "flex"), NdArray: cfg(feature = "ndarray"))]
pub trait FusedRotaryAttention: Backend {
    /// See [`rotary_attention_fused`]; the default is the tensor-op form.
    fn rotary_attention(qkv: FloatTensor<Self>, heads: usize, causal: bool) -> FloatTensor<Self> {
        rotary_attention_ops::<Self>(qkv, heads, causal)
    }
}

#[cfg(feature = "ndarray")]
impl FusedRotaryAttention for burn::backend::NdArray {}

impl<B: Backend, C: burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy>
    FusedRotaryAttention for Autodiff<B, C>
{
}

#[cfg(feature = "flex")]
impl FusedRotaryAttention for burn::backend::Flex {
    fn rotary_attention(qkv: FloatTensor<Self>, heads: usize, causal: bool) -> FloatTensor<Self> {
        use burn::backend::TensorMetadata;
        let [b, l, h3] = qkv.shape().dims::<3>();
        if qkv.dtype() != burn::tensor::DType::F32 || l > MAX_LEN || h3 % (3 * heads) != 0 {
            return rotary_attention_ops::<Self>(qkv, heads, causal);
        }
        let qkv = super::host::contiguous(qkv);
        let xs = super::host::values(&qkv);
        let shape = kernel::Shape {
            l,
            heads,
            dh: h3 / (3 * heads),
            causal,
        };
        let out = kernel::run(xs, b, shape);
        super::host::tensor(out, [b, l, h3 / 3])
    }
}

/// The default body in backend ops: the same steps as `block.rs` (heads split by a transpose,
/// rotate-half with the tables of `rotary.rs`, the backend's attention, heads merged).
fn rotary_attention_ops<B: Backend>(
    qkv: FloatTensor<B>,
    heads: usize,
    causal: bool,
) -> FloatTensor<B> {
    use burn::backend::TensorMetadata;
    use burn::tensor::Slice;
    let [b, l, h3] = qkv.shape().dims::<3>();
    let (h, device) = (h3 / 3, qkv.device());
    let dh = h / heads;
    let half = dh / 2;
    let x = B::float_swap_dims(
        B::float_reshape(qkv, burn::tensor::Shape::new([b, l, 3 * heads, dh])),
        1,
        2,
    ); // [B, 3·heads, L, d_h]
    let full = Slice::new(0, None, 1);
    let range = |a: usize, e: usize| Slice::new(a as isize, Some(e as isize), 1);
    let part = |x: FloatTensor<B>, i: usize| {
        B::float_slice(x, &[full, range(i * heads, (i + 1) * heads), full, full])
    };
    // [cos, cos] and [−sin, sin] as [1, 1, L, d_h].
    let (cos2, sin2) = super::rotary::rotate_half_tables(l, dh);
    let cos2 = B::float_from_data(TensorData::new(cos2, [1, 1, l, dh]), &device);
    let sin2 = B::float_from_data(TensorData::new(sin2, [1, 1, l, dh]), &device);
    let rotate = |t: FloatTensor<B>| {
        let swapped = B::float_cat(
            vec![
                B::float_slice(t.clone(), &[full, full, full, range(half, dh)]),
                B::float_slice(t.clone(), &[full, full, full, range(0, half)]),
            ],
            3,
        );
        B::float_add(
            B::float_mul(t, cos2.clone()),
            B::float_mul(swapped, sin2.clone()),
        )
    };
    let q = rotate(part(x.clone(), 0));
    let k = rotate(part(x.clone(), 1));
    let v = part(x, 2);
    let o = B::attention(q, k, v, None, None, super::attention::options(causal)); // [B, heads, L, d_h]
    B::float_reshape(
        B::float_swap_dims(o, 1, 2),
        burn::tensor::Shape::new([b, l, h]),
    )
}

/// The host kernel and its instruction-set variants.
#[cfg(feature = "flex")]
pub(crate) mod kernel {
    use super::super::fused_gelu::exp_f32;
    use rayon::prelude::*;

    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Shape {
        pub l: usize,
        pub heads: usize,
        pub dh: usize,
        pub causal: bool,
    }

    /// qkv [B, L, 3H] → [B, L, H], sequences in parallel on the rayon pool.
    pub(crate) fn run(qkv: &[f32], b: usize, s: Shape) -> Vec<f32> {
        let h = s.heads * s.dh;
        let mut out = vec![0f32; b * s.l * h];
        if out.is_empty() {
            return out;
        }
        let (cos, sin) = super::super::rotary::angle_tables(s.l, s.dh);
        let isa = super::super::fused_gelu::isa_level();
        out.par_chunks_mut(s.l * h)
            .zip(qkv.par_chunks(s.l * 3 * h))
            .for_each_init(
                || Scratch::new(s),
                |scratch, (o, x)| sequence_with(isa, x, o, &cos, &sin, s, scratch),
            );
        out
    }

    /// Register blocking: R query rows at a time, W lanes (keys for the scores, output
    /// dimensions for the value sum) per accumulator. The R × W accumulators stay in vector
    /// registers and give R independent FMA chains that share each loaded k or v block.
    const W: usize = 16;
    const R: usize = 4;

    /// Per-thread buffers: rotated, scaled q [L_q, d_h] with L_q = L rounded up to R (padding
    /// rows stay zero); rotated k transposed [d_h, L_pad] with L_pad = L rounded up to W
    /// (padding stays zero); scores (then probabilities) [R, L_pad].
    pub(crate) struct Scratch {
        q: Vec<f32>,
        kt: Vec<f32>,
        scores: Vec<f32>,
    }

    impl Scratch {
        pub(crate) fn new(s: Shape) -> Self {
            let lp = s.l.div_ceil(W) * W;
            Self {
                q: vec![0.0; s.l.div_ceil(R) * R * s.dh],
                kt: vec![0.0; s.dh * lp],
                scores: vec![0.0; R * lp],
            }
        }
    }

    /// One sequence (all heads) with the given instruction-set level (0 plain, 1 AVX2+FMA,
    /// 2 AVX-512; unsupported levels fall back).
    pub(crate) fn sequence_with(
        isa: u8,
        x: &[f32],
        o: &mut [f32],
        cos: &[f32],
        sin: &[f32],
        s: Shape,
        scratch: &mut Scratch,
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: the feature is checked at run time before the call.
            if isa >= 2 && std::arch::is_x86_feature_detected!("avx512f") {
                return unsafe { sequence_avx512(x, o, cos, sin, s, scratch) };
            }
            if isa >= 1
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return unsafe { sequence_avx2(x, o, cos, sin, s, scratch) };
            }
        }
        let _ = isa;
        sequence::<false>(x, o, cos, sin, s, scratch)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn sequence_avx512(
        x: &[f32],
        o: &mut [f32],
        cos: &[f32],
        sin: &[f32],
        s: Shape,
        scratch: &mut Scratch,
    ) {
        sequence::<true>(x, o, cos, sin, s, scratch)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn sequence_avx2(
        x: &[f32],
        o: &mut [f32],
        cos: &[f32],
        sin: &[f32],
        s: Shape,
        scratch: &mut Scratch,
    ) {
        sequence::<true>(x, o, cos, sin, s, scratch)
    }

    /// a · b + c, fused (one rounding) when the caller is compiled with FMA; the plain build
    /// keeps the separate product and sum (a software fma would be slow).
    #[inline(always)]
    fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
        if FMA { a.mul_add(b, c) } else { a * b + c }
    }

    /// x [L, 3H] of one sequence → o [L, H]: per head, rotate q and k, then per group of R
    /// query rows the scores, their softmax and the value sum.
    #[inline(always)]
    fn sequence<const FMA: bool>(
        x: &[f32],
        o: &mut [f32],
        cos: &[f32],
        sin: &[f32],
        s: Shape,
        scratch: &mut Scratch,
    ) {
        let lp = s.l.div_ceil(W) * W;
        let Scratch { q, kt, scores } = scratch;
        for head in 0..s.heads {
            rotate_head(x, cos, sin, s, head, lp, q, kt);
            for i0 in (0..s.l).step_by(R) {
                let rows = R.min(s.l - i0);
                // Keys the group needs (causal: up to its last row's diagonal).
                let n = if s.causal { i0 + rows } else { s.l };
                group_scores::<FMA>(q, kt, scores, i0, n.div_ceil(W), s.dh, lp);
                let inv = softmax_rows(scores, i0, rows, n.div_ceil(W), lp, s);
                weighted_values::<FMA>(x, o, scores, &inv, (i0, rows, n), head, s, lp);
            }
        }
    }

    /// Rotary q (scaled by 1/√d) of one head into `q` [L, d], and k transposed into
    /// `kt` [d, Lp].
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn rotate_head(
        x: &[f32],
        cos: &[f32],
        sin: &[f32],
        s: Shape,
        head: usize,
        lp: usize,
        q: &mut [f32],
        kt: &mut [f32],
    ) {
        let (h, dh) = (s.heads * s.dh, s.dh);
        let half = dh / 2;
        let scale = 1.0 / (dh as f32).sqrt();
        for pos in 0..s.l {
            let row = &x[pos * 3 * h..(pos + 1) * 3 * h];
            let qs = &row[head * dh..(head + 1) * dh];
            let ks = &row[h + head * dh..h + (head + 1) * dh];
            let (c, sn) = (
                &cos[pos * half..(pos + 1) * half],
                &sin[pos * half..(pos + 1) * half],
            );
            let qr = &mut q[pos * dh..(pos + 1) * dh];
            for j in 0..half {
                let (q1, q2) = (qs[j], qs[j + half]);
                qr[j] = (q1 * c[j] - q2 * sn[j]) * scale;
                qr[j + half] = (q2 * c[j] + q1 * sn[j]) * scale;
                let (k1, k2) = (ks[j], ks[j + half]);
                kt[j * lp + pos] = k1 * c[j] - k2 * sn[j];
                kt[(j + half) * lp + pos] = k2 * c[j] + k1 * sn[j];
            }
        }
    }

    /// Scores q_r · k_j of the R rows from `i0` against the first `nb` blocks of W keys, into
    /// `scores` [R, Lp].
    #[inline(always)]
    fn group_scores<const FMA: bool>(
        q: &[f32],
        kt: &[f32],
        scores: &mut [f32],
        i0: usize,
        nb: usize,
        dh: usize,
        lp: usize,
    ) {
        for jb in (0..nb).map(|blk| blk * W) {
            let mut acc = [[0f32; W]; R];
            for (d, krow) in kt.chunks_exact(lp).enumerate() {
                let kd: &[f32; W] = krow[jb..jb + W].try_into().expect("W lanes");
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let qv = q[(i0 + r) * dh + d];
                    for t in 0..W {
                        acc_r[t] = madd::<FMA>(qv, kd[t], acc_r[t]);
                    }
                }
            }
            for (r, acc_r) in acc.iter().enumerate() {
                scores[r * lp + jb..r * lp + jb + W].copy_from_slice(acc_r);
            }
        }
    }

    /// Softmax numerators of each of the `rows` rows over its keys j < n_r, in place (later
    /// lanes become 0); returns 1 / Σ per row.
    #[inline(always)]
    fn softmax_rows(
        scores: &mut [f32],
        i0: usize,
        rows: usize,
        nb: usize,
        lp: usize,
        s: Shape,
    ) -> [f32; R] {
        let mut inv = [0f32; R];
        for (r, inv_r) in inv.iter_mut().enumerate().take(rows) {
            let nr = if s.causal { i0 + r + 1 } else { s.l };
            let row = &mut scores[r * lp..r * lp + nb * W];
            let mut lane_max = [f32::NEG_INFINITY; W];
            for (blk, chunk) in row.chunks_exact(W).enumerate() {
                for t in 0..W {
                    if blk * W + t < nr {
                        lane_max[t] = lane_max[t].max(chunk[t]);
                    }
                }
            }
            let m = lane_max.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut lane_sum = [0f32; W];
            for (blk, chunk) in row.chunks_exact_mut(W).enumerate() {
                for t in 0..W {
                    let e = if blk * W + t < nr {
                        exp_f32(chunk[t] - m)
                    } else {
                        0.0
                    };
                    chunk[t] = e;
                    lane_sum[t] += e;
                }
            }
            *inv_r = 1.0 / lane_sum.iter().sum::<f32>();
        }
        inv
    }

    /// o_r = Σ_{j < n} p_rj v_j / z_r for the group's rows (`i0`, `rows`, `n`), W output lanes
    /// at a time, then the remainder.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn weighted_values<const FMA: bool>(
        x: &[f32],
        o: &mut [f32],
        scores: &[f32],
        inv: &[f32; R],
        (i0, rows, n): (usize, usize, usize),
        head: usize,
        s: Shape,
        lp: usize,
    ) {
        let (h, dh) = (s.heads * s.dh, s.dh);
        let v_at = |j: usize| j * 3 * h + 2 * h + head * dh;
        let mut d0 = 0;
        while d0 + W <= dh {
            let mut acc = [[0f32; W]; R];
            for j in 0..n {
                let vj: &[f32; W] = x[v_at(j) + d0..v_at(j) + d0 + W]
                    .try_into()
                    .expect("W lanes");
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let p = scores[r * lp + j];
                    for t in 0..W {
                        acc_r[t] = madd::<FMA>(p, vj[t], acc_r[t]);
                    }
                }
            }
            for (r, acc_r) in acc.iter().enumerate().take(rows) {
                let at = (i0 + r) * h + head * dh + d0;
                for (od, a) in o[at..at + W].iter_mut().zip(acc_r) {
                    *od = a * inv[r];
                }
            }
            d0 += W;
        }
        if d0 < dh {
            for (r, &inv_r) in inv.iter().enumerate().take(rows) {
                let at = (i0 + r) * h + head * dh;
                let rest = &mut o[at + d0..at + dh];
                rest.fill(0.0);
                for j in 0..n {
                    let p = scores[r * lp + j];
                    for (od, vd) in rest.iter_mut().zip(&x[v_at(j) + d0..v_at(j) + dh]) {
                        *od += p * vd;
                    }
                }
                for od in rest.iter_mut() {
                    *od *= inv_r;
                }
            }
        }
    }
}

#[cfg(all(test, feature = "flex"))]
pub(crate) mod tests {
    use super::*;
    use crate::tensor_util::to_vec_f32;
    use crate::testing::{device, uniform_tensor as random};

    /// What `block.rs` computes without this operation (under autodiff at test sizes, the lean
    /// tensor-op attention).
    pub(crate) fn block_form(qkv: Tensor<3>, heads: usize, causal: bool) -> Tensor<3> {
        let [b, l, h3] = qkv.dims();
        let dh = h3 / 3 / heads;
        let qkv = qkv.reshape([b, l, 3 * heads, dh]).swap_dims(1, 2);
        let rotary = crate::dit::rotary::Rotary::new(l, dh, &qkv.device());
        let qk = rotary.apply(qkv.clone().narrow(1, 0, 2 * heads));
        let q = qk.clone().narrow(1, 0, heads);
        let k = qk.narrow(1, heads, heads);
        let v = qkv.narrow(1, 2 * heads, heads);
        crate::dit::attention::self_attention(q, k, v, causal)
            .swap_dims(1, 2)
            .reshape([b, l, h3 / 3])
    }

    /// The fused kernel against the tensor-op form, at every instruction-set level this CPU
    /// has, causal or not, for several lengths and head sizes.
    #[test]
    fn fused_rotary_attention_equals_the_tensor_op_form() {
        let d = device();
        for causal in [false, true] {
            for (b, l, heads, dh) in [(2, 1, 1, 2), (3, 7, 2, 4), (2, 32, 4, 16), (1, 40, 3, 8)] {
                let h3 = 3 * heads * dh;
                let qkv = random([b, l, h3], (l + heads) as u64, &d).mul_scalar(3.0);
                let want = to_vec_f32(block_form(qkv.clone(), heads, causal));
                let ops = to_vec_f32(Tensor::<3>::from_dispatch(
                    rotary_attention_ops::<Dispatch>(qkv.clone().into_dispatch(), heads, causal),
                ));
                for (g, w) in ops.iter().zip(&want) {
                    assert!((g - w).abs() < 2e-5, "default body: {g} vs {w}");
                }
                let xs = to_vec_f32(qkv.clone());
                let s = kernel::Shape {
                    l,
                    heads,
                    dh,
                    causal,
                };
                let (cos, sin) = crate::dit::rotary::angle_tables(l, dh);
                for isa in 0..=2u8 {
                    let mut out = vec![0f32; b * l * heads * dh];
                    let mut scratch = kernel::Scratch::new(s);
                    for (o, x) in out.chunks_mut(l * heads * dh).zip(xs.chunks(l * h3)) {
                        kernel::sequence_with(isa, x, o, &cos, &sin, s, &mut scratch);
                    }
                    for (g, w) in out.iter().zip(&want) {
                        assert!(
                            (g - w).abs() < 2e-5,
                            "isa {isa} causal {causal} {b}×{l}×{heads}×{dh}: {g} vs {w}"
                        );
                    }
                }
                let got = to_vec_f32(rotary_attention_fused(qkv, heads, causal));
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 2e-5, "dispatch: {g} vs {w}");
                }
            }
        }
    }
}
