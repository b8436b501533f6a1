//! A generator checkpoint loaded for sampling, whatever its backbone (the DiT, the dilated
//! convolution, the image UNet), told apart by the checkpoint's kind. Samplers and losses see
//! one `&dyn Denoiser`; methods that work on the DiT's hidden states (NOS) ask for the DiT and
//! get an error naming the backbone otherwise.

use super::{BackboneConfig, DenoiserObjective, load_objective};
use crate::checkpoint::checkpoint_kind;
use crate::conv::{ConvConfig, ConvDenoiser};
use crate::denoiser::Denoiser;
use crate::diffusion::Diffusion;
use crate::dit::{Dit, DitConfig};
use crate::error::{CoreError, Result};
use crate::unet::{Unet, UnetConfig};
use burn::module::Module;
use burn::prelude::Device;
use std::path::Path;

/// The network of a generator checkpoint.
pub enum GeneratorNet {
    Dit(Box<Dit>),
    Conv(Box<ConvDenoiser>),
    Unet(Box<Unet>),
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
            Self::load_as::<ConvConfig>(path, device, |m| GeneratorNet::Conv(Box::new(m)))
        } else if kind == UnetConfig::KIND {
            Self::load_as::<UnetConfig>(path, device, |m| GeneratorNet::Unet(Box::new(m)))
        } else {
            Self::load_as::<DitConfig>(path, device, |m| GeneratorNet::Dit(Box::new(m)))
        }
    }

    fn load_as<C: BackboneConfig>(
        path: &Path,
        device: &Device,
        net: impl FnOnce(C::Model) -> GeneratorNet,
    ) -> Result<Self> {
        let l = load_objective::<DenoiserObjective<C>>(path, device, true)?;
        Ok(Self {
            diffusion: l.objective.process(),
            net: net(l.model),
            vocabulary: l.vocabulary,
            metadata: l.metadata,
            step: l.step,
        })
    }

    /// What losses and samplers call.
    pub fn denoiser(&self) -> &dyn Denoiser {
        match &self.net {
            GeneratorNet::Dit(m) => m.as_ref(),
            GeneratorNet::Conv(m) => m.as_ref(),
            GeneratorNet::Unet(m) => m.as_ref(),
        }
    }

    /// The DiT, for methods that work on its hidden states (`what`, e.g. NOS); an error naming
    /// the method and the backbone otherwise.
    pub fn dit(&self, what: &str) -> Result<&Dit> {
        match &self.net {
            GeneratorNet::Dit(m) => Ok(m),
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
            GeneratorNet::Dit(_) => DitConfig::NAME,
            GeneratorNet::Conv(_) => ConvConfig::NAME,
            GeneratorNet::Unet(_) => UnetConfig::NAME,
        }
    }

    /// Number of weights of the network.
    pub fn num_params(&self) -> usize {
        match &self.net {
            GeneratorNet::Dit(m) => m.num_params(),
            GeneratorNet::Conv(m) => m.num_params(),
            GeneratorNet::Unet(m) => m.num_params(),
        }
    }
}
