//! Changing resolution between UNet scales (spec §7.3). Down: pad one row / column at the
//! bottom / right, then a stride-2 3×3 conv (H → H/2 for even H). Up: nearest-neighbour ×2,
//! then a 3×3 conv.

use super::resblock::conv3x3;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct Downsample {
    pub conv: Conv2d,
}

impl Downsample {
    pub fn new(c: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([c, c], [3, 3])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(0, 0, 1, 1)) // (top, left, bottom, right)
                .init(device),
        }
    }

    /// [B, C, H, W] → [B, C, H/2, W/2].
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(x)
    }
}

#[derive(Module, Debug)]
pub struct Upsample {
    pub conv: Conv2d,
}

impl Upsample {
    pub fn new(c: usize, device: &Device) -> Self {
        Self {
            conv: conv3x3(c, c, device),
        }
    }

    /// [B, C, H, W] → [B, C, 2H, 2W].
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(nearest_x2(x))
    }
}

/// Nearest-neighbour ×2: each pixel becomes a 2×2 block.
pub fn nearest_x2(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .repeat_dim(3, 2)
        .repeat_dim(5, 2)
        .reshape([b, c, 2 * h, 2 * w])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_util::{float_tensor, to_vec_f32};

    #[test]
    fn nearest_x2_copies_each_pixel_into_a_block() {
        let dev = crate::backend::default_device();
        let x = float_tensor(vec![1.0, 2.0, 3.0, 4.0], [1, 1, 2, 2], &dev);
        let y = to_vec_f32(nearest_x2(x));
        #[rustfmt::skip]
        let want = [1., 1., 2., 2.,
                    1., 1., 2., 2.,
                    3., 3., 4., 4.,
                    3., 3., 4., 4.];
        assert_eq!(y, want);
        let d = Downsample::new(3, &dev);
        let z = d.forward(Tensor::zeros([2, 3, 14, 14], &dev));
        assert_eq!(z.dims(), [2, 3, 7, 7]);
    }
}
