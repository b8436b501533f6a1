//! The classifiers and NOS heads a `sample` / `sweep` run names, loaded and checked against the
//! generator the same way in every domain: a guiding classifier must read the generator's tokens
//! and length, have been trained on its noise, and know its classes; a reward classifier must be
//! clean (it scores finished sequences).

use super::Domain;
use super::validate::check_domain;
use crate::classifier::Classifier;
use crate::cli::require_file;
use crate::diffusion::ModelKind;
use crate::error::CoreError;
use crate::generate::{GuidanceArgs, GuidanceKind, OwnedGuidanceModels, SteerArgs};
use crate::guidance::steer::{DomainRewards, Reward, build_reward};
use crate::train::{Loaded, LoadedGenerator, load_objective};
use burn::prelude::Device;
use std::path::{Path, PathBuf};

/// A classifier checkpoint of domain `D` that fits generator `g`: same vocabulary, the same
/// classes (when both name theirs) and length, and for D-CBG the generator's noise. A clean
/// classifier may guide too (a warning says D-CBG expects a noisy one).
pub fn guiding_classifier<D: Domain>(
    path: &Path,
    g: &LoadedGenerator,
    dev: &Device,
) -> Result<Loaded<Classifier>, CoreError> {
    let c = load_fitting::<D>(path, g, dev)?;
    c.objective.config.check_guides(&g.diffusion, path)?;
    // FUDGE's per-position classifiers are clean by design; a clean whole-sequence one is not
    // what D-CBG was derived for.
    if g.diffusion.kind() != ModelKind::Ar && c.objective.config.is_clean_sequence_classifier() {
        tracing::warn!(
            "{} is a clean classifier; D-CBG expects one trained on noisy inputs",
            path.display()
        );
    }
    Ok(c)
}

/// A clean whole-sequence classifier of domain `D` over generator `g`'s tokens, length and
/// classes, for `--reward classifier` (log p of the intended class of a finished sequence).
pub fn reward_classifier<D: Domain>(
    path: &Path,
    g: &LoadedGenerator,
    dev: &Device,
) -> Result<Loaded<Classifier>, CoreError> {
    let c = load_fitting::<D>(path, g, dev)?;
    if !c.objective.config.is_clean_sequence_classifier() {
        return Err(CoreError::checkpoint(
            path,
            "--reward-classifier needs a clean classifier (no classifier.noise, whole-sequence pooling); the reward reads finished sequences",
        ));
    }
    Ok(c)
}

/// A classifier checkpoint of domain `D` with `g`'s vocabulary, length and classes.
fn load_fitting<D: Domain>(
    path: &Path,
    g: &LoadedGenerator,
    dev: &Device,
) -> Result<Loaded<Classifier>, CoreError> {
    require_file(path, "classifier checkpoint")?;
    let c = load_objective::<Classifier>(path, dev, true)?;
    check_domain::<D>(&c.metadata, path)?;
    if c.vocabulary != g.vocabulary {
        return Err(CoreError::checkpoint(
            path,
            "this classifier was trained with another vocabulary than the generator",
        ));
    }
    let (len, gen_len) = (c.objective.config.seq_len, g.diffusion.config.seq_len);
    if len != gen_len {
        return Err(CoreError::checkpoint(
            path,
            format!(
                "this classifier reads sequences of length {len}, the generator writes {gen_len}"
            ),
        ));
    }
    if let (Some(a), Some(b)) = (D::class_names(&c.metadata), D::class_names(&g.metadata))
        && a != b
    {
        return Err(CoreError::checkpoint(
            path,
            format!(
                "this classifier knows other classes than the generator ({} vs {})",
                a.join(","),
                b.join(",")
            ),
        ));
    }
    Ok(c)
}

/// The guidance models a run names for generator `g`: `--guidance` with its `--classifier`
/// (a NOS head for NOS) and the `--also-cbg` terms (classifier, target, γ), each classifier
/// checked by [`guiding_classifier`].
pub fn load_guidance<D: Domain>(
    kind: GuidanceKind,
    classifier: Option<&Path>,
    extra: &[(PathBuf, i64, f64)],
    g: &LoadedGenerator,
    dev: &Device,
) -> Result<OwnedGuidanceModels, D::Error> {
    OwnedGuidanceModels::load(
        kind,
        classifier,
        extra,
        || Ok((g.dit("NOS")?.hidden_size(), g.vocabulary.clone())),
        dev,
        |p| Ok(guiding_classifier::<D>(p, g, dev)?.model),
    )
}

/// [`load_guidance`] from the `--guidance` flags.
pub fn load_guidance_flags<D: Domain>(
    a: &GuidanceArgs,
    g: &LoadedGenerator,
    dev: &Device,
) -> Result<OwnedGuidanceModels, D::Error> {
    load_guidance::<D>(
        a.guidance,
        a.classifier.as_deref(),
        &a.extra_terms()?,
        g,
        dev,
    )
}

/// The models a `sample` run names besides its generator, each checked against it: the
/// guidance models of `--guidance` / `--classifier` / `--also-cbg` and the clean classifier of
/// `--reward-classifier`.
pub struct SampleModels {
    pub guidance: OwnedGuidanceModels,
    pub reward_classifier: Option<Loaded<Classifier>>,
}

impl SampleModels {
    /// Load what `guide` and `steer` name for generator `g` of domain `D`.
    pub fn load<D: Domain>(
        guide: &GuidanceArgs,
        steer: &SteerArgs,
        g: &LoadedGenerator,
        dev: &Device,
    ) -> Result<Self, D::Error> {
        Ok(Self {
            guidance: load_guidance_flags::<D>(guide, g, dev)?,
            reward_classifier: steer
                .reward_classifier
                .as_deref()
                .map(|p| reward_classifier::<D>(p, g, dev))
                .transpose()?,
        })
    }

    /// The reward of `steer` (None without --steer): the domain's named rewards (`domain`,
    /// knowing `names`) and `classifier` under the loaded --reward-classifier, labelled
    /// `log p(<class_word>)`.
    pub fn reward<'a>(
        &'a self,
        steer: &SteerArgs,
        names: &[&str],
        class_word: &str,
        dev: &Device,
        domain: DomainRewards<'_, 'a>,
    ) -> crate::Result<Option<Box<dyn Reward + 'a>>> {
        if steer.method()?.is_none() {
            return Ok(None);
        }
        let classifier = self.reward_classifier.as_ref().map(|c| &c.model as _);
        build_reward(
            &steer.reward_terms()?,
            names,
            classifier.map(|c| (c, class_word)),
            dev,
            domain,
        )
        .map(Some)
    }
}
