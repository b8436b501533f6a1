//! Species10 evaluation metrics as the reference computes them (§9.4): k-mer Jensen–Shannon
//! distance per species weighted by validation frequencies, discriminator AUROC, and the oracle's
//! accuracy, macro F1 and MCC (scikit-learn semantics, degenerate cases included).

use crate::error::Result;
use diffusion_core::CoreError;

/// Largest k accepted: 4^12 counts take 128 MiB as `u64`.
pub const MAX_K: usize = 12;

fn base_code(base: u8) -> Option<usize> {
    match base {
        b'A' | b'a' => Some(0),
        b'C' | b'c' => Some(1),
        b'G' | b'g' => Some(2),
        b'T' | b't' => Some(3),
        _ => None,
    }
}

/// Counts of all 4^k ACGT k-mers in lexicographic order (AAA, AAC, ..., TTT), over every
/// sliding window of every sequence. Windows containing a non-ACGT base are not counted: the
/// reference's vector has no entry for them, and its later normalisation makes the result the
/// same as leaving them out.
pub fn kmer_counts<S: AsRef<[u8]>>(seqs: &[S], k: usize) -> Result<Vec<u64>> {
    if k == 0 || k > MAX_K {
        return Err(
            CoreError::Metric(format!("k = {k}; k-mer size must be in 1..={MAX_K}")).into(),
        );
    }
    let mask = (1usize << (2 * k)) - 1;
    let mut counts = vec![0u64; mask + 1];
    for seq in seqs {
        let (mut code, mut run) = (0usize, 0usize);
        for &base in seq.as_ref() {
            match base_code(base) {
                Some(c) => {
                    code = ((code << 2) | c) & mask;
                    run += 1;
                    if run >= k {
                        counts[code] += 1;
                    }
                }
                None => run = 0,
            }
        }
    }
    Ok(counts)
}

/// k-mer frequencies (counts divided by their total); an error when no k-mer was counted.
pub fn kmer_frequencies<S: AsRef<[u8]>>(seqs: &[S], k: usize) -> Result<Vec<f64>> {
    let counts = kmer_counts(seqs, k)?;
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return Err(
            CoreError::Metric(format!("no ACGT {k}-mer in {} sequence(s)", seqs.len())).into(),
        );
    }
    Ok(counts.iter().map(|&c| c as f64 / total as f64).collect())
}

/// `scipy.special.rel_entr(x, y)` for `x ≥ 0`, `y > 0` where `x > 0`.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 { x * (x / y).ln() } else { 0.0 }
}

/// Jensen–Shannon *distance* with natural log, as `scipy.spatial.distance.jensenshannon(p, q)`:
/// both inputs are normalised to sum 1, m = (p + q)/2, and the result is
/// sqrt((KL(p‖m) + KL(q‖m)) / 2), in [0, sqrt(ln 2)].
pub fn jensen_shannon_distance(p: &[f64], q: &[f64]) -> Result<f64> {
    if p.len() != q.len() || p.is_empty() {
        return Err(CoreError::Metric(format!(
            "Jensen-Shannon needs two non-empty vectors of one length (got {} and {})",
            p.len(),
            q.len()
        ))
        .into());
    }
    let total = |v: &[f64]| -> Result<f64> {
        if v.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(CoreError::Metric(
                "Jensen-Shannon needs finite, non-negative weights".into(),
            )
            .into());
        }
        let sum: f64 = v.iter().sum();
        if sum > 0.0 {
            Ok(sum)
        } else {
            Err(CoreError::Metric("Jensen-Shannon of an all-zero vector".into()).into())
        }
    };
    let (p_sum, q_sum) = (total(p)?, total(q)?);
    let mut js = 0.0;
    for (&pi, &qi) in p.iter().zip(q) {
        let (pi, qi) = (pi / p_sum, qi / q_sum);
        let m = (pi + qi) / 2.0;
        js += rel_entr(pi, m) + rel_entr(qi, m);
    }
    // Rounding can leave a tiny negative sum for identical inputs; scipy would return NaN.
    Ok((js / 2.0).max(0.0).sqrt())
}

/// JS distance between the k-mer frequencies of real and generated sequences.
pub fn kmer_js_distance<R: AsRef<[u8]>, G: AsRef<[u8]>>(
    real: &[R],
    generated: &[G],
    k: usize,
) -> Result<f64> {
    jensen_shannon_distance(&kmer_counts_f64(real, k)?, &kmer_counts_f64(generated, k)?)
}

fn kmer_counts_f64<S: AsRef<[u8]>>(seqs: &[S], k: usize) -> Result<Vec<f64>> {
    Ok(kmer_counts(seqs, k)?
        .into_iter()
        .map(|c| c as f64)
        .collect())
}

/// Per-species k-mer JS distances and their weighted mean (§9.4).
#[derive(Clone, Debug, PartialEq)]
pub struct SpeciesKmerJs {
    /// Per class; `None` for a class without validation sequences (weight 0).
    pub per_species: Vec<Option<f64>>,
    /// Validation-set species frequencies: validation sequences of the class / all of them.
    pub weights: Vec<f64>,
    /// Σ weight · distance.
    pub weighted: f64,
}

/// §9.4 k-mer JS: for each species, the JS distance between the k-mer frequencies of its
/// validation sequences (`real[class]`) and of the sequences generated for it
/// (`generated[class]`); the mean is weighted by each species' share of validation sequences.
/// A species with validation sequences but no generated ones is an error; generated sequences
/// without a single ACGT k-mer are at the maximum distance √ln 2.
pub fn species_kmer_js<R: AsRef<[u8]>, G: AsRef<[u8]>>(
    real: &[Vec<R>],
    generated: &[Vec<G>],
    k: usize,
) -> Result<SpeciesKmerJs> {
    if real.len() != generated.len() {
        return Err(CoreError::Metric(format!(
            "{} species of validation sequences but {} of generated ones",
            real.len(),
            generated.len()
        ))
        .into());
    }
    let total: usize = real.iter().map(Vec::len).sum();
    if total == 0 {
        return Err(CoreError::Metric("no validation sequences".into()).into());
    }
    let weights: Vec<f64> = real.iter().map(|r| r.len() as f64 / total as f64).collect();
    let mut per_species = Vec::with_capacity(real.len());
    let mut weighted = 0.0;
    for (class, (r, g)) in real.iter().zip(generated).enumerate() {
        if r.is_empty() {
            per_species.push(None);
            continue;
        }
        let generated_kmers: u64 = kmer_counts(g, k)?.iter().sum();
        // Generated sequences without one ACGT k-mer (all N, or shorter than k) share nothing
        // with the real ones: they are scored at the largest JS distance, √ln 2, where scipy
        // would return NaN and a whole table would be lost.
        let distance = if generated_kmers == 0 && !g.is_empty() {
            std::f64::consts::LN_2.sqrt()
        } else {
            kmer_js_distance(r, g, k)
                .map_err(|e| CoreError::Metric(format!("class {class}: {k}-mer JS: {e}")))?
        };
        weighted += weights[class] * distance;
        per_species.push(Some(distance));
    }
    Ok(SpeciesKmerJs {
        per_species,
        weights,
        weighted,
    })
}

pub use diffusion_core::metrics::{
    ClassificationReport, ConfusionMatrix, auroc, classification_report,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmers_are_lexicographic_and_skip_n() {
        let counts = kmer_counts(&[b"ACGNAC".as_slice()], 2).unwrap_or_default();
        // AC (twice) = 0·4+1 = 1, CG = 1·4+2 = 6; GN and NA are skipped.
        assert_eq!(counts[1], 2);
        assert_eq!(counts[6], 1);
        assert_eq!(counts.iter().sum::<u64>(), 3);
        assert!(kmer_counts(&[b"A".as_slice()], 0).is_err());
        assert!(kmer_counts(&[b"A".as_slice()], MAX_K + 1).is_err());
    }

    #[test]
    fn js_of_identical_and_disjoint_distributions() {
        let p = [0.2, 0.3, 0.5];
        assert_eq!(jensen_shannon_distance(&p, &p).ok(), Some(0.0));
        let d = jensen_shannon_distance(&[1.0, 0.0], &[0.0, 3.0]).unwrap_or(f64::NAN);
        assert!((d - std::f64::consts::LN_2.sqrt()).abs() < 1e-15);
        assert!(jensen_shannon_distance(&[0.0, 0.0], &[1.0, 0.0]).is_err());
    }
}
