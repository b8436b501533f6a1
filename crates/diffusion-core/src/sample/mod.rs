//! Generation: the ancestral and AR samplers, the pieces of one reverse step, categorical
//! draws, Ψ-samplers, and `generate`, the sampling run every domain binary exposes.

pub mod args;
pub mod categorical;
pub mod generate;
pub mod nucleus;
pub mod psi;
pub mod sampler;
pub mod step;
