//! Command-line interface of the `text` binary: the same shape as `molecules` (configs,
//! `--set` overrides, run directories), with only what a language model needs.

mod demo;
mod domain;
mod sample;

use anyhow::{Context, Result};
use clap::Subcommand;
use diffusion_core::app::AppCommand;
use diffusion_core::app::validate::load_generator;
use diffusion_core::domain::CharTokenizer;
use diffusion_core::train::LoadedGenerator;
use std::path::Path;
use text::config::DataConfig;

/// The binary's one-line help.
pub const ABOUT: &str = "Character-level language models (AR / MDLM / UDLM) on text8-style English, in bits per character";

#[derive(Subcommand)]
pub enum Command {
    #[command(flatten)]
    App(AppCommand<TrainArgs>),
    /// Generate text from a checkpoint, one sample per line.
    Sample(sample::SampleArgs),
    /// Validation BPC and samples of the shipped AR, MDLM and UDLM checkpoints (`--train`: of
    /// tiny models trained for a few hundred steps instead).
    Demo(demo::DemoArgs),
}

pub use diffusion_core::app::TrainArgs;
pub use domain::Text;

pub use diffusion_core::backend::device;

/// A generator checkpoint with its tokenizer and the data settings it was trained with.
pub struct TextModel {
    pub loaded: LoadedGenerator,
    pub tokenizer: CharTokenizer,
    pub data: DataConfig,
}

/// The tokenizer and data settings a text checkpoint records.
pub fn model_facts(g: &LoadedGenerator, path: &Path) -> Result<(CharTokenizer, DataConfig)> {
    let tokenizer = text::tokenizer::from_vocabulary(&g.vocabulary)
        .with_context(|| format!("{}: vocabulary", path.display()))?;
    let mut data: DataConfig = match g.metadata.get("data") {
        Some(v) => serde_json::from_value(v.clone())
            .with_context(|| format!("{}: metadata field `data`", path.display()))?,
        None => DataConfig::default(),
    };
    data.seq_len = g.diffusion.config.seq_len;
    Ok((tokenizer, data))
}

/// Load `model.ckpt` (or a run's `checkpoints/last.ckpt`), any backbone, for inference.
pub fn load_model(path: &Path, dev: &burn::prelude::Device) -> Result<TextModel> {
    let loaded = load_generator::<Text>(path, dev)?;
    let (tokenizer, data) = model_facts(&loaded, path)?;
    Ok(TextModel {
        loaded,
        tokenizer,
        data,
    })
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::App(c) => c.run::<Text>(),
        Command::Sample(a) => sample::run(&a),
        Command::Demo(a) => demo::run(&a),
    }
}

/// `text train`: the core's training run on the text domain.
pub fn train(args: &TrainArgs) -> Result<diffusion_core::app::Trained> {
    diffusion_core::app::train_generator::<Text>(args, args.load::<Text>(&[])?)
}
