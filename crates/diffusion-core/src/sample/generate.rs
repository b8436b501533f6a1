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
use crate::guidance::steer::{SteerStats, Steering};
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
/// handling for AR models is set here (`bos`, when the vocabulary has one; otherwise the
/// request's `sampler.bos_id`, e.g. text's space).
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
        config.bos_id = bos.or(config.bos_id);
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

/// What unguided sampling means for a class-conditional generator of a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unguided {
    /// Its null class, all samples in one group (molecules, images); D-CBG, NOS and steering
    /// guide the unconditional model towards each class.
    NullClass,
    /// Conditioned on each class in turn (genomics: species-conditioned sampling); every other
    /// rule then guides the conditional model too, and the generator must be conditional.
    EachClass,
}

/// The class groups of a request: `per_class` samples for each of `classes` (group k seeded
/// by [`group_seed`]), or, for unguided unsteered sampling under [`Unguided::NullClass`], one
/// group of them all. Refuses D-CFG (and under [`Unguided::EachClass`] unguided sampling) for
/// a generator without class labels.
pub fn class_groups(
    req: &Request,
    conditional: bool,
    unguided: Unguided,
    classes: &[i64],
    per_class: usize,
) -> Result<Vec<Group>> {
    let need = |what: &str| {
        CoreError::config(
            "--guidance",
            format!("{what} needs a class-conditional generator (trained on labelled data)"),
        )
    };
    let cfg = req.guidance == GuidanceKind::Cfg;
    if cfg && !conditional {
        return Err(need("D-CFG"));
    }
    if per_class == 0 {
        return Err(CoreError::config(
            "sampling.n",
            "the number of samples must be at least 1",
        ));
    }
    if classes.is_empty() {
        return Err(CoreError::config("sampling.n", "no class to sample"));
    }
    let unguided_run = req.guidance == GuidanceKind::None && req.steer.is_none();
    let condition = match unguided {
        Unguided::NullClass => cfg,
        Unguided::EachClass if !conditional && req.guidance == GuidanceKind::None => {
            return Err(need("unguided class-conditioned sampling"));
        }
        Unguided::EachClass => conditional,
    };
    if unguided_run && unguided == Unguided::NullClass {
        return Ok(vec![Group {
            target: classes[0],
            n: per_class.saturating_mul(classes.len()),
            k: 0,
            condition: false,
        }]);
    }
    Ok(classes
        .iter()
        .enumerate()
        .map(|(k, &target)| Group {
            target,
            n: per_class,
            k,
            condition,
        })
        .collect())
}

/// What [`generate_groups`] spent: network evaluations, seconds, and what reward steering did.
#[derive(Debug, Default)]
pub struct Generated {
    pub nfe: usize,
    pub seconds: f64,
    pub steer: Option<SteerStats>,
}

/// Generate `groups` in order, handing each finished batch with its group to `on_batch`
/// (decode, write, score: the domain's), and gathering the steering statistics.
pub fn generate_groups(
    diffusion: &Diffusion,
    model: &dyn Denoiser,
    req: &Request,
    groups: &[Group],
    bos: Option<i64>,
    device: &Device,
    on_batch: &mut dyn FnMut(&Group, &Samples) -> Result<()>,
) -> Result<Generated> {
    let start = std::time::Instant::now();
    let (mut nfe, mut steer) = (0, None::<SteerStats>);
    for group in groups {
        nfe += generate(diffusion, model, req, *group, bos, device, &mut |batch| {
            if let Some(st) = &batch.steer {
                steer.get_or_insert_with(Default::default).extend(st);
            }
            on_batch(group, &batch)
        })?;
    }
    Ok(Generated {
        nfe,
        seconds: start.elapsed().as_secs_f64(),
        steer,
    })
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

    fn request(guidance: GuidanceKind) -> Request<'static> {
        Request::new(
            guidance,
            1.0,
            GuidanceModels::default(),
            SamplerConfig::default(),
        )
    }

    fn groups(
        g: GuidanceKind,
        conditional: bool,
        rule: Unguided,
    ) -> Result<Vec<(i64, usize, usize, bool)>> {
        let gs = class_groups(&request(g), conditional, rule, &[3, 5], 4)?;
        Ok(gs
            .iter()
            .map(|g| (g.target, g.n, g.k, g.condition))
            .collect())
    }

    /// Unguided: one null-class group of all samples, or each class conditioned in turn;
    /// D-CFG conditions each class; D-CBG guides the unconditional model (null-class rule) or
    /// the conditional one (each-class rule).
    #[test]
    fn class_groups_follow_the_domain_rule() {
        use GuidanceKind::*;
        use Unguided::*;
        assert_eq!(groups(None, true, NullClass).unwrap(), [(3, 8, 0, false)]);
        assert_eq!(groups(None, false, NullClass).unwrap(), [(3, 8, 0, false)]);
        let each = |c| vec![(3, 4, 0, c), (5, 4, 1, c)];
        assert_eq!(groups(None, true, EachClass).unwrap(), each(true));
        assert_eq!(groups(Cfg, true, NullClass).unwrap(), each(true));
        assert_eq!(groups(Cfg, true, EachClass).unwrap(), each(true));
        assert_eq!(groups(Cbg, true, NullClass).unwrap(), each(false));
        assert_eq!(groups(Cbg, false, NullClass).unwrap(), each(false));
        assert_eq!(groups(Cbg, true, EachClass).unwrap(), each(true));
        assert_eq!(groups(Nos, false, EachClass).unwrap(), each(false));
        for (g, rule) in [(Cfg, NullClass), (Cfg, EachClass), (None, EachClass)] {
            let e = groups(g, false, rule).unwrap_err().to_string();
            assert!(e.contains("class-conditional generator"), "{e}");
        }
        let e = class_groups(&request(None), true, NullClass, &[], 4).unwrap_err();
        assert!(e.to_string().contains("no class"), "{e}");
        let e = class_groups(&request(Cfg), true, NullClass, &[1], 0).unwrap_err();
        assert!(e.to_string().contains("at least 1"), "{e}");
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
