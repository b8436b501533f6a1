//! One residual block of the dilated-convolution denoiser (ByteNet / WaveNet style, made
//! bidirectional): pre-LN with adaLN modulation from the conditioning vector, GELU, a kernel-k
//! Conv1d with dilation d and symmetric padding d·(k−1)/2 (so position i sees i ± d·(k−1)/2,
//! both sides, and the length is kept), LN → GELU → a pointwise Linear, and a gated residual.
//! The adaLN projection is zero-initialised (DiT's adaLN-Zero), so a fresh block is the identity
//! and deep stacks start stable.

use crate::dit::block::{BiasFreeLayerNorm, gelu_tanh, linear3, modulate};
use crate::dropout::dropout;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig1d};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct DilatedBlock {
    pub norm_0: BiasFreeLayerNorm,
    /// H → H, kernel k, dilation d, non-causal padding.
    pub conv: Conv1d,
    pub norm_1: BiasFreeLayerNorm,
    /// Pointwise H → H mixing after the convolution.
    pub pointwise: Linear,
    /// cond → (shift, scale, gate), each H wide; zero-initialised.
    pub adaln: Linear,
    pub dropout: f64,
}

impl DilatedBlock {
    pub fn new(
        hidden: usize,
        cond_dim: usize,
        kernel: usize,
        dilation: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        let pad = dilation * (kernel - 1) / 2;
        Self {
            norm_0: BiasFreeLayerNorm::new(hidden, device),
            conv: Conv1dConfig::new(hidden, hidden, kernel)
                .with_dilation(dilation)
                .with_padding(PaddingConfig1d::Explicit(pad, pad))
                .init(device),
            norm_1: BiasFreeLayerNorm::new(hidden, device),
            pointwise: LinearConfig::new(hidden, hidden).init(device),
            adaln: LinearConfig::new(cond_dim, 3 * hidden)
                .with_initializer(Initializer::Zeros)
                .init(device),
            dropout,
        }
    }

    /// x [B, L, H], conditioning c [B, cond] → [B, L, H].
    pub fn forward(&self, x: Tensor<3>, c: &Tensor<2>) -> Tensor<3> {
        let [b, _, h] = x.dims();
        let mods = self
            .adaln
            .forward(c.clone())
            .reshape([b, 1, 3 * h])
            .chunk(3, 2); // shift, scale, gate: [B, 1, H] each
        let y = modulate(
            self.norm_0.forward(x.clone()),
            mods[0].clone(),
            mods[1].clone(),
        );
        let y = gelu_tanh(y).swap_dims(1, 2); // [B, H, L], channels first for the convolution
        let y = self.conv.forward(y).swap_dims(1, 2); // [B, L, H]
        let y = linear3(&self.pointwise, gelu_tanh(self.norm_1.forward(y)));
        x + mods[2].clone() * dropout(y, self.dropout)
    }
}
