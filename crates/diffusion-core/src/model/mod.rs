//! The networks: the `Denoiser` trait every backbone implements, the three backbones (the DiT,
//! a dilated convolution linear in L for long sequences, the image UNet with its
//! discretised-logistic head), the noisy and clean classifiers, and RNG-driven dropout.

pub mod classifier;
pub mod conv;
pub mod denoiser;
pub mod dit;
pub mod dropout;
pub mod unet;
