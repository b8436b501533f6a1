//! Molecules on top of `diffusion-core`: the reference SMILES tokenizer, QM9 loading with the
//! reference's labels and split, RDKit-equivalent chemistry and the QM9 metrics (spec §8, §9.3).

pub mod chemistry;
pub mod config;
pub mod data;
pub mod error;
pub mod metrics;
pub mod mol_tokenizer;
pub mod qm9;
pub mod reward;
pub mod selfies;
pub mod smiles_tokenizer;

pub use error::{MolError, Result};
