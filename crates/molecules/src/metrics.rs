//! QM9 generation metrics exactly as the reference computes them (spec §9.3), plus novelty on
//! canonical SMILES as a second column (the reference compares generated strings as written).

use crate::chemistry::analyze;
use serde::Serialize;
use std::collections::HashSet;

/// Mean and quartiles of a property.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
}

impl Summary {
    fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        Some(Summary {
            count: values.len(),
            mean: values.iter().sum::<f64>() / values.len() as f64,
            p25: crate::qm9::percentile(values, 25.0),
            p50: crate::qm9::percentile(values, 50.0),
            p75: crate::qm9::percentile(values, 75.0),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Qm9Metrics {
    pub samples: usize,
    /// #valid / #samples.
    pub valid: f64,
    /// |set(valid)| / #valid.
    pub unique: f64,
    /// |set(valid) \ dataset| / #valid, comparing the generated strings as written (reference).
    pub novel: f64,
    /// The same with generated SMILES canonicalised first.
    pub novel_canonical: f64,
    pub qed_valid: Option<Summary>,
    pub qed_novel: Option<Summary>,
    pub rings_valid: Option<Summary>,
    pub rings_novel: Option<Summary>,
}

fn mean_of(s: &Option<Summary>) -> f64 {
    s.as_ref().map_or(f64::NAN, |s| s.mean)
}

impl Qm9Metrics {
    pub fn csv_header() -> &'static str {
        "samples,valid,unique,novel,novel_canonical,qed_valid_mean,qed_novel_mean,qed_novel_p25,qed_novel_p50,qed_novel_p75,rings_valid_mean,rings_novel_mean,rings_novel_p25,rings_novel_p50,rings_novel_p75"
    }

    /// One CSV row in the order of [`Self::csv_header`]; missing statistics are `NaN`.
    pub fn csv_row(&self) -> String {
        let q = |s: &Option<Summary>| s.as_ref().map_or([f64::NAN; 3], |s| [s.p25, s.p50, s.p75]);
        let (qn, rn) = (q(&self.qed_novel), q(&self.rings_novel));
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.samples,
            self.valid,
            self.unique,
            self.novel,
            self.novel_canonical,
            mean_of(&self.qed_valid),
            mean_of(&self.qed_novel),
            qn[0],
            qn[1],
            qn[2],
            mean_of(&self.rings_valid),
            mean_of(&self.rings_novel),
            rn[0],
            rn[1],
            rn[2]
        )
    }

    pub fn table_header() -> String {
        format!(
            "{:<28} {:>7} {:>7} {:>7} {:>9} {:>9} {:>10} {:>11}",
            "run", "valid%", "uniq%", "novel%", "novel_c%", "QED(nov)", "rings(nov)", "QED(valid)"
        )
    }

    /// A fixed-width line for terminal tables.
    pub fn table_row(&self, name: &str) -> String {
        format!(
            "{:<28} {:>7.1} {:>7.1} {:>7.1} {:>9.1} {:>9.3} {:>10.2} {:>11.3}",
            name,
            100.0 * self.valid,
            100.0 * self.unique,
            100.0 * self.novel,
            100.0 * self.novel_canonical,
            mean_of(&self.qed_novel),
            mean_of(&self.rings_novel),
            mean_of(&self.qed_valid),
        )
    }
}

/// A sweep row as Markdown: validity, uniqueness, novelty and the properties of novel molecules.
impl diffusion_core::cli::sweep_table::SweepScores for Qm9Metrics {
    fn table_header() -> String {
        "| row | valid % | unique % | novel % | QED (novel) | rings (novel) |\n|---|---|---|---|---|---|"
            .into()
    }
    fn table_row(&self, label: &str) -> String {
        let mean = |s: &Option<Summary>, digits: usize| {
            s.as_ref()
                .map_or("–".to_string(), |s| format!("{:.digits$}", s.mean))
        };
        format!(
            "| {label} | {:.1} | {:.1} | {:.1} | {} | {} |",
            100.0 * self.valid,
            100.0 * self.unique,
            100.0 * self.novel,
            mean(&self.qed_novel, 3),
            mean(&self.rings_novel, 2)
        )
    }
    fn csv_header() -> String {
        Self::csv_header().into()
    }
    fn csv_row(&self) -> String {
        Qm9Metrics::csv_row(self)
    }
}

/// Score generated SMILES against the canonical SMILES of the data set. Strings are scored as
/// given (decoders strip special tokens first).
pub fn score(samples: &[String], dataset_canonical: &HashSet<String>) -> Qm9Metrics {
    let mut scorer = Qm9Scorer::new(dataset_canonical);
    for s in samples {
        scorer.push(s);
    }
    scorer.finish()
}

/// [`score`] one molecule at a time, for sample sets too large to hold: it keeps the sets of
/// distinct valid strings and the per-molecule QED and ring counts (about 100 bytes per valid
/// molecule), not the samples.
pub struct Qm9Scorer<'a> {
    dataset_canonical: &'a HashSet<String>,
    samples: usize,
    valid: usize,
    unique: HashSet<String>,
    /// Distinct valid strings whose canonical form is not in the data set.
    novel_canonical: HashSet<String>,
    qed_valid: Vec<f64>,
    rings_valid: Vec<f64>,
    /// Properties of every valid occurrence whose string (as written) is not in the data set.
    qed_novel: Vec<f64>,
    rings_novel: Vec<f64>,
}

impl<'a> Qm9Scorer<'a> {
    pub fn new(dataset_canonical: &'a HashSet<String>) -> Self {
        Self {
            dataset_canonical,
            samples: 0,
            valid: 0,
            unique: HashSet::new(),
            novel_canonical: HashSet::new(),
            qed_valid: Vec::new(),
            rings_valid: Vec::new(),
            qed_novel: Vec::new(),
            rings_novel: Vec::new(),
        }
    }

    pub fn push(&mut self, smiles: &str) {
        self.samples += 1;
        let Some(info) = analyze(smiles) else { return };
        self.valid += 1;
        self.qed_valid.push(info.qed);
        self.rings_valid.push(info.rings as f64);
        if !self.dataset_canonical.contains(smiles) {
            self.qed_novel.push(info.qed);
            self.rings_novel.push(info.rings as f64);
        }
        if !self.dataset_canonical.contains(&info.canonical) {
            self.novel_canonical.insert(smiles.to_string());
        }
        self.unique.insert(smiles.to_string());
    }

    pub fn finish(self) -> Qm9Metrics {
        let nv = self.valid.max(1) as f64;
        let novel = self
            .unique
            .iter()
            .filter(|s| !self.dataset_canonical.contains(*s))
            .count();
        Qm9Metrics {
            samples: self.samples,
            valid: self.valid as f64 / self.samples.max(1) as f64,
            unique: self.unique.len() as f64 / nv,
            novel: novel as f64 / nv,
            novel_canonical: self.novel_canonical.len() as f64 / nv,
            qed_valid: Summary::of(&self.qed_valid),
            qed_novel: Summary::of(&self.qed_novel),
            rings_valid: Summary::of(&self.rings_valid),
            rings_novel: Summary::of(&self.rings_novel),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        let data: HashSet<String> = ["CCO".to_string(), "Oc1ccccc1".to_string()]
            .into_iter()
            .collect();
        let samples: Vec<String> = ["CCO", "CCO", "c1ccccc1O", "C1CC", "CCN", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = score(&samples, &data);
        assert_eq!(m.samples, 6);
        assert!((m.valid - 4.0 / 6.0).abs() < 1e-12); // CCO, CCO, c1ccccc1O, CCN
        assert!((m.unique - 3.0 / 4.0).abs() < 1e-12);
        // As written, "c1ccccc1O" is not in the (canonical) data set: novel = {c1ccccc1O, CCN}.
        assert!((m.novel - 2.0 / 4.0).abs() < 1e-12);
        // Canonicalised, phenol is known: novel = {CCN}.
        assert!((m.novel_canonical - 1.0 / 4.0).abs() < 1e-12);
        let rings = m.rings_valid.unwrap();
        assert_eq!(rings.count, 4);
        assert!((rings.mean - 0.25).abs() < 1e-12);
        assert_eq!(m.rings_novel.unwrap().count, 2);
    }
}
