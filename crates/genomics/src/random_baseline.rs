//! The "Random" reference row of the Species10 table (§9.4, Table C): sequences drawn base by
//! base with the nucleotide frequencies of the data. Pooling the validation sequences of all
//! species weights each species by its representation, as the reference describes.

use crate::error::{GenomicsError, Result};
use diffusion_core::CoreError;
use diffusion_core::rng::Xoshiro256StarStar;

/// Bases in composition order.
pub const BASES: [u8; 4] = *b"ACGT";

/// Frequencies of A, C, G, T over `seqs` (other letters ignored; case-insensitive).
pub fn base_composition<S: AsRef<[u8]>>(seqs: &[S]) -> Result<[f64; 4]> {
    let mut counts = [0u64; 4];
    for seq in seqs {
        for &base in seq.as_ref() {
            if let Some(i) = BASES.iter().position(|&b| b == base.to_ascii_uppercase()) {
                counts[i] += 1;
            }
        }
    }
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return Err(CoreError::Metric("no A/C/G/T base to take a composition from".into()).into());
    }
    Ok(counts.map(|c| c as f64 / total as f64))
}

/// `count` sequences of `length` i.i.d. bases drawn from `composition` (A, C, G, T weights,
/// normalised here), reproducible from `seed`.
pub fn random_sequences(
    count: usize,
    length: usize,
    composition: [f64; 4],
    seed: u64,
) -> Result<Vec<Vec<u8>>> {
    if composition.iter().any(|w| !w.is_finite() || *w < 0.0) {
        return Err(GenomicsError::Config(format!(
            "base composition {composition:?} must be finite and non-negative"
        )));
    }
    let total: f64 = composition.iter().sum();
    if total <= 0.0 {
        return Err(GenomicsError::Config("base composition sums to 0".into()));
    }
    let mut cumulative = [0.0; 4];
    let mut running = 0.0;
    for (c, w) in cumulative.iter_mut().zip(composition) {
        running += w / total;
        *c = running;
    }
    // Rounding may leave the last threshold just under 1; fall back to the last base that can
    // be drawn at all.
    let fallback = composition.iter().rposition(|&w| w > 0.0).unwrap_or(0);
    let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
    Ok((0..count)
        .map(|_| {
            (0..length)
                .map(|_| {
                    let u = rng.uniform();
                    let i = cumulative.iter().position(|&c| u < c).unwrap_or(fallback);
                    BASES[i]
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composition_ignores_n_and_case() {
        let comp = base_composition(&[b"AAcN".as_slice(), b"gt".as_slice()]).ok();
        assert_eq!(comp, Some([0.4, 0.2, 0.2, 0.2]));
        assert!(base_composition(&[b"NNN".as_slice()]).is_err());
    }

    #[test]
    fn random_sequences_follow_the_composition() {
        let seqs = random_sequences(4, 25_000, [0.1, 0.2, 0.3, 0.4], 1).unwrap_or_default();
        assert_eq!(seqs.len(), 4);
        let comp = base_composition(&seqs).unwrap_or_default();
        for (got, want) in comp.iter().zip([0.1, 0.2, 0.3, 0.4]) {
            assert!((got - want).abs() < 0.01, "{comp:?}");
        }
        // Never draws a base of weight 0, and is reproducible.
        let only_gc = random_sequences(2, 1000, [0.0, 1.0, 1.0, 0.0], 9).unwrap_or_default();
        assert!(only_gc.iter().flatten().all(|&b| b == b'C' || b == b'G'));
        assert_eq!(
            only_gc,
            random_sequences(2, 1000, [0.0, 1.0, 1.0, 0.0], 9).unwrap_or_default()
        );
        assert!(random_sequences(1, 1, [0.0; 4], 0).is_err());
    }
}
