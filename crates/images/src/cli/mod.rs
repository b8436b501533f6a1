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
use diffusion_core::app::{AppCommand, DomainClassifier};
use diffusion_core::cli::sweep::{PlotSweepsArgs, plot_sweeps};
use diffusion_core::report::features::ClassifierFeatures;
use images::config::DataConfig;
use images::dataset::prepare;
use images::tokenizer::PixelTokenizer;
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
    /// Plot one metric of several sweeps against γ (e.g. FID of MDLM and UDLM).
    PlotSweeps(PlotSweepsArgs),
    /// End to end on the shipped MNIST subset in minutes: small MDLM and UDLM models, an
    /// evaluation classifier, sample grids and the metrics table.
    Demo(demo::DemoArgs),
}

pub use diffusion_core::app::TrainArgs;
pub use domain::Images;

pub use diffusion_core::backend::device;

/// What an images checkpoint says about its data (the domain's `Facts`).
pub struct Provenance {
    pub tokenizer: PixelTokenizer,
    pub data: DataConfig,
    pub class_names: Vec<String>,
}

/// A generator checkpoint (DiT, conv or UNet) with its tokenizer, data settings and classes.
pub type ImagesGenerator = diffusion_core::app::Generator<Images>;

/// The classes of generator `g`: its network's, or for an unconditional one its data's.
pub fn num_classes(g: &ImagesGenerator) -> usize {
    match g.denoiser().num_classes() {
        0 => g.facts.class_names.len(),
        c => c,
    }
}

/// An evaluation network from a clean classifier checkpoint, with the real held-out images
/// of its data set (tokenised) as the reference for FID.
pub struct EvalNet {
    pub net: ClassifierFeatures,
    pub info: Provenance,
    pub reference: diffusion_core::report::frechet::Gaussian,
    pub reference_size: usize,
    /// Held-out accuracy of the evaluation classifier on the same real images.
    pub real_accuracy: f64,
}

/// Load an evaluation classifier and fit the reference Gaussian on (at most `max_reference`)
/// real validation images of its data set.
pub fn load_eval_net(path: &Path, dev: &Device, max_reference: Option<usize>) -> Result<EvalNet> {
    use diffusion_core::report::features::FeatureNetwork;
    let c = DomainClassifier::<Images>::load(path, dev)?;
    if c.loaded.objective.config.noise.is_some() {
        bail!(
            "{}: a noisy (D-CBG) classifier; evaluation needs a clean one (train-classifier with configs/mnist-eval-classifier.toml)",
            path.display()
        );
    }
    let data = prepare(&c.facts.data, Some(c.facts.tokenizer.clone()))
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
        reference: diffusion_core::report::frechet::Gaussian::fit(&ev.features)?,
        reference_size: ev.features.len(),
        net,
        info: c.facts,
        real_accuracy,
    })
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::App(c) => c.run::<Images>(),
        Command::Sample(a) => sample::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Sweep(a) => sweep::run(&a),
        Command::PlotSweeps(a) => Ok(plot_sweeps(&a)?),
        Command::Demo(a) => demo::run(&a),
    }
}
