//! What every domain's `sweep` writes: one row per setting (T, γ) and per reference row (real
//! data, a random baseline), printed as it is scored, then `sweep.csv`, `sweep.md`, `sweep.json`
//! and plots of chosen metrics against γ (one line per metric and T). A domain supplies its
//! scores ([`SweepScores`]) and how it samples and scores one setting; the grid, the files and
//! the plots are the same code everywhere.

use crate::plot::{Series, lines};
use crate::run_dir::RunDir;
use crate::{CoreError, Result};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::Path;

/// A domain's scores of one sweep row, as a Markdown table row and a CSV row.
pub trait SweepScores: Serialize {
    /// The Markdown header (header and rule lines); its first column is the row label.
    fn table_header() -> String;
    fn table_row(&self, label: &str) -> String;
    /// The CSV columns (after `gamma,steps`).
    fn csv_header() -> String;
    fn csv_row(&self) -> String;
}

/// One row of a sweep. A reference row (real data, a random baseline) has no γ and no T.
#[derive(Clone, Debug, Serialize)]
pub struct SweepRow<S> {
    pub label: String,
    pub gamma: Option<f64>,
    pub steps: Option<usize>,
    /// Network evaluations and wall-clock seconds of the sampling (none for reference rows).
    pub nfe: Option<usize>,
    pub seconds: Option<f64>,
    pub scores: S,
}

impl<S> SweepRow<S> {
    /// A reference row: scored like samples, with no setting.
    pub fn reference(label: &str, scores: S) -> Self {
        let (gamma, steps, nfe, seconds) = (None, None, None, None);
        SweepRow {
            label: label.to_string(),
            gamma,
            steps,
            nfe,
            seconds,
            scores,
        }
    }
}

/// Pick one metric of a row's scores (`None`: not defined for this row).
pub type Pick<S> = fn(&S) -> Option<f64>;

/// One plot of a sweep: each metric against γ, one line per metric and T.
pub struct SweepPlot<S> {
    /// File stem in the sweep folder (`.svg` and `.png`).
    pub stem: &'static str,
    pub title: String,
    pub metrics: Vec<(&'static str, Pick<S>)>,
}

/// The settings of a sweep: every T of `steps` (outer) with every γ of `gammas` (inner).
pub fn settings(gammas: &str, steps: &str) -> Result<Vec<(usize, f64)>> {
    let gammas = super::parse_list(gammas)?;
    let mut out = Vec::new();
    for s in super::parse_list(steps)? {
        if s < 1.0 || s.fract() != 0.0 {
            return Err(CoreError::config(
                "--steps",
                format!("`{s}` is not a positive whole number"),
            ));
        }
        out.extend(gammas.iter().map(|&g| (s as usize, g)));
    }
    Ok(out)
}

/// The rows of a sweep, printed as they come and written together at the end.
pub struct SweepTable<S> {
    pub dir: RunDir,
    /// File stem of the table files (`sweep`; a demo's `table`).
    pub stem: &'static str,
    pub rows: Vec<SweepRow<S>>,
}

impl<S: SweepScores> SweepTable<S> {
    /// A sweep writing into `out` (created now); prints the header.
    pub fn create(out: &Path) -> Result<Self> {
        Self::named(out, "sweep")
    }

    /// A table of any rows (e.g. a demo's) written as `out/<stem>.{csv,md,json}`.
    pub fn named(out: &Path, stem: &'static str) -> Result<Self> {
        std::fs::create_dir_all(out).map_err(|e| CoreError::io(out, e))?;
        println!("{}", S::table_header());
        let dir = RunDir {
            path: out.to_path_buf(),
        };
        let rows = Vec::new();
        Ok(SweepTable { dir, stem, rows })
    }

    /// Add a row and print it (with its seconds when it was sampled).
    pub fn push(&mut self, row: SweepRow<S>) {
        let line = row.scores.table_row(&row.label);
        match row.seconds {
            Some(s) => println!("{line}   ({s:.1} s)"),
            None => println!("{line}"),
        }
        self.rows.push(row);
    }

    /// `<stem>.csv` (`gamma,steps,` then the domain's columns; empty γ and T on reference
    /// rows), `<stem>.md` (the table, then `caption`), `<stem>.json` (`settings` with the rows
    /// under `rows`) and `plots`. A plot that cannot be drawn is a warning, not an error.
    pub fn write(&self, caption: &str, settings: Value, plots: &[SweepPlot<S>]) -> Result<()> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        let mut csv = format!("gamma,steps,{}\n", S::csv_header());
        let mut md = format!("{}\n", S::table_header());
        for r in &self.rows {
            let (g, t) = (
                opt(r.gamma.map(|g| g.to_string())),
                opt(r.steps.map(|t| t.to_string())),
            );
            csv.push_str(&format!("{g},{t},{}\n", r.scores.csv_row()));
            md.push_str(&format!("{}\n", r.scores.table_row(&r.label)));
        }
        if !caption.is_empty() {
            md.push_str(&format!("\n{caption}\n"));
        }
        self.dir
            .write(&format!("{}.csv", self.stem), csv.as_bytes())?;
        self.dir
            .write(&format!("{}.md", self.stem), md.as_bytes())?;
        let mut json = match settings {
            Value::Object(m) => Value::Object(m),
            Value::Null => json!({}),
            other => json!({ "settings": other }),
        };
        json["rows"] = serde_json::to_value(&self.rows)
            .map_err(|e| CoreError::config(self.stem, e.to_string()))?;
        self.dir.write_json(&format!("{}.json", self.stem), &json)?;
        for p in plots {
            if let Err(e) = self.plot(p) {
                tracing::warn!("could not draw {}: {e}", self.dir.file(p.stem).display());
            }
        }
        let md = self.dir.file(&format!("{}.md", self.stem));
        println!("table written to {} (with .csv and .json)", md.display());
        Ok(())
    }

    /// One plot: a line per metric and T, over the rows that have a γ.
    fn plot(&self, p: &SweepPlot<S>) -> Result<()> {
        let mut ts: Vec<usize> = self.rows.iter().filter_map(|r| r.steps).collect();
        ts.sort_unstable();
        ts.dedup();
        let mut series = Vec::new();
        for &(name, pick) in &p.metrics {
            for &t in &ts {
                let label = match (p.metrics.len(), ts.len()) {
                    (_, 1) => name.to_string(),
                    (1, _) => format!("T = {t}"),
                    _ => format!("{name}, T = {t}"),
                };
                let points = self.rows.iter().filter(|r| r.steps == Some(t));
                let points = points.filter_map(|r| Some((r.gamma?, pick(&r.scores)?)));
                series.push(Series::line(&label, points.filter(|p| p.1.is_finite())));
            }
        }
        if series.iter().all(|s| s.points.len() < 2) {
            return Ok(());
        }
        let y = match p.metrics.as_slice() {
            [(name, _)] => *name,
            _ => "score",
        };
        lines(
            &self.dir.file(p.stem),
            &p.title,
            "guidance strength γ",
            y,
            &series,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Acc(f64);

    impl SweepScores for Acc {
        fn table_header() -> String {
            "| row | acc |\n|---|---|".into()
        }
        fn table_row(&self, label: &str) -> String {
            format!("| {label} | {:.2} |", self.0)
        }
        fn csv_header() -> String {
            "acc".into()
        }
        fn csv_row(&self) -> String {
            self.0.to_string()
        }
    }

    #[test]
    fn settings_are_t_major_and_bad_steps_named() {
        assert_eq!(
            settings("0,2", "4,8").unwrap(),
            [(4, 0.0), (4, 2.0), (8, 0.0), (8, 2.0)]
        );
        let e = settings("1", "2.5").unwrap_err().to_string();
        assert!(e.contains("--steps") && e.contains("2.5"), "{e}");
        assert!(settings("x", "4").is_err());
    }

    #[test]
    fn a_sweep_writes_its_table_csv_json_and_plot() {
        let dir = std::env::temp_dir().join(format!("gdd-sweep-table-{}", std::process::id()));
        let mut t = SweepTable::create(&dir).unwrap();
        t.push(SweepRow::reference("Real", Acc(0.9)));
        for (steps, gamma, acc) in [(4, 0.0, 0.5), (4, 2.0, 0.75)] {
            let (nfe, seconds) = (Some(steps), Some(1.0));
            let label = format!("γ={gamma}");
            let scores = Acc(acc);
            let (gamma, steps) = (Some(gamma), Some(steps));
            t.push(SweepRow {
                label,
                gamma,
                steps,
                nfe,
                seconds,
                scores,
            });
        }
        let plot = SweepPlot {
            stem: "acc",
            title: "accuracy".into(),
            metrics: vec![("acc", (|a: &Acc| Some(a.0)) as Pick<Acc>)],
        };
        t.write("caption line", json!({"seed": 3}), &[plot])
            .unwrap();
        let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
        assert_eq!(csv, "gamma,steps,acc\n,,0.9\n0,4,0.5\n2,4,0.75\n");
        let md = std::fs::read_to_string(dir.join("sweep.md")).unwrap();
        assert!(
            md.starts_with("| row | acc |\n|---|---|\n| Real | 0.90 |\n"),
            "{md}"
        );
        assert!(md.ends_with("| γ=2 | 0.75 |\n\ncaption line\n"), "{md}");
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap())
                .unwrap();
        assert_eq!(json["seed"], 3);
        assert_eq!(json["rows"][0]["gamma"], Value::Null);
        assert_eq!(json["rows"][2]["scores"], 0.75);
        assert!(dir.join("acc.svg").is_file() && dir.join("acc.png").is_file());
        // plot-sweeps reads the same file, leaving the reference row out.
        let points = super::super::sweep::read_sweep_column(&dir.join("sweep.csv"), "acc");
        assert_eq!(points.unwrap(), [(0.0, 0.5), (2.0, 0.75)]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
