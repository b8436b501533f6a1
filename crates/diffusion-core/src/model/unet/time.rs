//! The UNet's noise-level embedding (spec §7.3): sinusoid(σ·1000) of `ch` features — sines
//! first, then cosines, frequencies log-spaced by ln(10000)/(half − 1) — then Linear → SiLU →
//! Linear to the 4·ch conditioning width that every ResBlock reads. The ×1000 spreads σ, which
//! lives in [0, ~10], over the sinusoid's period range (it was designed for integer time steps).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;

/// Scale applied to σ before the sinusoid (the reference's `time_scale`).
pub const SIGMA_SCALE: f64 = 1000.0;

#[derive(Module, Debug)]
pub struct TimeEmbedding {
    pub dense_0: Linear,
    pub dense_1: Linear,
    /// Sinusoid width (the UNet's base channel count `ch`).
    pub dim: usize,
}

impl TimeEmbedding {
    pub fn new(dim: usize, out: usize, device: &Device) -> Self {
        Self {
            dense_0: LinearConfig::new(dim, out).init(device),
            dense_1: LinearConfig::new(out, out).init(device),
            dim,
        }
    }

    /// σ [B] → [sin(1000σ f_k), cos(1000σ f_k)] [B, dim], f_k = exp(−k ln(10000)/(half − 1)).
    pub fn sinusoid(sigma: Tensor<1>, dim: usize) -> Tensor<2> {
        let half = (dim / 2).max(1);
        let device = sigma.device();
        let step = 10000f64.ln() / (half.saturating_sub(1)).max(1) as f64;
        let freqs: Vec<f32> = (0..half).map(|k| (-step * k as f64).exp() as f32).collect();
        let freqs: Tensor<2> = Tensor::from_data(TensorData::new(freqs, [1, half]), &device);
        let [b] = sigma.dims();
        let args = sigma.mul_scalar(SIGMA_SCALE).reshape([b, 1]) * freqs; // [B, half]
        let emb = Tensor::cat(vec![args.clone().sin(), args.cos()], 1); // [B, 2·half]
        if 2 * half < dim {
            // Odd widths: one zero column, as the reference pads.
            Tensor::cat(vec![emb, Tensor::zeros([b, dim - 2 * half], &device)], 1)
        } else {
            emb
        }
    }

    /// σ [B] → temb [B, out].
    pub fn forward(&self, sigma: Tensor<1>) -> Tensor<2> {
        let h = self.dense_0.forward(Self::sinusoid(sigma, self.dim));
        self.dense_1.forward(silu(h))
    }
}
