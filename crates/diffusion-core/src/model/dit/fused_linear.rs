//! A linear layer y = x W + b as one autodiff node on the `flex` backend.
//!
//! burn's form is a matmul node and a broadcast-add node. On `flex` every matmul result is
//! allocated as zeroed bytes and then copied once more into an aligned buffer (`FlexTensor::empty`
//! → `Bytes::from_bytes_vec`), so each of the three products of a layer (y, dx, dW) pays a
//! memset and a memcpy of its output, and the bias adds one more pass and allocation each way:
//! `perf` put these at ≈ 5 % of a QM9-size training step (2-core Intel Xeon). Here the products
//! are `gemm` calls writing straight into new buffers, with the same arguments burn passes (so
//! y, dx and dW are bit-for-bit burn's), the bias is added in place and its gradient is one
//! column sum:
//!
//!   y = x W + b,  dx = dy Wᵀ,  dW = xᵀ dy,  db = Σ_rows dy,
//!
//! x [M, K], W [K, N] (burn's `Linear` layout), b [N]. Only `flex` implements it (callers check
//! [`crate::backend::is_flex_device`]).

// Without `flex` the extension macro generates a dispatch body with no backend to use the arguments.
#![cfg_attr(not(feature = "flex"), allow(unused_variables))]

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::nn::Linear;
use burn::prelude::*;

/// `layer` applied to x [M, K] → [M, N] through the fused node (f32 on `flex`).
pub fn linear_fused(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    let w = layer.weight.val().into_dispatch();
    let x = x.into_dispatch();
    Tensor::from_dispatch(match &layer.bias {
        Some(b) => <Dispatch as FusedLinear>::matmul_bias(x, w, b.val().into_dispatch()),
        None => <Dispatch as FusedLinear>::matmul_weight(x, w),
    })
}

#[backend_extension(Autodiff, Flex: cfg(feature = "flex"))]
pub trait FusedLinear: Backend {
    /// x [M, K] · w [K, N].
    fn matmul_weight(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;

    /// x [M, K] · w [K, N] + b [N].
    fn matmul_bias(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// (dx, dW) = (dy wᵀ, xᵀ dy) for dy [M, N].
    fn matmul_backward(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        dy: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// db = Σ_rows dy [M, N] → [N].
    fn matmul_bias_backward(dy: FloatTensor<Self>) -> FloatTensor<Self>;
}

#[cfg(feature = "flex")]
use super::host::{contiguous, tensor, values};
#[cfg(feature = "flex")]
use burn::backend::TensorMetadata;

#[cfg(feature = "flex")]
impl FusedLinear for burn::backend::Flex {
    fn matmul_weight(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        let (m, k, n) = linear_shape(&x, &w);
        let [x, w] = [x, w].map(contiguous);
        let y = kernel::product(m, k, n, values(&x), (k, 1), values(&w), (n, 1));
        tensor(y, [m, n])
    }

    fn matmul_bias(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (m, k, n) = linear_shape(&x, &w);
        assert_eq!(b.shape().dims::<1>(), [n], "linear: bias is not [N]");
        let [x, w, b] = [x, w, b].map(contiguous);
        let mut y = kernel::product(m, k, n, values(&x), (k, 1), values(&w), (n, 1));
        kernel::add_rows(&mut y, values(&b));
        tensor(y, [m, n])
    }

    fn matmul_backward(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        dy: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (m, k, n) = linear_shape(&x, &w);
        assert_eq!(dy.shape().dims::<2>(), [m, n], "linear: dy is not [M, N]");
        let [x, w, dy] = [x, w, dy].map(contiguous);
        let (x, w, dy) = (values(&x), values(&w), values(&dy));
        // dx [M, K] = dy [M, N] · wᵀ (w read with swapped strides); dW [K, N] = xᵀ [K, M] · dy.
        let dx = kernel::product(m, n, k, dy, (n, 1), w, (1, n));
        let dw = kernel::product(k, m, n, x, (1, k), dy, (n, 1));
        (tensor(dx, [m, k]), tensor(dw, [k, n]))
    }

    fn matmul_bias_backward(dy: FloatTensor<Self>) -> FloatTensor<Self> {
        let [_, n] = dy.shape().dims::<2>();
        let dy = contiguous(dy);
        tensor(kernel::column_sums(values(&dy), n), [n])
    }
}

/// (M, K, N) of x [M, K] and w [K, N], both f32.
#[cfg(feature = "flex")]
fn linear_shape(
    x: &burn::backend::flex::FlexTensor,
    w: &burn::backend::flex::FlexTensor,
) -> (usize, usize, usize) {
    let [m, k] = x.shape().dims::<2>();
    let [kw, n] = w.shape().dims::<2>();
    assert_eq!(k, kw, "linear: x is [M, {k}] but the weight is [{kw}, N]");
    for t in [x, w] {
        assert_eq!(t.dtype(), burn::tensor::DType::F32, "linear: f32 only");
    }
    (m, k, n)
}

/// The backward node of x · W (parents x, W).
#[derive(Debug)]
struct LinearNode;

impl<B: Backend + FusedLinear> Backward<B, 2> for LinearNode {
    type State = [FloatTensor<B>; 2];

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<B>(&ops.node);
        let [x, w] = ops.state;
        let (dx, dw) = B::matmul_backward(x, w, dy);
        for (parent, g) in ops.parents.into_iter().zip([dx, dw]) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

/// The backward node of x · W + b (parents x, W, b).
#[derive(Debug)]
struct LinearBiasNode;

impl<B: Backend + FusedLinear> Backward<B, 3> for LinearBiasNode {
    type State = [FloatTensor<B>; 2];

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<B>(&ops.node);
        let [x, w] = ops.state;
        let [px, pw, pb] = ops.parents;
        if let Some(node) = pb {
            grads.register::<B>(node.id, B::matmul_bias_backward(dy.clone()));
        }
        let (dx, dw) = B::matmul_backward(x, w, dy);
        for (parent, g) in [px, pw].into_iter().zip([dx, dw]) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

impl<B: Backend + FusedLinear, C: CheckpointStrategy> FusedLinear for Autodiff<B, C> {
    fn matmul_weight(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        let prep = LinearNode
            .prepare::<C>([x.node(), w.node()])
            .compute_bound()
            .stateful();
        let [x, w] = [x, w].map(|t| t.into_primitive());
        match prep {
            OpsKind::Tracked(prep) => {
                let state = [x.clone(), w.clone()];
                prep.finish(state, B::matmul_weight(x, w))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::matmul_weight(x, w)),
        }
    }

    fn matmul_bias(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let prep = LinearBiasNode
            .prepare::<C>([x.node(), w.node(), b.node()])
            .compute_bound()
            .stateful();
        let [x, w, b] = [x, w, b].map(|t| t.into_primitive());
        match prep {
            OpsKind::Tracked(prep) => {
                let state = [x.clone(), w.clone()];
                prep.finish(state, B::matmul_bias(x, w, b))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::matmul_bias(x, w, b)),
        }
    }

    fn matmul_backward(
        _x: FloatTensor<Self>,
        _w: FloatTensor<Self>,
        _dy: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        unreachable!("the backward pass runs on the inner backend")
    }

    fn matmul_bias_backward(_dy: FloatTensor<Self>) -> FloatTensor<Self> {
        unreachable!("the backward pass runs on the inner backend")
    }
}

/// The host side: one `gemm` call per product, bias rows and column sums on the rayon pool.
#[cfg(feature = "flex")]
pub(crate) mod kernel {
    use rayon::prelude::*;

    /// Products at or above this many multiply-adds use every rayon thread, as burn's `flex`
    /// matmul decides (so a product here is bit-for-bit burn's).
    const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

    /// Rows per task of the bias pass.
    const BIAS_ROWS: usize = 64;

    /// lhs [m, k] · rhs [k, n] into a new row-major [m, n]; each operand given by its values
    /// and (row stride, column stride) in elements.
    pub(crate) fn product(
        m: usize,
        k: usize,
        n: usize,
        lhs: &[f32],
        (lhs_rs, lhs_cs): (usize, usize),
        rhs: &[f32],
        (rhs_rs, rhs_cs): (usize, usize),
    ) -> Vec<f32> {
        let last = |rows: usize, cols: usize, rs: usize, cs: usize| {
            if rows == 0 || cols == 0 {
                0
            } else {
                (rows - 1) * rs + (cols - 1) * cs + 1
            }
        };
        assert!(
            lhs.len() >= last(m, k, lhs_rs, lhs_cs),
            "product: lhs too short"
        );
        assert!(
            rhs.len() >= last(k, n, rhs_rs, rhs_cs),
            "product: rhs too short"
        );
        let mut out: Vec<f32> = Vec::with_capacity(m * n);
        if m * n == 0 {
            return out;
        }
        if k == 0 {
            out.resize(m * n, 0.0);
            return out;
        }
        let parallelism = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_THRESHOLD {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        // SAFETY: the asserts above keep every strided read inside lhs and rhs; dst is the
        // m·n capacity of `out`, written in full because read_dst is false (gemm neither reads
        // it nor leaves any element unwritten), after which the length is set.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                false,
                lhs.as_ptr(),
                lhs_cs as isize,
                lhs_rs as isize,
                rhs.as_ptr(),
                rhs_cs as isize,
                rhs_rs as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
            out.set_len(m * n);
        }
        out
    }

    /// y[i, :] += b for every row of y [M, N].
    pub(crate) fn add_rows(y: &mut [f32], b: &[f32]) {
        let n = b.len();
        if n == 0 {
            return;
        }
        y.par_chunks_mut(n * BIAS_ROWS).for_each(|rows| {
            for row in rows.chunks_exact_mut(n) {
                for (v, bias) in row.iter_mut().zip(b) {
                    *v += bias;
                }
            }
        });
    }

    /// Σ_rows dy for dy [M, N] → [N], rows added in order (burn's `sum_dim(0)` order, so a
    /// bias gradient is bit-for-bit what the unfused layer gives).
    pub(crate) fn column_sums(dy: &[f32], n: usize) -> Vec<f32> {
        let mut total = vec![0f32; n];
        if n == 0 {
            return total;
        }
        for row in dy.chunks_exact(n) {
            for (t, v) in total.iter_mut().zip(row) {
                *t += v;
            }
        }
        total
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::tensor_util::to_vec_f32;
    use crate::testing::{device, uniform_tensor as random};
    use burn::nn::LinearConfig;

    /// The output and every gradient (x, W, b) bit-for-bit burn's `Linear` under autodiff,
    /// with and without bias, below and above the size at which the products go parallel.
    #[test]
    fn output_and_gradients_equal_burns_linear() {
        let ad = device().autodiff();
        for bias in [true, false] {
            for (m, k, n) in [(1, 1, 1), (3, 5, 7), (70, 33, 129), (256, 256, 384)] {
                let layer = LinearConfig::new(k, n).with_bias(bias).init(&ad);
                let run = |fused: bool| {
                    let x = random([m, k], (m + k) as u64, &ad).require_grad();
                    let probe = random([m, n], 7, &ad);
                    let y = if fused {
                        linear_fused(&layer, x.clone())
                    } else {
                        layer.forward(x.clone())
                    };
                    let out = to_vec_f32(y.clone().inner());
                    let g = (y * probe).sum().backward();
                    let dx = to_vec_f32(x.grad(&g).expect("dx").inner());
                    let dw = to_vec_f32(layer.weight.grad(&g).expect("dW").inner());
                    let db = layer
                        .bias
                        .as_ref()
                        .map(|b| to_vec_f32(b.grad(&g).expect("db").inner()));
                    (out, dx, dw, db)
                };
                let (fo, fx, fw, fb) = run(true);
                let (to, tx, tw, tb) = run(false);
                let what = format!("bias {bias} {m}×{k}×{n}");
                assert_eq!(fo, to, "{what}: output");
                assert_eq!(fx, tx, "{what}: dx");
                assert_eq!(fw, tw, "{what}: dW");
                assert_eq!(fb, tb, "{what}: db");
            }
        }
    }

    /// The host pieces against hand-computed values: a transposed read, the bias rows and
    /// column sums.
    #[test]
    fn kernels_match_hand_computed_values() {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]].
        let y = kernel::product(
            2,
            2,
            2,
            &[1.0, 2.0, 3.0, 4.0],
            (2, 1),
            &[5.0, 6.0, 7.0, 8.0],
            (2, 1),
        );
        assert_eq!(y, vec![19.0, 22.0, 43.0, 50.0]);
        // The same lhs read transposed: [[1, 3], [2, 4]] · [[5, 6], [7, 8]].
        let y = kernel::product(
            2,
            2,
            2,
            &[1.0, 2.0, 3.0, 4.0],
            (1, 2),
            &[5.0, 6.0, 7.0, 8.0],
            (2, 1),
        );
        assert_eq!(y, vec![26.0, 30.0, 38.0, 44.0]);
        let mut y = vec![0.0; 6];
        kernel::add_rows(&mut y, &[1.0, 2.0, 3.0]);
        assert_eq!(y, vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        let rows = 200;
        let dy: Vec<f32> = (0..rows * 2).map(|i| (i % 2) as f32 + 1.0).collect();
        assert_eq!(kernel::column_sums(&dy, 2), vec![200.0, 400.0]);
        assert!(kernel::product(0, 3, 2, &[], (3, 1), &[0.0; 6], (2, 1)).is_empty());
        assert_eq!(
            kernel::product(2, 0, 2, &[], (0, 1), &[], (2, 1)),
            vec![0.0; 4]
        );
    }
}
