//! Classifiers on token sequences (spec §6.3, §7.2): a DiT encoder without the final LayerNorm,
//! pooling over positions and a linear head. Trained on clean data (oracle / evaluation) or on
//! noisy z_t ~ q(z_t | x) with the generator's noise and schedule (D-CBG).

use crate::diffusion::LossOutput;
use crate::dit::{Dit, DitConfig};
use crate::error::{CoreError, Result};
use crate::forward::{Noise, q_xt};
use crate::rng::Rng;
use crate::schedule::{NoiseSchedule, Schedule};
use crate::tensor_util::{ids_tensor, vec_tensor};
use crate::time::sample_t;
use crate::train::Objective;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

/// How per-position features become one vector per sequence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over all positions, pads included (the reference's default, spec §13.9).
    #[default]
    Mean,
    Max,
    /// The first position.
    Cls,
    /// No pooling: class logits at every position, for a causal FUDGE classifier that scores
    /// prefixes (spec §6.4). Trained on clean sequences with the sequence label at every
    /// non-pad position.
    #[serde(rename = "none")]
    PerPosition,
}

fn d_eps() -> f64 {
    1e-3
}
fn d_true() -> bool {
    true
}

/// A sequence classifier and how it is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// The encoder (its `num_classes` must be None and `causal` false).
    pub backbone: DitConfig,
    /// Set from the labelled data set when a config file leaves it out.
    #[serde(default)]
    pub num_classes: usize,
    #[serde(default)]
    pub pooling: Pooling,
    /// Training noise: None trains on clean sequences (oracle / evaluation classifiers);
    /// `absorbing` / `uniform` trains a noisy classifier for D-CBG with the generator's noise.
    #[serde(default)]
    pub noise: Option<Noise>,
    #[serde(default)]
    pub schedule: Schedule,
    /// Feed σ(t) to the encoder, at training and at guidance time alike.
    #[serde(default)]
    pub time_conditioning: bool,
    /// L and the mask id come from the tokenizer when a config file leaves them out.
    #[serde(default)]
    pub seq_len: usize,
    #[serde(default)]
    pub mask_id: i64,
    /// Pad id: pad positions carry no label for per-position (FUDGE) training.
    #[serde(default)]
    pub pad_id: Option<i64>,
    #[serde(default = "d_eps")]
    pub sampling_eps: f64,
    #[serde(default = "d_true")]
    pub antithetic: bool,
}

impl ClassifierConfig {
    pub fn vocab_size(&self) -> usize {
        self.backbone.vocab_size
    }

    /// A per-position (FUDGE) classifier scores prefixes, so its encoder is causal: set from
    /// the pooling, so that a config need not say it twice.
    pub fn set_causal_from_pooling(&mut self) {
        if self.pooling == Pooling::PerPosition {
            self.backbone.causal = true;
        }
    }

    /// A whole-sequence classifier of clean inputs (an oracle), rather than a noisy D-CBG
    /// classifier or a per-position FUDGE one.
    pub fn is_clean_sequence_classifier(&self) -> bool {
        self.noise.is_none() && self.pooling != Pooling::PerPosition
    }

    /// Whether this classifier can guide `generator` by D-CBG: a noisy classifier must have
    /// been trained on the generator's noise (a uniform-noise classifier has never seen a
    /// `[MASK]`, an absorbing one never a token swapped at random) and both must share the
    /// sequence length. `path` names the classifier in the error. Clean classifiers pass (the
    /// caller may warn); AR generators are guided by FUDGE and are not checked here.
    pub fn check_guides(
        &self,
        generator: &crate::diffusion::Diffusion,
        path: &std::path::Path,
    ) -> Result<()> {
        if generator.kind() == crate::diffusion::ModelKind::Ar {
            return Ok(());
        }
        if generator.noise() == Noise::Hybrid && self.noise.is_some() {
            return Err(CoreError::checkpoint(
                path,
                "the generator has hybrid (GIDD) noise, and noisy classifiers are trained on \
                 absorbing or uniform noise only; guide it with D-CFG or a clean classifier",
            ));
        }
        if let Some(noise) = self.noise
            && noise != generator.noise()
        {
            return Err(CoreError::checkpoint(
                path,
                format!(
                    "this classifier was trained on {} noise and cannot guide a generator with {} noise; \
                     train one with classifier.noise = \"{}\"",
                    noise.name(),
                    generator.noise().name(),
                    generator.noise().name()
                ),
            ));
        }
        if self.seq_len != generator.config.seq_len {
            return Err(CoreError::checkpoint(
                path,
                format!(
                    "this classifier reads sequences of length {}, the generator writes {}",
                    self.seq_len, generator.config.seq_len
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Module, Debug)]
pub struct DitClassifier {
    pub backbone: Dit,
    pub head: Linear,
    /// Not stored in checkpoints: it comes from the classifier's config.
    #[module(skip)]
    pub pooling: Pooling,
    pub time_conditioning: bool,
}

impl DitClassifier {
    /// Pooled encoder features [B, H] from embedded input [B, L, H]: what the head sees, and
    /// the feature space of project-trained evaluation metrics (FID-style scores).
    pub fn pooled_from_embedding(&self, emb: Tensor<3>, sigma: Tensor<1>) -> Tensor<2> {
        let (h, _) = self.backbone.hidden(emb, sigma, None); // [B, L, H], no final LN
        let [b, _, d] = h.dims();
        match self.pooling {
            Pooling::Max => h.max_dim(1),
            Pooling::Cls => h.narrow(1, 0, 1),
            // Per-position classifiers do not pool (`position_log_probs`); mean as a fallback.
            Pooling::Mean | Pooling::PerPosition => h.mean_dim(1),
        }
        .reshape([b, d])
    }

    /// Pooled features [B, H] of ids [B, L] at network time input σ [B].
    pub fn pooled_features(&self, z: Tensor<2, Int>, sigma: Tensor<1>) -> Tensor<2> {
        self.pooled_from_embedding(self.backbone.embed(z), sigma)
    }

    /// Pooled features [B, H] → class logits [B, C], from embedded input [B, L, H].
    pub fn logits_from_embedding(&self, emb: Tensor<3>, sigma: Tensor<1>) -> Tensor<2> {
        self.head.forward(self.pooled_from_embedding(emb, sigma))
    }

    /// Per-position class log-probabilities [B, L, C] of a causal (FUDGE) classifier: position i
    /// scores the prefix z[..=i].
    pub fn position_log_probs(&self, z: Tensor<2, Int>) -> Tensor<3> {
        let [b, _] = z.dims();
        let device = z.device();
        let (h, _) =
            self.backbone
                .hidden(self.backbone.embed(z), Tensor::zeros([b], &device), None);
        let [b, l, d] = h.dims();
        let logits = self.head.forward(h.reshape([b * l, d]));
        let c = logits.dims()[1];
        log_softmax(logits.reshape([b, l, c]), 2)
    }

    /// Class log-probabilities [B, C] for ids [B, L] at network time input σ [B].
    pub fn log_probs(&self, z: Tensor<2, Int>, sigma: Tensor<1>) -> Tensor<2> {
        log_softmax(self.logits_from_embedding(self.backbone.embed(z), sigma), 1)
    }

    /// Class log-probabilities for a soft / one-hot input [B, L, N] (differentiable).
    pub fn log_probs_soft(&self, x: Tensor<3>, sigma: Tensor<1>) -> Tensor<2> {
        log_softmax(
            self.logits_from_embedding(self.backbone.embed_soft(x), sigma),
            1,
        )
    }
}

/// The classifier objective: cross-entropy of the sequence label on clean or noisy input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classifier {
    pub config: ClassifierConfig,
}

impl Classifier {
    pub fn new(config: ClassifierConfig) -> Self {
        Self { config }
    }

    /// Network time input for times t: σ(t), or 0 without time conditioning.
    pub fn sigma_input(&self, t: &[f64]) -> Vec<f64> {
        if self.config.time_conditioning {
            t.iter().map(|&t| self.config.schedule.sigma(t)).collect()
        } else {
            vec![0.0; t.len()]
        }
    }
}

impl Classifier {
    /// FUDGE training: CE of the sequence label at every non-pad position of a clean sequence.
    fn position_loss(
        &self,
        model: &DitClassifier,
        x: &[i64],
        y: &[i64],
        device: &Device,
    ) -> LossOutput {
        let c = &self.config;
        let l = c.seq_len;
        let b = x.len() / l;
        let lp = model.position_log_probs(ids_tensor(x, b, l, device)); // [B, L, C]
        let labels: Vec<i64> = y.iter().flat_map(|&v| std::iter::repeat_n(v, l)).collect();
        let mask: Vec<f32> = x
            .iter()
            .map(|&t| if Some(t) == c.pad_id { 0.0 } else { 1.0 })
            .collect();
        let n_tokens: f64 = mask.iter().map(|&m| m as f64).sum();
        let target = ids_tensor(&labels, b, l, device);
        let mask_t = crate::tensor_util::float_tensor(mask, [b, l], device);
        let nll =
            crate::tensor_util::gather_vocab(lp.clone(), target.clone()).neg() * mask_t.clone();
        let nll_sum = nll.sum();
        let correct = (lp.argmax(2).reshape([b, l]).equal(target).float() * mask_t)
            .sum()
            .into_scalar::<f32>() as f64;
        LossOutput {
            loss: nll_sum.clone() / n_tokens.max(1.0),
            nll_sum,
            n_tokens,
            n_correct: Some(correct),
        }
    }
}

impl Objective for Classifier {
    type Model = DitClassifier;
    const KIND: &'static str = "classifier";

    fn validate(&self) -> Result<()> {
        let c = &self.config;
        c.backbone.validate()?;
        if c.backbone.num_classes.is_some() {
            return Err(CoreError::config(
                "classifier.backbone",
                "the encoder must have no label embedding",
            ));
        }
        if c.backbone.causal != (c.pooling == Pooling::PerPosition) {
            return Err(CoreError::config(
                "classifier.pooling",
                "per-position (`none`) pooling goes with a causal encoder (FUDGE), the other poolings with a bidirectional one",
            ));
        }
        if c.noise == Some(Noise::Hybrid) {
            return Err(CoreError::config(
                "classifier.noise",
                "noisy classifiers are trained on absorbing or uniform noise; a GIDD (hybrid) \
                 generator is guided by D-CFG or a clean classifier",
            ));
        }
        if c.pooling == Pooling::PerPosition && c.noise.is_some() {
            return Err(CoreError::config(
                "classifier.noise",
                "FUDGE classifiers are trained on clean prefixes",
            ));
        }
        if c.num_classes < 2 {
            return Err(CoreError::config(
                "classifier.num_classes",
                "must be at least 2",
            ));
        }
        if c.mask_id < 0 || c.mask_id as usize >= c.vocab_size() {
            return Err(CoreError::config(
                "classifier.mask_id",
                "outside the vocabulary",
            ));
        }
        Ok(())
    }

    fn seq_len(&self) -> usize {
        self.config.seq_len
    }

    fn requires_labels(&self) -> bool {
        true
    }

    fn init(&self, device: &Device) -> DitClassifier {
        let c = &self.config;
        DitClassifier {
            backbone: c.backbone.init(device),
            head: LinearConfig::new(c.backbone.hidden_size, c.num_classes).init(device),
            pooling: c.pooling,
            time_conditioning: c.time_conditioning,
        }
    }

    fn loss(
        &self,
        model: &DitClassifier,
        x: &[i64],
        y: Option<&[i64]>,
        rng: &mut Rng,
        _training: bool,
        device: &Device,
    ) -> LossOutput {
        let c = &self.config;
        let l = c.seq_len;
        let b = x.len() / l;
        let y = y.expect("Trainer checks that classifier data is labelled");
        let (z, sigma) = match c.noise {
            Some(noise) => {
                let t = sample_t(rng, b, c.antithetic, c.sampling_eps, None);
                let m: Vec<f64> = t.iter().map(|&t| c.schedule.move_chance(t)).collect();
                (
                    q_xt(rng, x, l, &m, noise, c.vocab_size(), c.mask_id),
                    self.sigma_input(&t),
                )
            }
            None => (x.to_vec(), vec![0.0; b]),
        };
        if c.pooling == Pooling::PerPosition {
            return self.position_loss(model, x, y, device);
        }
        let lp = model.log_probs(ids_tensor(&z, b, l, device), vec_tensor(&sigma, device)); // [B, C]
        let target = Tensor::<1, Int>::from_data(TensorData::new(y.to_vec(), [b]), device);
        let nll = lp
            .clone()
            .gather(1, target.clone().reshape([b, 1]))
            .reshape([b])
            .neg();
        let nll_sum = nll.clone().sum();
        let correct = lp
            .argmax(1)
            .reshape([b])
            .equal(target)
            .int()
            .sum()
            .into_scalar::<i64>() as f64;
        LossOutput {
            loss: nll.mean(),
            nll_sum,
            n_tokens: b as f64,
            n_correct: Some(correct),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::{Diffusion, DiffusionConfig, ModelKind};

    fn config(noise: Option<Noise>, seq_len: usize) -> ClassifierConfig {
        ClassifierConfig {
            backbone: DitConfig::new(8, 16, 1, 2),
            num_classes: 2,
            pooling: Pooling::Mean,
            noise,
            schedule: Schedule::default(),
            time_conditioning: false,
            seq_len,
            mask_id: 7,
            pad_id: None,
            sampling_eps: 1e-3,
            antithetic: true,
        }
    }

    fn generator(kind: ModelKind) -> Diffusion {
        Diffusion::new(DiffusionConfig::new(kind, 8, 16, 7, None)).unwrap()
    }

    /// A classifier trained on the other noise, or on another length, is refused by name.
    #[test]
    fn d_cbg_classifier_must_match_the_generators_noise_and_length() {
        let p = std::path::Path::new("clf.ckpt");
        let (mdlm, udlm) = (generator(ModelKind::Mdlm), generator(ModelKind::Udlm));
        let uniform = config(Some(Noise::Uniform), 16);
        let absorbing = config(Some(Noise::Absorbing), 16);
        assert!(uniform.check_guides(&udlm, p).is_ok());
        assert!(absorbing.check_guides(&mdlm, p).is_ok());
        let e = uniform.check_guides(&mdlm, p).unwrap_err().to_string();
        assert!(
            e.contains("clf.ckpt") && e.contains("uniform") && e.contains("absorbing"),
            "{e}"
        );
        assert!(absorbing.check_guides(&udlm, p).is_err());
        assert!(
            config(None, 16).check_guides(&mdlm, p).is_ok(),
            "clean: the caller warns"
        );
        let e = config(Some(Noise::Uniform), 12)
            .check_guides(&udlm, p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("length 12"), "{e}");
    }
}
