//! # diffusion-core
//!
//! Domain-free building blocks for guided discrete diffusion (Schiff et al., ICLR 2025):
//! noise schedules, forward processes, posteriors, losses, the DiT backbone, training,
//! checkpoints and samplers for masked (MDLM), uniform (UDLM) and autoregressive models.
//! Section numbers (§) refer to `docs/spec.md`.

// The map, in the order of the paper: the noise process, the networks, training, sampling and
// guidance, then files and reports. Each module is also re-exported at the crate root
// (`diffusion_core::sampler`, `diffusion_core::loss`, ...), the paths the domain crates use.

/// Guidance: D-CFG, D-CBG (exact, first order), FUDGE, NOS, γ schedules, reward steering.
pub mod guidance;
/// Files: checkpoints, HF layout, atomic writes, configs, run folders, shipped paths.
pub mod io;
/// Networks: the `Denoiser` trait, the DiT, conv and UNet backbones, classifiers, dropout.
pub mod model;
/// Noise process: schedule, q(z_t | x), prior, times, parameterisation, posteriors, losses.
pub mod process;
/// Reports: metrics (classification, AUROC; Fréchet distance and inception score on a clean
/// classifier's features), plots of a run's curves.
pub mod report;
/// Sampling: samplers, one reverse step in pieces, categorical draws, `generate`.
pub mod sample;
/// Training: objectives, optimiser loop, EMA, LR schedules, checkpoints of runs.
pub mod train;

pub mod allocator;
/// The application layer of the domain binaries: experiment file, `Domain` trait, training runs.
pub mod app;
pub mod backend;
/// Shared command-line pieces of the domain binaries.
pub mod cli;
/// What a domain implements: tokenizer, data set, metric hook.
pub mod domain;
pub mod error;
pub mod fuzz;
/// The project's seedable RNG and the `Uniforms` trait.
pub mod rng;
pub mod tensor_util;

pub use guidance::nos;
pub use io::{atomic_file, checkpoint, config_file, hf_checkpoint, paths, run_dir};
pub use model::{classifier, conv, denoiser, dit, dropout, unet};
pub use process::{
    diffusion, forward, hybrid, loss, noise, parameterization, posterior, schedule, time,
};
pub use report::{metrics, plot};
pub use sample::{categorical, generate, psi, sampler, step};

#[cfg(test)]
pub(crate) mod testing;

pub use error::{CoreError, Result};
