//! Fused elementwise kernels for inference on the CPU backends.
//!
//! Written with burn's tensor ops, GELU-tanh is nine passes over a [B·L, 4H] tensor, each
//! allocating its result; in a sampling step that was 13 % of the time (`perf`, QM9-sized DiT).
//! On a CPU backend the tensor already lives in host memory, so outside autodiff we map it
//! once in place, with a vectorisable exp, split over the rayon pool the backend uses. With
//! gradient tracking, or on a GPU backend, the tensor-op form in `block.rs` is used instead.

use burn::prelude::*;
use rayon::prelude::*;

/// Whether `device` keeps tensors in host memory (the `flex` and `ndarray` backends), so a
/// host kernel costs no transfer.
pub fn is_host_device(device: &Device) -> bool {
    let inner = device.clone().inner();
    #[cfg(feature = "flex")]
    if inner == Device::flex() {
        return true;
    }
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    if inner == Device::ndarray() {
        return true;
    }
    let _ = inner;
    false
}

/// e^x for x in [−87, 88] (clamped), relative error below 3e-7: Cody–Waite reduction
/// x = n ln 2 + r, |r| ≤ ln 2 / 2, a degree-6 Taylor polynomial for e^r, and 2^n built in
/// the exponent bits. Branch-free, so the loops below vectorise.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
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

/// GELU-tanh of one value: x · σ(2u) = x / (1 + e^{−2u}), u = √(2/π)(x + 0.044715 x³).
#[inline(always)]
fn gelu_tanh_f32(x: f32) -> f32 {
    const TWO_SQRT_2_OVER_PI: f32 = 1.595_769_2;
    let arg = -TWO_SQRT_2_OVER_PI * x * (1.0 + 0.044715 * x * x);
    x / (1.0 + exp_f32(arg))
}

#[inline(always)]
fn gelu_chunk(xs: &mut [f32]) {
    for x in xs {
        *x = gelu_tanh_f32(*x);
    }
}

/// The same loop compiled for AVX2 + FMA (selected at run time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_chunk_avx2(xs: &mut [f32]) {
    gelu_chunk(xs)
}

/// The same loop compiled for AVX-512 (selected at run time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn gelu_chunk_avx512(xs: &mut [f32]) {
    gelu_chunk(xs)
}

fn gelu_slice(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { gelu_chunk_avx512(xs) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { gelu_chunk_avx2(xs) };
        return;
    }
    gelu_chunk(xs)
}

/// GELU-tanh of a host-resident f32 tensor in one in-place pass (callers check
/// [`is_host_device`] and the dtype).
pub fn gelu_tanh_host<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    let mut data = x.into_data();
    let values = data
        .as_mut_slice::<f32>()
        .expect("gelu_tanh_host takes f32 tensors");
    values.par_chunks_mut(16 * 1024).for_each(gelu_slice);
    Tensor::from_data(data, &device)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn host_gelu_matches_the_tanh_formula() {
        let d = crate::testing::device();
        let xs: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 0.01).collect();
        let n = xs.len();
        let t = crate::tensor_util::float_tensor(xs.clone(), [1, 1, n], &d);
        let got = crate::tensor_util::to_vec_f32(gelu_tanh_host(t));
        for (x, g) in xs.iter().zip(got) {
            let x = *x as f64;
            let want = 0.5
                * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh());
            assert!(
                (g as f64 - want).abs() < 2e-6 * (1.0 + x.abs()),
                "x={x}: {g} vs {want}"
            );
        }
    }
    #[test]
    fn every_compiled_variant_gives_the_same_values() {
        let xs: Vec<f32> = (-3000..=3000).map(|i| i as f32 * 0.01).collect();
        let mut plain = xs.clone();
        gelu_chunk(&mut plain);
        #[cfg(target_arch = "x86_64")]
        {
            let mut variants = Vec::new();
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                let mut v = xs.clone();
                // SAFETY: feature checked above.
                unsafe { gelu_chunk_avx2(&mut v) };
                variants.push(v);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                let mut v = xs.clone();
                // SAFETY: feature checked above.
                unsafe { gelu_chunk_avx512(&mut v) };
                variants.push(v);
            }
            for v in variants {
                for (a, b) in v.iter().zip(&plain) {
                    assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
                }
            }
        }
    }
}
