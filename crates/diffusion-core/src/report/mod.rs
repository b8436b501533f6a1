//! A run's curves from its `metrics.csv`: training loss (raw and smoothed) and validation
//! NELBO, drawn to `loss.{svg,png}` and `validation.{svg,png}` in the run directory.

pub mod features;
pub mod frechet;
pub mod inception_score;
pub mod metrics;
pub mod plot;
mod symmetric_eigen;

use crate::error::{CoreError, Result};
use crate::plot::{Series, lines};
use std::path::{Path, PathBuf};

/// Training and validation rows of a run's `metrics.csv`.
#[derive(Clone, Debug, Default)]
pub struct Curves {
    /// (step, loss)
    pub train: Vec<(f64, f64)>,
    /// (step, validation NLL per token)
    pub val: Vec<(f64, f64)>,
}

/// Read `metrics.csv` as written by the trainer; a malformed row names its line.
pub fn read_curves(csv: &Path) -> Result<Curves> {
    let text = std::fs::read_to_string(csv).map_err(|e| CoreError::io(csv, e))?;
    let mut lines_iter = text.lines();
    let header: Vec<&str> = lines_iter.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| CoreError::Data(format!("{}: no column `{name}`", csv.display())))
    };
    let (cs, cstep, closs, cnll) = (col("split")?, col("step")?, col("loss")?, col("nll")?);
    let mut out = Curves::default();
    for (i, line) in lines_iter.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let num = |c: usize| -> Result<f64> {
            f.get(c).and_then(|v| v.parse::<f64>().ok()).ok_or_else(|| {
                CoreError::Data(format!(
                    "{}:{}: malformed row `{line}`",
                    csv.display(),
                    i + 2
                ))
            })
        };
        match f.get(cs) {
            Some(&"train") => out.train.push((num(cstep)?, num(closs)?)),
            Some(&"val") => out.val.push((num(cstep)?, num(cnll)?)),
            _ => {}
        }
    }
    Ok(out)
}

/// Exponential moving average, for a readable loss curve.
fn smooth(v: &[(f64, f64)], beta: f64) -> Vec<(f64, f64)> {
    let mut m = None;
    v.iter()
        .map(|&(x, y)| {
            let s = match m {
                None => y,
                Some(p) => beta * p + (1.0 - beta) * y,
            };
            m = Some(s);
            (x, s)
        })
        .collect()
}

/// Draw a run directory's curves; returns the files written.
pub fn render_run(dir: &Path) -> Result<Vec<PathBuf>> {
    let c = read_curves(&dir.join("metrics.csv"))?;
    let mut written = Vec::new();
    if !c.train.is_empty() {
        let stem = dir.join("loss");
        lines(
            &stem,
            "training loss",
            "step",
            "loss",
            &[
                Series::line("loss", c.train.iter().copied()),
                Series::line("smoothed (EMA 0.95)", smooth(&c.train, 0.95)),
            ],
        )?;
        written.extend([stem.with_extension("svg"), stem.with_extension("png")]);
    }
    if !c.val.is_empty() {
        let stem = dir.join("validation");
        lines(
            &stem,
            "validation NELBO",
            "step",
            "nats per token",
            &[Series::line(
                "validation (EMA weights)",
                c.val.iter().copied(),
            )],
        )?;
        written.extend([stem.with_extension("svg"), stem.with_extension("png")]);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_trainer_rows_and_names_bad_lines() {
        let dir = std::env::temp_dir().join(format!("gdd-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("metrics.csv");
        std::fs::write(
            &csv,
            "split,step,loss,grad_norm,lr,tokens_per_s,nll,ppl,bpc\ntrain,1,2.5,1,0.1,100,,,\ntrain,2,2.0,1,0.1,100,,,\nval,2,,,,,1.9,6.6,2.7\n",
        )
        .unwrap();
        let c = read_curves(&csv).unwrap();
        assert_eq!(c.train, vec![(1.0, 2.5), (2.0, 2.0)]);
        assert_eq!(c.val, vec![(2.0, 1.9)]);
        assert_eq!(render_run(&dir).unwrap().len(), 4);
        std::fs::write(
            &csv,
            "split,step,loss,grad_norm,lr,tokens_per_s,nll,ppl,bpc\ntrain,x,2.5,1,0.1,100,,,\n",
        )
        .unwrap();
        let e = read_curves(&csv).unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
