//! A generator checkpoint loaded for sampling, whatever its backbone (the DiT, the dilated
//! convolution, the image UNet), told apart by the checkpoint's kind. Samplers and losses see
//! one `&dyn Denoiser`; methods that work on the DiT's hidden states (NOS) ask for the DiT and
//! get an error naming the backbone otherwise.

use super::{BackboneConfig, DenoiserObjective, ValStats, evaluate, load_objective};
use crate::checkpoint::checkpoint_kind;
use crate::conv::{ConvConfig, ConvDenoiser};
use crate::denoiser::Denoiser;
use crate::diffusion::Diffusion;
use crate::dit::{Dit, DitConfig};
use crate::domain::SequenceDataset;
use crate::error::{CoreError, Result};
use crate::unet::{Unet, UnetConfig};
use burn::module::Module;
use burn::prelude::Device;
use std::path::Path;

/// The network of a generator checkpoint, with its config.
pub enum GeneratorNet {
    Dit(Box<Dit>, DitConfig),
    Conv(Box<ConvDenoiser>, ConvConfig),
    Unet(Box<Unet>, UnetConfig),
}

/// A generator checkpoint (EMA weights) with its process, vocabulary and metadata.
pub struct LoadedGenerator {
    pub diffusion: Diffusion,
    pub net: GeneratorNet,
    pub vocabulary: Vec<String>,
    pub metadata: serde_json::Value,
    /// Training steps of the weights.
    pub step: usize,
}

impl LoadedGenerator {
    /// Load `path` (EMA weights) with the backbone its checkpoint kind names.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let kind = checkpoint_kind(path)?;
        if kind == ConvConfig::KIND {
            Self::load_as::<ConvConfig>(path, device, |m, c| GeneratorNet::Conv(Box::new(m), c))
        } else if kind == UnetConfig::KIND {
            Self::load_as::<UnetConfig>(path, device, |m, c| GeneratorNet::Unet(Box::new(m), c))
        } else {
            Self::load_as::<DitConfig>(path, device, |m, c| GeneratorNet::Dit(Box::new(m), c))
        }
    }

    fn load_as<C: BackboneConfig>(
        path: &Path,
        device: &Device,
        net: impl FnOnce(C::Model, C) -> GeneratorNet,
    ) -> Result<Self> {
        let l = load_objective::<DenoiserObjective<C>>(path, device, true)?;
        Ok(Self {
            diffusion: l.objective.process(),
            net: net(l.model, l.objective.model),
            vocabulary: l.vocabulary,
            metadata: l.metadata,
            step: l.step,
        })
    }

    /// What losses and samplers call.
    pub fn denoiser(&self) -> &dyn Denoiser {
        match &self.net {
            GeneratorNet::Dit(m, _) => m.as_ref(),
            GeneratorNet::Conv(m, _) => m.as_ref(),
            GeneratorNet::Unet(m, _) => m.as_ref(),
        }
    }

    /// The DiT, for methods that work on its hidden states (`what`, e.g. NOS); an error naming
    /// the method and the backbone otherwise.
    pub fn dit(&self, what: &str) -> Result<&Dit> {
        self.dit_with_config(what).map(|(m, _)| m)
    }

    /// [`Self::dit`] with its config (e.g. to export it in another layout).
    pub fn dit_with_config(&self, what: &str) -> Result<(&Dit, &DitConfig)> {
        match &self.net {
            GeneratorNet::Dit(m, c) => Ok((m, c)),
            _ => Err(CoreError::config(
                what,
                format!(
                    "works on a DiT generator's hidden states; this checkpoint is a {} generator",
                    self.backbone()
                ),
            )),
        }
    }

    /// "DiT" or the backbone's name, for tables.
    pub fn backbone(&self) -> &'static str {
        match self.net {
            GeneratorNet::Dit(..) => DitConfig::NAME,
            GeneratorNet::Conv(..) => ConvConfig::NAME,
            GeneratorNet::Unet(..) => UnetConfig::NAME,
        }
    }

    /// Number of weights of the network.
    pub fn num_params(&self) -> usize {
        match &self.net {
            GeneratorNet::Dit(m, _) => m.num_params(),
            GeneratorNet::Conv(m, _) => m.num_params(),
            GeneratorNet::Unet(m, _) => m.num_params(),
        }
    }

    /// Validation NELBO (AR: NLL) of the weights on `data`, in batches of `batch_size` with the
    /// noise stream of `seed`: the same numbers as the trainer's `evaluate` for the same weights.
    pub fn evaluate(
        &self,
        data: &dyn SequenceDataset,
        batch_size: usize,
        seed: u64,
        device: &Device,
    ) -> ValStats {
        let d = self.diffusion.config.clone();
        let mut v = match &self.net {
            GeneratorNet::Dit(m, c) => {
                let o = DenoiserObjective::new(d, c.clone());
                evaluate(&o, m.as_ref(), data, batch_size, None, seed, device)
            }
            GeneratorNet::Conv(m, c) => {
                let o = DenoiserObjective::new(d, c.clone());
                evaluate(&o, m.as_ref(), data, batch_size, None, seed, device)
            }
            GeneratorNet::Unet(m, c) => {
                let o = DenoiserObjective::new(d, c.clone());
                evaluate(&o, m.as_ref(), data, batch_size, None, seed, device)
            }
        };
        v.step = self.step;
        v
    }
}
