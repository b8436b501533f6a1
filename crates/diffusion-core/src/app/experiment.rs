//! The experiment file every domain reads (`configs/*.toml`): the domain's own `[data]` section
//! and the sections every domain shares — the process, one backbone (`[model]` DiT, `[conv]`
//! dilated convolution or `[unet]`), a classifier, training, sampling and the run folder. Token
//! facts (N, L, special ids, classes, image geometry) are filled in from the tokenizer and the
//! data, never typed into the file.

use crate::classifier::ClassifierConfig;
use crate::cli::RunConfig;
use crate::conv::ConvConfig;
use crate::diffusion::DiffusionConfig;
use crate::dit::DitConfig;
use crate::sampler::SamplerConfig;
use crate::train::TrainConfig;
use crate::unet::UnetConfig;
use serde::{Deserialize, Serialize};

/// One file trains one generator (`[diffusion]` and one backbone section) or one classifier
/// (`[classifier]`); `D` is the domain's `[data]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound(
    serialize = "D: Serialize",
    deserialize = "D: Deserialize<'de> + Default"
))]
pub struct ExperimentConfig<D> {
    #[serde(default)]
    pub data: D,
    #[serde(default)]
    pub diffusion: Option<DiffusionConfig>,
    /// The DiT backbone.
    #[serde(default)]
    pub model: Option<DitConfig>,
    /// The dilated-convolution backbone (linear in L; MDLM / UDLM / GIDD).
    #[serde(default)]
    pub conv: Option<ConvConfig>,
    /// The image UNet with the discretised-logistic head (domains with an image grid).
    #[serde(default)]
    pub unet: Option<UnetConfig>,
    #[serde(default)]
    pub classifier: Option<ClassifierConfig>,
    pub train: TrainConfig,
    #[serde(default)]
    pub sampling: SamplerConfig,
    #[serde(default)]
    pub run: RunConfig,
}
