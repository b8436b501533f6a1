//! The image UNet of the reference's discretised CIFAR-10 model (spec §7.3), scaled by its
//! config to what a CPU trains: residual blocks per scale with stride-2 down / nearest up
//! sampling and skip concatenations, self-attention at chosen resolutions and in the middle,
//! σ and class-label embeddings added into one conditioning vector, and the truncated
//! discretised-logistic output head ([`discretized_logistic`]).
//!
//! Input: the L = C·H·W ids (channel-major, as the tokenizer writes them) become a
//! [B, 2C, H, W] image: C value channels with pixel level k at its bin centre
//! (k + ½)·2/levels − 1 ∈ (−1, 1), and C mask-indicator channels (1 where the id is the mask
//! id, whose value channel is then 0, mid-grey). The reference scales ids by (x/N)·2 − 1
//! without an indicator; bin centres line up with the head's bins, so the head's residual
//! μ = tanh(x_centred + μ_raw) starts at the input's own bin, and the indicator lets MDLM tell
//! "masked" from "grey". UDLM's noise can also hit the mask id (it diffuses over all N = levels + 1
//! states); the indicator marks it the same way.
//!
//! Output: logits [B, L, N] = the head's log-probabilities over the `levels` pixel bins and a
//! constant [`MASK_LOGIT`] for the mask id, so x_θ never predicts the mask: the data never holds
//! it, for MDLM (where SUBS also sets it) and UDLM alike.

pub mod attention;
pub mod discretized_logistic;
pub mod generator;
pub mod norm;
pub mod resample;
pub mod resblock;
pub mod time;

pub use generator::UnetGenerator;

use crate::denoiser::Denoiser;
use crate::dit::conditioning::class_embedding;
use crate::error::{CoreError, Result};
use attention::AttnBlock;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, GroupNorm, Initializer, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::silu;
use discretized_logistic::discretized_logistic_log_probs;
use norm::group_norm;
use resample::{Downsample, Upsample};
use resblock::{ResBlock, conv3x3};
use serde::{Deserialize, Serialize};
use time::TimeEmbedding;

/// Logit of the mask id in the UNet's output (log-probability ≈ −10⁶ after the softmax).
pub const MASK_LOGIT: f64 = -1e6;

/// The image layout of a token sequence, which the UNet needs: L = channels · height · width
/// ids (channel-major), each a pixel value of `levels` levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub levels: usize,
}

fn d_ch() -> usize {
    32
}
fn d_ch_mult() -> Vec<usize> {
    vec![1, 2]
}
fn d_one() -> usize {
    1
}
fn d_true() -> bool {
    true
}

/// Size and shape of a UNet (`[unet]` in an experiment config of a domain with an image grid). The image geometry, the levels and
/// the class count are filled in from the tokenizer and data; config files leave them out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnetConfig {
    /// Base channel count (reference: 128).
    #[serde(default = "d_ch")]
    pub ch: usize,
    /// Channel multiplier per scale; one scale per entry, each after the first halves H and W
    /// (reference: [1, 2, 2, 2]).
    #[serde(default = "d_ch_mult")]
    pub ch_mult: Vec<usize>,
    /// Residual blocks per scale on the way down (the way up has one more; reference: 2).
    #[serde(default = "d_one")]
    pub num_res_blocks: usize,
    /// Feature-map sizes (pixels, e.g. 7 for the 7×7 stage of a 14×14 image) with
    /// self-attention after each block (reference: [16]).
    #[serde(default)]
    pub attn_resolutions: Vec<usize>,
    /// Self-attention between the two middle blocks (reference: yes).
    #[serde(default = "d_true")]
    pub mid_attention: bool,
    #[serde(default)]
    pub dropout: f64,
    /// Pixel levels S per channel (from the tokenizer).
    #[serde(default)]
    pub levels: usize,
    /// N = levels + 1 (the mask id is `levels`; from the tokenizer).
    #[serde(default)]
    pub vocab_size: usize,
    /// Image channels C, height H and width W (from the tokenizer).
    #[serde(default)]
    pub channels: usize,
    #[serde(default)]
    pub height: usize,
    #[serde(default)]
    pub width: usize,
    /// Classes of a class-conditional model; the label table has one more row, the null class.
    #[serde(default)]
    pub num_classes: Option<usize>,
}

impl Default for UnetConfig {
    fn default() -> Self {
        Self {
            ch: d_ch(),
            ch_mult: d_ch_mult(),
            num_res_blocks: 1,
            attn_resolutions: Vec::new(),
            mid_attention: true,
            dropout: 0.0,
            levels: 0,
            vocab_size: 0,
            channels: 0,
            height: 0,
            width: 0,
            num_classes: None,
        }
    }
}

impl UnetConfig {
    /// Width of the conditioning vector (σ and label embeddings): 4·ch, as the reference.
    pub fn temb_dim(&self) -> usize {
        4 * self.ch
    }

    /// Tokens per image, C·H·W.
    pub fn seq_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |k: &str, m: String| Err(CoreError::config(format!("unet.{k}"), m));
        if self.ch < 4 {
            return bad("ch", format!("{} is too small (at least 4)", self.ch));
        }
        if self.ch_mult.is_empty() || self.ch_mult.contains(&0) {
            return bad("ch_mult", "needs at least one positive multiplier".into());
        }
        if self.num_res_blocks == 0 {
            return bad("num_res_blocks", "must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", "must be in [0, 1)".into());
        }
        if self.levels < 2 || self.vocab_size != self.levels + 1 {
            return bad(
                "vocab_size",
                format!(
                    "{} must be levels + 1 = {} (pixel levels and the mask)",
                    self.vocab_size,
                    self.levels + 1
                ),
            );
        }
        if self.channels == 0 || self.height == 0 || self.width == 0 {
            return bad(
                "height",
                "image size unknown (filled in from the data)".into(),
            );
        }
        let factor = 1usize << (self.ch_mult.len() - 1);
        if !self.height.is_multiple_of(factor) || !self.width.is_multiple_of(factor) {
            return bad(
                "ch_mult",
                format!(
                    "{} scales halve the image {} times, but {}×{} is not divisible by {factor}; use fewer scales",
                    self.ch_mult.len(),
                    self.ch_mult.len() - 1,
                    self.height,
                    self.width
                ),
            );
        }
        Ok(())
    }

    /// The feature-map side at scale `i` (the height).
    fn resolution(&self, i: usize) -> usize {
        self.height >> i
    }

    /// The encoder levels, the widths of the activations they save for the skip connections
    /// (conv_in's first) and the width they end at.
    fn down_levels(&self, device: &Device) -> (Vec<Level>, Vec<usize>, usize) {
        let (ch, temb) = (self.ch, self.temb_dim());
        let mut down = Vec::new();
        let mut skips = vec![ch];
        let mut c = ch;
        let n_scales = self.ch_mult.len();
        for (i, &m) in self.ch_mult.iter().enumerate() {
            let c_out = ch * m;
            let attn = self.attn_resolutions.contains(&self.resolution(i));
            let mut blocks = Vec::new();
            let mut attns = Vec::new();
            for _ in 0..self.num_res_blocks {
                blocks.push(ResBlock::new(c, c_out, temb, self.dropout, device));
                if attn {
                    attns.push(AttnBlock::new(c_out, device));
                }
                c = c_out;
                skips.push(c);
            }
            let downsample = (i + 1 < n_scales).then(|| Downsample::new(c, device));
            if downsample.is_some() {
                skips.push(c);
            }
            down.push(Level {
                blocks,
                attns,
                resample: downsample,
                upsample: None,
            });
        }
        (down, skips, c)
    }

    /// The decoder levels from width `c`, each block taking one saved activation from `skips`;
    /// returns them and the width they end at.
    fn up_levels(
        &self,
        mut c: usize,
        skips: &mut Vec<usize>,
        device: &Device,
    ) -> (Vec<Level>, usize) {
        let (ch, temb) = (self.ch, self.temb_dim());
        let mut up = Vec::new();
        for (i, &m) in self.ch_mult.iter().enumerate().rev() {
            let c_out = ch * m;
            let attn = self.attn_resolutions.contains(&self.resolution(i));
            let mut blocks = Vec::new();
            let mut attns = Vec::new();
            for _ in 0..=self.num_res_blocks {
                let skip = skips.pop().expect("one saved activation per up block");
                blocks.push(ResBlock::new(c + skip, c_out, temb, self.dropout, device));
                if attn {
                    attns.push(AttnBlock::new(c_out, device));
                }
                c = c_out;
            }
            up.push(Level {
                blocks,
                attns,
                resample: None,
                upsample: (i > 0).then(|| Upsample::new(c, device)),
            });
        }
        (up, c)
    }

    pub fn init(&self, device: &Device) -> Unet {
        let (temb, ch) = (self.temb_dim(), self.ch);
        let (down, mut skips, c) = self.down_levels(device);
        let mid = Middle {
            block_0: ResBlock::new(c, c, temb, self.dropout, device),
            attn: self.mid_attention.then(|| AttnBlock::new(c, device)),
            block_1: ResBlock::new(c, c, temb, self.dropout, device),
        };
        let (up, c) = self.up_levels(c, &mut skips, device);
        debug_assert!(skips.is_empty());
        let n_ch = self.channels;
        Unet {
            temb: TimeEmbedding::new(ch, temb, device),
            label_embed: self
                .num_classes
                .map(|k| EmbeddingConfig::new(k + 1, temb).init(device)),
            conv_in: conv3x3(2 * n_ch, ch, device),
            down,
            mid,
            up,
            norm_out: group_norm(c, device),
            // Zero-initialised: a fresh head predicts μ = the input's bin, log s = 0.
            conv_out: Conv2dConfig::new([c, 2 * n_ch], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(Initializer::Zeros)
                .init(device),
            levels: self.levels,
            channels: n_ch,
            height: self.height,
            width: self.width,
            num_classes: self.num_classes.unwrap_or(0),
        }
    }
}

/// One scale: residual blocks (each followed by attention when `attns` is non-empty) and the
/// resampling to the next scale.
#[derive(Module, Debug)]
pub struct Level {
    pub blocks: Vec<ResBlock>,
    pub attns: Vec<AttnBlock>,
    pub resample: Option<Downsample>,
    pub upsample: Option<Upsample>,
}

#[derive(Module, Debug)]
pub struct Middle {
    pub block_0: ResBlock,
    pub attn: Option<AttnBlock>,
    pub block_1: ResBlock,
}

#[derive(Module, Debug)]
pub struct Unet {
    pub temb: TimeEmbedding,
    pub label_embed: Option<Embedding>,
    pub conv_in: Conv2d,
    pub down: Vec<Level>,
    pub mid: Middle,
    pub up: Vec<Level>,
    pub norm_out: GroupNorm,
    pub conv_out: Conv2d,
    pub levels: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub num_classes: usize,
}

impl Unet {
    /// Conditioning temb [B, 4ch] = TimeEmb(σ) + LabelEmb(y) (added without SiLU, spec §7.3);
    /// missing labels on a conditional model mean the null class.
    pub fn conditioning(&self, sigma: Tensor<1>, labels: Option<Tensor<1, Int>>) -> Tensor<2> {
        let [b] = sigma.dims();
        let device = sigma.device();
        let t = self.temb.forward(sigma);
        match &self.label_embed {
            Some(emb) => t + class_embedding(emb, labels, self.num_classes, b, &device),
            None => t,
        }
    }

    /// Ids [B, L] → (input image [B, 2C, H, W], bin-centre values [B, C, H, W]).
    pub fn input_image(&self, tokens: Tensor<2, Int>) -> (Tensor<4>, Tensor<4>) {
        let [b, _] = tokens.dims();
        let (c, h, w) = (self.channels, self.height, self.width);
        let ids = tokens.reshape([b, c, h, w]);
        let is_mask = ids.clone().greater_equal_elem(self.levels as i64).float(); // 1 at the mask id
        let centre = ids
            .float()
            .add_scalar(0.5)
            .mul_scalar(2.0 / self.levels as f64)
            .sub_scalar(1.0);
        let values = centre * is_mask.clone().neg().add_scalar(1.0); // 0 where masked
        (Tensor::cat(vec![values.clone(), is_mask], 1), values)
    }

    /// The head's parameters (μ, log s) [B, C, H, W] each, from ids, σ [B] and labels [B].
    pub fn logistic_params(
        &self,
        tokens: Tensor<2, Int>,
        sigma: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> (Tensor<4>, Tensor<4>) {
        let temb = self.conditioning(sigma, labels); // [B, 4ch]
        let (x, values) = self.input_image(tokens);
        let mut h = self.conv_in.forward(x); // [B, ch, H, W]
        let mut saved = vec![h.clone()];
        for level in &self.down {
            for (i, block) in level.blocks.iter().enumerate() {
                h = block.forward(h, temb.clone());
                if let Some(a) = level.attns.get(i) {
                    h = a.forward(h);
                }
                saved.push(h.clone());
            }
            if let Some(d) = &level.resample {
                h = d.forward(h);
                saved.push(h.clone());
            }
        }
        h = self.mid.block_0.forward(h, temb.clone());
        if let Some(a) = &self.mid.attn {
            h = a.forward(h);
        }
        h = self.mid.block_1.forward(h, temb.clone());
        for level in &self.up {
            for (i, block) in level.blocks.iter().enumerate() {
                let skip = saved.pop().expect("a saved activation per up block");
                h = block.forward(Tensor::cat(vec![h, skip], 1), temb.clone());
                if let Some(a) = level.attns.get(i) {
                    h = a.forward(h);
                }
            }
            if let Some(u) = &level.upsample {
                h = u.forward(h);
            }
        }
        let out = self.conv_out.forward(silu(self.norm_out.forward(h))); // [B, 2C, H, W]
        let c = self.channels;
        let mu_raw = out.clone().narrow(1, 0, c);
        let log_s = out.narrow(1, c, c);
        ((values + mu_raw).tanh(), log_s)
    }
}

impl Denoiser for Unet {
    /// Logits [B, L, levels + 1]: discretised-logistic log-probabilities over the pixel bins,
    /// then [`MASK_LOGIT`] for the mask id.
    fn forward(
        &self,
        tokens: Tensor<2, Int>,
        sigma: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Tensor<3> {
        let [b, l] = tokens.dims();
        let device = tokens.device();
        let (mu, log_s) = self.logistic_params(tokens, sigma, labels);
        let bins =
            discretized_logistic_log_probs(mu.reshape([b, l]), log_s.reshape([b, l]), self.levels); // [B, L, S]
        let mask = Tensor::<3>::full([b, l, 1], MASK_LOGIT, &device);
        Tensor::cat(vec![bins, mask], 2)
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

    /// A 14×14 grey UNet at 4 levels with two scales and attention at 7×7.
    fn config(num_classes: Option<usize>) -> UnetConfig {
        UnetConfig {
            ch: 8,
            attn_resolutions: vec![7],
            levels: 4,
            vocab_size: 5,
            channels: 1,
            height: 14,
            width: 14,
            num_classes,
            ..Default::default()
        }
    }

    fn random_ids(rng: &mut Rng, n: usize, vocab: usize) -> Vec<i64> {
        (0..n).map(|_| rng.below(vocab as u64) as i64).collect()
    }

    /// Replaces every weight by uniform noise, so zero-initialised layers (which make a fresh
    /// UNet ignore σ and the label) do not hide a broken conditioning path.
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

    #[test]
    fn forward_gives_logits_over_levels_and_mask_that_sum_to_one_over_levels() {
        let dev = device();
        let cfg = config(Some(10));
        cfg.validate().unwrap();
        let mut rng = Rng::seed_from_u64(1);
        let unet = cfg.init(&dev).map(&mut Scramble(Rng::seed_from_u64(2)));
        let (b, l) = (3, 196);
        let ids = ids_tensor(&random_ids(&mut rng, b * l, 5), b, l, &dev);
        let sigma = Tensor::<1>::from_data(TensorData::new(vec![0.1f32, 1.0, 3.0], [b]), &dev);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 5, 10], [b]), &dev);
        let logits = Denoiser::forward(&unet, ids, sigma, Some(labels));
        assert_eq!(logits.dims(), [b, l, 5]);
        let v = to_vec_f32(logits);
        for row in v.chunks(5) {
            let p: f64 = row[..4].iter().map(|&x| (x as f64).exp()).sum();
            assert!((p - 1.0).abs() < 1e-4, "levels sum to {p}");
            assert_eq!(row[4] as f64, MASK_LOGIT, "the mask id is never predicted");
        }
    }

    #[test]
    fn the_label_and_the_null_class_change_the_output() {
        let dev = device();
        let unet = config(Some(10))
            .init(&dev)
            .map(&mut Scramble(Rng::seed_from_u64(3)));
        assert!(unet.is_conditional() && unet.num_classes() == 10);
        let mut rng = Rng::seed_from_u64(4);
        let ids = random_ids(&mut rng, 196, 5);
        let run = |label: Option<i64>| {
            let y = label.map(|y| Tensor::<1, Int>::from_data(TensorData::new(vec![y], [1]), &dev));
            to_vec_f32(Denoiser::forward(
                &unet,
                ids_tensor(&ids, 1, 196, &dev),
                Tensor::<1>::from_data(TensorData::new(vec![0.5f32], [1]), &dev),
                y,
            ))
        };
        let diff = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max)
        };
        let (three, null, none) = (run(Some(3)), run(Some(10)), run(None));
        assert!(
            diff(&three, &null) > 1e-3,
            "class 3 and the null class agree"
        );
        assert!(diff(&run(Some(7)), &three) > 1e-3, "classes 3 and 7 agree");
        assert_eq!(diff(&null, &none), 0.0, "no labels means the null class");
    }

    #[test]
    fn a_fresh_unet_predicts_the_input_bin_and_masks_read_as_grey() {
        // Zero-initialised output: μ = tanh(bin centre), so the argmax is the input's level.
        let dev = device();
        let unet = config(None).init(&dev);
        assert!(!unet.is_conditional());
        let ids: Vec<i64> = (0..196).map(|i| (i % 5) as i64).collect();
        let lp = to_vec_f32(Denoiser::forward(
            &unet,
            ids_tensor(&ids, 1, 196, &dev),
            Tensor::<1>::zeros([1], &dev),
            None,
        ));
        for (row, &id) in lp.chunks(5).zip(&ids) {
            let arg = (0..5).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap() as i64;
            if id < 4 {
                assert_eq!(arg, id, "{row:?}");
            } else {
                assert!(arg == 1 || arg == 2, "mask reads as mid-grey: {row:?}");
            }
        }
    }

    #[test]
    fn configs_that_cannot_work_name_the_key() {
        let mut c = config(None);
        c.ch_mult = vec![1, 2, 2, 2]; // 14 is not divisible by 8
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("unet.ch_mult")
        );
        let mut c = config(None);
        c.vocab_size = 7;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("unet.vocab_size")
        );
        let mut c = config(None);
        c.num_res_blocks = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("unet.num_res_blocks")
        );
    }
}
