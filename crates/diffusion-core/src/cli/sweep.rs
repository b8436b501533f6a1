//! The arguments every domain's `sweep` shares: the generator, the guidance swept over γ (with
//! its classifier or NOS head and exact D-CBG), the seed, the backend and the sampler
//! refinements, and the request of one row. Each domain adds its γ list, sample counts, T and what it scores.

use crate::app::{Domain, guidance_models};
use crate::generate::{GuidanceModels, OwnedGuidanceModels, Request};
use crate::guidance::exact_chunk;
use crate::sample::args::{GuidanceKind, RefineArgs};
use crate::sampler::SamplerConfig;
use crate::train::LoadedGenerator;
use crate::{CoreError, Result};
use burn::prelude::Device;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct SweepGuide {
    /// Generator checkpoint.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// cfg (a class-conditional generator), cbg (needs --classifier), nos (a NOS head as
    /// --classifier) or none (where the domain allows an unguided row).
    #[arg(long, value_enum)]
    pub guidance: GuidanceKind,
    /// Noisy classifier for D-CBG, or NOS head.
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Exact D-CBG (default: first order).
    #[arg(long)]
    pub exact: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub backend: Option<String>,
    /// Sampler refinements for every row (corrector, remasking, Ψ, top-p, final denoise).
    #[command(flatten)]
    pub refine: RefineArgs,
}

impl SweepGuide {
    /// Refuses an unguided sweep (one whose rows could only differ in γ).
    pub fn require_guidance(&self) -> Result<()> {
        if self.guidance == GuidanceKind::None {
            return Err(CoreError::config(
                "--guidance",
                "a sweep varies γ: use --guidance cfg, cbg or nos",
            ));
        }
        Ok(())
    }

    /// The classifier or NOS head of `--classifier`, checked against generator `g`.
    pub fn load_models<D: Domain>(
        &self,
        g: &LoadedGenerator,
        dev: &Device,
    ) -> std::result::Result<OwnedGuidanceModels, D::Error> {
        guidance_models::load_guidance::<D>(self.guidance, self.classifier.as_deref(), &[], g, dev)
    }

    /// The request of the row at γ = `gamma` with T = `steps` (exact D-CBG in the chunks that
    /// fit sequences of length `seq_len`).
    pub fn request<'a>(
        &self,
        gamma: f64,
        models: GuidanceModels<'a>,
        steps: usize,
        batch_size: usize,
        seq_len: usize,
    ) -> Request<'a> {
        Request {
            exact: self.exact.then(|| exact_chunk(seq_len)),
            ..Request::new(
                self.guidance,
                gamma,
                models,
                self.refine
                    .apply(SamplerConfig::run(steps, batch_size, self.seed)),
            )
        }
    }
}
