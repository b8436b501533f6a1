//! Classifiers: a clean (oracle) classifier learns the ring label of real QM9 SMILES, its
//! checkpoint round-trips, and kinds are not confused; multi-objective guidance composes as a
//! product of tempered terms.

mod common;

use common::*;
use diffusion_core::backend::default_device;
use diffusion_core::classifier::{Classifier, ClassifierConfig, Pooling};
use diffusion_core::diffusion::ModelKind;
use diffusion_core::dit::DitConfig;
use diffusion_core::domain::{CharTokenizer, Tokenizer};
use diffusion_core::forward::Noise;
use diffusion_core::guidance::{CbgMode, CbgTerm, Guidance};
use diffusion_core::sampler::{Sampler, SamplerConfig};
use diffusion_core::tensor_util::{ids_tensor, to_vec_f32, vec_tensor};
use diffusion_core::train::lr::LrSchedule;
use diffusion_core::train::{Generator, TrainConfig, Trainer, load_objective};

fn classifier_config(
    tok: &CharTokenizer,
    noise: Option<Noise>,
    pooling: Pooling,
) -> ClassifierConfig {
    ClassifierConfig {
        backbone: DitConfig {
            dropout: 0.0,
            cond_dim: 32,
            ..DitConfig::new(tok.vocab_size(), 32, 2, 2)
        },
        num_classes: 2,
        pooling,
        noise,
        schedule: Default::default(),
        time_conditioning: noise.is_some(),
        seq_len: SEQ_LEN,
        mask_id: tok.special_ids().mask,
        sampling_eps: 1e-3,
        antithetic: true,
        pad_id: None,
    }
}

fn tc(steps: usize) -> TrainConfig {
    TrainConfig {
        lr: 3e-3,
        lr_schedule: LrSchedule::ConstantWarmup { warmup: 0 },
        ..TrainConfig::new(steps, 32)
    }
}

#[test]
fn clean_classifier_learns_and_its_checkpoint_roundtrips() {
    let _guard = lock_backend_rng();
    let device = default_device();
    let (tok, train, val) = qm9(1500, 150);
    let obj = Classifier::new(classifier_config(&tok, None, Pooling::Max));
    let mut t = Trainer::with_objective(obj, tc(200), tok.vocabulary(), &device).unwrap();
    let hist = t.fit(&train, Some(&val), None).unwrap();
    let acc = hist.last().unwrap().accuracy.unwrap();
    assert!(acc > 0.8, "held-out accuracy {acc}");

    let dir = tmp_dir("classifier-ckpt");
    let ck = dir.join("clf.ckpt");
    t.save(&ck).unwrap();
    let loaded = load_objective::<Classifier>(&ck, &device, true).unwrap();
    let z = ids_tensor(&val.tokens[..4 * SEQ_LEN], 4, SEQ_LEN, &device);
    let sigma = vec_tensor(&[0.0; 4], &device);
    let a = to_vec_f32(t.ema.model.log_probs(z.clone(), sigma.clone()));
    let b = to_vec_f32(loaded.model.log_probs(z, sigma));
    assert_eq!(a, b);
    let err = load_objective::<Generator>(&ck, &device, true)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("classifier") && err.contains("clf.ckpt"),
        "{err}"
    );
    // Unlabelled data is refused with a clear error.
    let mut unlabelled = train.clone();
    unlabelled.labels = None;
    let e = t.train_step(&unlabelled).err().unwrap().to_string();
    assert!(e.contains("labels"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Two terms with strengths γ₁ and γ₂ on the same classifier and target are the single term
/// with γ₁ + γ₂ (p^γ₁ · p^γ₂); CFG and CBG combine in one run, reproducibly.
#[test]
fn multi_objective_terms_multiply() {
    let _guard = lock_backend_rng();
    let device = default_device();
    let (tok, train, _) = qm9(400, 0);
    let (d, mut m) = configs(ModelKind::Udlm, &tok, 0.0);
    m.num_classes = Some(2);
    let mut g = Trainer::new(d, m, train_config(20), tok.vocabulary(), &device).unwrap();
    g.fit(&train, None, None).unwrap();
    let obj = Classifier::new(classifier_config(&tok, Some(Noise::Uniform), Pooling::Mean));
    let mut c = Trainer::with_objective(obj, tc(20), tok.vocabulary(), &device).unwrap();
    c.fit(&train, None, None).unwrap();
    let clf = c.ema.model.clone();
    let diffusion = g.diffusion();
    let cfg = SamplerConfig {
        steps: 12,
        batch_size: 16,
        seed: 3,
        ..Default::default()
    };
    let term = |gamma: f64| CbgTerm {
        classifier: &clf,
        target: 0,
        gamma,
        mode: CbgMode::FirstOrder,
        reference_sigma_mismatch: false,
    };
    let run = |terms: Vec<CbgTerm<'_>>, cfg_gamma: Option<f64>| {
        Sampler::new(&diffusion, &g.ema.model, cfg.clone(), &device)
            .unwrap()
            .with_guidance(Guidance {
                cfg_gamma,
                cbg: terms,
                ..Default::default()
            })
            .unwrap()
            .sample(16, Some(&[0; 16]), false)
            .unwrap()
            .tokens
    };
    let split = run(vec![term(1.5), term(2.5)], None);
    let joint = run(vec![term(4.0)], None);
    let same = split.iter().zip(&joint).filter(|(a, b)| a == b).count();
    assert!(
        same as f64 >= 0.99 * split.len() as f64,
        "{same} of {} tokens agree",
        split.len()
    );
    let both = run(vec![term(2.0)], Some(2.0));
    assert_eq!(both, run(vec![term(2.0)], Some(2.0)));
    assert_ne!(both, run(vec![term(2.0)], None));
}
