//! Command-line interface of the `molecules` binary.

mod demo;
mod domain;
mod eval;
mod hf;
mod sample;
mod sweep;

use anyhow::Result;
use clap::{Args, Subcommand};
use diffusion_core::app::{
    TrainArgs, Trained, ValidateArgs, train_classifier, train_generator, validate,
};
use diffusion_core::cli::ReportArgs;
pub use domain::Molecules;
use molecules::config::MolConfig;
use std::path::Path;

/// The binary's one-line help.
pub const ABOUT: &str = "Guided discrete diffusion for molecules (QM9, SMILES / SELFIES)";

#[derive(Subcommand)]
pub enum Command {
    /// Train a generator (AR / MDLM / UDLM; class-conditional when `data.label` is set).
    Train(ConfigArgs),
    /// Train a classifier: noisy (D-CBG), clean, causal per-position (FUDGE), or with
    /// `--nos-for GENERATOR` a NOS head on the generator's frozen encoder.
    TrainClassifier(ConfigArgs),
    /// Generate molecules, unguided or with D-CFG / D-CBG / NOS / FUDGE, and score them.
    Sample(Box<sample::SampleArgs>),
    /// Score a file of generated molecules (one per line) against a reference data set.
    Eval(eval::EvalArgs),
    /// Validation NELBO / perplexity of a generator on its held-out split.
    Validate(ValidateArgs),
    /// Sample over a range of guidance strengths γ: table and Pareto plot.
    Sweep(sweep::SweepArgs),
    /// Plot one metric of several sweeps against γ (e.g. validity of MDLM and UDLM).
    PlotSweeps(sweep::PlotSweepsArgs),
    /// Pareto table and plot of `sample` runs: property of novel molecules against the
    /// valid × novel fraction, with each run's time.
    PlotPareto(sweep::PlotParetoArgs),
    /// Convert a reference Hugging Face UDLM checkpoint (safetensors + config.json) to ours.
    ImportHf(hf::ImportArgs),
    /// Write a MDLM / UDLM generator in the reference's Hugging Face layout.
    ExportHf(hf::ExportArgs),
    /// Draw a run directory's training curves and print its summary.
    Report(ReportArgs),
    /// End to end on QM9: shipped (or freshly trained) small models, sampling unguided and with
    /// D-CBG and D-CFG for QED and ring count, and the metrics table.
    Demo(demo::DemoArgs),
}

/// `train` / `train-classifier` arguments: the shared ones and the molecules shortcuts.
#[derive(Args, Clone, Debug, Default)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub train: TrainArgs,
    /// Shortcut for `--set data.label=P` (qed | ring_count).
    #[arg(long)]
    pub label: Option<String>,
    /// Shortcut for `--set data.representation=R` (smiles | selfies).
    #[arg(long)]
    pub representation: Option<String>,
}

impl ConfigArgs {
    /// The config with file, `--set` and shortcut overrides applied (shortcuts last).
    pub fn load(&self) -> Result<MolConfig> {
        let mut o = Vec::new();
        if let Some(l) = &self.label {
            o.push(format!("data.label=\"{l}\""));
        }
        if let Some(r) = &self.representation {
            o.push(format!("data.representation=\"{r}\""));
        }
        Ok(self.train.load::<Molecules>(&o)?)
    }

    /// `molecules train`.
    pub fn train_generator(&self) -> Result<Trained> {
        train_generator::<Molecules>(&self.train, self.load()?)
    }

    /// `molecules train-classifier`.
    pub fn train_classifier(&self) -> Result<Trained> {
        train_classifier::<Molecules>(&self.train, self.load()?)
    }
}

pub use diffusion_core::backend::device;

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Train(a) => a.train_generator().map(|_| ()),
        Command::TrainClassifier(a) => a.train_classifier().map(|_| ()),
        Command::Sample(a) => sample::run(&a).map(|_| ()),
        Command::Eval(a) => eval::run(&a),
        Command::Sweep(a) => sweep::run(&a),
        Command::PlotSweeps(a) => sweep::plot_sweeps(&a),
        Command::PlotPareto(a) => sweep::plot_pareto(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Report(a) => Ok(diffusion_core::cli::print_report(&a.run_dir)?),
        Command::ImportHf(a) => hf::import(&a),
        Command::ExportHf(a) => hf::export(&a),
        Command::Validate(a) => validate::<Molecules>(&a).map(|_| ()),
    }
}

/// Parse a comma-separated list of numbers (`0,1,2.5`).
pub fn parse_list(s: &str) -> Result<Vec<f64>> {
    Ok(diffusion_core::cli::parse_list(s)?)
}

/// An error if a file that must exist does not.
pub fn require_file(p: &Path, what: &str) -> Result<()> {
    Ok(diffusion_core::cli::require_file(p, what)?)
}
