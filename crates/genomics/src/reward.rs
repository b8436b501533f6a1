//! Rewards for reward-steered sampling (`sample --steer`): GC content and motif presence computed
//! on the bases, and a clean classifier's log-probability of the intended species (the evaluation
//! oracle, or a classifier trained separately from it).

use crate::tokenizer::BASES;
use diffusion_core::guidance::GuidanceClassifier;
use diffusion_core::guidance::steer::{self, Reward};
use diffusion_core::{CoreError, Result};

/// The rewards `--reward` can name (besides the core's `classifier`).
pub const REWARD_NAMES: [&str; 3] = ["gc", "at", "motif=BASES"];

/// Fraction of G or C among the A/C/G/T bases of a sequence (`gc`), or of A or T (`at`);
/// 0 for a sequence with no such base.
pub struct BaseContent {
    pub gc: bool,
}

impl Reward for BaseContent {
    fn name(&self) -> String {
        if self.gc { "gc" } else { "at" }.into()
    }
    fn score(&self, rows: &[i64], seq_len: usize, _target: i64) -> Vec<f64> {
        rows.chunks(seq_len)
            .map(|r| {
                let (mut hit, mut acgt) = (0usize, 0usize);
                for &v in r {
                    match BASES.get(v as usize) {
                        Some(b'G' | b'C') => {
                            acgt += 1;
                            hit += self.gc as usize;
                        }
                        Some(b'A' | b'T') => {
                            acgt += 1;
                            hit += !self.gc as usize;
                        }
                        _ => {}
                    }
                }
                hit as f64 / acgt.max(1) as f64
            })
            .collect()
    }
}

/// Presence of a motif (`motif=TATAAT`): 1 when it occurs in the sequence, otherwise the largest
/// fraction of its bases matched at one position, so that partial matches score and steering has
/// a gradient to follow. `N` in the motif matches any base; a sequence shorter than the motif
/// scores 0.
pub struct MotifPresence {
    /// Token ids of the motif's bases (4 = N, any base).
    pub motif: Vec<i64>,
}

impl MotifPresence {
    /// The motif of a `motif=BASES` reward name.
    pub fn parse(bases: &str) -> Result<Self> {
        let motif: Vec<i64> = bases
            .bytes()
            .map(|b| {
                BASES
                    .iter()
                    .position(|&c| c == b.to_ascii_uppercase())
                    .map(|i| i as i64)
            })
            .collect::<Option<_>>()
            .filter(|m: &Vec<i64>| !m.is_empty())
            .ok_or_else(|| {
                CoreError::config(
                    "--reward",
                    format!("motif=`{bases}`: expected one or more of A, C, G, T, N"),
                )
            })?;
        Ok(Self { motif })
    }
}

impl Reward for MotifPresence {
    fn name(&self) -> String {
        let bases: String = self
            .motif
            .iter()
            .map(|&v| BASES[v as usize] as char)
            .collect();
        format!("motif={bases}")
    }
    fn score(&self, rows: &[i64], seq_len: usize, _target: i64) -> Vec<f64> {
        let k = self.motif.len();
        rows.chunks(seq_len)
            .map(|r| {
                r.windows(k)
                    .map(|w| {
                        w.iter()
                            .zip(&self.motif)
                            .filter(|&(&v, &m)| m == 4 || (v == m && v < 4))
                            .count()
                    })
                    .max()
                    .map_or(0.0, |hits| hits as f64 / k as f64)
            })
            .collect()
    }
}

/// The genomics reward a `--reward` name stands for (`None`: not one of [`REWARD_NAMES`]).
pub fn domain_reward<'a>(name: &str) -> Result<Option<Box<dyn Reward + 'a>>> {
    Ok(Some(match name {
        "gc" => Box::new(BaseContent { gc: true }),
        "at" => Box::new(BaseContent { gc: false }),
        m if m.starts_with("motif=") => Box::new(MotifPresence::parse(&m["motif=".len()..])?),
        _ => return Ok(None),
    }))
}

/// The reward of `--reward` terms (name, weight): the genomics rewards, and `classifier`,
/// log p(species | x) under `classifier` (from `--reward-classifier`).
pub fn build_reward<'a>(
    terms: &[(String, f64)],
    classifier: Option<&'a dyn GuidanceClassifier>,
    device: &burn::prelude::Device,
) -> Result<Box<dyn Reward + 'a>> {
    steer::build_reward(
        terms,
        &REWARD_NAMES,
        classifier.map(|c| (c, "species")),
        device,
        &domain_reward,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_content_by_hand() {
        // [BOS] G C A N T (ids 5 2 1 0 4 3): 2 of 4 ACGT bases are G/C; N and [BOS] not counted.
        let rows = [5, 2, 1, 0, 4, 3, 5, 4, 4, 4, 4, 4];
        assert_eq!(BaseContent { gc: true }.score(&rows, 6, 0), [0.5, 0.0]);
        assert_eq!(BaseContent { gc: false }.score(&rows, 6, 0), [0.5, 0.0]);
        let terms = diffusion_core::guidance::steer::parse_reward_spec("gc:2,at:1").unwrap();
        let r = build_reward(&terms, None, &Default::default()).unwrap();
        assert_eq!(r.score(&rows[..6], 6, 0), [1.5]);
        // motif=GCA: "G C A" at positions 1-3 of the first row → 1; the second row (all N) → 0
        // of 3 (N in the sequence is no base); a motif with N matches anything there.
        let m = MotifPresence::parse("gca").unwrap();
        assert_eq!(m.name(), "motif=GCA");
        assert_eq!(m.score(&rows, 6, 0), [1.0, 0.0]);
        // motif=GCT: best alignment "G C A" matches 2 of 3.
        let m = MotifPresence::parse("GCT").unwrap();
        assert_eq!(m.score(&rows[..6], 6, 0), [2.0 / 3.0]);
        assert_eq!(
            MotifPresence::parse("NNT").unwrap().score(&rows[..6], 6, 0),
            [1.0]
        );
        // Longer than the sequence: 0.
        assert_eq!(
            MotifPresence::parse("ACGTACG")
                .unwrap()
                .score(&rows[..6], 6, 0),
            [0.0]
        );
        let terms = diffusion_core::guidance::steer::parse_reward_spec("motif=TATA:2,gc").unwrap();
        let r = build_reward(&terms, None, &Default::default()).unwrap();
        assert_eq!(r.score(&rows[..6], 6, 0).len(), 1);
        for bad in ["motif=", "motif=TAXA"] {
            let terms = diffusion_core::guidance::steer::parse_reward_spec(bad).unwrap();
            let e = build_reward(&terms, None, &Default::default())
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("--reward") && e.contains("motif="), "{bad}: {e}");
        }
        let terms = diffusion_core::guidance::steer::parse_reward_spec("classifier").unwrap();
        let e = build_reward(&terms, None, &Default::default())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--reward-classifier"), "{e}");
    }
}
