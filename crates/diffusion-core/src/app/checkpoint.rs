//! A domain's checkpoints loaded for sampling and scoring, each with what it records about its
//! data ([`Domain::Facts`]: tokenizer, `[data]` section, class names), read in one place.

use super::Domain;
use super::validate::{check_domain, load_generator};
use crate::classifier::Classifier;
use crate::cli::require_file;
use crate::error::CoreError;
use crate::generate::{Generated, Group, Request, generate_groups};
use crate::sampler::Samples;
use crate::train::{Loaded, LoadedGenerator, load_objective};
use burn::prelude::Device;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

/// A generator checkpoint of domain `D` (EMA weights, any backbone) with its data facts.
pub struct Generator<D: Domain> {
    pub loaded: LoadedGenerator,
    pub facts: D::Facts,
}

impl<D: Domain> Generator<D> {
    /// Load `path`, refusing a checkpoint of another domain or with unreadable facts.
    pub fn load(path: &Path, dev: &Device) -> Result<Self, D::Error> {
        let loaded = load_generator::<D>(path, dev)?;
        let facts = D::facts(&loaded.vocabulary, &loaded.metadata, path)?;
        Ok(Self { loaded, facts })
    }

    /// Whether the network takes class labels (D-CFG and class-conditioned sampling need it).
    pub fn is_conditional(&self) -> bool {
        self.loaded.denoiser().is_conditional()
    }

    /// Generate the class groups of `req` (see [`crate::generate::class_groups`]) in order, handing each finished
    /// batch with its group to `on_batch`; an AR generator starts from the domain's
    /// [`Domain::BOS`].
    pub fn generate(
        &self,
        req: &Request,
        groups: &[Group],
        dev: &Device,
        on_batch: &mut dyn FnMut(&Group, &Samples) -> Result<(), CoreError>,
    ) -> Result<Generated, CoreError> {
        let (diffusion, model) = (&self.loaded.diffusion, self.loaded.denoiser());
        generate_groups(diffusion, model, req, groups, D::BOS, dev, on_batch)
    }
}

impl<D: Domain> std::ops::Deref for Generator<D> {
    type Target = LoadedGenerator;
    fn deref(&self) -> &LoadedGenerator {
        &self.loaded
    }
}

/// A classifier checkpoint of domain `D` (noisy, clean or per-position) with its data facts.
pub struct DomainClassifier<D: Domain> {
    pub loaded: Loaded<Classifier>,
    pub facts: D::Facts,
}

impl<D: Domain> DomainClassifier<D> {
    /// Load `path`, refusing a checkpoint of another domain or with unreadable facts.
    pub fn load(path: &Path, dev: &Device) -> Result<Self, D::Error> {
        require_file(path, "classifier checkpoint")?;
        let loaded = load_objective::<Classifier>(path, dev, true)?;
        check_domain::<D>(&loaded.metadata, path)?;
        let facts = D::facts(&loaded.vocabulary, &loaded.metadata, path)?;
        Ok(Self { loaded, facts })
    }
}

/// Metadata field `key` of the checkpoint at `path`; its default when the field is absent.
pub fn metadata_field<T: DeserializeOwned + Default>(
    metadata: &Value,
    key: &str,
    path: &Path,
) -> Result<T, CoreError> {
    match metadata.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| CoreError::checkpoint(path, format!("metadata field `{key}`: {e}"))),
    }
}
