//! Inception-Score-style score: exp(E_x KL(p(y|x) ‖ p(y))), with p(y) the mean of the class
//! probabilities over the samples. High when each sample is classified confidently and the
//! samples cover the classes evenly; between 1 and the number of classes.
//!
//! With a project-trained classifier this is "IS (project classifier)", not the Inception-v3
//! score of the paper (spec §9.6); values compare only under the same classifier.

use crate::error::{CoreError, Result};

/// The score of per-sample class probabilities `probs` (each row sums to 1).
pub fn inception_score(probs: &[Vec<f64>]) -> Result<f64> {
    let n = probs.len();
    if n == 0 {
        return Err(CoreError::Metric("inception score of no samples".into()));
    }
    let c = probs[0].len();
    if c == 0 || probs.iter().any(|p| p.len() != c) {
        return Err(CoreError::Metric(
            "inception score: class probability rows of different lengths".into(),
        ));
    }
    if probs
        .iter()
        .flatten()
        .any(|&p| !(0.0..=1.0 + 1e-6).contains(&p))
    {
        return Err(CoreError::Metric(
            "inception score: probabilities outside [0, 1]".into(),
        ));
    }
    let mut marginal = vec![0.0; c];
    for p in probs {
        for (m, &x) in marginal.iter_mut().zip(p) {
            *m += x / n as f64;
        }
    }
    // 0 · log(0 / m) = 0.
    let kl_mean = probs
        .iter()
        .map(|p| {
            p.iter()
                .zip(&marginal)
                .filter(|(x, _)| **x > 0.0)
                .map(|(&x, &m)| x * (x / m).ln())
                .sum::<f64>()
        })
        .sum::<f64>()
        / n as f64;
    Ok(kl_mean.exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_and_a_hand_computed_case() {
        // Identical predictions carry no information: 1.
        let same = vec![vec![0.3, 0.7]; 4];
        assert!((inception_score(&same).unwrap() - 1.0).abs() < 1e-12);
        // Confident and evenly spread over 3 classes: 3.
        let onehot = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
        ];
        assert!((inception_score(&onehot).unwrap() - 3.0).abs() < 1e-12);
        // numpy: p = [[.9,.1],[.2,.8],[.5,.5]]; m = p.mean(0);
        //        np.exp((p * np.log(p / m)).sum(1).mean()) = 1.2028725045857107
        let p = vec![vec![0.9, 0.1], vec![0.2, 0.8], vec![0.5, 0.5]];
        assert!((inception_score(&p).unwrap() - 1.2028725045857107).abs() < 1e-12);
        assert!(inception_score(&[]).is_err());
    }
}
