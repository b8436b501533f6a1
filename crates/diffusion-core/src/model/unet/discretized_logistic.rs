//! The truncated discretised logistic output of the reference's CIFAR-10 UNet (spec §7.3): a
//! logistic with location μ ∈ [−1, 1] and scale s per value, integrated over S equal bins that
//! tile [−1, 1] (width w = 2/S, centres −1 + w/2 + k·w), and renormalised over those bins. The
//! ordinal structure makes neighbouring intensities share probability, which a plain softmax
//! head over S classes has to learn.
//!
//! Per bin k: p_k ∝ σ((c_k + w/2 − μ)/s) − σ((c_k − w/2 − μ)/s) + 1e-6, with 1/s = exp(−(log s − 2))
//! as in the reference (the raw scale output is shifted by 2). The 1e-6 keeps log p finite in
//! bins far from μ. "Truncated" = the mass outside [−1, 1] is dropped and the rest renormalised.

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, sigmoid};

/// The stabiliser added to each bin's mass before the log.
pub const BIN_EPS: f64 = 1e-6;

/// Log-probabilities [B, L, S] over `bins` bins from locations `mu` [B, L] (in [−1, 1]) and raw
/// log-scales `log_scale` [B, L].
pub fn discretized_logistic_log_probs(
    mu: Tensor<2>,
    log_scale: Tensor<2>,
    bins: usize,
) -> Tensor<3> {
    let [b, l] = mu.dims();
    let device = mu.device();
    let w = 2.0 / bins as f64;
    // Bin edges e_k = −1 + k·w, k = 0..=S, shaped [1, 1, S + 1] to broadcast.
    let edges: Vec<f32> = (0..=bins).map(|k| (-1.0 + k as f64 * w) as f32).collect();
    let edges = Tensor::<1>::from_data(TensorData::new(edges, [bins + 1]), &device).reshape([
        1,
        1,
        bins + 1,
    ]);
    let inv_s = log_scale.neg().add_scalar(2.0).exp().reshape([b, l, 1]); // exp(−(log s − 2))
    let mu = mu.reshape([b, l, 1]);
    let cdf = sigmoid((edges - mu) * inv_s); // [B, L, S + 1]
    let upper = cdf.clone().narrow(2, 1, bins);
    let lower = cdf.narrow(2, 0, bins);
    let mass = (upper - lower).add_scalar(BIN_EPS); // [B, L, S]
    log_softmax(mass.log(), 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor_util::{float_tensor, to_vec_f32};

    fn device() -> Device {
        crate::backend::default_device()
    }

    #[test]
    fn probabilities_sum_to_one_over_bins() {
        let dev = device();
        let mut rng = Rng::seed_from_u64(5);
        let (b, l, s) = (3, 7, 16);
        let mu: Vec<f32> = (0..b * l).map(|_| rng.uniform_f32() * 2.0 - 1.0).collect();
        let ls: Vec<f32> = (0..b * l).map(|_| rng.uniform_f32() * 6.0 - 3.0).collect();
        let lp = discretized_logistic_log_probs(
            float_tensor(mu, [b, l], &dev),
            float_tensor(ls, [b, l], &dev),
            s,
        );
        assert_eq!(lp.dims(), [b, l, s]);
        let p = to_vec_f32(lp.exp());
        for row in p.chunks(s) {
            let total: f64 = row.iter().map(|&x| x as f64).sum();
            assert!((total - 1.0).abs() < 1e-5, "sum {total}");
            assert!(row.iter().all(|&x| x > 0.0));
        }
    }

    #[test]
    fn matches_a_hand_computed_case_and_peaks_at_mu() {
        // S = 2 bins [−1, 0] and [0, 1], μ = 0.5, log s = 2 (so s = 1): masses
        // σ(−0.5) − σ(−1.5) = 0.195115 and σ(0.5) − σ(−0.5) = 0.244919, renormalised.
        let dev = device();
        let lp = discretized_logistic_log_probs(
            float_tensor(vec![0.5], [1, 1], &dev),
            float_tensor(vec![2.0], [1, 1], &dev),
            2,
        );
        let p = to_vec_f32(lp.exp());
        let (m0, m1) = (0.195115 + 1e-6, 0.244919 + 1e-6);
        assert!((p[0] as f64 - m0 / (m0 + m1)).abs() < 1e-5, "{p:?}");
        // A sharp logistic at μ = 0.3 puts its mode in the bin that contains 0.3.
        let s = 10;
        let lp = discretized_logistic_log_probs(
            float_tensor(vec![0.3], [1, 1], &dev),
            float_tensor(vec![-2.0], [1, 1], &dev),
            s,
        );
        let p = to_vec_f32(lp);
        let argmax = (0..s).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        assert_eq!(argmax, 6, "bin [0.2, 0.4) is the 7th of 10");
    }
}
