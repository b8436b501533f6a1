//! What a [`super::Trainer`] optimises: a model type, how to build it and its loss. The
//! generator (MDLM / UDLM / AR) and the classifiers of guidance are objectives.

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

/// The generator objective: a DiT trained as an MDLM, UDLM or AR model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    pub diffusion: DiffusionConfig,
    pub model: DitConfig,
}

impl Generator {
    pub fn new(diffusion: DiffusionConfig, model: DitConfig) -> Self {
        Self { diffusion, model }
    }

    pub fn process(&self) -> Diffusion {
        Diffusion {
            config: self.diffusion.clone(),
        }
    }
}

impl Objective for Generator {
    type Model = Dit;
    const KIND: &'static str = "generator";

    fn validate(&self) -> Result<()> {
        self.diffusion.validate()?;
        self.model.validate()?;
        if self.model.vocab_size != self.diffusion.vocab_size {
            return Err(CoreError::config(
                "model.vocab_size",
                format!(
                    "{} differs from the tokenizer's {}",
                    self.model.vocab_size, self.diffusion.vocab_size
                ),
            ));
        }
        if self.model.causal != (self.diffusion.kind == crate::diffusion::ModelKind::Ar) {
            return Err(CoreError::config(
                "model.causal",
                "must be true exactly for AR models",
            ));
        }
        Ok(())
    }

    fn seq_len(&self) -> usize {
        self.diffusion.seq_len
    }

    fn init(&self, device: &Device) -> Dit {
        self.model.init(device)
    }

    fn loss(
        &self,
        model: &Dit,
        x: &[i64],
        y: Option<&[i64]>,
        rng: &mut Rng,
        training: bool,
        device: &Device,
    ) -> LossOutput {
        self.process().loss(model, x, y, rng, training, device)
    }
}
