//! What a domain binary tells the application layer, so that `train`, `train-classifier` and
//! their run folders, checkpoints and summaries are the same code in every domain: how its
//! `[data]` section becomes token sequences, which tokenizer it uses, what its classes are and
//! what a checkpoint records about the data. Everything else (backbones, processes, training,
//! resuming, NOS heads) is the core's.

use super::ExperimentConfig;
use crate::classifier::ClassifierConfig;
use crate::diffusion::DiffusionConfig;
use crate::domain::{TokenSequences, Tokenizer};
use crate::error::CoreError;
use crate::train::{LoadedGenerator, ValStats};
use crate::unet::Grid;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

/// What a checkpoint is for, recorded in its metadata (`role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Generator,
    /// A noisy classifier for D-CBG.
    Guidance,
    /// A clean classifier: evaluation oracle, FUDGE's per-position classifier.
    Evaluation,
    /// A NOS head on a generator's frozen encoder.
    Nos,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Generator => "generator",
            Role::Guidance => "guidance",
            Role::Evaluation => "evaluation",
            Role::Nos => "nos",
        }
    }
}

/// What the application layer reads of a domain's prepared data.
pub struct Splits<'a, T> {
    pub tokenizer: &'a T,
    /// The training and validation sequences (L: their `seq_len`; classes: their
    /// `num_classes`).
    pub train: &'a TokenSequences,
    pub val: &'a TokenSequences,
    /// Held-out sequences that validation does not see (e.g. the species test windows): a
    /// clean whole-sequence classifier (an evaluation oracle) is scored on them after training,
    /// and the report travels in its checkpoint's metadata (`held_out`).
    pub test: Option<&'a TokenSequences>,
}

impl<'a, T> Splits<'a, T> {
    /// Training and validation sequences, no test split.
    pub fn new(tokenizer: &'a T, train: &'a TokenSequences, val: &'a TokenSequences) -> Self {
        let test = None;
        Splits {
            tokenizer,
            train,
            val,
            test,
        }
    }
}

/// A domain: its data section, tokenizer and prepared data, and the facts the core cannot know.
pub trait Domain {
    /// `domain` in checkpoint metadata (and the binary's name).
    const NAME: &'static str;
    /// What one token is, in the final validation line ("token", "character", "dimension").
    const TOKEN: &'static str = "token";
    /// Sequences per batch of `validate` and of a run's final validation (with the noise seed
    /// [`super::train::EVAL_SEED`]): the same batch gives the same number for the same weights.
    const EVAL_BATCH: usize = 64;
    /// The token an AR generator of the domain starts from (`None`: the vocabulary has none).
    const BOS: Option<i64> = None;
    /// The `[data]` section of the experiment file.
    type DataConfig: Clone + std::fmt::Debug + Default + PartialEq + Serialize + DeserializeOwned;
    type Tokenizer: Tokenizer;
    /// The prepared data: tokenizer, splits and what preparation kept.
    type Data;
    /// The binaries' error type (`anyhow::Error`).
    type Error: From<CoreError>;
    /// What a checkpoint records about its data, as sampling and scoring need it (tokenizer,
    /// `[data]` section, class names): see [`super::Generator`].
    type Facts;

    /// Read and tokenise the data of a run. `vocabulary` is the one stored in a resumed
    /// checkpoint (`None` for a new run): the data is then encoded with it, or refused if it
    /// does not fit the domain.
    fn prepare(
        data: &Self::DataConfig,
        vocabulary: Option<&[String]>,
    ) -> Result<Self::Data, Self::Error>;
    /// The tokenizer and the splits of the prepared data.
    fn splits(data: &Self::Data) -> Splits<'_, Self::Tokenizer>;
    /// Classes a classifier predicts; `None` when the data has no labels (default: the
    /// training sequences' classes).
    fn classifier_classes(_cfg: &Self::DataConfig, data: &Self::Data) -> Option<usize> {
        Self::splits(data).train.num_classes
    }
    /// Classes of a class-conditional generator; `None` trains an unconditional one (default:
    /// conditional whenever the data has labels).
    fn generator_classes(cfg: &Self::DataConfig, data: &Self::Data) -> Option<usize> {
        Self::classifier_classes(cfg, data)
    }
    /// What a checkpoint records about its data (`domain` and `role` are added by the core).
    fn metadata(cfg: &Self::DataConfig, data: &Self::Data) -> Value;
    /// What preparation kept, for `summary.json`.
    fn report(data: &Self::Data) -> Value;
    /// The one-line data description logged when a run starts.
    fn describe(data: &Self::Data) -> String;
    /// The image grid of the sequences, for the UNet backbone; `None`: the domain has none.
    fn grid(_data: &Self::Data) -> Option<Grid> {
        None
    }
    /// The domain's own checks of a resolved `[diffusion]` section (e.g. no AR).
    fn check_generator(_diffusion: &DiffusionConfig) -> Result<(), Self::Error> {
        Ok(())
    }
    /// The domain's own checks of a config before a classifier is trained.
    fn check_classifier(
        _cfg: &ExperimentConfig<Self::DataConfig>,
        _classifier: &ClassifierConfig,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
    /// The class names a checkpoint's metadata records (species, digits), so that a classifier
    /// with other classes than its generator is refused; `None`: the domain records none.
    fn class_names(_metadata: &Value) -> Option<Vec<String>> {
        None
    }
    /// [`Self::Facts`] of the checkpoint at `path`, from its vocabulary and metadata (its
    /// `domain` already checked).
    fn facts(
        vocabulary: &[String],
        metadata: &Value,
        path: &Path,
    ) -> Result<Self::Facts, Self::Error>;
    /// The data checkpoint `g` (read from `path`) was trained on, from its metadata, with the
    /// data file replaced by `data` when given (`validate --data`).
    fn checkpoint_data(
        g: &LoadedGenerator,
        path: &Path,
        data: Option<&Path>,
    ) -> Result<Self::Data, Self::Error>;
    /// One generated token row as a line of text, for the core's `sample` (see
    /// [`super::sample`]); domains with their own `sample` need not implement it.
    fn decode(_facts: &Self::Facts, row: &[i64]) -> String {
        format!("{row:?}")
    }
    /// `sample --prefix`: the pins that start every sample with `prefix` (default: refused).
    fn prefix_pins(
        _facts: &Self::Facts,
        _prefix: &str,
        _seq_len: usize,
    ) -> Result<Vec<(usize, i64)>, Self::Error> {
        Err(CoreError::config(
            "--prefix",
            format!("the {} domain has no prompts", Self::NAME),
        )
        .into())
    }
    /// The token an AR generator of this checkpoint starts from when the vocabulary has no
    /// BOS (text: a space); `None` leaves it to [`Self::BOS`].
    fn start_token(_facts: &Self::Facts) -> Option<i64> {
        None
    }
    /// What `validate` adds after its line (e.g. nats per molecule).
    fn validation_note(_g: &LoadedGenerator, _data: &Self::Data, _v: &ValStats) -> Option<String> {
        None
    }
    /// `train-classifier --nos-for`: the data a NOS head for generator `g` trains on (the
    /// generator's own sequences), with the `[data]` section that describes it.
    fn nos_data(
        cfg: &ExperimentConfig<Self::DataConfig>,
        g: &LoadedGenerator,
    ) -> Result<(Self::DataConfig, Self::Data), Self::Error>;
}
