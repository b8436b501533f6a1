//! The UNet generator objective: an MDLM or UDLM process (spec §4) whose denoiser is the image
//! [`Unet`], so the core's `Trainer::with_objective` trains it (checkpoints, resume, EMA,
//! export) and `load_objective::<UnetGenerator>` loads it. Its checkpoint kind differs from the
//! DiT generator's, so one is never loaded as the other.

use crate::unet::{Unet, UnetConfig};
use burn::prelude::*;
use diffusion_core::diffusion::{Diffusion, DiffusionConfig, LossOutput, ModelKind};
use diffusion_core::error::{CoreError, Result};
use diffusion_core::rng::Rng;
use diffusion_core::train::Objective;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnetGenerator {
    pub diffusion: DiffusionConfig,
    pub model: UnetConfig,
}

impl UnetGenerator {
    pub fn new(diffusion: DiffusionConfig, model: UnetConfig) -> Self {
        Self { diffusion, model }
    }

    pub fn process(&self) -> Diffusion {
        Diffusion {
            config: self.diffusion.clone(),
        }
    }
}

impl Objective for UnetGenerator {
    type Model = Unet;
    const KIND: &'static str = "unet-generator";

    fn validate(&self) -> Result<()> {
        self.diffusion.validate()?;
        self.model.validate()?;
        let d = &self.diffusion;
        if d.kind == ModelKind::Ar {
            return Err(CoreError::config(
                "diffusion.kind",
                "a UNet is a denoiser for MDLM or UDLM, not an AR model",
            ));
        }
        if self.model.vocab_size != d.vocab_size {
            return Err(CoreError::config(
                "unet.vocab_size",
                format!(
                    "{} differs from the tokenizer's {}",
                    self.model.vocab_size, d.vocab_size
                ),
            ));
        }
        if d.mask_id as usize != self.model.levels {
            return Err(CoreError::config(
                "diffusion.mask_id",
                format!(
                    "{} must be the id after the pixel levels ({})",
                    d.mask_id, self.model.levels
                ),
            ));
        }
        if d.seq_len != self.model.seq_len() {
            return Err(CoreError::config(
                "diffusion.seq_len",
                format!(
                    "{} differs from the UNet's C·H·W = {}",
                    d.seq_len,
                    self.model.seq_len()
                ),
            ));
        }
        Ok(())
    }

    fn seq_len(&self) -> usize {
        self.diffusion.seq_len
    }

    fn init(&self, device: &Device) -> Unet {
        self.model.init(device)
    }

    fn loss(
        &self,
        model: &Unet,
        x: &[i64],
        y: Option<&[i64]>,
        rng: &mut Rng,
        training: bool,
        device: &Device,
    ) -> LossOutput {
        self.process().loss(model, x, y, rng, training, device)
    }
}
