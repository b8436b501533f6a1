//! `eval`: score any file of generated molecules (one per line) against a reference data set,
//! with the reference's metrics (spec §9.3).

use anyhow::Result;
use clap::Args;
use molecules::config::Representation;
use molecules::data::read_samples;
use molecules::metrics::{Qm9Metrics, score};
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct EvalArgs {
    /// Generated molecules, one per line.
    #[arg(long)]
    pub samples: PathBuf,
    /// Reference data set for novelty (QM9-style CSV with `canonical_smiles`).
    #[arg(long, default_value = "datasets/molecules/qm9.csv.gz")]
    pub reference: PathBuf,
    /// How the molecules are written.
    #[arg(long, default_value = "smiles")]
    pub format: Representation,
    /// Write `metrics.json` and `metrics.csv` here (default: print only).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the results of an earlier run at the output path (refused otherwise).
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: &EvalArgs) -> Result<()> {
    if let Some(out) = &a.out {
        diffusion_core::cli::check_output(out, "--out", a.force)?;
    }
    super::require_file(&a.samples, "samples file")?;
    let text = read_samples(&a.samples)?;
    let smiles: Vec<String> = text
        .iter()
        .map(|t| a.format.to_smiles(t).unwrap_or_default())
        .collect();
    let known = super::sample::known_set(&a.reference)?;
    let m = score(&smiles, &known);
    println!("{}", Qm9Metrics::table_header());
    println!(
        "{}",
        m.table_row(&a.samples.file_name().unwrap_or_default().to_string_lossy())
    );
    if let Some(out) = &a.out {
        super::sample::write_outputs(
            out,
            a.format,
            &text,
            &smiles,
            &m,
            serde_json::json!({"samples": a.samples, "reference": a.reference}),
        )?;
        println!("metrics written to {}", out.display());
    }
    Ok(())
}
