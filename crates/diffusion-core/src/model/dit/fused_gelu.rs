//! GELU-tanh as one fused backend operation with a hand-written backward pass.
//!
//! Written with burn's tensor ops, GELU-tanh is nine passes over a [B·L, 4H] tensor forward
//! (each allocating its result) and more in the backward pass: `perf` put it at 13 % of a
//! sampling step and ≈ 20 % of a training step of the QM9-sized DiT. Through burn's backend
//! extension mechanism it is here one pass forward and one pass backward, on the CPU backends:
//!
//! - `flex`: a vectorised loop over host memory (AVX-512 / AVX2+FMA / baseline chosen at run
//!   time, split over the rayon pool the backend uses);
//! - `ndarray`: the trait's default bodies (the same formula in tensor ops);
//! - autodiff over either: the forward keeps x, the backward is one fused pass
//!   g · (σ + x σ(1 − σ) a′) with σ = σ(a), a = 2u.
//!
//! GPU backends are not routed here (callers check [`crate::backend::is_host_device`]) and keep the tensor-op
//! form in `block.rs`.

// burn-ndarray is deprecated upstream; it stays selectable here as the comparison backend.
#![allow(deprecated)]

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::prelude::*;

/// √(8/π): a = 2u = √(8/π) · x · (1 + 0.044715 x²).
const C2: f32 = 1.595_769_2;
const K: f32 = 0.044715;

/// GELU-tanh of `x` through the fused operation; `x` must be f32 on a host device
/// ([`crate::backend::is_host_device`]).
pub fn gelu_tanh_fused<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedGelu>::gelu_tanh(x.into_dispatch()))
}

#[backend_extension(Autodiff, Flex: cfg(feature = "flex"), NdArray: cfg(feature = "ndarray"))]
pub trait FusedGelu: Backend {
    /// x · σ(a), a = √(8/π) x (1 + 0.044715 x²) (= 0.5 x (1 + tanh(a / 2))).
    fn gelu_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        gelu_tanh_ops::<Self>(x)
    }

    /// grad · d gelu_tanh / dx at x.
    fn gelu_tanh_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        gelu_tanh_backward_ops::<Self>(x, grad)
    }
}

#[cfg(feature = "ndarray")]
impl FusedGelu for burn::backend::NdArray {}

#[cfg(feature = "flex")]
impl FusedGelu for burn::backend::Flex {
    fn gelu_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if x.dtype() != burn::tensor::DType::F32 {
            return gelu_tanh_ops::<Self>(x);
        }
        if !(x.is_unique() && x.is_contiguous() && x.layout().start_offset() == 0) {
            // Shared (autodiff keeps x for the backward pass) or a view: read it, write a new
            // buffer (`into_data` would copy it twice: once out of the Arc, once to realign).
            let x = super::host::contiguous(x);
            let shape = x.layout().shape().to_vec();
            return super::host::tensor(kernels::gelu_copy(super::host::values(&x)), shape);
        }
        let mut data = x.into_data(); // no copy: contiguous and not shared
        let values = data.as_mut_slice::<f32>().expect("f32 data");
        kernels::par_map(values, kernels::gelu_slice);
        burn::backend::flex::FlexTensor::from_data(data)
    }

    fn gelu_tanh_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        if x.dtype() != burn::tensor::DType::F32 || grad.dtype() != burn::tensor::DType::F32 {
            return gelu_tanh_backward_ops::<Self>(x, grad);
        }
        let x = super::host::contiguous(x);
        let xs = super::host::values(&x);
        let mut data = grad.into_data();
        let gs = data.as_mut_slice::<f32>().expect("f32 data");
        assert_eq!(xs.len(), gs.len(), "gelu_tanh_backward: shapes differ");
        kernels::par_zip(gs, xs, kernels::gelu_grad_slice);
        burn::backend::flex::FlexTensor::from_data(data)
    }
}

/// The default forward in backend tensor ops (the `ndarray` backend's, and `flex`'s for
/// non-f32 dtypes).
fn gelu_tanh_ops<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let inner = B::float_add_scalar(
        B::float_mul_scalar(B::float_mul(x.clone(), x.clone()), (K * C2).into()),
        C2.into(),
    );
    let a = B::float_mul(inner, x.clone());
    B::float_mul(x, B::sigmoid(a))
}

/// The default backward in backend tensor ops.
fn gelu_tanh_backward_ops<B: Backend>(x: FloatTensor<B>, grad: FloatTensor<B>) -> FloatTensor<B> {
    let x2 = B::float_mul(x.clone(), x.clone());
    let a = B::float_mul(
        B::float_add_scalar(B::float_mul_scalar(x2.clone(), (K * C2).into()), C2.into()),
        x.clone(),
    );
    let da = B::float_add_scalar(B::float_mul_scalar(x2, (3.0 * K * C2).into()), C2.into());
    let s = B::sigmoid(a);
    let one_minus = B::float_add_scalar(B::float_neg(s.clone()), 1.0.into());
    let slope = B::float_mul(B::float_mul(B::float_mul(x, s.clone()), one_minus), da);
    B::float_mul(grad, B::float_add(s, slope))
}

impl<B: Backend + FusedGelu, C: CheckpointStrategy> FusedGelu for Autodiff<B, C> {
    fn gelu_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct GeluTanh;

        impl<B: Backend + FusedGelu> Backward<B, 1> for GeluTanh {
            type State = FloatTensor<B>; // x

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let x = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::gelu_tanh_backward(x, grad)
                });
            }
        }

        match GeluTanh.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                prep.finish(x.clone(), B::gelu_tanh(x))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gelu_tanh(x.into_primitive())),
        }
    }
}

/// The vectorisable e^x, shared with the other host kernels.
#[cfg(feature = "flex")]
pub(crate) use kernels::exp_f32;

/// `isa_fn! { fn name(args) { body } }` defines `name` to run `body` compiled for AVX-512 or
/// AVX2+FMA when the CPU has them (else as is): the `inline(always)` element loops the body
/// calls then take that instruction set, which is how the host kernels vectorise at run time.
#[cfg(feature = "flex")]
macro_rules! isa_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn avx512($($arg: $ty),*) {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                match $crate::dit::fused_gelu::isa_level() {
                    // SAFETY: isa_level reports only features this CPU has.
                    2 => return unsafe { avx512($($arg),*) },
                    1 => return unsafe { avx2($($arg),*) },
                    _ => {}
                }
            }
            body($($arg),*)
        }
    };
}
#[cfg(feature = "flex")]
pub(crate) use isa_fn;

/// The best instruction set this CPU has for the host kernels: 2 AVX-512, 1 AVX2 + FMA,
/// 0 baseline.
#[cfg(feature = "flex")]
pub(crate) fn isa_level() -> u8 {
    match kernels::isa() {
        kernels::Isa::Avx512 => 2,
        kernels::Isa::Avx2 => 1,
        kernels::Isa::Plain => 0,
    }
}

/// The scalar formulas and their vectorised, parallel slice loops.
#[cfg(feature = "flex")]
mod kernels {
    use super::{C2, K};
    use rayon::prelude::*;

    const CHUNK: usize = 16 * 1024;

    /// e^x for x in [−87, 88] (clamped), relative error below 3e-7: Cody–Waite reduction
    /// x = n ln 2 + r, |r| ≤ ln 2 / 2, a degree-6 Taylor polynomial for e^r, and 2^n built in
    /// the exponent bits. Branch-free, so the loops vectorise.
    #[inline(always)]
    pub(crate) fn exp_f32(x: f32) -> f32 {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        const LN2_HI: f32 = 0.693_145_75;
        const LN2_LO: f32 = 1.428_606_8e-6;
        const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³: adding and subtracting rounds to an integer
        let x = x.clamp(-87.0, 88.0);
        let t = x * LOG2E + ROUND;
        let n = t - ROUND;
        // n as an integer from t's mantissa bits (a float→int cast would not vectorise).
        let n_int = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
        let r = (x - n * LN2_HI) - n * LN2_LO;
        let p = 1.0
            + r * (1.0
                + r * (0.5
                    + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
        p * f32::from_bits(((n_int + 127) as u32) << 23)
    }

    /// σ(a) = 1 / (1 + e^{−a}).
    #[inline(always)]
    fn sigmoid(a: f32) -> f32 {
        1.0 / (1.0 + exp_f32(-a))
    }

    #[inline(always)]
    pub(super) fn gelu(x: f32) -> f32 {
        x * sigmoid(C2 * x * (1.0 + K * x * x))
    }

    #[inline(always)]
    pub(super) fn gelu_grad(x: f32) -> f32 {
        let x2 = x * x;
        let s = sigmoid(C2 * x * (1.0 + K * x2));
        s + x * s * (1.0 - s) * C2 * (1.0 + 3.0 * K * x2)
    }

    #[inline(always)]
    pub(super) fn gelu_plain(xs: &mut [f32]) {
        for x in xs {
            *x = gelu(*x);
        }
    }

    #[inline(always)]
    pub(super) fn gelu_grad_plain(gs: &mut [f32], xs: &[f32]) {
        for (g, &x) in gs.iter_mut().zip(xs) {
            *g *= gelu_grad(x);
        }
    }

    /// The same loops compiled for AVX-512 and for AVX2 + FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn gelu_avx512(xs: &mut [f32]) {
        gelu_plain(xs)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn gelu_avx2(xs: &mut [f32]) {
        gelu_plain(xs)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn gelu_grad_avx512(gs: &mut [f32], xs: &[f32]) {
        gelu_grad_plain(gs, xs)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn gelu_grad_avx2(gs: &mut [f32], xs: &[f32]) {
        gelu_grad_plain(gs, xs)
    }

    #[derive(Clone, Copy, PartialEq, Debug)]
    pub(super) enum Isa {
        Avx512,
        Avx2,
        Plain,
    }

    pub(super) fn isa() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Plain
    }

    /// GELU of a slice in place with the given instruction set (unsupported sets fall back).
    pub(super) fn gelu_with(isa: Isa, xs: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        match isa {
            // SAFETY: `isa()` only reports instruction sets the CPU supports; tests pass
            // others only after checking.
            Isa::Avx512 if std::arch::is_x86_feature_detected!("avx512f") => unsafe {
                return gelu_avx512(xs);
            },
            Isa::Avx2 if std::arch::is_x86_feature_detected!("avx2") => unsafe {
                return gelu_avx2(xs);
            },
            _ => {}
        }
        let _ = isa;
        gelu_plain(xs)
    }

    /// g ← g · gelu′(x) in place with the given instruction set.
    pub(super) fn gelu_grad_with(isa: Isa, gs: &mut [f32], xs: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        match isa {
            // SAFETY: as in `gelu_with`.
            Isa::Avx512 if std::arch::is_x86_feature_detected!("avx512f") => unsafe {
                return gelu_grad_avx512(gs, xs);
            },
            Isa::Avx2 if std::arch::is_x86_feature_detected!("avx2") => unsafe {
                return gelu_grad_avx2(gs, xs);
            },
            _ => {}
        }
        let _ = isa;
        gelu_grad_plain(gs, xs)
    }

    pub(super) fn gelu_slice(xs: &mut [f32]) {
        gelu_with(isa(), xs)
    }

    pub(super) fn gelu_grad_slice(gs: &mut [f32], xs: &[f32]) {
        gelu_grad_with(isa(), gs, xs)
    }

    /// GELU-tanh of `xs` into a new vector, chunks in parallel (each copied, then mapped in
    /// place while in cache).
    pub(super) fn gelu_copy(xs: &[f32]) -> Vec<f32> {
        let n = xs.len();
        let mut out: Vec<f32> = Vec::with_capacity(n);
        out.spare_capacity_mut()[..n]
            .par_chunks_mut(CHUNK)
            .zip(xs.par_chunks(CHUNK))
            .for_each(|(o, x)| {
                for (d, s) in o.iter_mut().zip(x) {
                    d.write(*s);
                }
                // SAFETY: every element of `o` was written just above.
                let o = unsafe { &mut *(o as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) };
                gelu_slice(o);
            });
        // SAFETY: the chunks cover all n elements, each written above.
        unsafe { out.set_len(n) };
        out
    }

    /// `f` over chunks of `values`, in parallel on the rayon pool.
    pub(super) fn par_map(values: &mut [f32], f: fn(&mut [f32])) {
        values.par_chunks_mut(CHUNK).for_each(f);
    }

    /// `f` over matching chunks of `out` and `xs`, in parallel.
    pub(super) fn par_zip(out: &mut [f32], xs: &[f32], f: fn(&mut [f32], &[f32])) {
        out.par_chunks_mut(CHUNK)
            .zip(xs.par_chunks(CHUNK))
            .for_each(|(o, x)| f(o, x));
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::kernels::*;
    use super::*;
    use crate::tensor_util::{float_tensor, to_vec_f32};
    use crate::testing::device;

    fn gelu_ref(x: f64) -> f64 {
        0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
    }

    fn gelu_grad_ref(x: f64) -> f64 {
        let c = (2.0 / std::f64::consts::PI).sqrt();
        let t = (c * (x + 0.044715 * x * x * x)).tanh();
        0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x)
    }

    #[test]
    fn exp_matches_std_to_3e7_relative() {
        let mut worst = 0f64;
        for i in -86_900..=87_900 {
            let x = i as f32 * 1e-3;
            let got = exp_f32(x) as f64;
            let want = (x as f64).exp();
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_f32(-1000.0), exp_f32(-87.0));
        assert!(exp_f32(1000.0).is_finite());
    }

    #[test]
    fn every_instruction_set_gives_the_formula_and_its_derivative() {
        let xs: Vec<f32> = (-3000..=3000).map(|i| i as f32 * 0.01).collect();
        for isa in [Isa::Plain, Isa::Avx2, Isa::Avx512] {
            let mut y = xs.clone();
            gelu_with(isa, &mut y);
            let mut g = vec![1.0f32; xs.len()];
            gelu_grad_with(isa, &mut g, &xs);
            for ((&x, &y), &g) in xs.iter().zip(&y).zip(&g) {
                let x = x as f64;
                let tol = 2e-6 * (1.0 + x.abs());
                assert!((y as f64 - gelu_ref(x)).abs() < tol, "{isa:?} x={x}: {y}");
                assert!(
                    (g as f64 - gelu_grad_ref(x)).abs() < 1e-5,
                    "{isa:?} x={x}: {g}"
                );
            }
        }
    }

    #[test]
    fn fused_op_forward_and_backward_match_the_formula() {
        let xs: Vec<f32> = (-600..=600).map(|i| i as f32 * 0.02).collect();
        let n = xs.len();
        // Without autodiff.
        let y = to_vec_f32(gelu_tanh_fused(float_tensor(
            xs.clone(),
            [1, 1, n],
            &device(),
        )));
        // With autodiff, gradient of Σ w·gelu(x) with a non-trivial w.
        let ad = device().autodiff();
        let x = float_tensor(xs.clone(), [1, 1, n], &ad).require_grad();
        let w: Vec<f32> = (0..n).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
        let wt = float_tensor(w.clone(), [1, 1, n], &ad);
        let out = gelu_tanh_fused(x.clone());
        let y_ad = to_vec_f32(out.clone().inner());
        let grads = (out * wt).sum().backward();
        let g = to_vec_f32(x.grad(&grads).expect("gradient").inner());
        for i in 0..n {
            let x = xs[i] as f64;
            let tol = 2e-6 * (1.0 + x.abs());
            assert!((y[i] as f64 - gelu_ref(x)).abs() < tol, "x={x}: {}", y[i]);
            assert!(
                (y_ad[i] as f64 - gelu_ref(x)).abs() < tol,
                "x={x}: {}",
                y_ad[i]
            );
            let want = w[i] as f64 * gelu_grad_ref(x);
            assert!(
                (g[i] as f64 - want).abs() < 1e-5 * (1.0 + want.abs()),
                "x={x}: {} vs {want}",
                g[i]
            );
        }
    }

    #[test]
    fn the_default_bodies_match_the_formula() {
        // The tensor-op forms (the ndarray backend's, and the fallback for other dtypes).
        type B = burn::backend::Flex;
        let xs: Vec<f32> = (-300..=300).map(|i| i as f32 * 0.04).collect();
        let n = xs.len();
        let prim =
            |v: Vec<f32>| burn::backend::flex::FlexTensor::from_data(TensorData::new(v, [n]));
        let y = gelu_tanh_ops::<B>(prim(xs.clone()))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let g = gelu_tanh_backward_ops::<B>(prim(xs.clone()), prim(vec![1.0; n]))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for i in 0..n {
            let x = xs[i] as f64;
            assert!((y[i] as f64 - gelu_ref(x)).abs() < 1e-5, "x={x}: {}", y[i]);
            assert!(
                (g[i] as f64 - gelu_grad_ref(x)).abs() < 1e-5,
                "x={x}: {}",
                g[i]
            );
        }
    }
    #[test]
    fn fused_and_tensor_op_gradients_agree_inside_an_mlp() {
        // Realistic graph: Linear → GELU → Linear, input used twice, gradients to the input
        // and to the first layer's weight.
        use crate::dit::block::{gelu_tanh_ops, linear3};
        use burn::nn::LinearConfig;
        let ad = device().autodiff();
        let l0 = LinearConfig::new(16, 64).init(&ad);
        let l1 = LinearConfig::new(64, 16).init(&ad);
        let xs: Vec<f32> = (0..3 * 5 * 16)
            .map(|i| ((i * 37 % 101) as f32 / 25.0) - 2.0)
            .collect();
        let grads_of = |fused: bool| {
            let x = float_tensor(xs.clone(), [3, 5, 16], &ad).require_grad();
            let h = linear3(&l0, x.clone());
            let g = if fused {
                gelu_tanh_fused(h)
            } else {
                gelu_tanh_ops(h)
            };
            let y = linear3(&l1, g) * x.clone();
            let grads = (y.clone() * y).sum().backward();
            let gx = to_vec_f32(x.grad(&grads).expect("input gradient").inner());
            let gw = to_vec_f32(
                l0.weight
                    .val()
                    .grad(&grads)
                    .expect("weight gradient")
                    .inner(),
            );
            (gx, gw)
        };
        let (fx, fw) = grads_of(true);
        let (ox, ow) = grads_of(false);
        for (a, b) in fx.iter().zip(&ox).chain(fw.iter().zip(&ow)) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
}
