//! Command-line interface of the `images` binary: the same shape as `molecules` and `text`
//! (configs, `--set` overrides, run directories), plus what images need (grids, inpainting,
//! image metrics).

mod demo;
mod domain;
mod eval;
mod sample;
mod sweep;

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use clap::Subcommand;
use diffusion_core::app::AppCommand;
use diffusion_core::classifier::Classifier;
use diffusion_core::cli::require_file;
use diffusion_core::train::{Loaded, LoadedGenerator, load_objective};
use images::config::DataConfig;
use images::dataset::prepare;
use images::features::ClassifierFeatures;
use images::tokenizer::PixelTokenizer;
use serde_json::Value;
use std::path::Path;

/// The binary's one-line help.
pub const ABOUT: &str = "Guided discrete diffusion on discretised pixels (MNIST, Fashion-MNIST, CIFAR-10, image folders)";

#[derive(Subcommand)]
pub enum Command {
    #[command(flatten)]
    App(AppCommand<TrainArgs>),
    /// Generate images (unguided, D-CFG, D-CBG, NOS, reward steering; optional inpainting) into
    /// a grid, an IDX file and, with an evaluation classifier, metrics.
    Sample(Box<sample::SampleArgs>),
    /// Score an IDX file of generated images with an evaluation classifier.
    Eval(eval::EvalArgs),
    /// Sample over guidance strengths γ and step counts T: table and plots.
    Sweep(sweep::SweepArgs),
    /// End to end on the shipped MNIST subset in minutes: small MDLM and UDLM models, an
    /// evaluation classifier, sample grids and the metrics table.
    Demo(demo::DemoArgs),
}

pub use diffusion_core::app::TrainArgs;
pub use domain::Images;

pub use diffusion_core::backend::device;

/// What an images checkpoint says about its data.
pub struct Provenance {
    pub tokenizer: PixelTokenizer,
    pub data: DataConfig,
    pub class_names: Vec<String>,
}

pub fn provenance(path: &Path, vocabulary: &[String], meta: &Value) -> Result<Provenance> {
    if meta.get("domain").and_then(Value::as_str) != Some("images") {
        bail!(
            "{}: not an images checkpoint (its metadata has no `domain = \"images\"`)",
            path.display()
        );
    }
    let tokenizer = PixelTokenizer::from_vocabulary(vocabulary)
        .with_context(|| format!("{}: vocabulary", path.display()))?;
    let data: DataConfig = match meta.get("data") {
        Some(v) => serde_json::from_value(v.clone())
            .with_context(|| format!("{}: metadata field `data`", path.display()))?,
        None => DataConfig::default(),
    };
    let class_names: Vec<String> = match meta.get("class_names") {
        Some(v) => serde_json::from_value(v.clone())
            .with_context(|| format!("{}: metadata field `class_names`", path.display()))?,
        None => Vec::new(),
    };
    Ok(Provenance {
        tokenizer,
        data,
        class_names,
    })
}

/// A generator checkpoint (DiT or UNet) with its process, tokenizer and data settings.
pub struct ImagesGenerator {
    pub loaded: LoadedGenerator,
    pub info: Provenance,
}

impl std::ops::Deref for ImagesGenerator {
    type Target = LoadedGenerator;
    fn deref(&self) -> &Self::Target {
        &self.loaded
    }
}

impl ImagesGenerator {
    /// Whether the network takes class labels (D-CFG needs it).
    pub fn is_conditional(&self) -> bool {
        self.denoiser().is_conditional()
    }

    pub fn num_classes(&self) -> usize {
        match self.denoiser().num_classes() {
            0 => self.info.class_names.len(),
            c => c,
        }
    }
}

/// Load a DiT or UNet generator checkpoint (EMA weights).
pub fn load_generator(path: &Path, dev: &Device) -> Result<ImagesGenerator> {
    require_file(path, "generator checkpoint")?;
    let loaded = LoadedGenerator::load(path, dev)?;
    let info = provenance(path, &loaded.vocabulary, &loaded.metadata)?;
    Ok(ImagesGenerator { loaded, info })
}

/// A classifier checkpoint (noisy or clean) with its provenance.
pub struct ImagesClassifier {
    pub loaded: Loaded<Classifier>,
    pub info: Provenance,
}

pub fn load_classifier(path: &Path, dev: &Device) -> Result<ImagesClassifier> {
    require_file(path, "classifier checkpoint")?;
    let loaded = load_objective::<Classifier>(path, dev, true)?;
    let info = provenance(path, &loaded.vocabulary, &loaded.metadata)?;
    Ok(ImagesClassifier { loaded, info })
}

/// An evaluation network from a clean classifier checkpoint, with the real held-out images
/// of its data set (tokenised) as the reference for FID.
pub struct EvalNet {
    pub net: ClassifierFeatures,
    pub info: Provenance,
    pub reference: images::frechet::Gaussian,
    pub reference_size: usize,
    /// Held-out accuracy of the evaluation classifier on the same real images.
    pub real_accuracy: f64,
}

/// Load an evaluation classifier and fit the reference Gaussian on (at most `max_reference`)
/// real validation images of its data set.
pub fn load_eval_net(path: &Path, dev: &Device, max_reference: Option<usize>) -> Result<EvalNet> {
    use images::features::FeatureNetwork;
    let c = load_classifier(path, dev)?;
    if c.loaded.objective.config.noise.is_some() {
        bail!(
            "{}: a noisy (D-CBG) classifier; evaluation needs a clean one (train-classifier with configs/mnist-eval-classifier.toml)",
            path.display()
        );
    }
    let data = prepare(&c.info.data, Some(c.info.tokenizer.clone()))
        .with_context(|| format!("reference images of {}", path.display()))?;
    let mut val = data.val;
    if let Some(m) = max_reference
        && m < diffusion_core::domain::SequenceDataset::len(&val)
    {
        val = val.subset(&(0..m).collect::<Vec<_>>());
    }
    let net = ClassifierFeatures::new(c.loaded.model, dev);
    let ev = net.evaluate(&val.tokens, val.seq_len)?;
    let labels: Vec<usize> = val
        .labels
        .as_ref()
        .map(|l| l.iter().map(|&y| y as usize).collect())
        .unwrap_or_default();
    let preds = ev.predictions();
    let real_accuracy = labels.iter().zip(&preds).filter(|(a, b)| a == b).count() as f64
        / labels.len().max(1) as f64;
    Ok(EvalNet {
        reference: images::frechet::Gaussian::fit(&ev.features)?,
        reference_size: ev.features.len(),
        net,
        info: c.info,
        real_accuracy,
    })
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::App(c) => c.run::<Images>(),
        Command::Sample(a) => sample::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Sweep(a) => sweep::run(&a),
        Command::Demo(a) => demo::run(&a),
    }
}
