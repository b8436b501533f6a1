//! Single-head spatial self-attention of the UNet (spec §7.3, at the configured resolutions
//! and in the middle): every pixel attends to every pixel of the feature map, which lets the
//! low-resolution stage see the whole digit. Residual with the 1/√2 rescale; the output
//! projection starts at zero so a fresh block is the identity.

use super::norm::group_norm;
use burn::nn::{GroupNorm, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

#[derive(Module, Debug)]
pub struct AttnBlock {
    pub norm: GroupNorm,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub out: Linear,
}

impl AttnBlock {
    pub fn new(c: usize, device: &Device) -> Self {
        let lin = || LinearConfig::new(c, c).init(device);
        Self {
            norm: group_norm(c, device),
            q: lin(),
            k: lin(),
            v: lin(),
            out: LinearConfig::new(c, c)
                .with_initializer(Initializer::Zeros)
                .init(device),
        }
    }

    /// x [B, C, H, W] → [B, C, H, W].
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let seq = self
            .norm
            .forward(x.clone())
            .reshape([b, c, h * w])
            .swap_dims(1, 2); // [B, HW, C]
        let q = self.q.forward(seq.clone());
        let k = self.k.forward(seq.clone());
        let v = self.v.forward(seq);
        let scores = q.matmul(k.swap_dims(1, 2)).div_scalar((c as f64).sqrt()); // [B, HW, HW]
        let att = softmax(scores, 2).matmul(v); // [B, HW, C]
        let out = self.out.forward(att).swap_dims(1, 2).reshape([b, c, h, w]);
        (x + out).mul_scalar(std::f64::consts::FRAC_1_SQRT_2)
    }
}
