//! Sampler behaviour on briefly trained real models: MDLM never re-masks, the cache changes
//! nothing but the NFE count, seeds reproduce, UDLM and AR produce in-vocabulary sequences.

mod common;

use common::*;
use diffusion_core::backend::default_device;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::domain::{CharTokenizer, Tokenizer};
use diffusion_core::sampler::{Sampler, SamplerConfig};
use diffusion_core::train::Trainer;

fn trained(kind: ModelKind, steps: usize) -> (CharTokenizer, Trainer) {
    let _guard = lock_backend_rng();
    let device = default_device();
    let (tok, train, _) = qm9(600, 0);
    let (d, m) = configs(kind, &tok, 0.0);
    let mut t = Trainer::new(d, m, train_config(steps), tok.vocabulary(), &device).unwrap();
    t.fit(&train, None, None).unwrap();
    (tok, t)
}

fn sampler_config(steps: usize, cache: Option<bool>) -> SamplerConfig {
    SamplerConfig {
        steps,
        use_cache: cache,
        batch_size: 16,
        seed: 5,
        bos_id: Some(CharTokenizer::BOS),
        ..Default::default()
    }
}

#[test]
fn mdlm_never_remasks_and_cache_only_saves_work() {
    let (_, t) = trained(ModelKind::Mdlm, 30);
    let device = default_device();
    let diffusion = t.diffusion();
    let mask = diffusion.config.mask_id;
    let s = Sampler::new(
        &diffusion,
        &t.ema.model,
        sampler_config(64, Some(true)),
        &device,
    )
    .unwrap();
    let mut prev: Option<Vec<i64>> = None;
    let mut violations = 0;
    let cached = s
        .sample_with(24, None, false, &mut |step, z| {
            if let Some(p) = &prev
                && step > 0
            {
                violations += p
                    .iter()
                    .zip(z)
                    .filter(|(a, b)| **a != mask && a != b)
                    .count();
            }
            prev = Some(z.to_vec());
        })
        .unwrap();
    assert_eq!(violations, 0, "an unmasked token changed");
    let s2 = Sampler::new(
        &diffusion,
        &t.ema.model,
        sampler_config(64, Some(false)),
        &device,
    )
    .unwrap();
    let plain = s2.sample(24, None, false).unwrap();
    assert_eq!(cached.tokens, plain.tokens, "the cache changed the samples");
    assert!(
        cached.nfe < plain.nfe,
        "cache nfe {} vs {}",
        cached.nfe,
        plain.nfe
    );
    assert_eq!(plain.nfe, 2 * 64);
    // Masks left after the last step are rare (≈1e-5 per position).
    let left = cached.tokens.iter().filter(|&&v| v == mask).count();
    assert!(left <= 1, "{left} masks left");
}

#[test]
fn samplers_are_seed_reproducible_and_in_vocabulary() {
    let device = default_device();
    for kind in [
        ModelKind::Mdlm,
        ModelKind::Udlm,
        ModelKind::Gidd,
        ModelKind::Ar,
    ] {
        let (tok, t) = trained(kind, 20);
        let diffusion = t.diffusion();
        let s = Sampler::new(&diffusion, &t.ema.model, sampler_config(16, None), &device).unwrap();
        let a = s.sample(20, None, false).unwrap();
        let b = s.sample(20, None, false).unwrap();
        assert_eq!(a.tokens, b.tokens, "{kind:?} not reproducible");
        assert_eq!(a.tokens.len(), 20 * SEQ_LEN);
        assert!(
            a.tokens
                .iter()
                .all(|&v| v >= 0 && (v as usize) < tok.vocab_size())
        );
        let mut other = sampler_config(16, None);
        other.seed = 6;
        let c = Sampler::new(&diffusion, &t.ema.model, other, &device)
            .unwrap()
            .sample(20, None, false)
            .unwrap();
        assert_ne!(
            a.tokens, c.tokens,
            "{kind:?}: different seeds gave identical samples"
        );
        if kind == ModelKind::Ar {
            assert!(a.rows().all(|r| r[0] == CharTokenizer::BOS));
            assert_eq!(a.nfe, 2 * (SEQ_LEN - 1));
        }
    }
}

#[test]
fn cache_is_refused_for_time_conditioned_models() {
    let (_, t) = trained(ModelKind::Udlm, 1);
    let diffusion = t.diffusion();
    let device = default_device();
    assert!(
        Sampler::new(
            &diffusion,
            &t.ema.model,
            sampler_config(8, Some(true)),
            &device
        )
        .is_err()
    );
}

/// ReMDM remasking (off by default) lets unmasked tokens return to the mask and be redrawn;
/// it is refused for non-MDLM models.
#[test]
fn remdm_remasking_revises_tokens() {
    let (_, t) = trained(ModelKind::Mdlm, 20);
    let device = default_device();
    let diffusion = t.diffusion();
    let mask = diffusion.config.mask_id;
    let cfg = SamplerConfig {
        remask_cap: Some(0.05),
        ..sampler_config(32, None)
    };
    let s = Sampler::new(&diffusion, &t.ema.model, cfg, &device).unwrap();
    let mut prev: Option<Vec<i64>> = None;
    let (mut remasked, mut changed) = (0, 0);
    let out = s
        .sample_with(16, None, false, &mut |_, z| {
            if let Some(p) = &prev {
                remasked += p
                    .iter()
                    .zip(z)
                    .filter(|(a, b)| **a != mask && **b == mask)
                    .count();
                changed += p
                    .iter()
                    .zip(z)
                    .filter(|(a, b)| **a != mask && **b != mask && a != b)
                    .count();
            }
            prev = Some(z.to_vec());
        })
        .unwrap();
    assert!(remasked > 0, "no token was re-masked");
    assert_eq!(
        changed, 0,
        "a token changed without passing through the mask"
    );
    assert!(out.tokens.iter().filter(|&&v| v == mask).count() <= 16 * SEQ_LEN / 10);
    let (_, u) = trained(ModelKind::Udlm, 1);
    let ud = u.diffusion();
    let bad = SamplerConfig {
        remask_cap: Some(0.05),
        ..sampler_config(8, None)
    };
    assert!(Sampler::new(&ud, &u.ema.model, bad, &device).is_err());
}

/// UDLM corrector steps (off by default) spend one extra evaluation each, keep samples in the
/// vocabulary and reproducible; they are refused for MDLM.
#[test]
fn udlm_corrector_steps() {
    let (tok, t) = trained(ModelKind::Udlm, 20);
    let device = default_device();
    let diffusion = t.diffusion();
    let cfg = SamplerConfig {
        corrector_steps: 2,
        ..sampler_config(8, None)
    };
    let s = Sampler::new(&diffusion, &t.ema.model, cfg.clone(), &device).unwrap();
    let a = s.sample(16, None, false).unwrap();
    assert_eq!(a.nfe, 8 * 3);
    assert_eq!(a.tokens, s.sample(16, None, false).unwrap().tokens);
    assert!(
        a.tokens
            .iter()
            .all(|&v| v >= 0 && (v as usize) < tok.vocab_size())
    );
    let (_, m) = trained(ModelKind::Mdlm, 1);
    let md = m.diffusion();
    assert!(Sampler::new(&md, &m.ema.model, cfg, &device).is_err());
}

/// Streaming hands over the same sequences as collecting, batch by batch, never holding more
/// than one batch; a consumer's error stops sampling at once and is passed through.
#[test]
fn streamed_batches_equal_collected_samples() {
    use diffusion_core::CoreError;
    use diffusion_core::sampler::Labels;
    for kind in [ModelKind::Udlm, ModelKind::Ar] {
        let (_, t) = trained(kind, 10);
        let device = default_device();
        let diffusion = t.diffusion();
        let s = Sampler::new(&diffusion, &t.ema.model, sampler_config(8, None), &device).unwrap();
        let collected = s.sample(37, None, false).unwrap();
        let mut streamed = Vec::new();
        let mut sizes = Vec::new();
        let nfe = s
            .sample_stream(37, Labels::None, false, &mut |_, _| {}, &mut |b| {
                sizes.push(b.tokens.len() / b.seq_len);
                streamed.extend(b.tokens);
                Ok(())
            })
            .unwrap();
        assert_eq!(sizes, vec![16, 16, 5], "{kind:?}");
        assert_eq!(streamed, collected.tokens, "{kind:?}");
        assert_eq!(nfe, collected.nfe, "{kind:?}");
        let mut calls = 0;
        let e = s
            .sample_stream(37, Labels::None, false, &mut |_, _| {}, &mut |_| {
                calls += 1;
                Err(CoreError::Sink("disk full".into()))
            })
            .unwrap_err();
        assert_eq!(calls, 1, "sampling went on after the consumer failed");
        assert_eq!(e.to_string(), "disk full");
    }
    // The total is never held, so it has no memory limit; one batch has.
    assert!(diffusion_core::sampler::check_stream_count(1 << 40, 32, 256).is_ok());
    assert!(diffusion_core::sampler::check_stream_count(0, 32, 256).is_err());
    let e = diffusion_core::sampler::check_stream_count(10, 1 << 30, 4)
        .unwrap_err()
        .to_string();
    assert!(e.contains("sampling.batch_size"), "{e}");
}

/// Ψ-samplers (spec §5.4): κ = 1 everywhere is the ancestral sampler sample for sample; under
/// absorbing noise max-capped-η is ReMDM-cap with the same η and other modes re-mask tokens
/// (never change one without the mask); under uniform noise Ψ changes the samples at the same
/// network cost and stays reproducible.
#[test]
fn psi_samplers() {
    use diffusion_core::psi::{PsiConfig, PsiMode};
    let device = default_device();
    let psi = |mode: PsiMode, window: [f64; 2]| SamplerConfig {
        psi: Some(PsiConfig {
            mode,
            window,
            loop_alpha: None,
        }),
        ..sampler_config(32, None)
    };
    for kind in [ModelKind::Mdlm, ModelKind::Udlm] {
        let (tok, t) = trained(kind, 20);
        let d = t.diffusion();
        let run = |cfg: SamplerConfig| {
            Sampler::new(&d, &t.ema.model, cfg, &device)
                .unwrap()
                .sample(16, None, false)
                .unwrap()
        };
        let plain = run(sampler_config(32, None));
        let same = run(psi(PsiMode::Posterior, [0.0, 1.0]));
        assert_eq!(
            same.tokens, plain.tokens,
            "{kind:?}: κ = 1 is not ancestral"
        );
        assert_eq!(same.nfe, plain.nfe);
        let pc = psi(PsiMode::Constant(0.5), [0.25, 0.9]);
        let a = run(pc.clone());
        assert_ne!(a.tokens, plain.tokens, "{kind:?}: Ψ changed nothing");
        assert_eq!(a.tokens, run(pc).tokens, "{kind:?}: Ψ not reproducible");
        assert!(
            a.tokens
                .iter()
                .all(|&v| v >= 0 && (v as usize) < tok.vocab_size())
        );
        if kind == ModelKind::Udlm {
            assert_eq!(a.nfe, plain.nfe, "Ψ costs no extra network pass");
            // A loop at α = 0.5 over the middle of the steps.
            let looped = SamplerConfig {
                psi: Some(PsiConfig {
                    mode: PsiMode::RemdmConstant(0.1),
                    window: [0.25, 0.75],
                    loop_alpha: Some(0.5),
                }),
                ..sampler_config(32, None)
            };
            assert_eq!(run(looped).tokens.len(), plain.tokens.len());
            // A loop over every step has no steps to reach it: refused up front, not a panic.
            let bad = SamplerConfig {
                psi: Some(PsiConfig {
                    mode: PsiMode::Pc,
                    window: [0.0, 1.0],
                    loop_alpha: Some(0.9),
                }),
                ..sampler_config(32, None)
            };
            let e = Sampler::new(&d, &t.ema.model, bad, &device).err().unwrap();
            assert!(e.to_string().contains("sampling.psi.loop_alpha"), "{e}");
            continue;
        }
        // Absorbing noise: max-capped-η ≡ ReMDM-cap η (the distributions agree to float
        // rounding, so at most a rare draw may differ).
        let capped = run(psi(PsiMode::MaxCapped(0.05), [0.0, 1.0]));
        let remdm = run(SamplerConfig {
            remask_cap: Some(0.05),
            ..sampler_config(32, None)
        });
        let agree = capped
            .tokens
            .iter()
            .zip(&remdm.tokens)
            .filter(|(a, b)| a == b)
            .count();
        assert!(
            agree * 100 >= 99 * remdm.tokens.len(),
            "max-capped Ψ and ReMDM-cap agree on {agree} of {} tokens",
            remdm.tokens.len()
        );
        // Re-masking happens; a decoded token changes only through the mask.
        let mask = d.config.mask_id;
        let s = Sampler::new(&d, &t.ema.model, psi(PsiMode::Pc, [0.25, 0.9]), &device).unwrap();
        let mut prev: Option<Vec<i64>> = None;
        let (mut remasked, mut changed) = (0, 0);
        s.sample_with(16, None, false, &mut |_, z| {
            if let Some(p) = &prev {
                remasked += p
                    .iter()
                    .zip(z)
                    .filter(|(a, b)| **a != mask && **b == mask)
                    .count();
                changed += p
                    .iter()
                    .zip(z)
                    .filter(|(a, b)| **a != mask && **b != mask && a != b)
                    .count();
            }
            prev = Some(z.to_vec());
        })
        .unwrap();
        assert!(remasked > 0, "Ψ re-masked nothing");
        assert_eq!(
            changed, 0,
            "a token changed without passing through the mask"
        );
        // Ψ and ReMDM remasking are one mechanism: both at once are refused.
        let both = SamplerConfig {
            remask_cap: Some(0.05),
            ..psi(PsiMode::Pc, [0.0, 1.0])
        };
        let e = Sampler::new(&d, &t.ema.model, both, &device).err().unwrap();
        assert!(e.to_string().contains("sampling.psi"), "{e}");
    }
    let (_, ar) = trained(ModelKind::Ar, 1);
    let ad = ar.diffusion();
    let e = Sampler::new(&ad, &ar.ema.model, psi(PsiMode::Pc, [0.0, 1.0]), &device)
        .err()
        .unwrap();
    assert!(e.to_string().contains("sampling.psi"), "{e}");
}

/// Nucleus sampling: as p → 0 every draw from x_θ (AR: from the next-token distribution) is
/// its argmax, so an AR model decodes greedily (every row the same) and one MDLM step from the
/// all-mask prior writes the same argmax sequence in every row, where plain draws differ;
/// p = 1 changes nothing and p outside (0, 1] is refused.
#[test]
fn nucleus_sampling_truncates_the_clean_token_distribution() {
    let device = default_device();
    let all_same = |t: &[i64]| t.chunks(SEQ_LEN).all(|r| r == &t[..SEQ_LEN]);
    let (_, ar) = trained(ModelKind::Ar, 20);
    let ad = ar.diffusion();
    let greedy = SamplerConfig {
        top_p: Some(1e-9),
        ..sampler_config(16, None)
    };
    let s = Sampler::new(&ad, &ar.ema.model, greedy, &device).unwrap();
    assert!(all_same(&s.sample(16, None, false).unwrap().tokens));
    let plain = Sampler::new(&ad, &ar.ema.model, sampler_config(16, None), &device).unwrap();
    assert!(!all_same(&plain.sample(16, None, false).unwrap().tokens));

    let (_, m) = trained(ModelKind::Mdlm, 20);
    let md = m.diffusion();
    let one_step = |top_p| SamplerConfig {
        top_p,
        final_denoise: true,
        ..sampler_config(1, Some(false))
    };
    let sample = |cfg| {
        Sampler::new(&md, &m.ema.model, cfg, &device)
            .unwrap()
            .sample(16, None, false)
            .unwrap()
            .tokens
    };
    assert!(all_same(&sample(one_step(Some(1e-9)))));
    assert!(!all_same(&sample(one_step(None))));
    let (full, none) = (
        sample(SamplerConfig {
            top_p: Some(1.0),
            ..sampler_config(8, None)
        }),
        sample(sampler_config(8, None)),
    );
    assert_eq!(full, none);
    for bad in [0.0, 1.5, f64::NAN] {
        let cfg = SamplerConfig {
            top_p: Some(bad),
            ..sampler_config(8, None)
        };
        let e = Sampler::new(&md, &m.ema.model, cfg, &device).err().unwrap();
        assert!(e.to_string().contains("top_p"), "{e}");
    }
}
