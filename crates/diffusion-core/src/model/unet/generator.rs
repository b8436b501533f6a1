//! The UNet generator objective: an MDLM or UDLM process (spec §4) whose denoiser is the image
//! [`Unet`], so the core's `Trainer::with_objective` trains it (checkpoints, resume, EMA,
//! export) and `load_objective::<UnetGenerator>` loads it. Its checkpoint kind differs from the
//! DiT generator's, so one is never loaded as the other.

use super::{Unet, UnetConfig};
use crate::diffusion::{DiffusionConfig, ModelKind};
use crate::error::{CoreError, Result};
use crate::train::{BackboneConfig, DenoiserObjective};
use burn::prelude::*;

/// The UNet generator: the core's [`DenoiserObjective`] with the UNet backbone.
pub type UnetGenerator = DenoiserObjective<UnetConfig>;

impl BackboneConfig for UnetConfig {
    type Model = Unet;
    const KIND: &'static str = "unet-generator";
    const NAME: &'static str = "UNet";

    fn validate_for(&self, d: &DiffusionConfig) -> Result<()> {
        self.validate()?;
        if d.kind == ModelKind::Ar {
            return Err(CoreError::config(
                "diffusion.kind",
                "a UNet is a denoiser for MDLM or UDLM, not an AR model",
            ));
        }
        if self.vocab_size != d.vocab_size {
            return Err(CoreError::config(
                "unet.vocab_size",
                format!(
                    "{} differs from the tokenizer's {}",
                    self.vocab_size, d.vocab_size
                ),
            ));
        }
        if d.mask_id as usize != self.levels {
            return Err(CoreError::config(
                "diffusion.mask_id",
                format!(
                    "{} must be the id after the pixel levels ({})",
                    d.mask_id, self.levels
                ),
            ));
        }
        if d.seq_len != self.seq_len() {
            return Err(CoreError::config(
                "diffusion.seq_len",
                format!(
                    "{} differs from the UNet's C·H·W = {}",
                    d.seq_len,
                    self.seq_len()
                ),
            ));
        }
        Ok(())
    }

    fn build(&self, device: &Device) -> Unet {
        self.init(device)
    }
}
