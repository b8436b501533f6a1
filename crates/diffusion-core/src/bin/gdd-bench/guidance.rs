//! The guidance benchmark of `gdd-bench`: the per-step cost of D-CFG, first-order and exact
//! D-CBG against unguided sampling (UDLM, class-conditional model, a noisy classifier).

use crate::{Args, emit};
use diffusion_core::classifier::{Classifier, ClassifierConfig, DitClassifier, Pooling};
use diffusion_core::diffusion::{Diffusion, DiffusionConfig, ModelKind};
use diffusion_core::dit::{Dit, DitConfig};
use diffusion_core::forward::Noise;
use diffusion_core::guidance::{CbgMode, CbgTerm, Guidance};
use diffusion_core::sampler::{Sampler, SamplerConfig};
use diffusion_core::train::Objective;
use std::time::Instant;

/// Per-step cost of guided sampling relative to unguided (UDLM, class-conditional model, a
/// noisy classifier of the same size as the generator).
pub fn guidance(a: &Args, m: &DitConfig, mask: i64, device: &burn::prelude::Device) {
    let d = DiffusionConfig::new(ModelKind::Udlm, a.vocab, a.seq_len, mask, None);
    let diffusion = Diffusion::new(d).expect("config");
    let mut cm = m.clone();
    cm.num_classes = Some(2);
    let mut model = cm.init(device);
    model.output_linear = burn::nn::LinearConfig::new(a.hidden, a.vocab).init(device);
    // The reference pairs a `small` generator with a `tiny` classifier (about 0.3× its compute);
    // by default the classifier here has 3 of the generator's 8 blocks (0.375×).
    let backbone = DitConfig {
        n_blocks: a.clf_blocks,
        hidden_size: a.clf_hidden.unwrap_or(m.hidden_size),
        ..m.clone()
    };
    emit(
        a,
        format!(
            "guidance config: UDLM, class-conditional generator as above; noisy DiT classifier hidden={} blocks={} heads={}; γ=2",
            backbone.hidden_size, backbone.n_blocks, backbone.n_heads
        ),
        serde_json::json!({
            "bench": "guidance_config",
            "model": "udlm",
            "classifier_hidden": backbone.hidden_size,
            "classifier_blocks": backbone.n_blocks,
            "classifier_heads": backbone.n_heads,
            "gamma": 2.0,
        }),
    );
    let clf_cfg = ClassifierConfig {
        backbone,
        num_classes: 2,
        pooling: Pooling::Mean,
        noise: Some(Noise::Uniform),
        schedule: Default::default(),
        time_conditioning: false,
        seq_len: a.seq_len,
        mask_id: mask,
        sampling_eps: 1e-3,
        antithetic: true,
        pad_id: None,
    };
    let clf: DitClassifier = Classifier::new(clf_cfg).init(device);
    time_guidance(a, &diffusion, &model, &clf, device);
}

/// The generator and classifier being timed.
struct Bench<'a> {
    a: &'a Args,
    diffusion: &'a Diffusion,
    model: &'a Dit,
    clf: &'a DitClassifier,
    device: &'a burn::prelude::Device,
}

impl Bench<'_> {
    /// Seconds per reverse step of `n` class-1 samples over `steps` steps under `g`.
    fn time(&self, g: Guidance<'_>, n: usize, steps: usize) -> f64 {
        let cfg = SamplerConfig {
            steps,
            batch_size: self.a.n_samples,
            seed: 1,
            ..Default::default()
        };
        let s = Sampler::new(self.diffusion, self.model, cfg, self.device)
            .expect("sampler")
            .with_guidance(g)
            .expect("guidance");
        let labels = vec![1i64; n];
        let start = Instant::now();
        s.sample(n, Some(&labels), false).expect("sample");
        start.elapsed().as_secs_f64() / steps as f64
    }

    /// A D-CBG term towards class 1 at γ = 2.
    fn term(&self, mode: CbgMode) -> CbgTerm<'_> {
        CbgTerm {
            classifier: self.clf,
            target: 1,
            gamma: 2.0,
            mode,
            reference_sigma_mismatch: false,
        }
    }

    /// One guidance measurement as JSON, with its ratio to the unguided step `base`.
    fn record(&self, mode: &str, secs: f64, n: usize, base: f64) -> serde_json::Value {
        serde_json::json!({
            "bench": "guidance",
            "model": "udlm",
            "mode": mode,
            "T": self.a.sample_steps,
            "samples": n,
            "ms_per_step": 1000.0 * secs,
            "x_unguided": secs / base,
        })
    }
}

/// Times unguided, D-CFG, first-order and exact D-CBG sampling steps of `model` guided by
/// `clf`, and prints each against the unguided step.
fn time_guidance(
    a: &Args,
    diffusion: &Diffusion,
    model: &Dit,
    clf: &DitClassifier,
    device: &burn::prelude::Device,
) {
    let b = Bench {
        a,
        diffusion,
        model,
        clf,
        device,
    };
    let (n, t) = (a.n_samples, a.sample_steps);
    let base = b.time(Guidance::default(), n, t);
    let cfg_step = b.time(
        Guidance {
            cfg_gamma: Some(2.0),
            ..Default::default()
        },
        n,
        t,
    );
    let fo = b.time(
        Guidance {
            cbg: vec![b.term(CbgMode::FirstOrder)],
            ..Default::default()
        },
        n,
        t,
    );
    emit(
        a,
        format!(
            "guidance udlm unguided (conditional): {:.1} ms/step",
            1000.0 * base
        ),
        b.record("unguided", base, n, base),
    );
    emit(
        a,
        format!(
            "guidance udlm D-CFG γ=2: {:.1} ms/step ({:.2}× unguided)",
            1000.0 * cfg_step,
            cfg_step / base
        ),
        b.record("cfg", cfg_step, n, base),
    );
    emit(
        a,
        format!(
            "guidance udlm D-CBG first-order: {:.1} ms/step ({:.2}× unguided)",
            1000.0 * fo,
            fo / base
        ),
        b.record("cbg_first_order", fo, n, base),
    );
    time_exact(&b, base);
}

/// Exact D-CBG: L·N edits per sample per step; timed on a few samples for 2 steps and
/// extrapolated linearly (the cost per step does not depend on t for uniform noise).
fn time_exact(b: &Bench, base: f64) {
    let a = b.a;
    let n_exact = a.exact_samples.min(a.n_samples);
    let exact_mode = match a.exact_chunk {
        Some(chunk) => CbgMode::Exact { chunk },
        None => CbgMode::exact(a.seq_len),
    };
    let exact = b.time(
        Guidance {
            cbg: vec![b.term(exact_mode)],
            ..Default::default()
        },
        n_exact,
        2,
    );
    let per_sample_step = exact / n_exact as f64;
    let extrapolated_min = per_sample_step * 1024.0 * a.sample_steps as f64 / 60.0;
    let mut rec = b.record("cbg_exact", exact, n_exact, base);
    rec["timed_steps"] = 2.into();
    if let CbgMode::Exact { chunk } = exact_mode {
        rec["chunk"] = chunk.into();
    }
    rec["ms_per_sample_step"] = (1000.0 * per_sample_step).into();
    // Unguided cost per sample and step, for a per-sample ratio.
    rec["x_unguided_per_sample"] = (per_sample_step / (base / a.n_samples as f64)).into();
    rec["extrapolated_1024_samples_min"] = extrapolated_min.into();
    emit(
        a,
        format!(
            "guidance udlm D-CBG exact: {:.2} s/step for {} samples; extrapolated 1,024 samples × {} steps: {:.1} min",
            exact, n_exact, a.sample_steps, extrapolated_min
        ),
        rec,
    );
}
