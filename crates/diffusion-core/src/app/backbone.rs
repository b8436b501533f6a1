//! Which backbone section of an experiment file a generator run trains, and how the token facts
//! of the data are filled into it: the DiT (`[model]`), the dilated convolution (`[conv]`) or
//! the image UNet (`[unet]`). Every domain gets all three; the UNet asks the domain for its
//! image grid.

use super::ExperimentConfig;
use crate::checkpoint::checkpoint_kind;
use crate::conv::ConvConfig;
use crate::diffusion::DiffusionConfig;
use crate::dit::DitConfig;
use crate::error::{CoreError, Result};
use crate::train::BackboneConfig;
use crate::train::run::is_causal;
use crate::unet::{Grid, UnetConfig};
use std::path::Path;

/// A backbone config section of the experiment file.
pub trait Backbone: BackboneConfig {
    /// The section's name (`model`, `conv`, `unet`).
    const SECTION: &'static str;
    fn section<D>(cfg: &ExperimentConfig<D>) -> &Option<Self>;
    fn section_mut<D>(cfg: &mut ExperimentConfig<D>) -> &mut Option<Self>;
    /// Fill in N, the classes and what else the data decides.
    fn resolve(
        &mut self,
        diffusion: &DiffusionConfig,
        classes: Option<usize>,
        grid: Option<Grid>,
    ) -> Result<()>;
}

impl Backbone for DitConfig {
    const SECTION: &'static str = "model";
    fn section<D>(cfg: &ExperimentConfig<D>) -> &Option<Self> {
        &cfg.model
    }
    fn section_mut<D>(cfg: &mut ExperimentConfig<D>) -> &mut Option<Self> {
        &mut cfg.model
    }
    fn resolve(
        &mut self,
        d: &DiffusionConfig,
        classes: Option<usize>,
        _: Option<Grid>,
    ) -> Result<()> {
        self.vocab_size = d.vocab_size;
        self.num_classes = classes;
        self.causal = is_causal(d.kind);
        Ok(())
    }
}

impl Backbone for ConvConfig {
    const SECTION: &'static str = "conv";
    fn section<D>(cfg: &ExperimentConfig<D>) -> &Option<Self> {
        &cfg.conv
    }
    fn section_mut<D>(cfg: &mut ExperimentConfig<D>) -> &mut Option<Self> {
        &mut cfg.conv
    }
    fn resolve(
        &mut self,
        d: &DiffusionConfig,
        classes: Option<usize>,
        _: Option<Grid>,
    ) -> Result<()> {
        self.vocab_size = d.vocab_size;
        self.num_classes = classes;
        tracing::info!(
            blocks = self.dilations().len(),
            receptive_field = self.receptive_field(),
            "dilated-convolution denoiser"
        );
        Ok(())
    }
}

impl Backbone for UnetConfig {
    const SECTION: &'static str = "unet";
    fn section<D>(cfg: &ExperimentConfig<D>) -> &Option<Self> {
        &cfg.unet
    }
    fn section_mut<D>(cfg: &mut ExperimentConfig<D>) -> &mut Option<Self> {
        &mut cfg.unet
    }
    fn resolve(
        &mut self,
        d: &DiffusionConfig,
        classes: Option<usize>,
        grid: Option<Grid>,
    ) -> Result<()> {
        let Some(g) = grid else {
            return Err(CoreError::config(
                "[unet]",
                "the UNet needs sequences laid out as an image grid, which this domain's data is not; use [model] (DiT) or [conv]",
            ));
        };
        self.vocab_size = d.vocab_size;
        self.levels = g.levels;
        self.channels = g.channels;
        self.height = g.height;
        self.width = g.width;
        self.num_classes = classes;
        Ok(())
    }
}

/// The three backbones a generator run can train.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackboneKind {
    Dit,
    Conv,
    Unet,
}

impl BackboneKind {
    /// The backbone of a new run: the one backbone section the file has.
    pub fn of_config<D>(cfg: &ExperimentConfig<D>) -> Result<Self> {
        let present: Vec<(Self, &str)> = [
            (cfg.model.is_some(), Self::Dit, "[model] (a DiT)"),
            (cfg.conv.is_some(), Self::Conv, "[conv]"),
            (cfg.unet.is_some(), Self::Unet, "[unet]"),
        ]
        .into_iter()
        .filter(|p| p.0)
        .map(|p| (p.1, p.2))
        .collect();
        match present.as_slice() {
            [(kind, _)] => Ok(*kind),
            [] => Err(CoreError::config(
                "[model]",
                "the config has no such section (DiT: hidden_size, n_blocks, n_heads), and no [conv] or [unet] either",
            )),
            many => Err(CoreError::config(
                "[model]",
                format!(
                    "the config has {}; keep the one backbone to train",
                    many.iter().map(|p| p.1).collect::<Vec<_>>().join(" and ")
                ),
            )),
        }
    }

    /// The backbone of a run being resumed: the one its checkpoint holds.
    pub fn of_checkpoint(path: &Path) -> Result<Self> {
        let kind = checkpoint_kind(path)?;
        Ok(if kind == ConvConfig::KIND {
            Self::Conv
        } else if kind == UnetConfig::KIND {
            Self::Unet
        } else {
            Self::Dit
        })
    }
}
