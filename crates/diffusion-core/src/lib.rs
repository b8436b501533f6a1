//! # diffusion-core
//!
//! Domain-free building blocks for guided discrete diffusion (Schiff et al., ICLR 2025):
//! noise schedules, forward processes, posteriors, losses, the DiT backbone, training,
//! checkpoints and samplers for masked (MDLM), uniform (UDLM) and autoregressive models.
//! Section numbers (§) refer to `docs/spec.md`.

pub mod allocator;
pub mod atomic_file;
pub mod backend;
pub mod categorical;
pub mod checkpoint;
pub mod classifier;
pub mod cli;
pub mod config_file;
pub mod denoiser;
pub mod diffusion;
pub mod dit;
pub mod domain;
pub mod dropout;
pub mod error;
pub mod forward;
pub mod fuzz;
pub mod generate;
pub mod guidance;
pub mod hf_checkpoint;
pub mod loss;
pub mod metrics;
pub mod nos;
pub mod parameterization;
pub mod paths;
pub mod plot;
pub mod posterior;
pub mod report;
pub mod rng;
pub mod run_dir;
pub mod sampler;
pub mod schedule;
pub mod step;
pub mod tensor_util;
pub mod time;
pub mod train;

#[cfg(test)]
pub(crate) mod testing;

pub use error::{CoreError, Result};
