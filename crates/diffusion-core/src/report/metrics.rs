//! Classification metrics shared by the domains' evaluations: AUROC (discriminators), the
//! confusion matrix, accuracy, macro F1 and MCC (oracle and evaluation classifiers), with
//! scikit-learn semantics, degenerate cases included.

use crate::error::{CoreError, Result};

/// Area under the ROC curve of `scores` for the positive `labels`, by the Mann–Whitney U
/// statistic with tied scores given their average rank; equals `sklearn.metrics.roc_auc_score`.
/// Undefined (an error, as in scikit-learn) without both classes, or with NaN scores.
pub fn auroc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    if scores.len() != labels.len() {
        return Err(CoreError::Metric(format!(
            "{} scores but {} labels",
            scores.len(),
            labels.len()
        )));
    }
    if scores.iter().any(|s| s.is_nan()) {
        return Err(CoreError::Metric("AUROC of NaN scores".into()));
    }
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(CoreError::Metric(
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
            return Err(CoreError::Metric(format!(
                "{} labels but {} predictions",
                labels.len(),
                predictions.len()
            )));
        }
        if labels.is_empty() {
            return Err(CoreError::Metric("no labels".into()));
        }
        let mut counts = vec![0; classes * classes];
        for (&t, &p) in labels.iter().zip(predictions) {
            if t >= classes || p >= classes {
                return Err(CoreError::Metric(format!(
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
