//! Fixed-length windows over the genomes, split into train / validation / test by contiguous
//! genome region.
//!
//! The reference (§8, Species10) chunks genomes into 32,768-bp pieces and splits the pieces at
//! random; neighbouring pieces then land in different splits, and with a stride smaller than the
//! length they would even overlap. Here every record (or, with [`SplitScope::Species`], the
//! records of a class laid end to end) is cut into three contiguous regions — by default the
//! first 90 % of the bases for training, the next 5 % for validation and the last 5 % for test —
//! and windows are tiled inside each region, so no window crosses a region boundary and no two
//! windows of different splits share a base.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::corpus::{Corpus, reverse_complement};
use crate::error::{GenomicsError, Result};
use diffusion_core::rng::{Xoshiro256StarStar, splitmix64};

/// Dataset split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Validation,
    Test,
}

impl Split {
    /// In genome order: train comes first along each record.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    /// Position in [`Split::ALL`], for per-split arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

/// Fractions of the bases given to each split; they must sum to 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitFractions {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
}

impl Default for SplitFractions {
    fn default() -> Self {
        Self {
            train: 0.90,
            validation: 0.05,
            test: 0.05,
        }
    }
}

/// What is cut into the three contiguous regions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitScope {
    /// Each record (chromosome, contig) separately: every record contributes to every split.
    #[default]
    Record,
    /// The records of a class end to end, in file order. Needed when records are shorter than
    /// a few windows (the fly class is 2,000 records of 2 kbp: per record, its 5 % regions hold
    /// no window of 1 kbp).
    Species,
}

/// Class balancing of the training split (validation and test are never changed, so that the
/// §9.4 species weights reflect the data).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Balance {
    /// Keep every window.
    #[default]
    None,
    /// Keep, per class, a seeded random subset as large as the smallest class.
    Cap,
    /// Keep every window; [`Windows::sampling_weights`] gives each class equal total weight.
    Weights,
}

/// How windows are made; deserialisable from a `[windows]` config table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowConfig {
    /// Window length in bases (the reference uses 32,768; shorter windows suit a CPU).
    pub length: usize,
    /// Step between window starts; `None` means `length` (no overlap).
    pub stride: Option<usize>,
    /// Windows whose fraction of non-ACGT bases exceeds this are skipped (and counted).
    pub max_n_fraction: f64,
    pub split: SplitFractions,
    pub scope: SplitScope,
    /// Add the reverse complement of every training window (off in the reference, §8).
    pub reverse_complement: bool,
    pub balance: Balance,
    /// Seed of the class-cap subsampling.
    pub seed: u64,
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self {
            length: 1024,
            stride: None,
            max_n_fraction: 0.0,
            split: SplitFractions::default(),
            scope: SplitScope::Record,
            reverse_complement: false,
            balance: Balance::None,
            seed: 42,
        }
    }
}

impl WindowConfig {
    /// The effective stride.
    pub fn stride(&self) -> usize {
        self.stride.unwrap_or(self.length)
    }

    pub fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(GenomicsError::Config(msg));
        if self.length == 0 {
            return fail("window length must be at least 1".into());
        }
        if self.stride() == 0 {
            return fail("window stride must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.max_n_fraction) {
            return fail(format!(
                "max_n_fraction = {} is outside [0, 1]",
                self.max_n_fraction
            ));
        }
        let f = self.split;
        for (name, value) in [
            ("train", f.train),
            ("validation", f.validation),
            ("test", f.test),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return fail(format!("split.{name} = {value} is outside [0, 1]"));
            }
        }
        let sum = f.train + f.validation + f.test;
        if (sum - 1.0).abs() > 1e-9 {
            return fail(format!("split fractions sum to {sum}, not 1"));
        }
        Ok(())
    }
}

/// One window: `len` bases of record `record` of class `class`, from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub class: usize,
    pub record: usize,
    pub start: usize,
    pub len: usize,
    pub split: Split,
    /// Read the reverse complement of the bases (augmentation copy).
    pub reverse_complement: bool,
}

impl Window {
    /// One past the last base.
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    /// The window's bases, borrowed unless reverse-complemented; `None` when the window does
    /// not lie inside `corpus` (a corpus other than the one it was made from).
    pub fn bases<'c>(&self, corpus: &'c Corpus) -> Option<Cow<'c, [u8]>> {
        let record = corpus.species.get(self.class)?.records.get(self.record)?;
        let bases = record.seq.get(self.start..self.end())?;
        Some(if self.reverse_complement {
            Cow::Owned(reverse_complement(bases))
        } else {
            Cow::Borrowed(bases)
        })
    }
}

/// Per class and split: what happened to the candidate windows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SplitCounts {
    /// Bases in the split's regions (including those no window covers).
    pub bases: u64,
    /// Genome windows kept (reverse-complement copies not included).
    pub kept: usize,
    /// Windows skipped for too many non-ACGT bases.
    pub skipped_n: usize,
    /// Windows removed by [`Balance::Cap`].
    pub dropped_by_cap: usize,
    /// Reverse-complement copies added.
    pub reverse_complements: usize,
}

/// The windows of all splits, ordered by class, split, record and start (a reverse-complement
/// copy right after its window).
#[derive(Clone, Debug)]
pub struct Windows {
    pub windows: Vec<Window>,
    /// `counts[class][split.index()]`.
    pub counts: Vec<[SplitCounts; 3]>,
    pub balance: Balance,
}

impl Windows {
    /// The windows of one split, in order.
    pub fn split(&self, split: Split) -> impl Iterator<Item = &Window> + '_ {
        self.windows.iter().filter(move |w| w.split == split)
    }

    /// Windows per class in one split (reverse-complement copies included).
    pub fn class_counts(&self, split: Split) -> Vec<usize> {
        let mut counts = vec![0; self.counts.len()];
        for w in self.split(split) {
            if let Some(c) = counts.get_mut(w.class) {
                *c += 1;
            }
        }
        counts
    }

    /// Sampling probability of each window of `split`, in [`Windows::split`] order, summing
    /// to 1: uniform, or with [`Balance::Weights`] equal total weight per class present.
    pub fn sampling_weights(&self, split: Split) -> Vec<f64> {
        let counts = self.class_counts(split);
        let total: usize = counts.iter().sum();
        let present = counts.iter().filter(|&&c| c > 0).count();
        self.split(split)
            .map(|w| match self.balance {
                Balance::Weights => {
                    let in_class = counts.get(w.class).copied().unwrap_or(0);
                    1.0 / (present * in_class).max(1) as f64
                }
                Balance::None | Balance::Cap => 1.0 / total.max(1) as f64,
            })
            .collect()
    }
}

/// A contiguous stretch of one record that belongs to one split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Region {
    record: usize,
    start: usize,
    end: usize,
    split: Split,
}

/// Cuts `[0, total)` at the split fractions. Rounded, not floored, so that 0.9 · 100 is 90.
fn cut_points(total: usize, f: SplitFractions) -> [usize; 2] {
    let at = |fraction: f64| ((total as f64 * fraction).round() as usize).min(total);
    let first = at(f.train);
    [first, at(f.train + f.validation).max(first)]
}

/// The regions of one class for the given record lengths.
fn regions(lengths: &[usize], fractions: SplitFractions, scope: SplitScope) -> Vec<Region> {
    let mut out = Vec::new();
    let mut push = |record: usize, offset: usize, len: usize, cuts: [usize; 2]| {
        let bounds = [0, cuts[0], cuts[1], usize::MAX];
        for (i, split) in Split::ALL.into_iter().enumerate() {
            let start = bounds[i].max(offset);
            let end = bounds[i + 1].min(offset + len);
            if start < end {
                out.push(Region {
                    record,
                    start: start - offset,
                    end: end - offset,
                    split,
                });
            }
        }
    };
    match scope {
        SplitScope::Record => {
            for (record, &len) in lengths.iter().enumerate() {
                push(record, 0, len, cut_points(len, fractions));
            }
        }
        SplitScope::Species => {
            let cuts = cut_points(lengths.iter().sum(), fractions);
            let mut offset = 0;
            for (record, &len) in lengths.iter().enumerate() {
                push(record, offset, len, cuts);
                offset += len;
            }
        }
    }
    out
}

fn is_acgt(base: u8) -> bool {
    matches!(base.to_ascii_uppercase(), b'A' | b'C' | b'G' | b'T')
}

/// Makes the windows of every class (see the module documentation).
pub fn make_windows(corpus: &Corpus, config: &WindowConfig) -> Result<Windows> {
    config.validate()?;
    let (length, stride) = (config.length, config.stride());
    let classes = corpus.num_classes();
    let mut counts = vec![[SplitCounts::default(); 3]; classes];
    // per_class[class][split] = windows in genome order.
    let mut per_class: Vec<[Vec<Window>; 3]> = Vec::with_capacity(classes);
    for (class, species) in corpus.species.iter().enumerate() {
        let lengths: Vec<usize> = species.records.iter().map(|r| r.seq.len()).collect();
        let mut lists: [Vec<Window>; 3] = Default::default();
        for region in regions(&lengths, config.split, config.scope) {
            let seq = &species.records[region.record].seq;
            let count = &mut counts[class][region.split.index()];
            count.bases += (region.end - region.start) as u64;
            let mut start = region.start;
            while start + length <= region.end {
                let non_acgt = seq[start..start + length]
                    .iter()
                    .filter(|&&b| !is_acgt(b))
                    .count();
                if non_acgt as f64 > config.max_n_fraction * length as f64 {
                    count.skipped_n += 1;
                } else {
                    count.kept += 1;
                    lists[region.split.index()].push(Window {
                        class,
                        record: region.record,
                        start,
                        len: length,
                        split: region.split,
                        reverse_complement: false,
                    });
                }
                start += stride;
            }
        }
        per_class.push(lists);
    }

    if config.balance == Balance::Cap {
        cap_training_windows(corpus, &mut per_class, &mut counts, config.seed)?;
    }

    let mut windows = Vec::new();
    for (class, lists) in per_class.into_iter().enumerate() {
        for list in lists {
            for window in list {
                windows.push(window);
                if config.reverse_complement && window.split == Split::Train {
                    windows.push(Window {
                        reverse_complement: true,
                        ..window
                    });
                    counts[class][Split::Train.index()].reverse_complements += 1;
                }
            }
        }
    }
    Ok(Windows {
        windows,
        counts,
        balance: config.balance,
    })
}

/// Subsamples every class's training windows to the smallest class's count, seeded per class
/// so that one class's choice does not depend on the others'.
fn cap_training_windows(
    corpus: &Corpus,
    per_class: &mut [[Vec<Window>; 3]],
    counts: &mut [[SplitCounts; 3]],
    seed: u64,
) -> Result<()> {
    let train = Split::Train.index();
    if let Some(empty) = per_class.iter().position(|lists| lists[train].is_empty()) {
        let name = corpus.species.get(empty).map_or("?", |s| s.name.as_str());
        return Err(GenomicsError::Config(format!(
            "class {empty} ('{name}') has no training windows, so capping to the smallest class \
             would leave none; shorten the windows or use split scope 'species'"
        )));
    }
    let Some(smallest) = per_class.iter().map(|lists| lists[train].len()).min() else {
        return Ok(());
    };
    for (class, lists) in per_class.iter_mut().enumerate() {
        let list = &mut lists[train];
        let dropped = list.len() - smallest;
        if dropped == 0 {
            continue;
        }
        let mut class_seed = seed ^ (class as u64).wrapping_mul(0x9e37_79b9);
        let mut rng = Xoshiro256StarStar::seed_from_u64(splitmix64(&mut class_seed));
        let mut order: Vec<usize> = (0..list.len()).collect();
        rng.shuffle(&mut order);
        let mut keep = order[..smallest].to_vec();
        keep.sort_unstable();
        *list = keep.into_iter().map(|i| list[i]).collect();
        counts[class][train].dropped_by_cap = dropped;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_regions_are_contiguous_and_cover_the_record() {
        let r = regions(&[100, 7], SplitFractions::default(), SplitScope::Record);
        let spans: Vec<_> = r
            .iter()
            .map(|g| (g.record, g.start, g.end, g.split))
            .collect();
        assert_eq!(
            spans,
            vec![
                (0, 0, 90, Split::Train),
                (0, 90, 95, Split::Validation),
                (0, 95, 100, Split::Test),
                // 7 · 0.9 = 6.3 → 6, 7 · 0.95 = 6.65 → 7: no test bases.
                (1, 0, 6, Split::Train),
                (1, 6, 7, Split::Validation),
            ]
        );
    }

    #[test]
    fn species_regions_cut_the_concatenation() {
        let r = regions(
            &[50, 30, 20],
            SplitFractions::default(),
            SplitScope::Species,
        );
        let spans: Vec<_> = r
            .iter()
            .map(|g| (g.record, g.start, g.end, g.split))
            .collect();
        assert_eq!(
            spans,
            vec![
                (0, 0, 50, Split::Train),
                (1, 0, 30, Split::Train),
                (2, 0, 10, Split::Train),
                (2, 10, 15, Split::Validation),
                (2, 15, 20, Split::Test),
            ]
        );
    }

    #[test]
    fn invalid_configs_are_refused() {
        let bad = [
            WindowConfig {
                length: 0,
                ..Default::default()
            },
            WindowConfig {
                stride: Some(0),
                ..Default::default()
            },
            WindowConfig {
                max_n_fraction: 1.5,
                ..Default::default()
            },
            WindowConfig {
                split: SplitFractions {
                    train: 0.9,
                    validation: 0.2,
                    test: 0.0,
                },
                ..Default::default()
            },
        ];
        for config in bad {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }
}
