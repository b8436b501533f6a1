//! The UNet's residual block (spec §7.3, DDPM / NCSN++ style): GroupNorm → SiLU → 3×3 conv,
//! plus Dense(SiLU(temb)) per channel, GroupNorm → SiLU → dropout → 3×3 conv, a 1×1 conv on
//! the skip path when the width changes, and the sum rescaled by 1/√2 (`skip_rescale`), which
//! keeps activations at unit scale through deep stacks.

use super::norm::group_norm;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    Dropout, DropoutConfig, GroupNorm, Initializer, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::activation::silu;

/// A 3×3 convolution that keeps the spatial size.
pub fn conv3x3(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

#[derive(Module, Debug)]
pub struct ResBlock {
    pub norm_0: GroupNorm,
    pub conv_0: Conv2d,
    pub temb_proj: Linear,
    pub norm_1: GroupNorm,
    pub dropout: Dropout,
    pub conv_1: Conv2d,
    pub skip: Option<Conv2d>,
}

impl ResBlock {
    pub fn new(c_in: usize, c_out: usize, temb: usize, dropout: f64, device: &Device) -> Self {
        Self {
            norm_0: group_norm(c_in, device),
            conv_0: conv3x3(c_in, c_out, device),
            temb_proj: LinearConfig::new(temb, c_out).init(device),
            norm_1: group_norm(c_out, device),
            dropout: DropoutConfig::new(dropout).init(),
            // Zero-initialised: a fresh block is the identity (up to the skip and 1/√2).
            conv_1: Conv2dConfig::new([c_out, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(Initializer::Zeros)
                .init(device),
            skip: (c_in != c_out).then(|| Conv2dConfig::new([c_in, c_out], [1, 1]).init(device)),
        }
    }

    /// x [B, C_in, H, W], temb [B, T] → [B, C_out, H, W].
    pub fn forward(&self, x: Tensor<4>, temb: Tensor<2>) -> Tensor<4> {
        let h = self.conv_0.forward(silu(self.norm_0.forward(x.clone())));
        let [b, c, _, _] = h.dims();
        let t = self.temb_proj.forward(silu(temb)).reshape([b, c, 1, 1]); // per-channel shift
        let h = h + t;
        let h = self
            .conv_1
            .forward(self.dropout.forward(silu(self.norm_1.forward(h))));
        let skip = match &self.skip {
            Some(conv) => conv.forward(x),
            None => x,
        };
        (skip + h).mul_scalar(std::f64::consts::FRAC_1_SQRT_2)
    }
}
