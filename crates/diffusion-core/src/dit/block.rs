//! One DiT block: pre-LN attention and MLP with adaLN-Zero modulation (spec §7.1).

use super::rotary::apply_rotary;
use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::gelu_approximate;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

/// LayerNorm with a weight and no bias, eps 1e-5, in fp32.
#[derive(Module, Debug)]
pub struct BiasFreeLayerNorm {
    pub weight: Param<Tensor<1>>,
}

impl BiasFreeLayerNorm {
    pub fn new(dim: usize, device: &Device) -> Self {
        Self {
            weight: Initializer::Ones.init([dim], device),
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [_, _, h] = x.dims();
        let mean = x.clone().mean_dim(2);
        let centred = x - mean;
        let var = centred.clone().square().mean_dim(2);
        let normed = centred / var.add_scalar(1e-5).sqrt();
        normed * self.weight.val().reshape([1, 1, h])
    }
}

/// h(1 + scale) + shift with scale, shift [B, 1, H].
pub fn modulate(h: Tensor<3>, shift: Tensor<3>, scale: Tensor<3>) -> Tensor<3> {
    h * scale.add_scalar(1.0) + shift
}

#[derive(Module, Debug)]
pub struct DitBlock {
    pub norm1: BiasFreeLayerNorm,
    pub attn_qkv: Linear,
    pub attn_out: Linear,
    pub norm2: BiasFreeLayerNorm,
    pub mlp_0: Linear,
    pub mlp_2: Linear,
    /// Linear(cond → 6H), zero-initialised; absent for plain AR models.
    pub adaln_modulation: Option<Linear>,
    pub dropout: Dropout,
    pub n_heads: usize,
    pub causal: bool,
}

impl DitBlock {
    pub fn new(
        hidden: usize,
        n_heads: usize,
        cond_dim: usize,
        dropout: f64,
        causal: bool,
        adaln: bool,
        device: &Device,
    ) -> Self {
        let zero = |i: usize, o: usize| {
            LinearConfig::new(i, o)
                .with_initializer(Initializer::Zeros)
                .init(device)
        };
        Self {
            norm1: BiasFreeLayerNorm::new(hidden, device),
            attn_qkv: LinearConfig::new(hidden, 3 * hidden)
                .with_bias(false)
                .init(device),
            attn_out: LinearConfig::new(hidden, hidden)
                .with_bias(false)
                .init(device),
            norm2: BiasFreeLayerNorm::new(hidden, device),
            mlp_0: LinearConfig::new(hidden, 4 * hidden).init(device),
            mlp_2: LinearConfig::new(4 * hidden, hidden).init(device),
            adaln_modulation: adaln.then(|| zero(cond_dim, 6 * hidden)),
            dropout: DropoutConfig::new(dropout).init(),
            n_heads,
            causal,
        }
    }

    /// x [B, L, H], c [B, cond] (ignored without adaLN), rotary tables [1, 1, L, d/2] → [B, L, H].
    pub fn forward(&self, x: Tensor<3>, c: &Tensor<2>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<3> {
        let [b, l, h] = x.dims();
        let mods = self.adaln_modulation.as_ref().map(|m| {
            let mods = m.forward(c.clone()); // [B, 6H]
            mods.reshape([b, 1, 6 * h]).chunk(6, 2)
        });

        // Attention branch.
        let mut hn = self.norm1.forward(x.clone());
        if let Some(m) = &mods {
            hn = modulate(hn, m[0].clone(), m[1].clone());
        }
        let heads = self.n_heads;
        let dh = h / heads;
        let qkv = self.attn_qkv.forward(hn).reshape([b, l, 3, heads, dh]);
        let take = |i: usize| qkv.clone().narrow(2, i, 1).reshape([b, l, heads, dh]).swap_dims(1, 2);
        let q = apply_rotary(take(0), cos.clone(), sin.clone()); // [B, heads, L, dh]
        let k = apply_rotary(take(1), cos.clone(), sin.clone());
        let v = take(2);
        let options = AttentionModuleOptions {
            scale: None,
            softcap: None,
            is_causal: self.causal,
        };
        let att = attention(q, k, v, None, None, options) // [B, heads, L, dh]
            .swap_dims(1, 2)
            .reshape([b, l, h]);
        let att = self.dropout.forward(self.attn_out.forward(att));
        let x = match &mods {
            Some(m) => x + m[2].clone() * att,
            None => x + att,
        };

        // MLP branch.
        let mut hn = self.norm2.forward(x.clone());
        if let Some(m) = &mods {
            hn = modulate(hn, m[3].clone(), m[4].clone());
        }
        let mlp = self.mlp_2.forward(gelu_approximate(self.mlp_0.forward(hn)));
        let mlp = self.dropout.forward(mlp);
        match &mods {
            Some(m) => x + m[5].clone() * mlp,
            None => x + mlp,
        }
    }
}
