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
    let base = DROPOUT_RNG.with(|r| r.borrow_mut().as_mut().map(Rng::next_u64));
    let mask = base.map(|base| mask(n, keep, scale, base));
    match mask {
        Some(m) => {
            let device = x.device();
            x * Tensor::<D>::from_data(TensorData::new(m, dims), &device)
        }
        None => x,
    }
}

/// Elements per block of the mask: each block draws from its own stream, so blocks fill in
/// parallel and the mask depends on (base, n) only, not on the thread count.
const BLOCK: usize = 8192;

/// `n` values, each `scale` with probability `keep` and 0 otherwise: block j from the stream
/// seeded by (base, j), two 24-bit uniforms per 64-bit draw.
fn mask(n: usize, keep: f32, scale: f32, base: u64) -> Vec<f32> {
    use rayon::prelude::*;
    let threshold = (keep as f64 * (1u64 << 24) as f64) as u64; // u < keep ⇔ bits < threshold
    // Written straight into new capacity (no zeroing pass first).
    let mut m: Vec<f32> = Vec::with_capacity(n);
    m.spare_capacity_mut()[..n]
        .par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(j, block)| {
            let mut rng = Rng::seed_from_u64(base ^ (j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            for pair in block.chunks_mut(2) {
                let r = rng.next_u64();
                for (v, bits) in pair.iter_mut().zip([r >> 40, (r >> 8) & 0xFF_FFFF]) {
                    v.write(if bits < threshold { scale } else { 0.0 });
                }
            }
        });
    // SAFETY: the blocks cover all n elements, every one written above.
    unsafe { m.set_len(n) };
    m
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

    /// The mask keeps each element with probability `keep` (both halves of a draw, across
    /// blocks), is a function of the seed, and differs between seeds.
    #[test]
    fn mask_keeps_the_right_share_and_is_reproducible() {
        let n = 5 * BLOCK + 3;
        for keep in [0.1f32, 0.5, 0.9] {
            let m = mask(n, keep, 1.0 / keep, 11);
            let kept = m.iter().filter(|&&v| v > 0.0).count() as f64 / n as f64;
            assert!((kept - keep as f64).abs() < 0.01, "keep {keep}: {kept}");
            for half in 0..2 {
                let share = m.iter().skip(half).step_by(2).filter(|&&v| v > 0.0).count() as f64
                    / (n / 2) as f64;
                assert!(
                    (share - keep as f64).abs() < 0.015,
                    "keep {keep} half {half}: {share}"
                );
            }
        }
        assert_eq!(mask(n, 0.5, 2.0, 7), mask(n, 0.5, 2.0, 7));
        assert_ne!(mask(n, 0.5, 2.0, 7), mask(n, 0.5, 2.0, 8));
        assert!(mask(100, 1.0, 1.0, 3).iter().all(|&v| v == 1.0));
    }
}
