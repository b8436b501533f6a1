//! The adaLN input of a DiT branch, LayerNorm(x) · w · (1 + scale) + shift, as one autodiff
//! node on the `flex` backend.
//!
//! In tensor ops it is burn's layer norm (mean, centring, variance, square root, division,
//! weight) and the modulation (1 + scale, product, sum), each a pass over [B, L, H] that
//! allocates its result and records a backward node; twice per block, forward and backward,
//! these passes are a large part of the ≈ 45 % of a QM9-size training step that is not matrix
//! products (`perf`, 2-core Intel Xeon). Here one pass per row forward, and one backward:
//!
//!   n = (x − μ) / σ,  σ = √(var(x) + ε),  a = n ⊙ w,  y = a ⊙ (1 + s) + t,
//!   dt = Σ_l dy,  ds = Σ_l dy ⊙ a,  da = dy ⊙ (1 + s),  dw = Σ_{b,l} da ⊙ n,
//!   dx = (dn − mean(dn) − n ⊙ mean(dn ⊙ n)) / σ  with dn = da ⊙ w,
//!
//! (means and sums over the hidden axis unless marked), x [B, L, H], w [H], s, t [B, 1, H];
//! the node keeps only its inputs and recomputes μ, σ. Only `flex` implements it (callers check
//! [`crate::backend::is_flex_device`]).

// Without `flex` the extension macro generates a dispatch body with no backend to use the arguments.
#![cfg_attr(not(feature = "flex"), allow(unused_variables))]

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::prelude::*;

/// The ε of the DiT's bias-free LayerNorm.
pub const EPS: f32 = 1e-5;

/// LayerNorm(x) · w · (1 + scale) + shift for x [B, L, H], w [H], shift and scale [B, 1, H]:
/// f32 on the `flex` backend.
pub fn adaln_fused(x: Tensor<3>, w: Tensor<1>, shift: Tensor<3>, scale: Tensor<3>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedAdaLn>::adaln(
        x.into_dispatch(),
        w.into_dispatch(),
        shift.into_dispatch(),
        scale.into_dispatch(),
    ))
}

/// (dx, dw, dshift, dscale) (the trait spells the tuple out: the extension macro reads it).
pub type Grads4<B> = (
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
);

#[backend_extension(Autodiff, Flex: cfg(feature = "flex"))]
pub trait FusedAdaLn: Backend {
    /// See [`adaln_fused`].
    fn adaln(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The gradients (dx, dw, dshift, dscale) given the inputs the backward pass reads (not
    /// the shift) and dy.
    fn adaln_backward(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        dy: FloatTensor<Self>,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );
}

#[cfg(feature = "flex")]
impl FusedAdaLn for burn::backend::Flex {
    fn adaln(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let shape = adaln_shape(&x, &w, &[&shift, &scale]);
        let [x, w, shift, scale] = [x, w, shift, scale].map(contiguous);
        let [x, w, shift, scale] = [&x, &w, &shift, &scale].map(values);
        let y = kernel::forward(x, w, shift, scale, shape);
        tensor(y, [shape.0, shape.1, shape.2])
    }

    fn adaln_backward(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        dy: FloatTensor<Self>,
    ) -> Grads4<Self> {
        let shape = adaln_shape(&x, &w, &[&scale]);
        let [x, w, scale, dy] = [x, w, scale, dy].map(contiguous);
        let g = kernel::backward(values(&x), values(&w), values(&scale), values(&dy), shape);
        let (b, l, h) = shape;
        (
            tensor(g.dx, [b, l, h]),
            tensor(g.dw, [h]),
            tensor(g.dshift, [b, 1, h]),
            tensor(g.dscale, [b, 1, h]),
        )
    }
}

/// (B, L, H) of x [B, L, H], checking that w is [H], each modulation tensor [B, 1, H] and all f32.
#[cfg(feature = "flex")]
fn adaln_shape(
    x: &burn::backend::flex::FlexTensor,
    w: &burn::backend::flex::FlexTensor,
    modulation: &[&burn::backend::flex::FlexTensor],
) -> (usize, usize, usize) {
    use burn::backend::TensorMetadata;
    let [b, l, h] = x.shape().dims::<3>();
    assert_eq!(w.shape().dims::<1>(), [h], "adaln: weight is not [H]");
    for t in modulation {
        assert_eq!(
            t.shape().dims::<3>(),
            [b, 1, h],
            "adaln: modulation is not [B, 1, H]"
        );
    }
    for t in [x, w].into_iter().chain(modulation.iter().copied()) {
        assert_eq!(t.dtype(), burn::tensor::DType::F32, "adaln: f32 only");
    }
    (b, l, h)
}

#[cfg(feature = "flex")]
use super::host::{contiguous, tensor, values};

#[derive(Debug)]
struct AdaLn;

impl<B: Backend + FusedAdaLn> Backward<B, 4> for AdaLn {
    /// x, w, scale (the shift does not enter the gradients).
    type State = [FloatTensor<B>; 3];

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<B>(&ops.node);
        let [x, w, scale] = ops.state;
        let (dx, dw, dshift, dscale) = B::adaln_backward(x, w, scale, dy);
        for (parent, g) in ops.parents.into_iter().zip([dx, dw, dshift, dscale]) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

impl<B: Backend + FusedAdaLn, C: CheckpointStrategy> FusedAdaLn for Autodiff<B, C> {
    fn adaln(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        shift: FloatTensor<Self>,
        scale: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let prep = AdaLn
            .prepare::<C>([x.node(), w.node(), shift.node(), scale.node()])
            .compute_bound()
            .stateful();
        let [x, w, shift, scale] = [x, w, shift, scale].map(|t| t.into_primitive());
        match prep {
            OpsKind::Tracked(prep) => {
                let state = [x.clone(), w.clone(), scale.clone()];
                prep.finish(state, B::adaln(x, w, shift, scale))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::adaln(x, w, shift, scale)),
        }
    }

    fn adaln_backward(
        _x: FloatTensor<Self>,
        _w: FloatTensor<Self>,
        _scale: FloatTensor<Self>,
        _dy: FloatTensor<Self>,
    ) -> Grads4<Self> {
        unreachable!("the backward pass runs on the inner backend")
    }
}

/// The host kernels: sequences in parallel on the rayon pool, rows inside a sequence in order.
#[cfg(feature = "flex")]
pub(crate) mod kernel {
    use super::EPS;
    use rayon::prelude::*;

    /// (B, L, H).
    pub(crate) type Shape = (usize, usize, usize);

    /// Lanes of the row reductions (independent accumulators so they vectorise).
    const W: usize = 16;

    /// (μ, 1/σ) of one row.
    #[inline(always)]
    fn moments(row: &[f32]) -> (f32, f32) {
        let n = row.len() as f32;
        let mean = lane_sum(row, |v| v) / n;
        let var = lane_sum(row, |v| (v - mean) * (v - mean)) / n;
        (mean, 1.0 / (var + EPS).sqrt())
    }

    /// Σ f(v) over a row in W independent lanes.
    #[inline(always)]
    fn lane_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
        let mut lanes = [0f32; W];
        let mut chunks = row.chunks_exact(W);
        for c in &mut chunks {
            for t in 0..W {
                lanes[t] += f(c[t]);
            }
        }
        chunks.remainder().iter().map(|&v| f(v)).sum::<f32>() + lanes.iter().sum::<f32>()
    }

    /// Σ a_i b_i in W independent lanes.
    #[inline(always)]
    fn lane_dot(a: &[f32], b: &[f32]) -> f32 {
        let mut lanes = [0f32; W];
        let (ca, cb) = (a.chunks_exact(W), b.chunks_exact(W));
        let rest: f32 = ca
            .remainder()
            .iter()
            .zip(cb.remainder())
            .map(|(x, y)| x * y)
            .sum();
        for (x, y) in ca.zip(cb) {
            for t in 0..W {
                lanes[t] += x[t] * y[t];
            }
        }
        rest + lanes.iter().sum::<f32>()
    }

    super::super::fused_gelu::isa_fn! {
        /// One sequence: xs, ys [L, H], shift t and scale s [H].
        fn forward_sequence(xs: &[f32], ys: &mut [f32], w: &[f32], t: &[f32], s: &[f32]) {
            let h = w.len();
            for (yr, xr) in ys.chunks_exact_mut(h).zip(xs.chunks_exact(h)) {
                let (mean, rstd) = moments(xr);
                for i in 0..h {
                    yr[i] = (xr[i] - mean) * rstd * w[i] * (1.0 + s[i]) + t[i];
                }
            }
        }
    }

    super::super::fused_gelu::isa_fn! {
        /// One sequence backward: (xs, dys) [L, H] and its scale s [H] → dx rows, the sequence's
        /// dshift / dscale (`dt`, `ds`) and its share of dw (added into `dw`); `n`, `dn` are
        /// [H] buffers.
        fn backward_sequence(
            xs: &[f32],
            dys: &[f32],
            w: &[f32],
            s: &[f32],
            dxs: &mut [f32],
            sums: [&mut [f32]; 3],
            buffers: [&mut [f32]; 2],
        ) {
            let [dt, ds, dw] = sums;
            let [n, dn] = buffers;
            let h = w.len();
            let hf = h as f32;
            for ((dxr, xr), dyr) in dxs.chunks_exact_mut(h).zip(xs.chunks_exact(h)).zip(dys.chunks_exact(h)) {
                let (mean, rstd) = moments(xr);
                for i in 0..h {
                    n[i] = (xr[i] - mean) * rstd;
                    dt[i] += dyr[i];
                    ds[i] += dyr[i] * n[i] * w[i];
                    let da = dyr[i] * (1.0 + s[i]);
                    dw[i] += da * n[i];
                    dn[i] = da * w[i];
                }
                let m1 = lane_sum(dn, |v| v) / hf;
                let m2 = lane_dot(dn, n) / hf;
                for i in 0..h {
                    dxr[i] = (dn[i] - m1 - n[i] * m2) * rstd;
                }
            }
        }
    }

    pub(crate) fn forward(
        x: &[f32],
        w: &[f32],
        shift: &[f32],
        scale: &[f32],
        (b, l, h): Shape,
    ) -> Vec<f32> {
        let mut y = vec![0f32; b * l * h];
        if y.is_empty() {
            return y;
        }
        y.par_chunks_mut(l * h)
            .zip(x.par_chunks(l * h))
            .zip(shift.par_chunks(h).zip(scale.par_chunks(h)))
            .for_each(|((ys, xs), (t, s))| forward_sequence(xs, ys, w, t, s));
        y
    }

    /// The four gradients of [`super::FusedAdaLn::adaln_backward`].
    pub(crate) struct Grads {
        pub dx: Vec<f32>,
        pub dw: Vec<f32>,
        pub dshift: Vec<f32>,
        pub dscale: Vec<f32>,
    }

    pub(crate) fn backward(
        x: &[f32],
        w: &[f32],
        scale: &[f32],
        dy: &[f32],
        (b, l, h): Shape,
    ) -> Grads {
        let mut dx = vec![0f32; b * l * h];
        let mut dshift = vec![0f32; b * h];
        let mut dscale = vec![0f32; b * h];
        if dx.is_empty() {
            return Grads {
                dx,
                dw: vec![0.0; h],
                dshift,
                dscale,
            };
        }
        // Per sequence: dx rows, its dshift / dscale, and its share of dw (summed after).
        let dws: Vec<Vec<f32>> = dx
            .par_chunks_mut(l * h)
            .zip(dshift.par_chunks_mut(h).zip(dscale.par_chunks_mut(h)))
            .zip(
                x.par_chunks(l * h)
                    .zip(dy.par_chunks(l * h))
                    .zip(scale.par_chunks(h)),
            )
            .map(|((dxs, (dt, ds)), ((xs, dys), s))| {
                let mut dw = vec![0f32; h];
                let (mut n, mut dn) = (vec![0f32; h], vec![0f32; h]);
                backward_sequence(xs, dys, w, s, dxs, [dt, ds, &mut dw], [&mut n, &mut dn]);
                dw
            })
            .collect();
        let mut dw = vec![0f32; h];
        for part in dws {
            for (a, p) in dw.iter_mut().zip(part) {
                *a += p;
            }
        }
        Grads {
            dx,
            dw,
            dshift,
            dscale,
        }
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::tensor_util::to_vec_f32;
    use crate::testing::{device, uniform_tensor as random};

    /// The fused node against burn's autodiff of the tensor-op form (layer_norm, modulate):
    /// output and all four gradients.
    #[test]
    fn output_and_gradients_equal_the_tensor_op_form() {
        let ad = device().autodiff();
        for (b, l, h) in [(1, 1, 4), (2, 5, 16), (3, 7, 37)] {
            let run = |fused: bool| {
                let x = random([b, l, h], 1, &ad)
                    .mul_scalar(3.0)
                    .add_scalar(0.5)
                    .require_grad();
                let w = random([h], 2, &ad).require_grad();
                let shift = random([b, 1, h], 3, &ad).require_grad();
                let scale = random([b, 1, h], 4, &ad).require_grad();
                let y = if fused {
                    adaln_fused(x.clone(), w.clone(), shift.clone(), scale.clone())
                } else {
                    let n =
                        burn::tensor::module::layer_norm(x.clone(), w.clone(), None, EPS as f64);
                    n * scale.clone().add_scalar(1.0) + shift.clone()
                };
                let out = to_vec_f32(y.clone().inner());
                let g = (y * random([b, l, h], 5, &ad)).sum().backward();
                let grads = [
                    to_vec_f32(x.grad(&g).expect("dx").inner()),
                    to_vec_f32(w.grad(&g).expect("dw").inner()),
                    to_vec_f32(shift.grad(&g).expect("dshift").inner()),
                    to_vec_f32(scale.grad(&g).expect("dscale").inner()),
                ];
                (out, grads)
            };
            let (fo, fg) = run(true);
            let (to, tg) = run(false);
            for (a, e) in fo.iter().zip(&to) {
                assert!(
                    (a - e).abs() < 1e-4 * (1.0 + e.abs()),
                    "{b}×{l}×{h} output: {a} vs {e}"
                );
            }
            for (name, (got, want)) in ["x", "w", "shift", "scale"].iter().zip(fg.iter().zip(&tg)) {
                assert_eq!(got.len(), want.len());
                for (a, e) in got.iter().zip(want) {
                    assert!(
                        (a - e).abs() < 2e-4 * (1.0 + e.abs()),
                        "{b}×{l}×{h} d{name}: {a} vs {e}"
                    );
                }
            }
        }
    }
}
