//! Species DNA data for guided discrete diffusion (the paper's Species10 task, here on the
//! shipped 12-genome set): FASTA reading, species manifests, fixed-length windows with
//! contiguous train/validation/test regions, and the §9.4 evaluation metrics.
//!
//! Everything here is model-free: no tensors and no burn, so it builds and tests fast and the
//! model code can depend on it rather than the other way round.

pub mod corpus;
pub mod error;
pub mod fasta;
pub mod manifest;
pub mod metrics;
pub mod random_baseline;
pub mod rng;
pub mod windows;

pub use corpus::{Corpus, SpeciesGenome};
pub use error::{GenomicsError, Result};
pub use fasta::{
    FastaFile, FastaRecord, FastaStats, GeneratedSample, SampleWriter, read_fasta, read_samples,
    write_samples,
};
pub use manifest::{Manifest, SpeciesEntry};
pub use metrics::{ClassificationReport, ConfusionMatrix, SpeciesKmerJs};
pub use rng::Xoshiro256StarStar;
pub use windows::{
    Balance, Split, SplitFractions, SplitScope, Window, WindowConfig, Windows, make_windows,
};
