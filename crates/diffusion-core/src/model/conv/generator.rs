//! The dilated-convolution generator objective: an MDLM or UDLM process whose denoiser is the
//! [`ConvDenoiser`], so the core's `Trainer::with_objective` trains it (checkpoints, resume,
//! EMA, export) and `load_objective::<ConvGenerator>` loads it. Its checkpoint kind differs
//! from the DiT generator's, so one is never loaded as the other.

use super::{ConvConfig, ConvDenoiser};
use crate::diffusion::{DiffusionConfig, ModelKind};
use crate::error::{CoreError, Result};
use crate::train::{BackboneConfig, DenoiserObjective};
use burn::prelude::*;

/// The dilated-convolution generator: the core's [`DenoiserObjective`] with the conv backbone.
pub type ConvGenerator = DenoiserObjective<ConvConfig>;

impl BackboneConfig for ConvConfig {
    type Model = ConvDenoiser;
    const KIND: &'static str = "conv-generator";
    const NAME: &'static str = "dilated-convolution ([conv])";

    fn validate_for(&self, diffusion: &DiffusionConfig) -> Result<()> {
        self.validate()?;
        if diffusion.kind == ModelKind::Ar {
            return Err(CoreError::config(
                "diffusion.kind",
                "the [conv] backbone is bidirectional (a denoiser for MDLM or UDLM), not an AR model; use [model] (a causal DiT) for AR",
            ));
        }
        if self.vocab_size != diffusion.vocab_size {
            return Err(CoreError::config(
                "conv.vocab_size",
                format!(
                    "{} differs from the tokenizer's {}",
                    self.vocab_size, diffusion.vocab_size
                ),
            ));
        }
        Ok(())
    }

    fn build(&self, device: &Device) -> ConvDenoiser {
        self.init(device)
    }
}
