//! Character-level language modelling on `diffusion-core`, text8 style: 27 symbols (a–z and
//! space), a contiguous train / validation split by character offset, and non-overlapping chunks
//! of L characters with no BOS / EOS (spec §8, text8 row). AR, MDLM and UDLM are compared by
//! validation bits per character (for diffusion models the NELBO bound, spec §4).
//!
//! Everything model-related (process, DiT, trainer, sampler, checkpoints) comes from the core;
//! this crate only turns a text file into token sequences and back.

pub mod config;
pub mod corpus;
pub mod data;
pub mod error;
pub mod eval;
pub mod normalize;
pub mod split;
pub mod tokenizer;

pub use error::{Result, TextError};
