//! Helpers shared by unit tests.

use burn::prelude::*;

pub fn device() -> Device {
    crate::backend::default_device()
}

pub fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(
        got.len(),
        want.len(),
        "length mismatch: {got:?} vs {want:?}"
    );
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol,
            "index {i}: got {g}, want {w} (tol {tol}); all: {got:?}"
        );
    }
}

pub fn softmax_host(logits: &[f32]) -> Vec<f32> {
    let m = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = logits.iter().map(|&v| ((v - m) as f64).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| (v / s) as f32).collect()
}

/// A [D]-shaped tensor of values uniform in [−2, 2), from a seeded RNG.
pub fn uniform_tensor<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let mut rng = crate::rng::Rng::seed_from_u64(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| (rng.uniform() * 4.0 - 2.0) as f32).collect();
    crate::tensor_util::float_tensor(v, shape, device)
}
