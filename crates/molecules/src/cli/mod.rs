//! Command-line interface of the `molecules` binary.

mod demo;
mod domain;
mod eval;
mod hf;
mod sample;
mod sweep;

use anyhow::Result;
use clap::{Args, Subcommand};
use diffusion_core::app::{AppCommand, TrainArgs, TrainCommandArgs};
use diffusion_core::cli::sweep::{PlotSweepsArgs, plot_sweeps};
pub use domain::Molecules;
use std::path::Path;

/// The binary's one-line help.
pub const ABOUT: &str = "Guided discrete diffusion for molecules (QM9, SMILES / SELFIES)";

#[derive(Subcommand)]
pub enum Command {
    #[command(flatten)]
    App(AppCommand<ConfigArgs>),
    /// Generate molecules, unguided or with D-CFG / D-CBG / NOS / FUDGE, and score them.
    Sample(Box<sample::SampleArgs>),
    /// Score a file of generated molecules (one per line) against a reference data set.
    Eval(eval::EvalArgs),
    /// Sample over a range of guidance strengths γ: table and Pareto plot.
    Sweep(sweep::SweepArgs),
    /// Plot one metric of several sweeps against γ (e.g. validity of MDLM and UDLM).
    PlotSweeps(PlotSweepsArgs),
    /// Pareto table and plot of `sample` runs: property of novel molecules against the
    /// valid × novel fraction, with each run's time.
    PlotPareto(sweep::PlotParetoArgs),
    /// Convert a reference Hugging Face UDLM checkpoint (safetensors + config.json) to ours.
    ImportHf(hf::ImportArgs),
    /// Write a MDLM / UDLM generator in the reference's Hugging Face layout.
    ExportHf(hf::ExportArgs),
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

impl TrainCommandArgs for ConfigArgs {
    fn train_args(&self) -> &TrainArgs {
        &self.train
    }
    fn overrides(&self) -> Vec<String> {
        let mut o = Vec::new();
        if let Some(l) = &self.label {
            o.push(format!("data.label=\"{l}\""));
        }
        if let Some(r) = &self.representation {
            o.push(format!("data.representation=\"{r}\""));
        }
        o
    }
}

pub use diffusion_core::backend::device;

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::App(c) => c.run::<Molecules>(),
        Command::Sample(a) => sample::run(&a).map(|_| ()),
        Command::Eval(a) => eval::run(&a),
        Command::Sweep(a) => sweep::run(&a),
        Command::PlotSweeps(a) => Ok(plot_sweeps(&a)?),
        Command::PlotPareto(a) => sweep::plot_pareto(&a),
        Command::Demo(a) => demo::run(&a),
        Command::ImportHf(a) => hf::import(&a),
        Command::ExportHf(a) => hf::export(&a),
    }
}

/// An error if a file that must exist does not.
pub fn require_file(p: &Path, what: &str) -> Result<()> {
    Ok(diffusion_core::cli::require_file(p, what)?)
}
