//! A generator checkpoint loaded for sampling, whatever its backbone: the core's DiT or a
//! domain's own [`BackboneConfig`] (the genomics dilated convolution, the image UNet), told
//! apart by the checkpoint's kind. Samplers and losses see one `&dyn Denoiser`; methods that
//! work on the DiT's hidden states (NOS) ask for the DiT and get an error naming the backbone
//! otherwise.

use super::{BackboneConfig, DenoiserObjective, load_for_inference, load_objective};
use crate::checkpoint::checkpoint_kind;
use crate::denoiser::Denoiser;
use crate::diffusion::Diffusion;
use crate::dit::Dit;
use crate::error::{CoreError, Result};
use burn::module::Module;
use burn::prelude::Device;
use std::path::Path;

/// The network of a generator checkpoint.
pub enum GeneratorNet<M> {
    Dit(Box<Dit>),
    /// The domain's own backbone.
    Own(Box<M>),
}

/// A generator checkpoint (EMA weights) with its process, vocabulary and metadata.
pub struct LoadedGenerator<C: BackboneConfig> {
    pub diffusion: Diffusion,
    pub net: GeneratorNet<C::Model>,
    pub vocabulary: Vec<String>,
    pub metadata: serde_json::Value,
    /// Training steps of the weights.
    pub step: usize,
}

impl<C: BackboneConfig> LoadedGenerator<C> {
    /// Load `path` (EMA weights): `C`'s network when the checkpoint's kind is `C::KIND`, else
    /// a DiT generator.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        if checkpoint_kind(path)? == C::KIND {
            let l = load_objective::<DenoiserObjective<C>>(path, device, true)?;
            Ok(Self {
                diffusion: l.objective.process(),
                net: GeneratorNet::Own(Box::new(l.model)),
                vocabulary: l.vocabulary,
                metadata: l.metadata,
                step: l.step,
            })
        } else {
            let l = load_for_inference(path, device, true, None)?;
            Ok(Self {
                diffusion: l.diffusion,
                net: GeneratorNet::Dit(Box::new(l.model)),
                vocabulary: l.vocabulary,
                metadata: l.metadata,
                step: l.step,
            })
        }
    }

    /// What losses and samplers call.
    pub fn denoiser(&self) -> &dyn Denoiser {
        match &self.net {
            GeneratorNet::Dit(m) => m.as_ref(),
            GeneratorNet::Own(m) => m.as_ref(),
        }
    }

    /// The DiT, for methods that work on its hidden states (`what`, e.g. NOS); an error naming
    /// the method and the backbone otherwise.
    pub fn dit(&self, what: &str) -> Result<&Dit> {
        match &self.net {
            GeneratorNet::Dit(m) => Ok(m),
            GeneratorNet::Own(_) => Err(CoreError::config(
                what,
                format!(
                    "works on a DiT generator's hidden states; this checkpoint is a {} generator",
                    C::NAME
                ),
            )),
        }
    }

    /// "DiT" or the backbone's name, for tables.
    pub fn backbone(&self) -> &'static str {
        match self.net {
            GeneratorNet::Dit(_) => "DiT",
            GeneratorNet::Own(_) => C::NAME,
        }
    }

    /// Number of weights of the network.
    pub fn num_params(&self) -> usize {
        match &self.net {
            GeneratorNet::Dit(m) => m.num_params(),
            GeneratorNet::Own(m) => m.num_params(),
        }
    }
}
