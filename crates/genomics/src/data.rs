//! From a manifest to token sequences: load the genomes, cut windows with contiguous
//! train / validation / test regions, subsample per species, and tokenize as `[BOS]` + bases
//! with the species id as the label.

use crate::config::DataConfig;
use crate::corpus::Corpus;
use crate::error::{GenomicsError, Result};
use crate::manifest::Manifest;
use crate::tokenizer::DnaTokenizer;
use crate::windows::{Balance, Split, Window, make_windows};
use diffusion_core::domain::{SequenceDataset, TokenSequences};
use diffusion_core::paths::resolve_path;
use diffusion_core::rng::Xoshiro256StarStar;
use serde::Serialize;
use std::path::PathBuf;

/// What preparation kept, per species, so a run records what it trained on.
#[derive(Clone, Debug, Serialize)]
pub struct DataReport {
    pub manifest: PathBuf,
    pub classes: Vec<String>,
    pub seq_len: usize,
    /// Windows per species in train / validation / test after subsampling.
    pub windows: Vec<[usize; 3]>,
    /// Non-ACGT bases read per species (mapped to N).
    pub non_acgt: Vec<u64>,
    /// Windows skipped for containing more N than `windows.max_n_fraction` allows.
    pub skipped_n: usize,
}

impl DataReport {
    pub fn summary(&self) -> String {
        let total = |s: usize| self.windows.iter().map(|w| w[s]).sum::<usize>();
        format!(
            "{} species, L = {} ({} bp windows); windows train {} / validation {} / test {}; {} skipped for N",
            self.classes.len(),
            self.seq_len,
            self.seq_len - 1,
            total(0),
            total(1),
            total(2),
            self.skipped_n
        )
    }
}

/// The three splits as labelled token sequences.
pub struct GenomicsData {
    pub classes: Vec<String>,
    pub train: TokenSequences,
    pub val: TokenSequences,
    pub test: TokenSequences,
    pub report: DataReport,
}

impl GenomicsData {
    pub fn split(&self, split: Split) -> &TokenSequences {
        match split {
            Split::Train => &self.train,
            Split::Validation => &self.val,
            Split::Test => &self.test,
        }
    }
}

/// The bases of every sequence of `data`, grouped by label (`classes` groups).
pub fn bases_by_class(data: &TokenSequences, classes: usize) -> Vec<Vec<Vec<u8>>> {
    let tok = DnaTokenizer;
    let mut out = vec![Vec::new(); classes];
    for i in 0..data.len() {
        if let Some(c) = data.label(i)
            && let Some(v) = out.get_mut(c as usize)
        {
            v.push(tok.decode_bases(data.tokens(i)));
        }
    }
    out
}

/// A seeded subset of at most `cap` windows per class, in a seeded random order.
fn subsample(windows: Vec<&Window>, classes: usize, cap: Option<usize>, seed: u64) -> Vec<Window> {
    let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
    let cap = cap.unwrap_or(usize::MAX);
    let mut keep = Vec::new();
    for c in 0..classes {
        let mut idx: Vec<usize> = (0..windows.len())
            .filter(|&i| windows[i].class == c)
            .collect();
        rng.shuffle(&mut idx);
        idx.truncate(cap);
        keep.extend(idx);
    }
    keep.sort_unstable();
    let mut chosen: Vec<Window> = keep.into_iter().map(|i| *windows[i]).collect();
    // Species interleaved, not in blocks: a validation capped at a few batches (and any
    // prefix of a split) then covers every species.
    rng.shuffle(&mut chosen);
    chosen
}

/// Load the manifest's genomes and build the three splits.
pub fn prepare(cfg: &DataConfig) -> Result<GenomicsData> {
    if cfg.windows.balance == Balance::Weights {
        return Err(GenomicsError::Config(
            "data.windows.balance = \"weights\" needs a weighted sampler, which training does not have; use \"cap\" or \"none\"".into(),
        ));
    }
    let manifest_path = resolve_path(&cfg.manifest);
    let manifest = Manifest::load(&manifest_path)?;
    let corpus = Corpus::load(&manifest)?;
    let windows = make_windows(&corpus, &cfg.windows)?;
    let classes: Vec<String> = corpus.names().iter().map(|s| s.to_string()).collect();
    let seq_len = cfg.seq_len();
    let tok = DnaTokenizer;
    let mut splits = Vec::new();
    let mut counts = vec![[0usize; 3]; classes.len()];
    for split in Split::ALL {
        let cap = match split {
            Split::Train => cfg.max_train_per_class,
            _ => cfg.max_eval_per_class,
        };
        let seed = cfg.windows.seed.wrapping_add(split.index() as u64 + 1);
        let chosen = subsample(windows.split(split).collect(), classes.len(), cap, seed);
        let mut seqs = TokenSequences::new(seq_len);
        seqs.labels = Some(Vec::new());
        seqs.num_classes = Some(classes.len());
        for w in &chosen {
            let bases = w.bases(&corpus).ok_or_else(|| {
                GenomicsError::Config(format!("window {w:?} lies outside its genome"))
            })?;
            seqs.push(&tok.encode_bases(&bases, seq_len), Some(w.class as i64))?;
            counts[w.class][split.index()] += 1;
        }
        splits.push(seqs);
    }
    for (class, name) in classes.iter().enumerate() {
        if counts[class][0] == 0 {
            return Err(GenomicsError::Config(format!(
                "species `{name}` has no training window of {} bp (genome too short or too many N)",
                cfg.windows.length
            )));
        }
    }
    let report = DataReport {
        manifest: manifest_path,
        classes: classes.clone(),
        seq_len,
        windows: counts,
        non_acgt: corpus.species.iter().map(|s| s.stats.non_acgt).collect(),
        skipped_n: windows
            .counts
            .iter()
            .flat_map(|c| c.iter().map(|s| s.skipped_n))
            .sum(),
    };
    let test = splits.pop().unwrap_or_default();
    let val = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok(GenomicsData {
        classes,
        train,
        val,
        test,
        report,
    })
}
