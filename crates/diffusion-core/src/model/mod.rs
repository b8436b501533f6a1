//! The networks: the `Denoiser` trait every backbone implements, the DiT, the noisy and clean
//! classifiers, and RNG-driven dropout.

pub mod classifier;
pub mod denoiser;
pub mod dit;
pub mod dropout;
