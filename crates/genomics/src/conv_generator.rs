//! The dilated-convolution generator objective: an MDLM or UDLM process whose denoiser is the
//! [`ConvDenoiser`], so the core's `Trainer::with_objective` trains it (checkpoints, resume,
//! EMA, export) and `load_objective::<ConvGenerator>` loads it. Its checkpoint kind differs
//! from the DiT generator's, so one is never loaded as the other.

use crate::conv::{ConvConfig, ConvDenoiser};
use burn::prelude::*;
use diffusion_core::diffusion::{Diffusion, DiffusionConfig, LossOutput, ModelKind};
use diffusion_core::error::{CoreError, Result};
use diffusion_core::rng::Rng;
use diffusion_core::train::Objective;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvGenerator {
    pub diffusion: DiffusionConfig,
    pub model: ConvConfig,
}

impl ConvGenerator {
    pub fn new(diffusion: DiffusionConfig, model: ConvConfig) -> Self {
        Self { diffusion, model }
    }

    pub fn process(&self) -> Diffusion {
        Diffusion {
            config: self.diffusion.clone(),
        }
    }
}

impl Objective for ConvGenerator {
    type Model = ConvDenoiser;
    const KIND: &'static str = "conv-generator";

    fn validate(&self) -> Result<()> {
        self.diffusion.validate()?;
        self.model.validate()?;
        if self.diffusion.kind == ModelKind::Ar {
            return Err(CoreError::config(
                "diffusion.kind",
                "the [conv] backbone is bidirectional (a denoiser for MDLM or UDLM), not an AR model; use [model] (a causal DiT) for AR",
            ));
        }
        if self.model.vocab_size != self.diffusion.vocab_size {
            return Err(CoreError::config(
                "conv.vocab_size",
                format!(
                    "{} differs from the tokenizer's {}",
                    self.model.vocab_size, self.diffusion.vocab_size
                ),
            ));
        }
        Ok(())
    }

    fn seq_len(&self) -> usize {
        self.diffusion.seq_len
    }

    fn init(&self, device: &Device) -> ConvDenoiser {
        self.model.init(device)
    }

    fn loss(
        &self,
        model: &ConvDenoiser,
        x: &[i64],
        y: Option<&[i64]>,
        rng: &mut Rng,
        training: bool,
        device: &Device,
    ) -> LossOutput {
        self.process().loss(model, x, y, rng, training, device)
    }
}
