//! What a [`super::Trainer`] optimises: a model type, how to build it and its loss. The
//! generator (MDLM / UDLM / AR) and the classifiers of guidance are objectives.

use crate::denoiser::Denoiser;
use crate::diffusion::{Diffusion, DiffusionConfig, LossOutput};
use crate::dit::{Dit, DitConfig};
use crate::error::{CoreError, Result};
use crate::rng::Rng;
use burn::prelude::*;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// A trainable objective: a serialisable description that builds its model and scores batches.
pub trait Objective: Clone + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync {
    type Model: Module + Clone;
    /// Stored in checkpoint headers so a generator is never loaded as a classifier.
    const KIND: &'static str;
    fn validate(&self) -> Result<()>;
    /// Length of the token sequences it trains on.
    fn seq_len(&self) -> usize;
    /// Whether training data must carry class labels.
    fn requires_labels(&self) -> bool {
        false
    }
    fn init(&self, device: &Device) -> Self::Model;
    /// Loss of a batch `x` [B·L] with optional labels [B]; `training` enables the
    /// training-only behaviour (label dropout, pads in the loss).
    fn loss(
        &self,
        model: &Self::Model,
        x: &[i64],
        y: Option<&[i64]>,
        rng: &mut Rng,
        training: bool,
        device: &Device,
    ) -> LossOutput;
}

/// A backbone configuration that a [`DenoiserObjective`] trains: how to build the model and
/// check it against the process. The DiT implements it here; domains implement it for their own
/// backbones (the genomics dilated convolution, the image UNet) without touching the core.
pub trait BackboneConfig:
    Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync
{
    type Model: Module + Clone + Denoiser;
    /// The objective's checkpoint kind, so one backbone is never loaded as another.
    const KIND: &'static str;
    /// The backbone's name in tables and messages ("DiT", "UNet", ...).
    const NAME: &'static str;
    /// The backbone's own checks and those against the process (vocabulary, AR support, layout).
    fn validate_for(&self, diffusion: &DiffusionConfig) -> Result<()>;
    fn build(&self, device: &Device) -> Self::Model;
}

/// A generator objective: a diffusion process (MDLM / UDLM, or AR) and the backbone that
/// denoises it, trained on the process's loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenoiserObjective<C> {
    pub diffusion: DiffusionConfig,
    pub model: C,
}

/// The generator objective: a DiT trained as an MDLM, UDLM or AR model.
pub type Generator = DenoiserObjective<DitConfig>;

impl<C> DenoiserObjective<C> {
    pub fn new(diffusion: DiffusionConfig, model: C) -> Self {
        Self { diffusion, model }
    }

    pub fn process(&self) -> Diffusion {
        Diffusion::unchecked(self.diffusion.clone())
    }
}

impl<C: BackboneConfig> Objective for DenoiserObjective<C> {
    type Model = C::Model;
    const KIND: &'static str = C::KIND;

    fn validate(&self) -> Result<()> {
        self.diffusion.validate()?;
        self.model.validate_for(&self.diffusion)
    }

    fn seq_len(&self) -> usize {
        self.diffusion.seq_len
    }

    fn init(&self, device: &Device) -> C::Model {
        self.model.build(device)
    }

    fn loss(
        &self,
        model: &C::Model,
        x: &[i64],
        y: Option<&[i64]>,
        rng: &mut Rng,
        training: bool,
        device: &Device,
    ) -> LossOutput {
        self.process().loss(model, x, y, rng, training, device)
    }
}

impl BackboneConfig for DitConfig {
    type Model = Dit;
    const KIND: &'static str = "generator";
    const NAME: &'static str = "DiT";

    fn validate_for(&self, diffusion: &DiffusionConfig) -> Result<()> {
        self.validate()?;
        if self.vocab_size != diffusion.vocab_size {
            return Err(CoreError::config(
                "model.vocab_size",
                format!(
                    "{} differs from the tokenizer's {}",
                    self.vocab_size, diffusion.vocab_size
                ),
            ));
        }
        if self.causal != (diffusion.kind == crate::diffusion::ModelKind::Ar) {
            return Err(CoreError::config(
                "model.causal",
                "must be true exactly for AR models",
            ));
        }
        Ok(())
    }

    fn build(&self, device: &Device) -> Dit {
        self.init(device)
    }
}
