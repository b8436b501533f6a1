//! Command-line interface of the `text` binary: the same shape as `molecules` (configs,
//! `--set` overrides, run directories), with only what a language model needs.

mod demo;
mod sample;
mod train;
mod validate;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use diffusion_core::config_file::load_config;
use diffusion_core::train::{LoadedModel, load_for_inference};
use std::path::{Path, PathBuf};
use text::config::{DataConfig, TextConfig};
use text::corpus::resolve_path;

#[derive(Parser)]
#[command(
    name = "text",
    version,
    about = "Character-level language models (AR / MDLM / UDLM) on text8-style English, in bits per character"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train a character-level generator into a run directory.
    Train(ConfigArgs),
    /// Bits per character of a checkpoint on the whole validation split.
    Validate(validate::ValidateArgs),
    /// Generate text from a checkpoint, one sample per line.
    Sample(sample::SampleArgs),
    /// Train tiny AR, MDLM and UDLM models for a few hundred steps and print a BPC table.
    Demo(demo::DemoArgs),
}

/// Config file, overrides and run directory of `train`.
#[derive(Args, Clone, Debug, Default)]
pub struct ConfigArgs {
    /// TOML experiment config (see `configs/text8-*.toml`). With `--resume` and no config, the
    /// run directory's own `config.toml` is used.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override any config key, e.g. `--set train.steps=500` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Run directory (default: `run.dir`, else `runs/<config stem>`).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in the run directory from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Shortcut for `--set train.steps=N`.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Shortcut for `--set run.backend=B`.
    #[arg(long)]
    pub backend: Option<String>,
}

impl ConfigArgs {
    /// The config file: `--config`, or the run directory's `config.toml` when resuming.
    fn config_path(&self) -> Option<PathBuf> {
        match (&self.config, &self.run_dir) {
            (Some(c), _) => Some(resolve_path(c)),
            (None, Some(d)) if self.resume => Some(d.join("config.toml")),
            _ => None,
        }
    }

    /// The config with file, `--set` and shortcut overrides applied (shortcuts last).
    pub fn load(&self) -> Result<TextConfig> {
        let mut o = self.set.clone();
        if let Some(s) = self.steps {
            o.push(format!("train.steps={s}"));
        }
        if let Some(b) = &self.backend {
            o.push(format!("run.backend=\"{b}\""));
        }
        Ok(load_config(self.config_path().as_deref(), &o)?)
    }

    /// The run directory: `--run-dir`, else `run.dir`, else `runs/<config stem>`.
    pub fn run_dir(&self, cfg: &TextConfig) -> PathBuf {
        self.run_dir
            .clone()
            .or_else(|| cfg.run.dir.clone())
            .unwrap_or_else(|| {
                let stem = self
                    .config
                    .as_deref()
                    .and_then(Path::file_stem)
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "text".to_string());
                PathBuf::from("runs").join(stem)
            })
    }
}

pub use diffusion_core::backend::device;

/// A generator checkpoint with its tokenizer and the data settings it was trained with.
pub struct TextModel {
    pub loaded: LoadedModel,
    pub tokenizer: diffusion_core::domain::CharTokenizer,
    pub data: DataConfig,
}

/// Load `model.ckpt` (or a run's `checkpoints/last.ckpt`) for inference.
pub fn load_model(path: &Path, dev: &burn::prelude::Device) -> Result<TextModel> {
    if !path.is_file() {
        bail!("checkpoint {} does not exist", path.display());
    }
    let loaded = load_for_inference(path, dev, true, None)?;
    if loaded.metadata.get("domain").and_then(|v| v.as_str()) != Some("text") {
        bail!(
            "{}: not a text checkpoint (its metadata has no `domain = \"text\"`)",
            path.display()
        );
    }
    let tokenizer = text::tokenizer::from_vocabulary(&loaded.vocabulary)
        .with_context(|| format!("{}: vocabulary", path.display()))?;
    let mut data: DataConfig = match loaded.metadata.get("data") {
        Some(v) => serde_json::from_value(v.clone())
            .with_context(|| format!("{}: metadata field `data`", path.display()))?,
        None => DataConfig::default(),
    };
    data.seq_len = loaded.diffusion.config.seq_len;
    Ok(TextModel {
        loaded,
        tokenizer,
        data,
    })
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train::run(&a).map(|_| ()),
        Command::Validate(a) => validate::run(&a),
        Command::Sample(a) => sample::run(&a),
        Command::Demo(a) => demo::run(&a),
    }
}
