//! The DiT ("DDiT") backbone of the reference (spec §7.1): token embedding, σ embedding,
//! optional class-label embedding with a null class, rotary attention blocks with adaLN-Zero,
//! and a zero-initialised output layer (so initial logits are all 0).
//!
//! Tensor names follow the reference HF layout (`vocab_embed`, `sigma_map`, `blocks.N.attn_qkv`,
//! `output_layer`) so checkpoints can be mapped.

pub mod attention;
pub mod block;
pub mod conditioning;
pub mod fused_adaln;
pub mod fused_attention;
pub mod fused_gelu;
pub mod fused_linear;
pub mod fused_rotary_attention;
pub mod fused_rotary_attention_grad;
#[cfg(feature = "flex")]
pub(crate) mod host;
pub mod rotary;
pub mod timestep;

use crate::error::{CoreError, Result};
use block::{BiasFreeLayerNorm, DitBlock};
use burn::module::Param;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use timestep::TimestepEmbedder;

/// Size and shape of a DiT. Presets follow `configs/model/*.yaml` of the reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DitConfig {
    /// N: all ids, special and mask included (set from the tokenizer; config files leave it out).
    #[serde(default)]
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub n_blocks: usize,
    pub n_heads: usize,
    #[serde(default = "default_cond_dim")]
    pub cond_dim: usize,
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Causal attention (AR models).
    #[serde(default)]
    pub causal: bool,
    /// Number of classes for class-conditional models; the label table has one more row, the
    /// null class `num_classes`, used for unconditional passes (D-CFG).
    #[serde(default)]
    pub num_classes: Option<usize>,
    /// adaLN modulation in the blocks. The reference turns it off only for AR models without a
    /// label embedding.
    #[serde(default = "default_true")]
    pub adaln: bool,
}

fn default_cond_dim() -> usize {
    128
}
fn default_dropout() -> f64 {
    0.1
}
fn default_true() -> bool {
    true
}

impl DitConfig {
    pub fn new(vocab_size: usize, hidden_size: usize, n_blocks: usize, n_heads: usize) -> Self {
        Self {
            vocab_size,
            hidden_size,
            n_blocks,
            n_heads,
            cond_dim: 128,
            dropout: 0.1,
            causal: false,
            num_classes: None,
            adaln: true,
        }
    }

    /// A named size: `tiny` (512/8/8), `small` (768/12/12), `medium` (1024/24/16).
    pub fn preset(name: &str, vocab_size: usize) -> Result<Self> {
        let (h, b, n) = match name {
            "tiny" => (512, 8, 8),
            "small" => (768, 12, 12),
            "medium" => (1024, 24, 16),
            other => {
                return Err(CoreError::config(
                    "model.preset",
                    format!("unknown preset `{other}` (tiny, small, medium)"),
                ));
            }
        };
        Ok(Self::new(vocab_size, h, b, n))
    }

    pub fn validate(&self) -> Result<()> {
        if self.vocab_size < 2 {
            return Err(CoreError::config("model.vocab_size", "must be at least 2"));
        }
        if self.n_heads == 0 || !self.hidden_size.is_multiple_of(self.n_heads) {
            return Err(CoreError::config(
                "model.n_heads",
                format!(
                    "hidden_size {} is not divisible by n_heads {}",
                    self.hidden_size, self.n_heads
                ),
            ));
        }
        if !(self.hidden_size / self.n_heads).is_multiple_of(2) {
            return Err(CoreError::config(
                "model.n_heads",
                "head dimension must be even for rotary embedding",
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(CoreError::config("model.dropout", "must be in [0, 1)"));
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Dit {
        let h = self.hidden_size;
        let bound = 1.0 / (h as f64).sqrt(); // kaiming_uniform(a = √5) on an [N, H] matrix
        let zero = |i: usize, o: usize| {
            LinearConfig::new(i, o)
                .with_initializer(Initializer::Zeros)
                .init(device)
        };
        Dit {
            vocab_embed: Initializer::Uniform {
                min: -bound,
                max: bound,
            }
            .init([self.vocab_size, h], device),
            sigma_map: TimestepEmbedder::new(self.cond_dim, device),
            label_embed: self
                .num_classes
                .map(|c| EmbeddingConfig::new(c + 1, self.cond_dim).init(device)),
            blocks: (0..self.n_blocks)
                .map(|_| {
                    DitBlock::new(
                        h,
                        self.n_heads,
                        self.cond_dim,
                        self.dropout,
                        self.causal,
                        self.adaln,
                        device,
                    )
                })
                .collect(),
            output_norm: BiasFreeLayerNorm::new(h, device),
            output_adaln: zero(self.cond_dim, 2 * h),
            output_linear: zero(h, self.vocab_size),
            num_classes: self.num_classes.unwrap_or(0),
            n_heads: self.n_heads,
        }
    }
}

#[derive(Module, Debug)]
pub struct Dit {
    /// E ∈ R^{N×H}; lookup by index or `probs @ E` for soft input.
    pub vocab_embed: Param<Tensor<2>>,
    pub sigma_map: TimestepEmbedder,
    pub label_embed: Option<Embedding>,
    pub blocks: Vec<DitBlock>,
    pub output_norm: BiasFreeLayerNorm,
    pub output_adaln: Linear,
    pub output_linear: Linear,
    pub num_classes: usize,
    pub n_heads: usize,
}

impl Dit {
    /// Conditioning vector c = SiLU(TimeEmb(σ)) (+ SiLU(LabelEmb(y))) [B, cond]. Missing labels on
    /// a conditional model mean the null class.
    pub fn conditioning(&self, sigma: Tensor<1>, labels: Option<Tensor<1, Int>>) -> Tensor<2> {
        conditioning::adaln_conditioning(
            &self.sigma_map,
            self.label_embed.as_ref(),
            self.num_classes,
            sigma,
            labels,
        )
    }

    /// Token embedding by lookup: ids [B, L] → [B, L, H].
    pub fn embed(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        burn::tensor::module::embedding(self.vocab_embed.val(), tokens)
    }

    /// Soft embedding probs [B, L, N] @ E → [B, L, H], so gradients reach the input (D-CBG).
    pub fn embed_soft(&self, probs: Tensor<3>) -> Tensor<3> {
        let [b, l, n] = probs.dims();
        let h = self.vocab_embed.val().dims()[1];
        probs
            .reshape([b * l, n])
            .matmul(self.vocab_embed.val())
            .reshape([b, l, h])
    }

    /// The last block's output [B, L, H] and the conditioning vector, from embedded input.
    pub fn hidden(
        &self,
        x: Tensor<3>,
        sigma: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> (Tensor<3>, Tensor<2>) {
        let [_, l, h] = x.dims();
        let c = self.conditioning(sigma, labels);
        let rotary = rotary::Rotary::new(l, h / self.n_heads, &x.device());
        let mut x = x;
        for block in &self.blocks {
            x = block.forward(x, &c, &rotary);
        }
        (x, c)
    }

    /// Output layer: LN → adaLN (shift, scale) → Linear(H → N). [B, L, H] → logits [B, L, N].
    pub fn output(&self, x: Tensor<3>, c: Tensor<2>) -> Tensor<3> {
        conditioning::adaln_output(
            &self.output_norm,
            &self.output_adaln,
            &self.output_linear,
            x,
            c,
        )
    }

    /// Logits [B, L, N] for ids [B, L], noise level σ [B] and optional labels [B].
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        sigma: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Tensor<3> {
        let (h, c) = self.hidden(self.embed(tokens), sigma, labels);
        self.output(h, c)
    }

    /// Logits for a soft/one-hot input [B, L, N] (gradient-based guidance).
    pub fn forward_soft(
        &self,
        probs: Tensor<3>,
        sigma: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Tensor<3> {
        let (h, c) = self.hidden(self.embed_soft(probs), sigma, labels);
        self.output(h, c)
    }

    pub fn hidden_size(&self) -> usize {
        self.vocab_embed.val().dims()[1]
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab_embed.val().dims()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor_util::{ids_tensor, to_vec_f32, vec_tensor};
    use crate::testing::device;

    fn tiny(causal: bool, classes: Option<usize>) -> DitConfig {
        DitConfig {
            causal,
            num_classes: classes,
            dropout: 0.0,
            ..DitConfig::new(7, 16, 2, 2)
        }
    }

    #[test]
    fn initial_logits_are_zero_and_shapes_hold() {
        let d = device();
        let m = tiny(false, Some(3)).init(&d);
        let ids = ids_tensor(&[0, 1, 2, 3, 4, 5, 6, 0], 2, 4, &d);
        let out = m.forward(ids, vec_tensor(&[0.0, 1.0], &d), None);
        assert_eq!(out.dims(), [2, 4, 7]);
        assert!(to_vec_f32(out).iter().all(|&v| v == 0.0));
    }

    /// One-hot input through `forward_soft` equals the index lookup.
    #[test]
    fn soft_input_matches_lookup() {
        let d = device();
        let mut m = tiny(false, None).init(&d);
        // Give the output layer non-zero weights so the comparison is meaningful.
        m.output_linear = LinearConfig::new(16, 7).init(&d);
        m.output_adaln = LinearConfig::new(128, 32).init(&d);
        let ids_v = [0i64, 3, 2, 6, 1, 5];
        let ids = ids_tensor(&ids_v, 2, 3, &d);
        let sigma = vec_tensor(&[0.3, 2.0], &d);
        let a = to_vec_f32(m.forward(ids.clone(), sigma.clone(), None));
        let b = to_vec_f32(m.forward_soft(ids.one_hot::<3>(7).float(), sigma, None));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }

    /// Causal attention: changing a later token never changes earlier outputs.
    #[test]
    fn causal_model_ignores_future_tokens() {
        let d = device();
        let mut m = tiny(true, None).init(&d);
        m.output_linear = LinearConfig::new(16, 7).init(&d);
        m.output_adaln = LinearConfig::new(128, 32).init(&d);
        let sigma = vec_tensor(&[0.0], &d);
        let a = to_vec_f32(m.forward(ids_tensor(&[1, 2, 3, 4], 1, 4, &d), sigma.clone(), None));
        let b = to_vec_f32(m.forward(ids_tensor(&[1, 2, 3, 0], 1, 4, &d), sigma, None));
        for i in 0..3 * 7 {
            assert!((a[i] - b[i]).abs() < 1e-5);
        }
        assert!((0..7).any(|j| (a[21 + j] - b[21 + j]).abs() > 1e-6));
    }

    #[test]
    fn rejects_bad_head_count() {
        assert!(DitConfig::new(5, 30, 1, 4).validate().is_err());
        assert!(DitConfig::new(5, 32, 1, 4).validate().is_ok());
    }
}
