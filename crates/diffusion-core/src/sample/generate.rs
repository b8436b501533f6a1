//! One guided sampling run as every domain binary exposes it: the loaded guidance models, the
//! request (built from the flags of [`crate::sample::args`]), and `generate`, which turns a request
//! into a [`Guidance`] per target class, seeds each class group by one rule and streams the
//! finished batches to the caller, so memory stays bounded whatever the number of samples.
//!
//! A domain loads its generator and guidance models (and checks that they fit each other),
//! then calls [`generate`] once per class group; what it does with the token rows (decode,
//! write, score) is its own.

use crate::classifier::DitClassifier;
use crate::denoiser::Denoiser;
use crate::diffusion::{Diffusion, ModelKind};
use crate::guidance::steer::Steering;
use crate::guidance::{CbgMode, CbgTerm, FudgeTerm, GammaSchedule, Guidance, NosTerm};
use crate::nos::{NosConfig, NosHead};
use crate::sampler::{Labels, Sampler, SamplerConfig, Samples};
use crate::{CoreError, Result};
use burn::prelude::Device;
use std::path::PathBuf;

pub use crate::sample::args::{
    GuidanceArgs, GuidanceKind, RefineArgs, SampleFlags, SampleRunArgs, SteerArgs, SteerKind,
    SteerRequest, parse_extra_cbg,
};

/// The guidance models of a run, loaded (and checked against the generator) by the domain.
#[derive(Default)]
pub struct GuidanceModels<'a> {
    /// D-CBG noisy classifier, or FUDGE's causal classifier.
    pub classifier: Option<&'a DitClassifier>,
    /// Extra D-CBG terms (classifier, target, γ): multi-objective guidance.
    pub extra_cbg: Vec<(&'a DitClassifier, i64, f64)>,
    /// NOS head and its per-step settings.
    pub nos: Option<(&'a NosHead, NosConfig)>,
}

/// The guidance models of a run as a domain loads them (owned); [`OwnedGuidanceModels::models`]
/// lends them to a [`Request`].
#[derive(Default)]
pub struct OwnedGuidanceModels {
    pub classifier: Option<DitClassifier>,
    pub extra: Vec<(DitClassifier, i64, f64)>,
    pub nos: Option<NosHead>,
}

impl OwnedGuidanceModels {
    /// The models a run names, loaded the same way in every domain: with `--guidance nos` the
    /// `path` is a NOS head for the generator's encoder (`nos_encoder` gives its hidden size and
    /// vocabulary, and fails for a generator without a DiT); with `cbg` or `fudge` it is a
    /// classifier, loaded by the domain's `classifier` (which checks it against the
    /// generator); `extra` are the `--also-cbg` terms (classifier, target, γ).
    pub fn load<E: From<CoreError>>(
        kind: GuidanceKind,
        path: Option<&std::path::Path>,
        extra: &[(PathBuf, i64, f64)],
        nos_encoder: impl FnOnce() -> std::result::Result<(usize, Vec<String>), E>,
        device: &Device,
        mut classifier: impl FnMut(&std::path::Path) -> std::result::Result<DitClassifier, E>,
    ) -> std::result::Result<Self, E> {
        let mut m = Self::default();
        match (kind, path) {
            (GuidanceKind::Nos, Some(p)) => {
                crate::cli::require_file(p, "NOS head")?;
                let (hidden, vocabulary) = nos_encoder()?;
                m.nos = Some(crate::nos::load_head(p, device, hidden, &vocabulary)?);
            }
            (GuidanceKind::Cbg | GuidanceKind::Fudge, Some(p)) => {
                m.classifier = Some(classifier(p)?)
            }
            _ => {}
        }
        for (p, t, gamma) in extra {
            m.extra.push((classifier(p)?, *t, *gamma));
        }
        Ok(m)
    }

    /// Borrowed for a [`Request`], NOS with the `nos` settings.
    pub fn models(&self, nos: NosConfig) -> GuidanceModels<'_> {
        GuidanceModels {
            classifier: self.classifier.as_ref(),
            extra_cbg: self.extra.iter().map(|(c, t, gm)| (c, *t, *gm)).collect(),
            nos: self.nos.as_ref().map(|h| (h, nos)),
        }
    }
}

/// Settings of one sampling run (also used by `sweep` and `demo`).
pub struct Request<'a> {
    pub guidance: GuidanceKind,
    pub gamma: f64,
    /// γ over t (D-CFG and D-CBG).
    pub schedule: GammaSchedule,
    pub models: GuidanceModels<'a>,
    /// Exact D-CBG with this many sequences per classifier pass (None: first order).
    pub exact: Option<usize>,
    /// FUDGE: candidates rescored per step.
    pub top_k: usize,
    pub sampler: SamplerConfig,
    /// (token position, token id) pairs held fixed in every sample.
    pub pins: Vec<(usize, i64)>,
    pub progress: bool,
    /// Reward steering (SMC, SVDD, best-of-N), on top of the guidance above.
    pub steer: Option<SteerRequest<'a>>,
}

/// Class group `k` of a run draws from seed `seed + k·SEED_STRIDE`, so that the groups'
/// noise differs and adding a group leaves the others' samples unchanged.
pub const SEED_STRIDE: u64 = 1_000_003;

/// The seed of class group `k`.
pub fn group_seed(seed: u64, k: usize) -> u64 {
    seed.wrapping_add((k as u64).wrapping_mul(SEED_STRIDE))
}

impl<'a> Request<'a> {
    /// `guidance` at strength `gamma` with `models` and `sampler`, and nothing else: constant
    /// γ, first-order D-CBG, FUDGE's top-k 40, no pins, no progress bar, no steering (the rows
    /// of sweeps and demos; set fields for more).
    pub fn new(
        guidance: GuidanceKind,
        gamma: f64,
        models: GuidanceModels<'a>,
        sampler: SamplerConfig,
    ) -> Self {
        Self {
            guidance,
            gamma,
            schedule: GammaSchedule::Constant,
            models,
            exact: None,
            top_k: 40,
            sampler,
            pins: Vec::new(),
            progress: false,
            steer: None,
        }
    }

    /// The guidance of the samples aimed at class `target`. Errors name the missing model.
    pub fn guidance_for(&self, target: i64) -> Result<Guidance<'a>> {
        let mode = match self.exact {
            Some(chunk) => CbgMode::Exact { chunk },
            None => CbgMode::FirstOrder,
        };
        let cbg = |classifier: &'a DitClassifier, target, gamma| CbgTerm {
            classifier,
            target,
            gamma,
            mode,
            reference_sigma_mismatch: false,
        };
        let mut g = Guidance {
            schedule: self.schedule,
            ..Default::default()
        };
        let need = |what: &str| CoreError::config("--classifier", what.to_string());
        match self.guidance {
            GuidanceKind::None => {}
            GuidanceKind::Cfg => g.cfg_gamma = Some(self.gamma),
            GuidanceKind::Cbg => {
                let c = self.models.classifier.ok_or_else(|| {
                    need("D-CBG needs --classifier (a noisy classifier checkpoint)")
                })?;
                g.cbg.push(cbg(c, target, self.gamma));
            }
            GuidanceKind::Fudge => {
                let c = self.models.classifier.ok_or_else(|| {
                    need("FUDGE needs --classifier (a causal per-position classifier)")
                })?;
                g.fudge = Some(FudgeTerm {
                    classifier: c,
                    target,
                    gamma: self.gamma,
                    top_k: self.top_k,
                });
            }
            GuidanceKind::Nos => {
                let (head, mut config) = self.models.nos.ok_or_else(|| {
                    need("NOS needs --classifier (a NOS head from train-classifier --nos-for)")
                })?;
                config.target = target;
                g.nos = Some(NosTerm { head, config });
            }
        }
        for &(c, t, gamma) in &self.models.extra_cbg {
            g.cbg.push(cbg(c, t, gamma));
        }
        g.steer = self.steer.as_ref().map(|st| Steering {
            reward: st.reward,
            target,
            method: st.method,
            x0: st.x0,
        });
        Ok(g)
    }
}

/// One class group of a run: `n` samples aimed at `target`, group index `k` (its seed).
#[derive(Clone, Copy, Debug)]
pub struct Group {
    pub target: i64,
    pub n: usize,
    pub k: usize,
    /// Condition the generator on `target` (a class-conditional model: D-CFG, or plain
    /// conditional sampling); otherwise it samples unconditionally.
    pub condition: bool,
}

/// Generate one class group, handing each finished batch of token rows ([n_b, L]) to
/// `on_batch` in order; returns the network evaluations spent. The generator's `[BOS]`
/// handling for AR models is set here (`bos`, when the vocabulary has one).
pub fn generate(
    diffusion: &Diffusion,
    model: &dyn Denoiser,
    req: &Request,
    group: Group,
    bos: Option<i64>,
    device: &Device,
    on_batch: &mut dyn FnMut(Samples) -> Result<()>,
) -> Result<usize> {
    let mut config = req.sampler.clone();
    config.seed = group_seed(req.sampler.seed, group.k);
    if diffusion.kind() == ModelKind::Ar {
        config.bos_id = bos;
    }
    let labels = if group.condition {
        Labels::All(group.target)
    } else {
        Labels::None
    };
    let sampler = Sampler::new(diffusion, model, config, device)?
        .with_guidance(req.guidance_for(group.target)?)?
        .with_pinned(req.pins.clone())?;
    sampler.sample_stream(group.n, labels, req.progress, &mut |_, _| {}, on_batch)
}

/// [`generate`] collected in memory (at most [`crate::sampler::MAX_SAMPLE_TOKENS`] ids):
/// the token rows and the network evaluations.
pub fn generate_rows(
    diffusion: &Diffusion,
    model: &dyn Denoiser,
    req: &Request,
    group: Group,
    bos: Option<i64>,
    device: &Device,
) -> Result<(Vec<Vec<i64>>, usize)> {
    crate::sampler::check_sample_count(group.n, diffusion.config.seq_len)?;
    let mut rows = Vec::with_capacity(group.n);
    let nfe = generate(diffusion, model, req, group, bos, device, &mut |s| {
        rows.extend(s.rows().map(<[i64]>::to_vec));
        Ok(())
    })?;
    Ok((rows, nfe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_seeds_follow_one_rule() {
        assert_eq!(group_seed(7, 0), 7);
        assert_eq!(group_seed(7, 3), 7 + 3 * 1_000_003);
        assert_eq!(group_seed(u64::MAX, 1), 1_000_002);
    }

    #[test]
    fn missing_guidance_models_are_named() {
        for (kind, word) in [
            (GuidanceKind::Cbg, "D-CBG"),
            (GuidanceKind::Fudge, "FUDGE"),
            (GuidanceKind::Nos, "NOS"),
        ] {
            let req = Request {
                guidance: kind,
                gamma: 1.0,
                schedule: GammaSchedule::Constant,
                models: GuidanceModels::default(),
                exact: None,
                top_k: 4,
                sampler: SamplerConfig::default(),
                pins: vec![],
                progress: false,
                steer: None,
            };
            let e = req.guidance_for(1).err().unwrap().to_string();
            assert!(e.contains(word) && e.contains("--classifier"), "{e}");
        }
    }
}
