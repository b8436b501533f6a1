//! All genomes of a manifest in memory, one entry per class.

use bio::alphabets::dna;

use crate::error::Result;
use crate::fasta::{FastaRecord, FastaStats, read_fasta};
use crate::manifest::Manifest;

/// One class: the records of all its files, in manifest then file order.
#[derive(Clone, Debug)]
pub struct SpeciesGenome {
    pub name: String,
    pub records: Vec<FastaRecord>,
    /// Sum of the per-file normalisation counts.
    pub stats: FastaStats,
}

impl SpeciesGenome {
    /// Total bases over all records.
    pub fn bases(&self) -> u64 {
        self.records.iter().map(|r| r.seq.len() as u64).sum()
    }
}

/// The genomes indexed by class id.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub species: Vec<SpeciesGenome>,
}

impl Corpus {
    /// Reads every file of every species of `manifest`.
    pub fn load(manifest: &Manifest) -> Result<Self> {
        let species = manifest
            .species
            .iter()
            .map(|entry| {
                let mut genome = SpeciesGenome {
                    name: entry.name.clone(),
                    records: Vec::new(),
                    stats: FastaStats::default(),
                };
                for file in &entry.files {
                    let fasta = read_fasta(file)?;
                    genome.stats += fasta.stats;
                    genome.records.extend(fasta.records);
                }
                Ok(genome)
            })
            .collect::<Result<_>>()?;
        Ok(Self { species })
    }

    pub fn num_classes(&self) -> usize {
        self.species.len()
    }

    /// Species names in class order.
    pub fn names(&self) -> Vec<&str> {
        self.species.iter().map(|s| s.name.as_str()).collect()
    }
}

/// Reverse complement (`bio::alphabets::dna::revcomp`; `N` stays `N`).
pub fn reverse_complement(seq: &[u8]) -> Vec<u8> {
    dna::revcomp(seq)
}
