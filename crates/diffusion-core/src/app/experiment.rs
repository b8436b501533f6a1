//! The experiment file every domain reads (`configs/*.toml`): the domain's own `[data]` section
//! and the sections every domain shares — the process, one backbone (`[model]` DiT, `[conv]`
//! dilated convolution or `[unet]`), a classifier, training, sampling and the run folder. Token
//! facts (N, L, special ids, classes, image geometry) are filled in from the tokenizer and the
//! data, never typed into the file.

use crate::classifier::ClassifierConfig;
use crate::cli::RunConfig;
use crate::conv::ConvConfig;
use crate::diffusion::DiffusionConfig;
use crate::dit::DitConfig;
use crate::error::CoreError;
use crate::sampler::SamplerConfig;
use crate::train::TrainConfig;
use crate::unet::UnetConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One file trains one generator (`[diffusion]` and one backbone section) or one classifier
/// (`[classifier]`); `D` is the domain's `[data]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound(
    serialize = "D: Serialize",
    deserialize = "D: Deserialize<'de> + Default"
))]
pub struct ExperimentConfig<D> {
    #[serde(default)]
    pub data: D,
    #[serde(default)]
    pub diffusion: Option<DiffusionConfig>,
    /// The DiT backbone.
    #[serde(default)]
    pub model: Option<DitConfig>,
    /// The dilated-convolution backbone (linear in L; MDLM / UDLM / GIDD).
    #[serde(default)]
    pub conv: Option<ConvConfig>,
    /// The image UNet with the discretised-logistic head (domains with an image grid).
    #[serde(default)]
    pub unet: Option<UnetConfig>,
    #[serde(default)]
    pub classifier: Option<ClassifierConfig>,
    pub train: TrainConfig,
    #[serde(default)]
    pub sampling: SamplerConfig,
    #[serde(default)]
    pub run: RunConfig,
}

impl<D: DeserializeOwned + Default> ExperimentConfig<D> {
    /// Read every `<dir>/<prefix>*.toml` of a domain as its experiment file, as `train` reads it
    /// (unknown keys refused), so that a shipped config cannot drift from the code unnoticed.
    /// Returns the files read, or the first error (naming the file and key).
    pub fn load_all(dir: &Path, prefixes: &[&str]) -> crate::Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(dir).map_err(|e| CoreError::io(dir, e))?;
        let wanted = |p: &Path| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with(".toml") && prefixes.iter().any(|pre| name.starts_with(pre))
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| wanted(p))
            .collect();
        files.sort();
        for f in &files {
            crate::config_file::load_config::<Self>(Some(f), &[])?;
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_all_reads_the_prefixed_files_and_names_a_bad_one() {
        let dir = std::env::temp_dir().join(format!("gdd-load-all-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a-1.toml"), "[train]\nsteps = 3\nbatch_size = 2\n").unwrap();
        std::fs::write(dir.join("b-1.toml"), "[train]\nstepz = 3\nbatch_size = 2\n").unwrap();
        let read = ExperimentConfig::<()>::load_all(&dir, &["a-"]).unwrap();
        assert_eq!(read, [dir.join("a-1.toml")]);
        let e = ExperimentConfig::<()>::load_all(&dir, &["a-", "b-"]).unwrap_err();
        assert!(e.to_string().contains("b-1.toml"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
