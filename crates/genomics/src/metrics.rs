//! Species10 evaluation metrics as the reference computes them (§9.4): k-mer Jensen–Shannon
//! distance per species weighted by validation frequencies, discriminator AUROC, and the oracle's
//! accuracy, macro F1 and MCC (scikit-learn semantics, degenerate cases included).

use crate::error::{GenomicsError, Result};

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
        return Err(GenomicsError::Metric(format!(
            "k = {k}; k-mer size must be in 1..={MAX_K}"
        )));
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
        return Err(GenomicsError::Metric(format!(
            "no ACGT {k}-mer in {} sequence(s)",
            seqs.len()
        )));
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
        return Err(GenomicsError::Metric(format!(
            "Jensen-Shannon needs two non-empty vectors of one length (got {} and {})",
            p.len(),
            q.len()
        )));
    }
    let total = |v: &[f64]| -> Result<f64> {
        if v.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(GenomicsError::Metric(
                "Jensen-Shannon needs finite, non-negative weights".into(),
            ));
        }
        let sum: f64 = v.iter().sum();
        if sum > 0.0 {
            Ok(sum)
        } else {
            Err(GenomicsError::Metric(
                "Jensen-Shannon of an all-zero vector".into(),
            ))
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
/// A species with validation sequences but no generated ones is an error.
pub fn species_kmer_js<R: AsRef<[u8]>, G: AsRef<[u8]>>(
    real: &[Vec<R>],
    generated: &[Vec<G>],
    k: usize,
) -> Result<SpeciesKmerJs> {
    if real.len() != generated.len() {
        return Err(GenomicsError::Metric(format!(
            "{} species of validation sequences but {} of generated ones",
            real.len(),
            generated.len()
        )));
    }
    let total: usize = real.iter().map(Vec::len).sum();
    if total == 0 {
        return Err(GenomicsError::Metric("no validation sequences".into()));
    }
    let weights: Vec<f64> = real.iter().map(|r| r.len() as f64 / total as f64).collect();
    let mut per_species = Vec::with_capacity(real.len());
    let mut weighted = 0.0;
    for (class, (r, g)) in real.iter().zip(generated).enumerate() {
        if r.is_empty() {
            per_species.push(None);
            continue;
        }
        let distance = kmer_js_distance(r, g, k)
            .map_err(|e| GenomicsError::Metric(format!("class {class}: {k}-mer JS: {e}")))?;
        weighted += weights[class] * distance;
        per_species.push(Some(distance));
    }
    Ok(SpeciesKmerJs {
        per_species,
        weights,
        weighted,
    })
}

/// Area under the ROC curve of `scores` for the positive `labels`, by the Mann–Whitney U
/// statistic with tied scores given their average rank; equals `sklearn.metrics.roc_auc_score`.
/// Undefined (an error, as in scikit-learn) without both classes, or with NaN scores.
pub fn auroc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    if scores.len() != labels.len() {
        return Err(GenomicsError::Metric(format!(
            "{} scores but {} labels",
            scores.len(),
            labels.len()
        )));
    }
    if scores.iter().any(|s| s.is_nan()) {
        return Err(GenomicsError::Metric("AUROC of NaN scores".into()));
    }
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(GenomicsError::Metric(
            "AUROC needs both positive and negative labels".into(),
        ));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut positive_rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let average_rank = (i + 1 + j) as f64 / 2.0;
        let tied_positives = order[i..j].iter().filter(|&&o| labels[o]).count();
        positive_rank_sum += average_rank * tied_positives as f64;
        i = j;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Ok((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Confusion matrix, rows = true class, columns = predicted class (scikit-learn's layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// Counts label/prediction pairs; labels must be below `classes` and the slices non-empty
    /// and of one length.
    pub fn new(classes: usize, labels: &[usize], predictions: &[usize]) -> Result<Self> {
        if labels.len() != predictions.len() {
            return Err(GenomicsError::Metric(format!(
                "{} labels but {} predictions",
                labels.len(),
                predictions.len()
            )));
        }
        if labels.is_empty() {
            return Err(GenomicsError::Metric("no labels".into()));
        }
        let mut counts = vec![0; classes * classes];
        for (&t, &p) in labels.iter().zip(predictions) {
            if t >= classes || p >= classes {
                return Err(GenomicsError::Metric(format!(
                    "class {} out of range for {classes} classes",
                    t.max(p)
                )));
            }
            counts[t * classes + p] += 1;
        }
        Ok(Self { classes, counts })
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Samples of true class `truth` predicted as `predicted`.
    pub fn get(&self, truth: usize, predicted: usize) -> u64 {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted]
        } else {
            0
        }
    }

    /// Rows as vectors.
    pub fn rows(&self) -> Vec<Vec<u64>> {
        self.counts
            .chunks(self.classes.max(1))
            .map(<[u64]>::to_vec)
            .collect()
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn trace(&self) -> u64 {
        (0..self.classes).map(|c| self.get(c, c)).sum()
    }

    /// Per class: samples with that true label (row sums).
    pub fn true_counts(&self) -> Vec<u64> {
        (0..self.classes)
            .map(|t| (0..self.classes).map(|p| self.get(t, p)).sum())
            .collect()
    }

    /// Per class: samples predicted as that class (column sums).
    pub fn predicted_counts(&self) -> Vec<u64> {
        (0..self.classes)
            .map(|p| (0..self.classes).map(|t| self.get(t, p)).sum())
            .collect()
    }

    pub fn accuracy(&self) -> f64 {
        self.trace() as f64 / self.total() as f64
    }

    /// Per-class F1 = 2·TP / (2·TP + FP + FN), 0 when that is 0/0 (scikit-learn,
    /// `zero_division=0`; a class never predicted gets 0 when it has true samples).
    pub fn f1_per_class(&self) -> Vec<f64> {
        let truth = self.true_counts();
        let predicted = self.predicted_counts();
        (0..self.classes)
            .map(|c| {
                let tp = self.get(c, c);
                let denominator = truth[c] + predicted[c]; // 2·TP + FP + FN
                if denominator == 0 {
                    0.0
                } else {
                    2.0 * tp as f64 / denominator as f64
                }
            })
            .collect()
    }

    /// Macro F1 as `f1_score(y_true, y_pred, average="macro")`: the mean over the classes that
    /// occur in the labels or the predictions (classes absent from both are left out).
    pub fn macro_f1(&self) -> f64 {
        let truth = self.true_counts();
        let predicted = self.predicted_counts();
        let f1 = self.f1_per_class();
        let present: Vec<f64> = (0..self.classes)
            .filter(|&c| truth[c] + predicted[c] > 0)
            .map(|c| f1[c])
            .collect();
        if present.is_empty() {
            0.0
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        }
    }

    /// Matthews correlation coefficient, multi-class (Gorodkin 2004) as
    /// `sklearn.metrics.matthews_corrcoef`: (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)),
    /// 0 when the denominator is 0 (one class only in the labels or in the predictions).
    pub fn mcc(&self) -> f64 {
        let truth = self.true_counts();
        let predicted = self.predicted_counts();
        let s = i128::from(self.total());
        let c = i128::from(self.trace());
        let dot = |a: &[u64], b: &[u64]| -> i128 {
            a.iter()
                .zip(b)
                .map(|(&x, &y)| i128::from(x) * i128::from(y))
                .sum()
        };
        let cov_true_pred = c * s - dot(&truth, &predicted);
        let cov_pred_pred = s * s - dot(&predicted, &predicted);
        let cov_true_true = s * s - dot(&truth, &truth);
        if cov_pred_pred == 0 || cov_true_true == 0 {
            return 0.0;
        }
        cov_true_pred as f64 / ((cov_true_true as f64) * (cov_pred_pred as f64)).sqrt()
    }
}

/// The oracle scores of §9.4.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationReport {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub mcc: f64,
    pub confusion: ConfusionMatrix,
}

/// Accuracy, macro F1, MCC and the confusion matrix of `predictions` against `labels`.
pub fn classification_report(
    classes: usize,
    labels: &[usize],
    predictions: &[usize],
) -> Result<ClassificationReport> {
    let confusion = ConfusionMatrix::new(classes, labels, predictions)?;
    Ok(ClassificationReport {
        accuracy: confusion.accuracy(),
        macro_f1: confusion.macro_f1(),
        mcc: confusion.mcc(),
        confusion,
    })
}

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
