//! Discretised-pixel images for guided discrete diffusion (spec §7.3, §8 CIFAR row, §9.6):
//! loaders (IDX, the CIFAR-10 JPEG pack, a folder per class), a pixel tokenizer with
//! configurable levels, sample grids, the reference's image UNet with its truncated
//! discretised-logistic head (a core `Denoiser`, trained through the `UnetGenerator`
//! objective), and image metrics (FID and IS on a project-trained evaluation network — the
//! core's `report::{features, frechet, inception_score}` — accuracy / F1 of an evaluation
//! classifier).
//!
//! Everything else model-related (process, DiT, classifiers, trainer, sampler, guidance) comes
//! from `diffusion-core`; this crate turns images into token sequences and back, and scores them.

pub mod cifar_pack;
pub mod config;
pub mod dataset;
pub mod error;
pub mod folder;
pub mod grid;
pub mod idx;
pub mod image_set;
pub mod inpaint;
pub mod sample_metrics;
pub mod tokenizer;

pub use error::{ImageError, Result};
