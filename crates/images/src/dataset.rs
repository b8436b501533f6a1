//! From a data config to token sequences: load the images (IDX, CIFAR pack or folder),
//! optionally take a seeded subset and downsample, split per class into training and
//! validation sets, and tokenise. The report says exactly what was used.

use crate::cifar_pack::CifarPack;
use crate::config::{DataConfig, DataFormat};
use crate::error::{ImageError, Result};
use crate::folder::load_folder;
use crate::idx::{default_labels_path, load_idx_images};
use crate::image_set::ImageSet;
use crate::tokenizer::PixelTokenizer;
use diffusion_core::domain::TokenSequences;
use diffusion_core::paths::resolve_path;
use diffusion_core::rng::Rng;
use serde::Serialize;
use std::path::PathBuf;

/// What the data set is made of (written to `summary.json`).
#[derive(Clone, Debug, Serialize)]
pub struct DataReport {
    pub path: PathBuf,
    pub images: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub levels: usize,
    pub seq_len: usize,
    pub train: usize,
    pub val: usize,
    pub class_names: Vec<String>,
}

impl DataReport {
    pub fn summary(&self) -> String {
        format!(
            "{}: {} images of {}×{}×{} at {} levels (L = {}), {} classes; train {}, validation {}",
            self.path.display(),
            self.images,
            self.channels,
            self.height,
            self.width,
            self.levels,
            self.seq_len,
            self.class_names.len(),
            self.train,
            self.val
        )
    }
}

/// A prepared data set: images and their tokens for each split.
pub struct ImageData {
    pub tokenizer: PixelTokenizer,
    pub train_images: ImageSet,
    pub val_images: ImageSet,
    pub train: TokenSequences,
    pub val: TokenSequences,
    pub report: DataReport,
}

/// The images of `cfg` as stored (no subset, no downsampling).
pub fn load_source(cfg: &DataConfig) -> Result<ImageSet> {
    let path = resolve_path(&cfg.path);
    let mut set = match cfg.format {
        DataFormat::Idx => {
            let labels = match &cfg.labels {
                Some(l) => resolve_path(l),
                None => default_labels_path(&path).ok_or_else(|| {
                    ImageError::Invalid(format!(
                        "data.labels: no labels file given and {} does not follow the MNIST naming (`…images-idx3…`)",
                        path.display()
                    ))
                })?,
            };
            load_idx_images(&path, &labels, cfg.class_names.clone())?
        }
        DataFormat::CifarPack => CifarPack::open(&path, &cfg.split)?.load(None)?,
        DataFormat::Folder => load_folder(&path, cfg.channels.unwrap_or(3), cfg.size)?,
    };
    if let Some(names) = &cfg.class_names {
        if names.len() < set.num_classes() {
            return Err(ImageError::Invalid(format!(
                "data.class_names has {} names for {} classes",
                names.len(),
                set.num_classes()
            )));
        }
        set.class_names = names.clone();
    }
    Ok(set)
}

/// Per class, a seeded `val_fraction` of the images (at least one when the class has two or
/// more and the fraction is positive) goes to validation. Both index lists are shuffled.
pub fn stratified_split(
    set: &ImageSet,
    val_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(0.0..1.0).contains(&val_fraction) {
        return Err(ImageError::Invalid(format!(
            "data.val_fraction must be in [0, 1), got {val_fraction}"
        )));
    }
    let mut rng = Rng::stream(seed, 0x5e11);
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for k in 0..set.num_classes() as i64 {
        let mut idx: Vec<usize> = (0..set.len()).filter(|&i| set.labels[i] == k).collect();
        rng.shuffle(&mut idx);
        let mut n_val = (idx.len() as f64 * val_fraction).round() as usize;
        if val_fraction > 0.0 && idx.len() >= 2 {
            n_val = n_val.clamp(1, idx.len() - 1);
        }
        val.extend_from_slice(&idx[..n_val]);
        train.extend_from_slice(&idx[n_val..]);
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut val);
    Ok((train, val))
}

/// Tokenise every image of `set`, with its label.
pub fn to_sequences(set: &ImageSet, tok: &PixelTokenizer) -> Result<TokenSequences> {
    let mut out = TokenSequences::new(tok.seq_len());
    out.num_classes = Some(set.num_classes());
    for i in 0..set.len() {
        out.push(&tok.encode_image(set.image(i))?, Some(set.labels[i]))?;
    }
    Ok(out)
}

/// Load, subset, downsample, split and tokenise. With `tokenizer` (from a checkpoint) the
/// images must have its geometry and its levels are used.
pub fn prepare(cfg: &DataConfig, tokenizer: Option<PixelTokenizer>) -> Result<ImageData> {
    let mut set = load_source(cfg)?;
    if let Some(m) = cfg.max_images
        && m < set.len()
    {
        let mut idx: Vec<usize> = (0..set.len()).collect();
        Rng::stream(cfg.seed, 0x5ab5e7).shuffle(&mut idx);
        idx.truncate(m);
        idx.sort_unstable();
        set = set.subset(&idx);
    }
    let set = set.downsample(cfg.downsample)?;
    let tok = match tokenizer {
        Some(t) => {
            if (t.channels, t.height, t.width) != (set.channels, set.height, set.width) {
                return Err(ImageError::Invalid(format!(
                    "the model works on {}×{}×{} images but the data gives {}×{}×{} (check data.downsample)",
                    t.channels, t.height, t.width, set.channels, set.height, set.width
                )));
            }
            t
        }
        None => PixelTokenizer::new(cfg.levels, set.channels, set.height, set.width)?,
    };
    let (train_idx, val_idx) = stratified_split(&set, cfg.val_fraction, cfg.seed)?;
    if train_idx.is_empty() {
        return Err(ImageError::Invalid(format!(
            "{}: no training images after the split",
            cfg.path.display()
        )));
    }
    let train_images = set.subset(&train_idx);
    let val_images = set.subset(&val_idx);
    let train = to_sequences(&train_images, &tok)?;
    let val = to_sequences(&val_images, &tok)?;
    let report = DataReport {
        path: resolve_path(&cfg.path),
        images: set.len(),
        channels: set.channels,
        height: set.height,
        width: set.width,
        levels: tok.levels,
        seq_len: tok.seq_len(),
        train: train_images.len(),
        val: val_images.len(),
        class_names: set.class_names.clone(),
    };
    Ok(ImageData {
        tokenizer: tok,
        train_images,
        val_images,
        train,
        val,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffusion_core::domain::SequenceDataset;

    fn set(per_class: &[usize]) -> ImageSet {
        let mut s = ImageSet::new(
            1,
            2,
            2,
            (0..per_class.len()).map(|k| k.to_string()).collect(),
        );
        for (k, &n) in per_class.iter().enumerate() {
            for i in 0..n {
                s.push(&[i as u8, 0, 255, 128], k as i64).unwrap();
            }
        }
        s
    }

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let s = set(&[10, 20, 3]);
        let (tr, va) = stratified_split(&s, 0.1, 7).unwrap();
        assert_eq!(tr.len() + va.len(), 33);
        let mut all: Vec<usize> = tr.iter().chain(&va).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..33).collect::<Vec<_>>());
        let per_class = |idx: &[usize], k| idx.iter().filter(|&&i| s.labels[i] == k).count();
        assert_eq!(
            [per_class(&va, 0), per_class(&va, 1), per_class(&va, 2)],
            [1, 2, 1]
        );
        assert_eq!(stratified_split(&s, 0.1, 7).unwrap(), (tr, va));
        assert!(stratified_split(&s, 1.0, 7).is_err());
    }

    #[test]
    fn sequences_are_labelled_tokens() {
        let s = set(&[2, 1]);
        let tok = PixelTokenizer::new(2, 1, 2, 2).unwrap();
        let seqs = to_sequences(&s, &tok).unwrap();
        assert_eq!(seqs.len(), 3);
        assert_eq!(seqs.tokens(0), &[0, 0, 1, 1]);
        assert_eq!(seqs.label(2), Some(1));
        assert_eq!(seqs.num_classes(), Some(2));
    }
}
