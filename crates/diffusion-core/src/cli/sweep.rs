//! The arguments every domain's `sweep` shares: the generator, the guidance swept over γ (with
//! its classifier or NOS head and exact D-CBG), the seed, the backend and the sampler
//! refinements, and the request of one row. Each domain adds its γ list, sample counts, T and what it scores.
//! `plot-sweeps` (every domain) draws one column of several sweeps' `sweep.csv` against γ.

use crate::app::{Domain, guidance_models};
use crate::generate::{GuidanceModels, OwnedGuidanceModels, Request};
use crate::guidance::exact_chunk;
use crate::plot::{Series, lines};
use crate::sample::args::{GuidanceKind, RefineArgs};
use crate::sampler::SamplerConfig;
use crate::train::LoadedGenerator;
use crate::{CoreError, Result};
use burn::prelude::Device;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct SweepGuide {
    /// Generator checkpoint.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// cfg (a class-conditional generator), cbg (needs --classifier), nos (a NOS head as
    /// --classifier) or none (where the domain allows an unguided row).
    #[arg(long, value_enum)]
    pub guidance: GuidanceKind,
    /// Noisy classifier for D-CBG, or NOS head.
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Exact D-CBG (default: first order).
    #[arg(long)]
    pub exact: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub backend: Option<String>,
    /// Sampler refinements for every row (corrector, remasking, Ψ, top-p, final denoise).
    #[command(flatten)]
    pub refine: RefineArgs,
}

impl SweepGuide {
    /// Refuses an unguided sweep (one whose rows could only differ in γ).
    pub fn require_guidance(&self) -> Result<()> {
        if self.guidance == GuidanceKind::None {
            return Err(CoreError::config(
                "--guidance",
                "a sweep varies γ: use --guidance cfg, cbg or nos",
            ));
        }
        Ok(())
    }

    /// The classifier or NOS head of `--classifier`, checked against generator `g`.
    pub fn load_models<D: Domain>(
        &self,
        g: &LoadedGenerator,
        dev: &Device,
    ) -> std::result::Result<OwnedGuidanceModels, D::Error> {
        guidance_models::load_guidance::<D>(self.guidance, self.classifier.as_deref(), &[], g, dev)
    }

    /// The label of the row at T = `steps`, γ = `gamma` (`CFG γ=2`, `none` when unguided),
    /// prefixed with T when the sweep has `several_steps`.
    pub fn row_label(&self, steps: usize, gamma: f64, several_steps: bool) -> String {
        let rule = match self.guidance {
            GuidanceKind::None => "none".to_string(),
            k => format!("{} γ={gamma}", k.name().to_uppercase()),
        };
        match several_steps {
            true => format!("T = {steps}, {rule}"),
            false => rule,
        }
    }

    /// The request of the row at γ = `gamma` with T = `steps` (exact D-CBG in the chunks that
    /// fit sequences of length `seq_len`).
    pub fn request<'a>(
        &self,
        gamma: f64,
        models: GuidanceModels<'a>,
        steps: usize,
        batch_size: usize,
        seq_len: usize,
    ) -> Request<'a> {
        Request {
            exact: self.exact.then(|| exact_chunk(seq_len)),
            ..Request::new(
                self.guidance,
                gamma,
                models,
                self.refine
                    .apply(SamplerConfig::run(steps, batch_size, self.seed)),
            )
        }
    }
}

/// `plot-sweeps`: one metric of several sweeps against γ, one line per sweep (e.g. validity
/// under D-CFG for MDLM and UDLM).
#[derive(Args, Clone, Debug)]
pub struct PlotSweepsArgs {
    /// `LABEL=DIR` of a sweep written by `sweep` (repeatable); reads `DIR/sweep.csv`.
    #[arg(long = "sweep", value_name = "LABEL=DIR", required = true)]
    pub sweeps: Vec<String>,
    /// Column of `sweep.csv` to plot (molecules: valid, novel, qed_novel_mean, …; genomics:
    /// macro_f1, js6, fbd, …; images: fid, inception_score, accuracy, …).
    #[arg(long, default_value = "valid")]
    pub metric: String,
    /// Output stem: writes STEM.svg and STEM.png.
    #[arg(long)]
    pub out: PathBuf,
}

/// The (γ, metric) points of one `sweep.csv` (rows without a γ, such as a reference row, and
/// empty or non-finite values are left out); errors name the file, line and column.
pub fn read_sweep_column(path: &Path, metric: &str) -> Result<Vec<(f64, f64)>> {
    let text = std::fs::read_to_string(path).map_err(|e| CoreError::io(path, e))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| {
        header.iter().position(|h| *h == name).ok_or_else(|| {
            let columns = header.join(", ");
            CoreError::input(path, format!("no column `{name}` (columns: {columns})"))
        })
    };
    let (g, col) = (column("gamma")?, column(metric)?);
    let mut points = Vec::new();
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let num = |k: usize, what: &str| -> Result<f64> {
            f.get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| CoreError::parse(path, i + 2, format!("bad {what}")))
        };
        // Reference rows have no γ; a metric a row does not define is left empty.
        let missing = |k: usize| matches!(f.get(k), Some(&"null" | &""));
        if missing(g) || missing(col) {
            continue;
        }
        let (gamma, value) = (num(g, "γ")?, num(col, metric)?);
        if value.is_finite() {
            points.push((gamma, value));
        }
    }
    Ok(points)
}

/// `plot-sweeps`.
pub fn plot_sweeps(a: &PlotSweepsArgs) -> Result<()> {
    let mut series = Vec::new();
    for spec in &a.sweeps {
        let (label, dir) = spec
            .split_once('=')
            .ok_or_else(|| CoreError::config("--sweep", format!("`{spec}`: expected LABEL=DIR")))?;
        let points = read_sweep_column(&Path::new(dir).join("sweep.csv"), &a.metric)?;
        series.push(Series::line(label, points));
    }
    let title = format!("{} against guidance strength", a.metric);
    lines(&a.out, &title, "γ", &a.metric, &series)?;
    println!("wrote {}.svg and {}.png", a.out.display(), a.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_columns_are_read_and_bad_rows_named() {
        let dir = std::env::temp_dir().join(format!("gdd-plot-sweeps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("sweep.csv");
        std::fs::write(&p, "gamma,samples,valid\n0,8,0.5\n2,8,NaN\n3,8,0.25\n").unwrap();
        assert_eq!(
            read_sweep_column(&p, "valid").unwrap(),
            [(0.0, 0.5), (3.0, 0.25)]
        );
        let e = read_sweep_column(&p, "qed").unwrap_err().to_string();
        assert!(e.contains("no column `qed`"), "{e}");
        std::fs::write(&p, "gamma,valid\n0,x\n").unwrap();
        let e = read_sweep_column(&p, "valid").unwrap_err().to_string();
        assert!(e.contains("sweep.csv:2"), "{e}");
        // A genomics sweep: γ is not the first column, reference rows have none.
        let csv = "model,guidance,gamma,macro_f1\nRandom,–,null,0.08\nUDLM,cfg,1,0.24\n";
        std::fs::write(&p, csv).unwrap();
        assert_eq!(read_sweep_column(&p, "macro_f1").unwrap(), [(1.0, 0.24)]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
