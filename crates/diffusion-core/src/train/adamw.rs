//! AdamW whose step is one pass over each parameter on the `flex` backend.
//!
//! burn's `AdamW` is ≈ 15 tensor operations per parameter and step (moments, bias corrections,
//! square root, quotient, decay, update), each a pass over the parameter that allocates its
//! result: `perf` put them at ≈ 4 % of a QM9-size training step (2-core Intel Xeon). This
//! optimizer keeps burn's state type (`AdamWState`, so checkpoints written by either load in
//! the other) and computes, per element and in burn's order of f32 roundings,
//!
//!   m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²   (m = (1 − β₁) g, v = (1 − β₂) g² at t = 1),
//!   θ ← θ (1 − lr λ) − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε),
//!
//! so a step is bit-for-bit burn's. Other backends (and AMSGrad, which the trainer does not
//! use) run burn's `AdamW`.

// Without `flex` the extension macro generates a dispatch body with no backend to use the arguments.
#![cfg_attr(not(feature = "flex"), allow(unused_variables))]

use crate::backend::is_flex_device;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, backend_extension};
use burn::optim::{
    AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::prelude::*;

/// AdamW with burn's state and arithmetic, one fused pass per parameter on `flex`.
#[derive(Clone)]
pub struct FusedAdamW {
    hyper: Hyper,
    /// burn's AdamW with the same settings, for the other backends.
    fallback: AdamW,
}

/// β₁, β₂, ε and the weight decay λ.
#[derive(Clone, Copy, Debug)]
pub struct Hyper {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub weight_decay: f32,
}

impl FusedAdamW {
    pub fn new(hyper: Hyper) -> Self {
        let fallback = AdamWConfig::new()
            .with_beta_1(hyper.beta_1)
            .with_beta_2(hyper.beta_2)
            .with_epsilon(hyper.epsilon)
            .with_weight_decay(hyper.weight_decay)
            .build();
        Self { hyper, fallback }
    }

    /// The whole-module optimizer the trainer uses.
    pub fn init(hyper: Hyper) -> ModuleOptimizer {
        ModuleOptimizer::from(Self::new(hyper))
    }
}

impl Optimizer for FusedAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let fused = !tensor.is_autodiff()
            && tensor.dtype() == burn::tensor::DType::F32
            && grad.dtype() == burn::tensor::DType::F32
            && is_flex_device(&tensor.device())
            && state
                .as_ref()
                .is_none_or(|s| s.momentum.max_moment_2.is_none());
        if !fused {
            return self.fallback.step(lr, tensor, grad, state);
        }
        let dims = tensor.dims();
        let h = self.hyper;
        let (time, m, v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                Some(s.momentum.moment_1.into_dispatch()),
                Some(s.momentum.moment_2.into_dispatch()),
            ),
            None => (1, None, None),
        };
        let t = time as i32;
        let scalars = Scalars {
            beta_1: h.beta_1,
            beta_2: h.beta_2,
            correction_1: 1f32 - h.beta_1.powi(t),
            correction_2: 1f32 - h.beta_2.powi(t),
            epsilon: h.epsilon,
            lr: lr as f32,
            keep: {
                let decay_rate = lr * h.weight_decay as f64;
                (decay_rate != 0.0).then_some((1.0 - decay_rate) as f32)
            },
        };
        // A first step has no moments: zeros give m = 0·β₁ + (1 − β₁) g exactly as burn's
        // (1 − β₁) g (0·β₁ = 0 and 0 + x = x in IEEE arithmetic), likewise v.
        let device = tensor.device();
        let zeros = || Tensor::<D>::zeros(dims, &device).into_dispatch();
        let (theta, m, v) = <Dispatch as FusedAdamWStep>::adamw_step(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            m.unwrap_or_else(zeros),
            v.unwrap_or_else(zeros),
            scalars,
        );
        let state = AdamWState::new(AdaptiveMomentumState::new(
            time,
            Tensor::from_dispatch(m),
            Tensor::from_dispatch(v),
        ));
        (Tensor::from_dispatch(theta), Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <AdamW as Optimizer>::to_device(state, device)
    }
}

/// The per-step scalars, each already rounded to f32 as burn rounds it.
#[derive(Clone, Copy, Debug)]
pub struct Scalars {
    beta_1: f32,
    beta_2: f32,
    /// 1 − β₁ᵗ and 1 − β₂ᵗ.
    correction_1: f32,
    correction_2: f32,
    epsilon: f32,
    lr: f32,
    /// 1 − lr λ, or none without decay.
    keep: Option<f32>,
}

/// (θ, m, v) after one step.
pub type Updated<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

#[backend_extension(Autodiff, Flex: cfg(feature = "flex"))]
pub trait FusedAdamWStep: Backend {
    /// One AdamW step of θ given g and the moments m, v (all of one shape).
    fn adamw_step(
        theta: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        s: Scalars,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

#[cfg(feature = "flex")]
impl FusedAdamWStep for burn::backend::Flex {
    fn adamw_step(
        theta: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        s: Scalars,
    ) -> Updated<Self> {
        use crate::model::dit::host::{contiguous, tensor, values};
        use burn::backend::TensorMetadata;
        let shape = theta.shape().to_vec();
        let [theta, grad, m, v] = [theta, grad, m, v].map(contiguous);
        let n = values(&theta).len();
        for t in [&grad, &m, &v] {
            assert_eq!(values(t).len(), n, "adamw_step: shapes differ");
        }
        let (theta, m, v) = kernel::step(values(&theta), values(&grad), values(&m), values(&v), s);
        debug_assert_eq!(theta.len(), n);
        (
            tensor(theta, shape.clone()),
            tensor(m, shape.clone()),
            tensor(v, shape),
        )
    }
}

impl<
    B: Backend + FusedAdamWStep,
    C: burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy,
> FusedAdamWStep for Autodiff<B, C>
{
    fn adamw_step(
        _theta: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
        _m: FloatTensor<Self>,
        _v: FloatTensor<Self>,
        _s: Scalars,
    ) -> Updated<Self> {
        unreachable!("optimizer steps take the inner (untracked) tensors")
    }
}

#[cfg(feature = "flex")]
mod kernel {
    use super::Scalars;
    use rayon::prelude::*;

    /// Elements per parallel task.
    const CHUNK: usize = 16 * 1024;

    /// One element: burn's operations in burn's order, each rounded to f32.
    #[inline(always)]
    fn element(theta: f32, g: f32, m: f32, v: f32, s: &Scalars) -> (f32, f32, f32) {
        let m = m * s.beta_1 + g * (1.0 - s.beta_1);
        let v = v * s.beta_2 + (g * g) * (1.0 - s.beta_2);
        let delta = (m / s.correction_1) / ((v / s.correction_2).sqrt() + s.epsilon);
        let decayed = match s.keep {
            Some(keep) => theta * keep,
            None => theta,
        };
        (decayed - delta * s.lr, m, v)
    }

    /// (θ, m, v) after one step, chunks in parallel.
    pub(super) fn step(
        theta: &[f32],
        grad: &[f32],
        m: &[f32],
        v: &[f32],
        s: Scalars,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let n = theta.len();
        // Written straight into new capacity: zeroing three parameter-sized buffers first would
        // cost a memset per parameter and step.
        let (mut t_out, mut m_out, mut v_out): (Vec<f32>, Vec<f32>, Vec<f32>) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        t_out.spare_capacity_mut()[..n]
            .par_chunks_mut(CHUNK)
            .zip(m_out.spare_capacity_mut()[..n].par_chunks_mut(CHUNK))
            .zip(v_out.spare_capacity_mut()[..n].par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, ((to, mo), vo))| {
                let start = c * CHUNK;
                for i in 0..to.len() {
                    let k = start + i;
                    let (t, m, v) = element(theta[k], grad[k], m[k], v[k], &s);
                    to[i].write(t);
                    mo[i].write(m);
                    vo[i].write(v);
                }
            });
        // SAFETY: the chunks cover all n elements of each buffer, every one written above.
        unsafe {
            t_out.set_len(n);
            m_out.set_len(n);
            v_out.set_len(n);
        }
        (t_out, m_out, v_out)
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::tensor_util::to_vec_f32;
    use crate::testing::{device, uniform_tensor as random};
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;

    /// Ten steps of a linear layer's training: parameters and both moments bit-for-bit those
    /// of burn's AdamW, with and without weight decay, under a changing learning rate; the
    /// optimizer state saved by one loads in the other.
    #[test]
    fn steps_equal_burns_adamw_bit_for_bit() {
        let ad = device().autodiff();
        for weight_decay in [0.0f32, 0.1] {
            let hyper = Hyper {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-8,
                weight_decay,
            };
            let burn_optim = || {
                AdamWConfig::new()
                    .with_beta_1(0.9)
                    .with_beta_2(0.999)
                    .with_epsilon(1e-8)
                    .with_weight_decay(weight_decay)
                    .init()
            };
            let start: Linear = LinearConfig::new(37, 300).init(&ad);
            // `steps` steps from `layer`, the k-th at data k and learning rate 1e-3 (1 + k).
            let train =
                |mut optim: ModuleOptimizer, mut layer: Linear, steps: std::ops::Range<usize>| {
                    for step in steps {
                        let x = random([8, 37], step as u64, &ad);
                        let loss = (layer.forward(x) * random([8, 300], 99, &ad)).sum();
                        let grads = GradientsParams::from_grads(loss.backward(), &layer);
                        let lr = 1e-3 * (1.0 + step as f64);
                        layer = optim.step(lr, layer, grads);
                    }
                    (layer, optim)
                };
            let w = |l: &Linear| to_vec_f32(l.weight.val().inner());
            let b = |l: &Linear| to_vec_f32(l.bias.as_ref().expect("bias").val().inner());
            let (plain, _) = train(burn_optim(), start.clone(), 0..10);
            let (fused, fused_optim) = train(FusedAdamW::init(hyper), start.clone(), 0..5);
            // The states are interchangeable: burn's optimizer resumes from the fused one's.
            let bytes = fused_optim.into_bytes().expect("serialise");
            let resumed = burn_optim().from_bytes(bytes).expect("load");
            let (mixed, _) = train(resumed, fused.clone(), 5..10);
            let (fused, _) = train(FusedAdamW::init(hyper), start.clone(), 0..10);
            for (what, l) in [("fused", &fused), ("fused then burn", &mixed)] {
                assert!(
                    w(l) == w(&plain),
                    "weight decay {weight_decay}: {what} weights differ"
                );
                assert!(
                    b(l) == b(&plain),
                    "weight decay {weight_decay}: {what} bias differs"
                );
            }
        }
    }

    /// One step from zero moments by hand: g = 2, lr = 0.1, β₁ = 0.5, β₂ = 0.75, no decay:
    /// m = 1, v = 1, m̂ = 1 / 0.5 = 2, v̂ = 1 / 0.25 = 4, θ = 1 − 0.1 · 2 / (2 + ε) ≈ 0.9.
    #[test]
    fn one_step_by_hand() {
        let d = device();
        let optim = FusedAdamW::new(Hyper {
            beta_1: 0.5,
            beta_2: 0.75,
            epsilon: 1e-8,
            weight_decay: 0.0,
        });
        let theta = Tensor::<1>::ones([3], &d);
        let g = Tensor::<1>::full([3], 2.0, &d);
        let (theta, state) = optim.step(0.1, theta, g, None);
        let state = state.expect("state");
        assert_eq!(state.momentum.time, 1);
        assert_eq!(to_vec_f32(state.momentum.moment_1), vec![1.0; 3]);
        assert_eq!(to_vec_f32(state.momentum.moment_2), vec![1.0; 3]);
        for t in to_vec_f32(theta) {
            assert!((t - 0.9).abs() < 1e-6, "{t}");
        }
    }
}
