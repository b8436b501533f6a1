//! Command-line interface of the `genomics` binary: the same shape as `molecules` and `text`.

mod demo;
pub mod domain;
mod eval;
mod sample;
mod sweep;

use anyhow::Result;
use clap::{Args, Subcommand};
use diffusion_core::app::{AppCommand, TrainCommandArgs};
use diffusion_core::cli::sweep::{PlotSweepsArgs, plot_sweeps};
pub use domain::Genomics;
use genomics::config::DataConfig;
use serde_json::Value;
use std::path::PathBuf;

pub use diffusion_core::backend::device;

/// The binary's one-line help.
pub const ABOUT: &str = "Species-conditioned DNA generation with guided discrete diffusion (AR / MDLM / UDLM, D-CFG, D-CBG, NOS)";

#[derive(Subcommand)]
pub enum Command {
    #[command(flatten)]
    App(AppCommand<TrainArgs>),
    /// Generate DNA for some or all species, unguided or with D-CFG / D-CBG / NOS, as FASTA.
    Sample(Box<sample::SampleArgs>),
    /// Score a FASTA of generated sequences (intended species in each header) as §9.4 does.
    Eval(eval::EvalArgs),
    /// Sample over guidance strengths γ and score every row: a Table C-style table.
    Sweep(sweep::SweepArgs),
    /// Plot one metric of several sweeps against γ (e.g. oracle F1 of MDLM and UDLM).
    PlotSweeps(PlotSweepsArgs),
    /// End to end on the shipped genomes: shipped (or freshly trained) small models, species-
    /// conditioned FASTA, and the metrics table.
    Demo(demo::DemoArgs),
}

/// `train` / `train-classifier` arguments: the shared ones and the genomics shortcut.
#[derive(Args, Clone, Debug, Default)]
pub struct TrainArgs {
    #[command(flatten)]
    pub train: diffusion_core::app::TrainArgs,
    /// Shortcut for `--set data.manifest=PATH`: train on your own species manifest.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
}

impl TrainCommandArgs for TrainArgs {
    fn train_args(&self) -> &diffusion_core::app::TrainArgs {
        &self.train
    }
    fn overrides(&self) -> Vec<String> {
        self.manifest
            .iter()
            .map(|m| format!("data.manifest=\"{}\"", m.display()))
            .collect()
    }
}

/// What a genomics checkpoint records about its data (the domain's `Facts`).
#[derive(Clone, Debug)]
pub struct Meta {
    pub data: DataConfig,
    pub classes: Vec<String>,
}

pub fn metadata(data: &DataConfig, classes: &[String]) -> Value {
    serde_json::json!({ "domain": "genomics", "data": data, "classes": classes })
}

/// A generator checkpoint with its data facts ([`Meta`]).
pub type GenModel = diffusion_core::app::Generator<Genomics>;

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::App(c) => c.run::<Genomics>(),
        Command::Sample(a) => sample::run(&a).map(|_| ()),
        Command::Eval(a) => eval::run(&a).map(|_| ()),
        Command::Sweep(a) => sweep::run(&a),
        Command::PlotSweeps(a) => Ok(plot_sweeps(&a)?),
        Command::Demo(a) => demo::run(&a),
    }
}
