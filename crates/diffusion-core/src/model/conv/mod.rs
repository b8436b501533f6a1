//! A bidirectional dilated-convolution denoiser for long sequences (the reference uses a
//! bidirectional Mamba for 32 kbp DNA windows). Any domain trains it with a `[conv]` section
//! instead of `[model]`; genomics uses it for long windows.
//!
//! Token embedding → `n_cycles` cycles of residual [`DilatedBlock`]s with dilations
//! 1, 2, 4, …, `max_dilation` → LN with adaLN → Linear(H → N). σ is embedded as in the DiT
//! (sinusoid → MLP) and the class label (null class id = C for D-CFG) is added to it, so
//! D-CFG and D-CBG work unchanged through [`Denoiser`].
//!
//! Why: attention costs O(L²) in time and memory; a convolution stack costs O(L·H²·k·depth),
//! linear in L, at the price of a finite receptive field
//! 1 + (k − 1)·n_cycles·Σ dilations — 509 bases for the defaults (k = 3, 2 cycles of 1..64),
//! 1021 for 4 cycles. Beyond it positions interact only through the shared σ and label.

pub mod block;
pub mod generator;

pub use generator::ConvGenerator;

use crate::denoiser::Denoiser;
use crate::dit::block::BiasFreeLayerNorm;
use crate::dit::conditioning::{adaln_conditioning, adaln_output};
use crate::dit::timestep::TimestepEmbedder;
use crate::error::{CoreError, Result};
use block::DilatedBlock;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

fn d_hidden() -> usize {
    96
}
fn d_cond() -> usize {
    64
}
fn d_kernel() -> usize {
    3
}
fn d_max_dilation() -> usize {
    64
}
fn d_cycles() -> usize {
    2
}

/// Size of a dilated-convolution denoiser (`[conv]` in an experiment config). `vocab_size` and
/// `num_classes` are filled in from the tokenizer and data; config files leave them out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvConfig {
    /// Channels H of every block.
    #[serde(default = "d_hidden")]
    pub hidden_size: usize,
    /// Width of the σ / label conditioning vector.
    #[serde(default = "d_cond")]
    pub cond_dim: usize,
    /// Convolution kernel size k (odd, so the padding is symmetric).
    #[serde(default = "d_kernel")]
    pub kernel_size: usize,
    /// Largest dilation of a cycle (a power of two): a cycle is 1, 2, 4, …, max_dilation.
    #[serde(default = "d_max_dilation")]
    pub max_dilation: usize,
    /// Number of dilation cycles; blocks = n_cycles · (log2(max_dilation) + 1).
    #[serde(default = "d_cycles")]
    pub n_cycles: usize,
    #[serde(default)]
    pub dropout: f64,
    /// N (from the tokenizer).
    #[serde(default)]
    pub vocab_size: usize,
    /// Classes of a class-conditional model; the label table has one more row, the null class.
    #[serde(default)]
    pub num_classes: Option<usize>,
}

impl Default for ConvConfig {
    fn default() -> Self {
        Self {
            hidden_size: d_hidden(),
            cond_dim: d_cond(),
            kernel_size: d_kernel(),
            max_dilation: d_max_dilation(),
            n_cycles: d_cycles(),
            dropout: 0.0,
            vocab_size: 0,
            num_classes: None,
        }
    }
}

impl ConvConfig {
    /// Dilations of all blocks in order: [1, 2, …, max_dilation] repeated n_cycles times.
    pub fn dilations(&self) -> Vec<usize> {
        let cycle: Vec<usize> = std::iter::successors(Some(1usize), |d| Some(d * 2))
            .take_while(|&d| d <= self.max_dilation)
            .collect();
        (0..self.n_cycles).flat_map(|_| cycle.clone()).collect()
    }

    /// Positions one output position depends on: 1 + (k − 1)·Σ dilations.
    pub fn receptive_field(&self) -> usize {
        1 + (self.kernel_size - 1) * self.dilations().iter().sum::<usize>()
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |k: &str, m: String| Err(CoreError::config(format!("conv.{k}"), m));
        if self.hidden_size < 4 {
            return bad(
                "hidden_size",
                format!("{} is too small (at least 4)", self.hidden_size),
            );
        }
        if self.cond_dim == 0 {
            return bad("cond_dim", "must be positive".into());
        }
        if self.kernel_size < 3 || self.kernel_size.is_multiple_of(2) {
            return bad(
                "kernel_size",
                format!(
                    "{} must be odd and at least 3 (symmetric padding)",
                    self.kernel_size
                ),
            );
        }
        if !self.max_dilation.is_power_of_two() {
            return bad(
                "max_dilation",
                format!("{} must be a power of two (1, 2, 4, …)", self.max_dilation),
            );
        }
        if self.n_cycles == 0 {
            return bad("n_cycles", "must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", "must be in [0, 1)".into());
        }
        if self.vocab_size < 2 {
            return bad(
                "vocab_size",
                "unknown (filled in from the tokenizer)".into(),
            );
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> ConvDenoiser {
        let h = self.hidden_size;
        ConvDenoiser {
            vocab_embed: EmbeddingConfig::new(self.vocab_size, h).init(device),
            sigma_map: TimestepEmbedder::new(self.cond_dim, device),
            label_embed: self
                .num_classes
                .map(|k| EmbeddingConfig::new(k + 1, self.cond_dim).init(device)),
            blocks: self
                .dilations()
                .into_iter()
                .map(|d| {
                    DilatedBlock::new(h, self.cond_dim, self.kernel_size, d, self.dropout, device)
                })
                .collect(),
            output_norm: BiasFreeLayerNorm::new(h, device),
            output_adaln: LinearConfig::new(self.cond_dim, 2 * h)
                .with_initializer(Initializer::Zeros)
                .init(device),
            // Zero-initialised as the DiT's: a fresh model predicts uniform logits.
            output_linear: LinearConfig::new(h, self.vocab_size)
                .with_initializer(Initializer::Zeros)
                .init(device),
            num_classes: self.num_classes.unwrap_or(0),
        }
    }
}

#[derive(Module, Debug)]
pub struct ConvDenoiser {
    pub vocab_embed: Embedding,
    pub sigma_map: TimestepEmbedder,
    pub label_embed: Option<Embedding>,
    pub blocks: Vec<DilatedBlock>,
    pub output_norm: BiasFreeLayerNorm,
    pub output_adaln: Linear,
    pub output_linear: Linear,
    pub num_classes: usize,
}

impl ConvDenoiser {
    /// c = SiLU(TimeEmb(σ)) (+ SiLU(LabelEmb(y))) [B, cond], as the DiT; missing labels on a
    /// conditional model mean the null class.
    pub fn conditioning(&self, sigma: Tensor<1>, labels: Option<Tensor<1, Int>>) -> Tensor<2> {
        adaln_conditioning(
            &self.sigma_map,
            self.label_embed.as_ref(),
            self.num_classes,
            sigma,
            labels,
        )
    }
}

impl Denoiser for ConvDenoiser {
    /// Logits [B, L, N] for ids [B, L], σ [B] and labels [B].
    fn forward(
        &self,
        tokens: Tensor<2, Int>,
        sigma: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Tensor<3> {
        let c = self.conditioning(sigma, labels); // [B, cond]
        let mut x = self.vocab_embed.forward(tokens); // [B, L, H]
        for block in &self.blocks {
            x = block.forward(x, &c);
        }
        adaln_output(
            &self.output_norm,
            &self.output_adaln,
            &self.output_linear,
            x,
            c,
        ) // [B, L, N]
    }

    fn num_classes(&self) -> usize {
        self.num_classes
    }

    fn is_conditional(&self) -> bool {
        self.label_embed.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor_util::{ids_tensor, to_vec_f32};
    use burn::module::{ModuleMapper, Param};

    fn device() -> Device {
        crate::backend::default_device()
    }

    fn config(num_classes: Option<usize>) -> ConvConfig {
        ConvConfig {
            hidden_size: 16,
            cond_dim: 8,
            max_dilation: 4,
            n_cycles: 2,
            vocab_size: 7,
            num_classes,
            ..Default::default()
        }
    }

    /// Replaces every weight by uniform noise, so the zero-initialised adaLN and output layers
    /// (which make a fresh model ignore σ and the label) do not hide a broken conditioning path.
    struct Scramble(Rng);
    impl ModuleMapper for Scramble {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let rng = &mut self.0;
            p.map(|t| {
                let dims = t.dims();
                let n: usize = dims.iter().product();
                let v: Vec<f32> = (0..n).map(|_| rng.uniform_f32() * 0.4 - 0.2).collect();
                Tensor::from_data(TensorData::new(v, dims), &t.device())
            })
        }
    }

    fn ids(b: usize, l: usize, seed: u64) -> Vec<i64> {
        let mut rng = Rng::seed_from_u64(seed);
        (0..b * l).map(|_| rng.below(7) as i64).collect()
    }

    #[test]
    fn dilations_cycle_and_receptive_field_is_documented_value() {
        let c = ConvConfig::default();
        assert_eq!(
            c.dilations(),
            [1, 2, 4, 8, 16, 32, 64, 1, 2, 4, 8, 16, 32, 64]
        );
        assert_eq!(c.receptive_field(), 509);
        assert_eq!(config(None).receptive_field(), 1 + 2 * 2 * 7);
    }

    #[test]
    fn validate_names_the_key() {
        let mut c = config(None);
        c.kernel_size = 4;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("conv.kernel_size")
        );
        let mut c = config(None);
        c.max_dilation = 6;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("conv.max_dilation")
        );
        config(Some(3)).validate().unwrap();
    }

    #[test]
    fn forward_keeps_the_length_and_gives_vocab_logits() {
        let dev = device();
        let net = config(Some(3)).init(&dev);
        for l in [1, 5, 40] {
            let x = ids_tensor(&ids(2, l, 1), 2, l, &dev);
            let sigma = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, 2.0], [2]), &dev);
            let out = Denoiser::forward(&net, x, sigma, None);
            assert_eq!(out.dims(), [2, l, 7]);
        }
    }

    #[test]
    fn label_and_null_class_give_different_logits_and_positions_see_both_sides() {
        let dev = device();
        let net = config(Some(3))
            .init(&dev)
            .map(&mut Scramble(Rng::seed_from_u64(2)));
        assert!(net.is_conditional());
        assert_eq!(Denoiser::num_classes(&net), 3);
        let (b, l) = (2, 20);
        let tokens = ids(b, l, 3);
        let sigma = || Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 1.0], [b]), &dev);
        let run = |tokens: &[i64], y: i64| {
            let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![y; b], [b]), &dev);
            to_vec_f32(Denoiser::forward(
                &net,
                ids_tensor(tokens, b, l, &dev),
                sigma(),
                Some(labels),
            ))
        };
        let cond = run(&tokens, 1);
        let null = run(&tokens, 3);
        let diff: f32 = cond.iter().zip(&null).map(|(a, b)| (a - b).abs()).sum();
        assert!(diff > 1e-3, "label vs null class changed nothing ({diff})");
        // Non-causal: position 0 depends on its right-hand neighbour and L−1 on its left-hand
        // one; a token beyond the receptive field (±14 here) changes nothing at position 0.
        let at = |v: &[f32], pos: usize| v[pos * 7..pos * 7 + 7].to_vec();
        let delta = |a: Vec<f32>, b: Vec<f32>| -> f32 {
            a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum()
        };
        let changed = |pos: usize| {
            let mut t = tokens.clone();
            t[pos] = (t[pos] + 1) % 7;
            run(&t, 1)
        };
        let right = changed(1);
        assert!(
            delta(at(&cond, 0), at(&right, 0)) > 1e-6,
            "position 0 ignores position 1"
        );
        let left = changed(l - 2);
        assert!(
            delta(at(&cond, l - 1), at(&left, l - 1)) > 1e-6,
            "position L−1 ignores position L−2"
        );
        let far = changed(15);
        assert_eq!(
            at(&cond, 0),
            at(&far, 0),
            "position 0 sees beyond its receptive field"
        );
    }
}
