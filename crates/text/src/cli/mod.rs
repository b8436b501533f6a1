//! Command-line interface of the `text` binary: the same shape as `molecules` (configs,
//! `--set` overrides, run directories), with only what a language model needs.

mod demo;
mod domain;

use anyhow::Result;
use clap::Subcommand;
use diffusion_core::app::AppCommand;
use diffusion_core::domain::CharTokenizer;
use text::config::DataConfig;

/// The binary's one-line help.
pub const ABOUT: &str = "Character-level language models (AR / MDLM / UDLM) on text8-style English, in bits per character";

#[derive(Subcommand)]
pub enum Command {
    #[command(flatten)]
    App(AppCommand<TrainArgs>),
    /// Generate text from a checkpoint, one sample per line.
    Sample(Box<diffusion_core::app::sample::SampleArgs>),
    /// Validation BPC and samples of the shipped AR, MDLM and UDLM checkpoints (`--train`: of
    /// tiny models trained for a few hundred steps instead).
    Demo(demo::DemoArgs),
}

pub use diffusion_core::app::TrainArgs;
pub use domain::Text;

pub use diffusion_core::backend::device;

/// What a text checkpoint records about its data (the domain's `Facts`).
pub struct TextFacts {
    pub tokenizer: CharTokenizer,
    /// The `[data]` section it was trained with (`seq_len`: the network's is authoritative).
    pub data: DataConfig,
}

/// A generator checkpoint with its tokenizer and the data settings it was trained with.
pub type TextModel = diffusion_core::app::Generator<Text>;

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::App(c) => c.run::<Text>(),
        Command::Sample(a) => diffusion_core::app::sample::sample::<Text>(&a).map(drop),
        Command::Demo(a) => demo::run(&a),
    }
}
