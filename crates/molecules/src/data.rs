//! From a QM9-style CSV to labelled token sequences (spec §8): labels thresholded on the full
//! data set, the reference's 5 % held-out split, and a count (with line numbers) of every
//! molecule that could not be used.

use crate::config::{DataConfig, Property};
use crate::error::{MolError, Result};
use crate::mol_tokenizer::MolTokenizer;
use crate::qm9::{Qm9Record, load_qm9, split, threshold_labels};
use diffusion_core::CoreError;
use diffusion_core::domain::TokenSequences;
use diffusion_core::rng::Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// The binary label of a conditional run, stored with checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelInfo {
    pub property: Property,
    pub percentile: f64,
    /// label = 1 iff property > threshold.
    pub threshold: f64,
}

/// Molecules that were left out, with the line they came from.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    pub rows: usize,
    /// (line, reason) for molecules that do not tokenise in the representation.
    pub unparsable: Vec<(usize, String)>,
    /// Molecules longer than `seq_len − 2` symbols, left out (the reference would truncate them).
    pub too_long: Vec<usize>,
}

impl LoadReport {
    pub fn summary(&self) -> String {
        let lines = |v: &[usize]| {
            v.iter()
                .take(5)
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let bad: Vec<usize> = self.unparsable.iter().map(|(l, _)| *l).collect();
        format!(
            "{} rows; {} could not be tokenised{}; {} longer than the sequence length{}",
            self.rows,
            self.unparsable.len(),
            if bad.is_empty() {
                String::new()
            } else {
                format!(" (lines {}…)", lines(&bad))
            },
            self.too_long.len(),
            if self.too_long.is_empty() {
                String::new()
            } else {
                format!(" (lines {}…)", lines(&self.too_long))
            }
        )
    }
}

/// A prepared molecule data set.
pub struct MolData {
    pub tokenizer: MolTokenizer,
    pub train: TokenSequences,
    pub val: TokenSequences,
    pub label: Option<LabelInfo>,
    pub report: LoadReport,
    /// Canonical SMILES of the whole file, for novelty (spec §9.3).
    pub known: HashSet<String>,
}

pub use diffusion_core::paths::resolve_path;

/// The full-data-set canonical SMILES of a QM9-style file.
pub fn known_smiles(records: &[Qm9Record]) -> HashSet<String> {
    records.iter().map(|r| r.smiles.clone()).collect()
}

/// Load and prepare a data set. With `tokenizer` (from a checkpoint) its vocabulary is used,
/// otherwise one is fitted on the whole file (the reference's QM9 vocabulary is that of the
/// whole data set). Molecules that cannot be tokenised or are too long are counted with their
/// lines in the report, never silently dropped.
pub fn prepare(cfg: &DataConfig, tokenizer: Option<MolTokenizer>) -> Result<MolData> {
    let path = resolve_path(&cfg.path);
    let records = load_qm9(&path)?;
    if records.is_empty() {
        return Err(CoreError::parse(&path, 2, "the file has a header but no molecules").into());
    }
    if !(0.0..1.0).contains(&cfg.test_fraction) {
        return Err(MolError::Invalid(
            "data.test_fraction must be in [0, 1)".into(),
        ));
    }
    if cfg.seq_len < 3 {
        return Err(MolError::Invalid("data.seq_len must be at least 3".into()));
    }
    let mut report = LoadReport {
        rows: records.len(),
        ..Default::default()
    };
    let symbols = symbolise(&records, cfg, &mut report);
    let tokenizer = match tokenizer {
        Some(t) if t.representation != cfg.representation => {
            return Err(MolError::Invalid(format!(
                "the checkpoint's tokenizer is {}, the config asks for {}",
                t.representation.name(),
                cfg.representation.name()
            )));
        }
        Some(t) => t,
        None => MolTokenizer::fit(
            cfg.representation,
            symbols.iter().flatten().map(Vec::as_slice),
        ),
    };
    let label = cfg
        .label
        .map(|property| property_labels(&records, property, cfg.percentile));
    let (train_idx, test_idx) = split(records.len(), cfg.test_fraction, cfg.split_seed);
    let build = |idx: &[usize], cap: Option<usize>, stream: u64| -> Result<TokenSequences> {
        let mut idx: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| symbols[i].is_some())
            .collect();
        if let Some(cap) = cap
            && cap < idx.len()
        {
            Rng::stream(cfg.split_seed, stream).shuffle(&mut idx);
            idx.truncate(cap);
            idx.sort_unstable();
        }
        let mut out = TokenSequences::new(cfg.seq_len);
        for i in idx {
            let s = symbols[i].as_ref().expect("filtered");
            let ids = tokenizer
                .encode_symbols(s, cfg.seq_len)
                .expect("length checked");
            let y = label.as_ref().map(|(_, l)| l[i]);
            out.push(&ids, y)
                .map_err(|e| MolError::Invalid(e.to_string()))?;
        }
        out.num_classes = label.as_ref().map(|_| 2);
        Ok(out)
    };
    let train = build(&train_idx, cfg.max_train, 1)?;
    let val = build(&test_idx, cfg.max_val, 2)?;
    Ok(MolData {
        tokenizer,
        train,
        val,
        label: label.map(|(l, _)| l),
        report,
        known: known_smiles(&records),
    })
}

/// Each record's symbols in the configured representation, or None (with its line in the
/// report) when it cannot be tokenised or does not fit `seq_len` with BOS and EOS.
fn symbolise(
    records: &[Qm9Record],
    cfg: &DataConfig,
    report: &mut LoadReport,
) -> Vec<Option<Vec<String>>> {
    records
        .iter()
        .map(|r| match cfg.representation.symbols(&r.smiles) {
            Ok(s) if s.len() + 2 > cfg.seq_len => {
                report.too_long.push(r.line);
                None
            }
            Ok(s) => Some(s),
            Err(e) => {
                report.unparsable.push((r.line, e.to_string()));
                None
            }
        })
        .collect()
}

/// Binary labels of `property` (1 = above its `percentile`-th percentile over the whole file,
/// spec §9.3) and the threshold used.
fn property_labels(
    records: &[Qm9Record],
    property: Property,
    percentile: f64,
) -> (LabelInfo, Vec<i64>) {
    let values: Vec<f64> = records
        .iter()
        .map(|r| match property {
            Property::Qed => r.qed,
            Property::RingCount => r.ring_count,
        })
        .collect();
    let (threshold, labels) = threshold_labels(&values, percentile);
    (
        LabelInfo {
            property,
            percentile,
            threshold,
        },
        labels,
    )
}

/// Read a file of generated molecules, one per line (empty lines are generated empty strings
/// and count as invalid samples; a final newline does not add a sample).
pub fn read_samples(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| CoreError::io(path, e))?;
    if text.is_empty() {
        return Err(CoreError::parse(path, 1, "the file is empty: no samples to score").into());
    }
    Ok(text
        .strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect())
}

/// Ids of the tokens of a SMILES prefix, to pin at positions 1.. (after bos).
pub fn prefix_pins(tok: &MolTokenizer, prefix: &str, seq_len: usize) -> Result<Vec<(usize, i64)>> {
    let symbols = tok.representation.split(prefix)?;
    let unknown = tok.unknown_symbols(&symbols);
    if !unknown.is_empty() {
        return Err(MolError::Invalid(format!(
            "prefix `{prefix}`: symbols {unknown:?} are not in the model's vocabulary"
        )));
    }
    if symbols.len() + 1 >= seq_len {
        return Err(MolError::Invalid(format!(
            "prefix `{prefix}` has {} symbols; at most {} fit",
            symbols.len(),
            seq_len - 2
        )));
    }
    let mut pins = vec![(0, diffusion_core::domain::SymbolVocab::BOS)];
    for (k, s) in symbols.iter().enumerate() {
        pins.push((k + 1, tok.vocab.id(s)));
    }
    Ok(pins)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Representation;
    use diffusion_core::domain::{SequenceDataset, Tokenizer};
    use std::path::PathBuf;

    fn slice_config() -> DataConfig {
        DataConfig {
            path: PathBuf::from("datasets/molecules/qm9_first2000.csv"),
            label: Some(Property::RingCount),
            ..Default::default()
        }
    }

    #[test]
    fn prepares_labelled_split_with_the_reference_layout() {
        let d = prepare(&slice_config(), None).unwrap();
        assert_eq!(d.report.rows, 2000);
        assert!(d.report.unparsable.is_empty() && d.report.too_long.is_empty());
        assert_eq!(d.train.len() + d.val.len(), 2000);
        assert_eq!(d.val.len(), 100); // 5 %
        let l = d.label.clone().unwrap();
        // Labels are property > 90th percentile of this file.
        let y: i64 = (0..d.train.len()).map(|i| d.train.label(i).unwrap()).sum();
        assert!(y > 0 && (y as usize) < d.train.len() / 2, "{y}");
        assert_eq!(l.property, Property::RingCount);
        // Every sequence is [bos] … [eos] pad… and decodes to a molecule of the file.
        for i in 0..d.val.len() {
            let ids = d.val.tokens(i);
            assert_eq!(ids[0], 0);
            assert!(d.known.contains(&d.tokenizer.decode(ids)));
        }
        let capped = prepare(
            &DataConfig {
                max_train: Some(50),
                ..slice_config()
            },
            Some(d.tokenizer.clone()),
        )
        .unwrap();
        assert_eq!(capped.train.len(), 50);
    }

    #[test]
    fn long_molecules_are_counted_with_their_lines() {
        let d = prepare(
            &DataConfig {
                seq_len: 8,
                ..slice_config()
            },
            None,
        )
        .unwrap();
        assert!(!d.report.too_long.is_empty());
        assert!(
            d.report
                .summary()
                .contains("longer than the sequence length")
        );
        assert_eq!(d.train.len() + d.val.len() + d.report.too_long.len(), 2000);
        // A checkpoint's tokenizer of another representation is refused.
        let other = MolTokenizer {
            representation: Representation::Selfies,
            vocab: d.tokenizer.vocab.clone(),
        };
        assert!(prepare(&slice_config(), Some(other)).is_err());
    }

    #[test]
    fn untokenisable_rows_are_counted_with_their_lines() {
        let p = std::env::temp_dir().join(format!("mol-bad-{}.csv", std::process::id()));
        std::fs::write(
            &p,
            "canonical_smiles,qed,ring_count\nCCO,0.4,0\nCX!,0.3,0\nc1ccccc1,0.4,1\nCC,0.3,0\n",
        )
        .unwrap();
        let cfg = DataConfig {
            path: p.clone(),
            test_fraction: 0.0,
            ..Default::default()
        };
        let d = prepare(&cfg, None).unwrap();
        assert_eq!(d.report.unparsable.len(), 1);
        assert_eq!(d.report.unparsable[0].0, 3);
        assert!(
            d.report.summary().contains("lines 3"),
            "{}",
            d.report.summary()
        );
        assert_eq!(d.train.len(), 3);
        std::fs::remove_file(&p).ok();
    }

    #[test]
    fn prefix_pins_check_the_vocabulary() {
        let d = prepare(&slice_config(), None).unwrap();
        let pins = prefix_pins(&d.tokenizer, "CC", 32).unwrap();
        assert_eq!(pins.len(), 3);
        assert!(prefix_pins(&d.tokenizer, "[Si]", 32).is_err());
        assert!(prefix_pins(&d.tokenizer, &"C".repeat(40), 32).is_err());
    }
}
