//! The subcommands every domain binary has, flattened into its own `Command` enum: `train`,
//! `train-classifier`, `validate` and `report`, run by the core for the domain `D`.

use super::train::TrainArgs;
use super::validate::{ValidateArgs, validate};
use super::{Domain, train_classifier, train_generator};
use crate::cli::{ReportArgs, print_report};
use clap::{Args, Subcommand};

/// The arguments of `train` / `train-classifier`: the core's [`TrainArgs`], or a domain's own
/// struct that flattens them and adds shortcuts (`--label`, `--manifest`).
pub trait TrainCommandArgs: Args {
    fn train_args(&self) -> &TrainArgs;
    /// The shortcuts as `--set` overrides (applied last).
    fn overrides(&self) -> Vec<String> {
        Vec::new()
    }
}

impl TrainCommandArgs for TrainArgs {
    fn train_args(&self) -> &TrainArgs {
        self
    }
}

/// `train`, `train-classifier`, `validate`, `report`.
#[derive(Subcommand, Clone, Debug)]
pub enum AppCommand<T: TrainCommandArgs> {
    /// Train a generator: `[diffusion]` and one backbone (`[model]` DiT, `[conv]` dilated
    /// convolution, `[unet]`); class-conditional when the data has classes and the domain
    /// conditions on them.
    Train(T),
    /// Train a classifier: noisy for D-CBG (`classifier.noise = "absorbing" | "uniform"`),
    /// clean for evaluation (no `noise`), per-position for FUDGE, or with `--nos-for GENERATOR`
    /// a NOS head on the generator's encoder.
    TrainClassifier(T),
    /// Validation NELBO / perplexity of a generator on the held-out split of its data (the
    /// number `train` recorded for the same weights).
    Validate(ValidateArgs),
    /// Draw a run directory's training curves and print its summary.
    Report(ReportArgs),
}

impl<T: TrainCommandArgs> AppCommand<T> {
    /// Run the command for domain `D`.
    pub fn run<D: Domain>(self) -> Result<(), D::Error> {
        match self {
            AppCommand::Train(a) => {
                let cfg = a.train_args().load::<D>(&a.overrides())?;
                train_generator::<D>(a.train_args(), cfg).map(drop)
            }
            AppCommand::TrainClassifier(a) => {
                let cfg = a.train_args().load::<D>(&a.overrides())?;
                train_classifier::<D>(a.train_args(), cfg).map(drop)
            }
            AppCommand::Validate(a) => validate::<D>(&a).map(drop),
            AppCommand::Report(a) => Ok(print_report(&a.run_dir)?),
        }
    }
}
