//! Sinusoidal embedding of the noise level σ followed by an MLP (spec §7.1, TimestepEmbedder).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;

/// Sinusoid size of the reference (256 = 2 × 128 frequencies).
pub const FREQUENCY_EMBEDDING_SIZE: usize = 256;

#[derive(Module, Debug)]
pub struct TimestepEmbedder {
    pub mlp_0: Linear,
    pub mlp_2: Linear,
}

impl TimestepEmbedder {
    pub fn new(cond_dim: usize, device: &Device) -> Self {
        Self {
            mlp_0: LinearConfig::new(FREQUENCY_EMBEDDING_SIZE, cond_dim).init(device),
            mlp_2: LinearConfig::new(cond_dim, cond_dim).init(device),
        }
    }

    /// σ [B] → features [cos(σ f_k), sin(σ f_k)] [B, 256], f_k = exp(−ln(10000) k / 128).
    pub fn sinusoid(sigma: Tensor<1>) -> Tensor<2> {
        let half = FREQUENCY_EMBEDDING_SIZE / 2;
        let device = sigma.device();
        let freqs: Vec<f32> = (0..half)
            .map(|k| (-(10000f64.ln()) * k as f64 / half as f64).exp() as f32)
            .collect();
        let freqs: Tensor<2> = Tensor::from_data(TensorData::new(freqs, [1, half]), &device);
        let [b] = sigma.dims();
        let args = sigma.reshape([b, 1]) * freqs; // [B, 128]
        Tensor::cat(vec![args.clone().cos(), args.sin()], 1)
    }

    /// σ [B] → embedding [B, cond_dim].
    pub fn forward(&self, sigma: Tensor<1>) -> Tensor<2> {
        let h = self.mlp_0.forward(Self::sinusoid(sigma));
        self.mlp_2.forward(silu(h))
    }
}
