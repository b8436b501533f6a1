//! A run's `metrics.csv` and `metrics.jsonl`: one row per logged step and validation, appended
//! as training goes; a resumed run first drops the rows written after its checkpoint.

use super::{StepStats, ValStats};
use crate::error::{CoreError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

const CSV_HEADER: &str = "split,step,loss,grad_norm,lr,tokens_per_s,nll,ppl,bpc";

/// Rewrite `path` (atomically) keeping the rows whose step (read by `step_of`) is at most
/// `step`; lines whose step cannot be read are kept. A missing file is created holding `header`
/// only; a fresh run (`step` 0) keeps no rows.
fn truncate_rows(
    path: &Path,
    step: usize,
    header: Option<&str>,
    step_of: impl Fn(&str) -> Option<usize>,
) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CoreError::io(path, e)),
    };
    let mut out = String::new();
    if let Some(h) = header {
        out.push_str(h);
        out.push('\n');
    }
    for line in text.lines() {
        if line.trim().is_empty() || Some(line) == header {
            continue;
        }
        if step_of(line).is_none_or(|s| s <= step) {
            out.push_str(line);
            out.push('\n');
        }
    }
    if out != text {
        crate::atomic_file::write_atomic(path, out.as_bytes())?;
    }
    Ok(())
}

/// Appends training and validation rows to `metrics.csv` and `metrics.jsonl`.
pub(super) struct MetricsWriter {
    csv: std::fs::File,
    jsonl: std::fs::File,
    csv_path: PathBuf,
}

impl MetricsWriter {
    /// Open the metrics files of a run at optimizer step `step` (0 for a fresh run): rows of
    /// later steps, written after the checkpoint a resumed run starts from, are dropped, so a
    /// run killed and resumed logs each step once.
    pub(super) fn open(dir: &Path, step: usize) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| CoreError::io(dir, e))?;
        let csv_path = dir.join("metrics.csv");
        let jsonl_path = dir.join("metrics.jsonl");
        truncate_rows(&csv_path, step, Some(CSV_HEADER), |line| {
            line.split(',').nth(1)?.parse().ok()
        })?;
        truncate_rows(&jsonl_path, step, None, |line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()?
                .get("step")?
                .as_u64()
                .map(|s| s as usize)
        })?;
        let open = |p: &Path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| CoreError::io(p, e))
        };
        Ok(Self {
            csv: open(&csv_path)?,
            jsonl: open(&jsonl_path)?,
            csv_path,
        })
    }

    pub(super) fn train(&mut self, s: &StepStats) -> Result<()> {
        writeln!(
            self.csv,
            "train,{},{},{},{},{},,,",
            s.step, s.loss, s.grad_norm, s.lr, s.tokens_per_s
        )
        .map_err(|e| CoreError::io(&self.csv_path, e))?;
        let mut v = serde_json::to_value(s).expect("serialises");
        v["split"] = "train".into();
        writeln!(self.jsonl, "{v}").map_err(|e| CoreError::io(&self.csv_path, e))
    }

    pub(super) fn val(&mut self, s: &ValStats) -> Result<()> {
        writeln!(self.csv, "val,{},,,,,{},{},{}", s.step, s.nll, s.ppl, s.bpc)
            .map_err(|e| CoreError::io(&self.csv_path, e))?;
        let mut v = serde_json::to_value(s).expect("serialises");
        v["split"] = "val".into();
        writeln!(self.jsonl, "{v}").map_err(|e| CoreError::io(&self.csv_path, e))
    }
}
