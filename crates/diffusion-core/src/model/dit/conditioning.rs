//! The conditioning pieces every backbone with a σ embedding and a class embedding shares (the
//! DiT here, the genomics dilated CNN, the images UNet): the class embedding with the null class
//! of D-CFG, the DiT-style conditioning vector, and the adaLN output layer.

use super::block::{BiasFreeLayerNorm, linear, linear3, modulate};
use super::timestep::TimestepEmbedder;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;
use burn::tensor::activation::silu;

/// Class embedding [B, D] of `labels` [B]; without labels every row gets the null class
/// `null_class` (= the number of real classes), which is what D-CFG's unconditional branch uses.
pub fn class_embedding(
    embed: &Embedding,
    labels: Option<Tensor<1, Int>>,
    null_class: usize,
    batch: usize,
    device: &Device,
) -> Tensor<2> {
    let y = labels.unwrap_or_else(|| {
        Tensor::from_data(
            TensorData::new(vec![null_class as i64; batch], [batch]),
            device,
        )
    });
    let e = embed.forward(y.reshape([batch, 1])); // [B, 1, D]
    let d = e.dims()[2];
    e.reshape([batch, d])
}

/// c = SiLU(TimeEmb(σ)) (+ SiLU(LabelEmb(y))) [B, cond] (spec §7.1); missing labels on a
/// conditional model mean the null class.
pub fn adaln_conditioning(
    sigma_map: &TimestepEmbedder,
    label_embed: Option<&Embedding>,
    num_classes: usize,
    sigma: Tensor<1>,
    labels: Option<Tensor<1, Int>>,
) -> Tensor<2> {
    let [b] = sigma.dims();
    let device = sigma.device();
    let c = silu(sigma_map.forward(sigma));
    match label_embed {
        Some(emb) => c + silu(class_embedding(emb, labels, num_classes, b, &device)),
        None => c,
    }
}

/// Output layer: LN → adaLN (shift, scale from `c` [B, cond]) → Linear(H → N).
/// [B, L, H] → logits [B, L, N].
pub fn adaln_output(
    norm: &BiasFreeLayerNorm,
    adaln: &Linear,
    output: &Linear,
    x: Tensor<3>,
    c: Tensor<2>,
) -> Tensor<3> {
    let [b, _, h] = x.dims();
    let mods = linear(adaln, c).reshape([b, 1, 2 * h]).chunk(2, 2);
    let x = modulate(norm.forward(x), mods[0].clone(), mods[1].clone());
    linear3(output, x)
}
