//! The wgpu backend against the CPU backend (`scripts/gpu-check.sh`; built only with the `wgpu`
//! feature). Run on any Vulkan device, including Mesa's software lavapipe: the same weights give
//! the same DiT logits, losses and gradient step; checkpoints move between the devices; guided
//! sampling (D-CFG, first-order D-CBG) gives the same samples up to near-tied draws. These check
//! correctness of the GPU code path (no fused host kernels), never its speed.
#![cfg(feature = "wgpu")]

mod common;

use burn::prelude::*;
use common::*;
use diffusion_core::backend::{device_by_name, devices, is_host_device};
use diffusion_core::diffusion::ModelKind;
use diffusion_core::dit::DitConfig;
use diffusion_core::domain::{CharTokenizer, Tokenizer};
use diffusion_core::guidance::{CbgMode, CbgTerm, Guidance};
use diffusion_core::sampler::{Sampler, SamplerConfig};
use diffusion_core::tensor_util::{ids_tensor, to_vec_f32, vec_tensor};
use diffusion_core::train::Trainer;

fn cpu() -> Device {
    device_by_name("flex").unwrap()
}

fn gpu() -> Device {
    device_by_name("wgpu").unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Forward of the same (trained: the output layer starts at zero) DiT weights on both devices:
/// the wgpu path (plain burn ops, no fused host kernels) equals the CPU path (fused GELU,
/// attention, rotary) within float rounding.
#[test]
fn dit_logits_match_the_cpu() {
    let _guard = lock_backend_rng();
    assert!(!is_host_device(&gpu()), "wgpu must take the non-fused path");
    let (tok, train, _) = qm9(256, 0);
    for kind in [ModelKind::Mdlm, ModelKind::Ar] {
        let (d, m) = configs(kind, &tok, 0.0);
        let mut t = Trainer::new(d, m, train_config(30), tok.vocabulary(), &cpu()).unwrap();
        t.fit(&train, None, None).unwrap();
        let m_cpu = t.model.clone();
        let m_gpu = m_cpu.clone().to_device(&gpu());
        let (b, l) = (3, SEQ_LEN);
        let n = tok.vocab_size();
        let ids: Vec<i64> = (0..b * l).map(|i| ((i * 7 + 3) % n) as i64).collect();
        let sigma = [0.1, 1.0, 3.0];
        let run = |m: &diffusion_core::dit::Dit, d: &Device| {
            to_vec_f32(m.forward(ids_tensor(&ids, b, l, d), vec_tensor(&sigma, d), None))
        };
        let (a, g) = (run(&m_cpu, &cpu()), run(&m_gpu, &gpu()));
        let scale = a.iter().fold(0f32, |s, x| s.max(x.abs()));
        assert!(
            scale > 0.1,
            "{kind:?}: logits are all near zero; the check would be empty"
        );
        let diff = max_abs_diff(&a, &g);
        eprintln!("gpu-check: {kind:?} DiT logits: max |Δ| = {diff:.2e} (max |logit| {scale:.2})");
        assert!(
            diff < 1e-3 * scale.max(1.0),
            "{kind:?}: logits differ by {diff}"
        );
    }
}

/// One training run checkpointed on the CPU and resumed on both devices: the MDLM / UDLM /
/// AR losses of the next steps, the validation NELBO and the EMA weights after them agree, and
/// the wgpu run's checkpoint loads on the CPU and back.
#[test]
fn training_steps_losses_and_checkpoints_match_the_cpu() {
    let _guard = lock_backend_rng();
    let (tok, train, val) = qm9(256, 64);
    for kind in [ModelKind::Mdlm, ModelKind::Udlm, ModelKind::Ar] {
        let (d, m) = configs(kind, &tok, 0.0);
        let dir = tmp_dir(&format!("gpu-{kind:?}"));
        let start = dir.join("start.ckpt");
        Trainer::new(d, m, train_config(4), tok.vocabulary(), &cpu())
            .unwrap()
            .save(&start)
            .unwrap();
        let mut on_cpu: Trainer = Trainer::resume(&start, &cpu()).unwrap();
        let mut on_gpu: Trainer = Trainer::resume(&start, &gpu()).unwrap();
        for step in 0..3 {
            let (a, g) = (
                on_cpu.train_step(&train).unwrap(),
                on_gpu.train_step(&train).unwrap(),
            );
            let rel = (a.loss - g.loss).abs() / a.loss.abs().max(1e-9);
            eprintln!(
                "gpu-check: {kind:?} step {step}: loss {:.6} / {:.6} (rel Δ {rel:.1e}), grad norm {:.5} / {:.5}",
                a.loss, g.loss, a.grad_norm, g.grad_norm
            );
            assert!(
                rel < 1e-3,
                "{kind:?} step {step}: loss {} vs {}",
                a.loss,
                g.loss
            );
            let rel = (a.grad_norm - g.grad_norm).abs() / a.grad_norm.max(1e-9);
            assert!(
                rel < 1e-2,
                "{kind:?} step {step}: grad norm {} vs {}",
                a.grad_norm,
                g.grad_norm
            );
        }
        let (va, vg) = (on_cpu.validate(&val), on_gpu.validate(&val));
        assert!(
            (va.nll - vg.nll).abs() < 1e-3 * va.nll,
            "{kind:?}: validation NELBO {} vs {}",
            va.nll,
            vg.nll
        );
        // Saved on wgpu, loaded on the CPU: the same validation NELBO; and back to wgpu.
        let saved = dir.join("gpu.ckpt");
        on_gpu.save(&saved).unwrap();
        let back_on_cpu: Trainer = Trainer::resume(&saved, &cpu()).unwrap();
        let vc = back_on_cpu.validate(&val);
        assert!(
            (vc.nll - vg.nll).abs() < 1e-3 * vg.nll,
            "{kind:?}: {} on wgpu, {} after loading on the CPU",
            vg.nll,
            vc.nll
        );
        let again = dir.join("cpu.ckpt");
        back_on_cpu.save(&again).unwrap();
        let back_on_gpu: Trainer = Trainer::resume(&again, &gpu()).unwrap();
        assert_eq!(back_on_gpu.step, on_gpu.step);
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// The fraction of equal tokens between two sample sets.
fn agreement(a: &[i64], b: &[i64]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// Guided sampling on both devices from the same weights and seed: the draws come from the
/// host RNG, so the samples agree except where float rounding flips a near-tied draw (after
/// which a sequence may go its own way).
#[test]
fn guided_sampling_matches_the_cpu() {
    let _guard = lock_backend_rng();
    let (tok, train, _) = qm9(400, 0);
    for kind in [ModelKind::Mdlm, ModelKind::Udlm] {
        let (d, mut m) = configs(kind, &tok, 0.0);
        m.num_classes = Some(2);
        let mut t = Trainer::new(d, m, train_config(60), tok.vocabulary(), &cpu()).unwrap();
        t.fit(&train, None, None).unwrap();
        let diffusion = t.diffusion();
        let clf = noisy_classifier(diffusion.noise(), &tok, &train, 30, &cpu());
        let (g_cpu, c_cpu) = (t.ema.model.clone(), clf);
        let (g_gpu, c_gpu) = (
            g_cpu.clone().to_device(&gpu()),
            c_cpu.clone().to_device(&gpu()),
        );
        let cfg = SamplerConfig {
            steps: 8,
            batch_size: 16,
            seed: 5,
            bos_id: Some(CharTokenizer::BOS),
            ..Default::default()
        };
        let labels = vec![1i64; 16];
        for rule in ["D-CFG", "D-CBG", "D-CFG + Ψ"] {
            let sample = |g: &diffusion_core::dit::Dit,
                          c: &diffusion_core::classifier::DitClassifier,
                          dev: &Device| {
                let guidance = match rule {
                    "D-CFG" | "D-CFG + Ψ" => Guidance {
                        cfg_gamma: Some(2.0),
                        ..Default::default()
                    },
                    _ => Guidance {
                        cbg: vec![CbgTerm {
                            classifier: c,
                            target: 1,
                            gamma: 2.0,
                            mode: CbgMode::FirstOrder,
                            reference_sigma_mismatch: false,
                        }],
                        ..Default::default()
                    },
                };
                let y = rule.starts_with("D-CFG").then_some(labels.as_slice());
                let mut cfg = cfg.clone();
                if rule.ends_with('Ψ') {
                    // The Ψ-sampler (spec §5.4) over the middle of the steps.
                    cfg.psi = Some(diffusion_core::psi::PsiConfig {
                        mode: diffusion_core::psi::PsiMode::Constant(0.5),
                        window: [0.25, 0.9],
                        loop_alpha: None,
                    });
                }
                Sampler::new(&diffusion, g, cfg, dev)
                    .unwrap()
                    .with_guidance(guidance)
                    .unwrap()
                    .sample(16, y, false)
                    .unwrap()
            };
            let (a, b) = (
                sample(&g_cpu, &c_cpu, &cpu()),
                sample(&g_gpu, &c_gpu, &gpu()),
            );
            let agree = agreement(&a.tokens, &b.tokens);
            eprintln!("gpu-check: {kind:?} {rule} γ = 2: {agree:.3} of the tokens equal");
            assert!(agree > 0.9, "{kind:?} {rule}: {agree:.3} of tokens agree");
            assert_eq!(a.nfe, b.nfe);
        }
    }
}

/// wgpu picks its adapter itself: several devices are refused with a clear error (the
/// data-parallel path is for CUDA, or threads on one CPU).
#[test]
fn several_wgpu_devices_are_a_clear_error() {
    let e = devices(Some("wgpu"), 2).unwrap_err().to_string();
    assert!(e.contains("wgpu") && e.contains("devices"), "{e}");
    assert_eq!(devices(Some("wgpu"), 1).unwrap().len(), 1);
}
