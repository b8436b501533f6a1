//! Scores of a set of generated images under an evaluation network (spec §9.6 and Table E):
//! Fréchet distance of its features to those of real held-out images, the Inception-Score-style
//! score of its class probabilities, and accuracy / macro F1 of its predictions against the
//! classes the samples were generated for (via `diffusion_core::metrics`).

use crate::error::Result;
use diffusion_core::metrics::classification_report;
use diffusion_core::report::features::Evaluated;
use diffusion_core::report::frechet::{Gaussian, frechet_distance};
use diffusion_core::report::inception_score::inception_score;
use serde::Serialize;

/// Metrics of one set of samples.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SampleMetrics {
    pub n: usize,
    /// FID (project classifier features) against the real reference images.
    pub fid: f64,
    /// IS (project classifier).
    pub inception_score: f64,
    /// Evaluation-classifier accuracy on the intended classes (None without intended classes).
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
}

impl SampleMetrics {
    pub fn table_header() -> &'static str {
        "| row | n | FID (project classifier features) ↓ | IS (project classifier) ↑ | eval-classifier accuracy ↑ | macro F1 ↑ |\n|---|---|---|---|---|---|"
    }

    pub fn table_row(&self, name: &str) -> String {
        let opt = |v: Option<f64>| v.map_or("–".to_string(), |x| format!("{x:.3}"));
        format!(
            "| {name} | {} | {:.2} | {:.2} | {} | {} |",
            self.n,
            self.fid,
            self.inception_score,
            opt(self.accuracy),
            opt(self.macro_f1)
        )
    }

    pub fn csv_header() -> &'static str {
        "n,fid_project,is_project,accuracy,macro_f1"
    }

    pub fn csv_row(&self) -> String {
        let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        format!(
            "{},{},{},{},{}",
            self.n,
            self.fid,
            self.inception_score,
            opt(self.accuracy),
            opt(self.macro_f1)
        )
    }
}

impl diffusion_core::cli::sweep_table::SweepScores for SampleMetrics {
    fn table_header() -> String {
        SampleMetrics::table_header().into()
    }
    fn table_row(&self, label: &str) -> String {
        SampleMetrics::table_row(self, label)
    }
    fn csv_header() -> String {
        SampleMetrics::csv_header().into()
    }
    fn csv_row(&self) -> String {
        SampleMetrics::csv_row(self)
    }
}

/// Score `samples` against the real `reference` (both already evaluated by the same network).
/// `intended` are the classes the samples were generated for, if any.
pub fn score(
    reference: &Gaussian,
    samples: &Evaluated,
    intended: Option<&[i64]>,
) -> Result<SampleMetrics> {
    let fid = frechet_distance(reference, &Gaussian::fit(&samples.features)?)?;
    let is = inception_score(&samples.probs)?;
    let (accuracy, macro_f1) = match intended {
        Some(y) => {
            let classes = samples.probs.first().map_or(0, Vec::len);
            let labels: Vec<usize> = y.iter().map(|&v| v as usize).collect();
            let r = classification_report(classes, &labels, &samples.predictions())?;
            (Some(r.accuracy), Some(r.macro_f1))
        }
        None => (None, None),
    };
    Ok(SampleMetrics {
        n: samples.probs.len(),
        fid,
        inception_score: is,
        accuracy,
        macro_f1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_a_small_hand_made_set() {
        let ev = Evaluated {
            features: vec![vec![0.0, 1.0], vec![1.0, 0.0], vec![1.0, 1.0]],
            probs: vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.0, 1.0]],
        };
        let reference = Gaussian::fit(&ev.features).unwrap();
        let m = score(&reference, &ev, Some(&[0, 1, 0])).unwrap();
        assert!(m.fid.abs() < 1e-9, "same features: FID 0, got {}", m.fid);
        assert_eq!(m.accuracy, Some(2.0 / 3.0));
        // F1: class 0 = 2·1/(2·1+0+1) = 2/3, class 1 = 2·1/(2·1+1+0) = 2/3.
        assert!((m.macro_f1.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        // IS: p̄ = (1/3, 2/3); KL = ln 3, ln 1.5, ln 1.5 → exp(mean).
        let want = ((3f64.ln() + 2.0 * 1.5f64.ln()) / 3.0).exp();
        assert!((m.inception_score - want).abs() < 1e-12);
        assert!(m.table_row("x").starts_with("| x | 3 | 0.00 |"));
        assert_eq!(score(&reference, &ev, None).unwrap().accuracy, None);
    }
}
