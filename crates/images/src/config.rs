//! The images experiment config (`configs/mnist-*.toml`): where the images come from and how
//! they become tokens (`[data]`), the generator (`[diffusion]`, `[model]`) or classifier
//! (`[classifier]`), training and sampling. N, L and the mask id are filled in from the
//! tokenizer, never typed into the file.

use crate::folder::SizePolicy;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where images come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataFormat {
    /// An IDX image file (plain or .gz) and its labels file (MNIST, Fashion-MNIST).
    #[default]
    Idx,
    /// The CIFAR-10 JPEG pack: `path` is the folder with `cifar10_<split>.jpgpack`.
    CifarPack,
    /// `path/<class>/*.png|jpg`.
    Folder,
}

fn d_path() -> PathBuf {
    PathBuf::from("datasets/images/mnist10k-images-idx3-ubyte.gz")
}
fn d_split() -> String {
    "train".into()
}
fn d_one() -> usize {
    1
}
fn d_levels() -> usize {
    256
}
fn d_val_fraction() -> f64 {
    0.1
}
fn d_true() -> bool {
    true
}

/// Images, their tokenisation and the train / validation split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    #[serde(default)]
    pub format: DataFormat,
    /// IDX: the images file; CIFAR pack: its folder; folder: the root with one sub-folder per
    /// class. Relative paths are looked up from the working directory, then the repository root.
    #[serde(default = "d_path")]
    pub path: PathBuf,
    /// IDX labels file (default: the MNIST name of `path` with `labels-idx1`).
    #[serde(default)]
    pub labels: Option<PathBuf>,
    /// CIFAR pack split (`train` or `test`).
    #[serde(default = "d_split")]
    pub split: String,
    /// Class names in label order (default: the folder or pack names, or the label numbers).
    #[serde(default)]
    pub class_names: Option<Vec<String>>,
    /// Folder images: 1 (grey) or 3 (RGB) channels.
    #[serde(default)]
    pub channels: Option<usize>,
    /// Folder images: `exact` (all the same size, default) or `{ resize = { height, width } }`.
    #[serde(default)]
    pub size: SizePolicy,
    /// Average-pool by this factor (2 turns 28×28 into 14×14: L = 196 instead of 784).
    #[serde(default = "d_one")]
    pub downsample: usize,
    /// Grey / colour levels per channel (2..=256); N = levels + 1 with the mask.
    #[serde(default = "d_levels")]
    pub levels: usize,
    /// Fraction of each class held out for validation.
    #[serde(default = "d_val_fraction")]
    pub val_fraction: f64,
    /// Use at most this many images (a seeded random subset, before the split).
    #[serde(default)]
    pub max_images: Option<usize>,
    /// Seed of the subset and the split.
    #[serde(default)]
    pub seed: u64,
    /// Train the generator class-conditional (label embedding + null class, for D-CFG).
    #[serde(default = "d_true")]
    pub conditional: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            format: DataFormat::Idx,
            path: d_path(),
            labels: None,
            split: d_split(),
            class_names: None,
            channels: None,
            size: SizePolicy::Exact,
            downsample: 1,
            levels: 256,
            val_fraction: d_val_fraction(),
            max_images: None,
            seed: 0,
            conditional: true,
        }
    }
}

/// The images experiment file: the core's with this `[data]` section.
pub type ImagesConfig = diffusion_core::app::ExperimentConfig<DataConfig>;
