//! Rotary position embedding on q and k, rotate-half (non-interleaved) convention (spec §7.1).

use burn::prelude::*;

/// cos and sin tables [1, 1, L, d/2] for base 10000: angle = pos · 10000^{−2j/d}.
pub fn rotary_tables(seq_len: usize, head_dim: usize, device: &Device) -> (Tensor<4>, Tensor<4>) {
    let half = head_dim / 2;
    let mut cos = Vec::with_capacity(seq_len * half);
    let mut sin = Vec::with_capacity(seq_len * half);
    for pos in 0..seq_len {
        for j in 0..half {
            let inv_freq = 10000f64.powf(-(2.0 * j as f64) / head_dim as f64);
            let angle = pos as f64 * inv_freq;
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    let cos = Tensor::from_data(TensorData::new(cos, [1, 1, seq_len, half]), device);
    let sin = Tensor::from_data(TensorData::new(sin, [1, 1, seq_len, half]), device);
    (cos, sin)
}

/// [x1, x2] → [x1 cos − x2 sin, x2 cos + x1 sin] for x [B, heads, L, d].
pub fn apply_rotary(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    let [_, _, _, d] = x.dims();
    let half = d / 2;
    let x1 = x.clone().narrow(3, 0, half);
    let x2 = x.narrow(3, half, half);
    let out1 = x1.clone() * cos.clone() - x2.clone() * sin.clone();
    let out2 = x2 * cos + x1 * sin;
    Tensor::cat(vec![out1, out2], 3)
}
