//! Dropout driven by the project RNG.
//!
//! Masks come from a thread-local [`Rng`] that is active only inside a [`DropoutScope`] (the
//! trainer opens one per step, seeded from (seed, step)). Outside a scope dropout is the
//! identity, so sampling, evaluation and gradient guidance never drop anything, and training is
//! reproducible per thread whatever else runs in the process. Drawing masks on the host is also
//! an order of magnitude faster than the CPU backends' Bernoulli sampler.

use crate::rng::Rng;
use burn::prelude::*;
use std::cell::RefCell;

thread_local! {
    static DROPOUT_RNG: RefCell<Option<Rng>> = const { RefCell::new(None) };
}

/// While alive, [`dropout`] is active on this thread with masks from `Rng::seed_from_u64(seed)`.
pub struct DropoutScope {
    previous: Option<Rng>,
}

impl DropoutScope {
    pub fn new(seed: u64) -> Self {
        let previous = DROPOUT_RNG.with(|r| r.replace(Some(Rng::seed_from_u64(seed))));
        Self { previous }
    }
}

impl Drop for DropoutScope {
    fn drop(&mut self) {
        let prev = self.previous.take();
        DROPOUT_RNG.with(|r| *r.borrow_mut() = prev);
    }
}

/// Zero each element with probability `p` and scale the rest by 1/(1 − p), inside a
/// [`DropoutScope`]; the identity otherwise.
pub fn dropout<const D: usize>(x: Tensor<D>, p: f64) -> Tensor<D> {
    if p <= 0.0 {
        return x;
    }
    let dims = x.dims();
    let n: usize = dims.iter().product();
    let keep = (1.0 - p) as f32;
    let scale = 1.0 / keep;
    let mask = DROPOUT_RNG.with(|r| {
        r.borrow_mut().as_mut().map(|rng| {
            (0..n)
                .map(|_| if rng.uniform_f32() < keep { scale } else { 0.0 })
                .collect::<Vec<f32>>()
        })
    });
    match mask {
        Some(m) => {
            let device = x.device();
            x * Tensor::<D>::from_data(TensorData::new(m, dims), &device)
        }
        None => x,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_util::to_vec_f32;
    use crate::testing::device;

    #[test]
    fn identity_outside_a_scope_and_scaled_inside() {
        let d = device();
        let x = Tensor::<2>::ones([100, 100], &d);
        assert!(
            to_vec_f32(dropout(x.clone(), 0.5))
                .iter()
                .all(|&v| v == 1.0)
        );
        let _scope = DropoutScope::new(3);
        let y = to_vec_f32(dropout(x, 0.5));
        let zeros = y.iter().filter(|&&v| v == 0.0).count();
        assert!((4500..5500).contains(&zeros), "{zeros}");
        assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
    }
}
