//! Shared set-up for the integration tests: a real QM9 slice, char-tokenized.

#![allow(dead_code)]

use diffusion_core::classifier::{Classifier, ClassifierConfig, DitClassifier, Pooling};
use diffusion_core::diffusion::{DiffusionConfig, ModelKind};
use diffusion_core::dit::DitConfig;
use diffusion_core::domain::{CharTokenizer, SequenceDataset, TokenSequences, Tokenizer};
use diffusion_core::forward::Noise;
use diffusion_core::train::lr::LrSchedule;
use diffusion_core::train::{TrainConfig, Trainer};
use std::path::PathBuf;

pub const SEQ_LEN: usize = 24;

pub fn qm9_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/molecules/qm9_first2000.csv")
}

/// (tokenizer, train, validation) from the first 2,000 QM9 molecules; labels = ring_count ≥ 1.
pub fn qm9(n_train: usize, n_val: usize) -> (CharTokenizer, TokenSequences, TokenSequences) {
    let text = std::fs::read_to_string(qm9_path()).expect("datasets/molecules/qm9_first2000.csv");
    let rows: Vec<(String, i64)> = text
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f[1].to_string(), (f[3].parse::<i64>().unwrap() >= 1) as i64)
        })
        .collect();
    let tok = CharTokenizer::fit(rows.iter().map(|r| r.0.as_str()));
    // Interleave so both splits cover the whole (size-ordered) slice.
    let mut train = TokenSequences::new(SEQ_LEN);
    let mut val = TokenSequences::new(SEQ_LEN);
    for (i, (s, y)) in rows.iter().enumerate() {
        let ids = tok.encode(s, SEQ_LEN).unwrap();
        if i % 10 == 9 {
            if val.len() < n_val {
                val.push(&ids, Some(*y)).unwrap();
            }
        } else if train.len() < n_train {
            train.push(&ids, Some(*y)).unwrap();
        }
    }
    train.num_classes = Some(2);
    val.num_classes = Some(2);
    (tok, train, val)
}

pub fn configs(kind: ModelKind, tok: &CharTokenizer, dropout: f64) -> (DiffusionConfig, DitConfig) {
    let sp = tok.special_ids();
    let d = DiffusionConfig::new(kind, tok.vocab_size(), SEQ_LEN, sp.mask, sp.pad);
    let m = DitConfig {
        causal: kind == ModelKind::Ar,
        dropout,
        cond_dim: 32,
        ..DitConfig::new(tok.vocab_size(), 32, 2, 2)
    };
    (d, m)
}

pub fn train_config(steps: usize) -> TrainConfig {
    TrainConfig {
        lr: 3e-3,
        lr_schedule: LrSchedule::ConstantWarmup { warmup: 0 },
        ..TrainConfig::new(steps, 32)
    }
}

pub fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gdd-test-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The backend RNG (dropout masks) is process-global: tests that train take this lock so
/// that concurrently running tests do not reseed it under each other.
pub static BACKEND_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn lock_backend_rng() -> std::sync::MutexGuard<'static, ()> {
    BACKEND_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// A noisy (D-CBG) classifier of `noise` for the ring-closure label, trained for `steps` on
/// `device`.
pub fn noisy_classifier(
    noise: Noise,
    tok: &CharTokenizer,
    train: &TokenSequences,
    steps: usize,
    device: &burn::prelude::Device,
) -> DitClassifier {
    let sp = tok.special_ids();
    let cfg = ClassifierConfig {
        backbone: DitConfig {
            dropout: 0.0,
            cond_dim: 32,
            ..DitConfig::new(tok.vocab_size(), 32, 2, 2)
        },
        num_classes: 2,
        pooling: Pooling::Mean,
        noise: Some(noise),
        schedule: Default::default(),
        time_conditioning: false,
        seq_len: SEQ_LEN,
        mask_id: sp.mask,
        sampling_eps: 1e-3,
        antithetic: true,
        pad_id: None,
    };
    let tc = diffusion_core::train::TrainConfig {
        lr: 3e-3,
        lr_schedule: LrSchedule::ConstantWarmup { warmup: 0 },
        ..diffusion_core::train::TrainConfig::new(steps, 32)
    };
    let mut t =
        Trainer::with_objective(Classifier::new(cfg), tc, tok.vocabulary(), device).unwrap();
    t.fit(train, None, None).unwrap();
    t.ema.model.clone()
}
