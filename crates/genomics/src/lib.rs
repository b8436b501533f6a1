//! Species DNA data for guided discrete diffusion (the paper's Species10 task, here on the
//! shipped 12-genome set): FASTA reading, species manifests, fixed-length windows with
//! contiguous train/validation/test regions, and the §9.4 evaluation metrics.
//!
//! The data half (FASTA, manifests, windows, metrics) is model-free; `tokenizer`, `data`,
//! `config` and `evaluate` connect it to `diffusion-core` (DiT generators, oracle and
//! discriminator classifiers; the core's dilated-convolution `conv` backbone for long windows),
//! and the `genomics` binary drives both.

pub mod config;
pub mod corpus;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod fasta;
pub mod manifest;
pub mod metrics;
pub mod random_baseline;
pub mod reward;
pub mod tokenizer;
pub mod windows;

pub use corpus::{Corpus, SpeciesGenome};
pub use diffusion_core::rng::Xoshiro256StarStar;
pub use error::{GenomicsError, Result};
pub use fasta::{
    FastaFile, FastaRecord, FastaStats, GeneratedSample, SampleWriter, read_fasta, read_samples,
    read_samples_for, samples_for, write_samples,
};
pub use manifest::{Manifest, SpeciesEntry};
pub use metrics::{ClassificationReport, ConfusionMatrix, SpeciesKmerJs};
pub use windows::{
    Balance, Split, SplitFractions, SplitScope, Window, WindowConfig, Windows, make_windows,
};
