//! Checkpoints: a training process killed with SIGKILL resumes from its last checkpoint with
//! the losses the uninterrupted run has; corrupt or mismatched checkpoints give clear errors.

mod common;

use common::*;
use diffusion_core::backend::default_device;
use diffusion_core::checkpoint::CheckpointFile;
use diffusion_core::diffusion::ModelKind;
use diffusion_core::dit::DitConfig;
use diffusion_core::domain::Tokenizer;
use diffusion_core::train::{Generator, Trainer, load_for_inference};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "GDD_KILL_TEST_DIR";

/// In the child: train with a checkpoint after every step, slowly, until killed.
fn child(dir: &str) {
    let device = default_device();
    let (tok, train, _) = qm9(300, 0);
    let (d, m) = configs(ModelKind::Mdlm, &tok, 0.1);
    let mut t = Trainer::new(d, m, train_config(1000), tok.vocabulary(), &device).unwrap();
    let ck = std::path::Path::new(dir).join("last.ckpt");
    loop {
        t.train_step(&train).unwrap();
        t.save(&ck).unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[test]
fn sigkilled_run_resumes_with_identical_losses() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let _guard = lock_backend_rng();
    let dir = tmp_dir("kill9");
    let ck = dir.join("last.ckpt");
    let mut proc = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigkilled_run_resumes_with_identical_losses",
            "--nocapture",
        ])
        .env(CHILD_ENV, &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let step = loop {
        if let Ok(c) = CheckpointFile::load(&ck) {
            let s: usize = c.field("step", &ck).unwrap();
            if s >= 3 {
                break s;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "child made no progress"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    proc.kill().unwrap(); // SIGKILL on Unix
    proc.wait().unwrap();

    let device = default_device();
    let mut resumed = Trainer::<Generator>::resume(&ck, &device).unwrap();
    let s0 = resumed.step;
    assert!(s0 >= step);
    let (tok, train, _) = qm9(300, 0);
    let resumed_losses: Vec<f64> = (0..3)
        .map(|_| resumed.train_step(&train).unwrap().loss)
        .collect();

    let (d, m) = configs(ModelKind::Mdlm, &tok, 0.1);
    let mut straight = Trainer::new(d, m, train_config(1000), tok.vocabulary(), &device).unwrap();
    let all: Vec<f64> = (0..s0 + 3)
        .map(|_| straight.train_step(&train).unwrap().loss)
        .collect();
    assert_eq!(&all[s0..], &resumed_losses[..]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn corrupt_and_mismatched_checkpoints_are_clear_errors() {
    let _guard = lock_backend_rng();
    let device = default_device();
    let (tok, train, _) = qm9(100, 0);
    let (d, m) = configs(ModelKind::Udlm, &tok, 0.0);
    let mut t = Trainer::new(d, m.clone(), train_config(2), tok.vocabulary(), &device).unwrap();
    t.train_step(&train).unwrap();
    let dir = tmp_dir("corrupt");
    let ck = dir.join("model.ckpt");
    t.save(&ck).unwrap();

    let loaded = load_for_inference(&ck, &device, true, Some(&m)).unwrap();
    assert_eq!(loaded.step, 1);
    assert_eq!(loaded.vocabulary, tok.vocabulary());

    let mut other = m.clone();
    other.hidden_size = 64;
    let err = load_for_inference(&ck, &device, true, Some(&other))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("hidden_size") && err.contains("model.ckpt"),
        "{err}"
    );

    let bytes = std::fs::read(&ck).unwrap();
    std::fs::write(&ck, &bytes[..bytes.len() / 2]).unwrap();
    let err = Trainer::<Generator>::resume(&ck, &device)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("model.ckpt"), "{err}");

    let missing = dir.join("nope.ckpt");
    let err = load_for_inference(&missing, &device, true, None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("nope.ckpt"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Exported (weights-only) files keep the domain metadata, load for inference, refuse to be
/// resumed, and initialise a fine-tuning run; a different shape is refused by name.
#[test]
fn export_metadata_and_init_from() {
    let _guard = lock_backend_rng();
    let device = default_device();
    let dir = tmp_dir("export");
    let (tok, train, _) = qm9(64, 0);
    let (d, m) = configs(ModelKind::Udlm, &tok, 0.0);
    // A fresh two-step run of this objective with backbone `model`.
    let trainer = |model: &DitConfig| {
        Trainer::new(
            d.clone(),
            model.clone(),
            train_config(2),
            tok.vocabulary(),
            &device,
        )
        .unwrap()
    };
    let mut t = trainer(&m);
    t.metadata = serde_json::json!({"representation": "smiles"});
    t.train_step(&train).unwrap();
    let exported = dir.join("model.ckpt");
    t.export(&exported).unwrap();
    let full = dir.join("last.ckpt");
    t.save(&full).unwrap();
    assert!(std::fs::metadata(&exported).unwrap().len() < std::fs::metadata(&full).unwrap().len());
    let loaded = load_for_inference(&exported, &device, true, None).unwrap();
    assert_eq!(loaded.metadata["representation"], "smiles");
    assert_eq!(loaded.step, 1);
    let e = Trainer::<Generator>::resume(&exported, &device)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("--init-from"), "{e}");

    // Fine-tuning starts from the exported EMA weights: the first loss equals the loss of the
    // exported weights, not of a fresh initialisation.
    let mut ft = trainer(&m);
    let fresh = ft.evaluate(&ft.ema.model.clone(), &train).nll;
    ft.init_from(&exported).unwrap();
    let from_export = ft.evaluate(&ft.ema.model.clone(), &train).nll;
    let reference = t.evaluate(&t.ema.model.clone(), &train).nll;
    assert!(
        (from_export - reference).abs() < 1e-5,
        "{from_export} vs {reference}"
    );
    assert!((fresh - reference).abs() > 1e-4);

    // A class-conditional run starts from the unconditional weights with a zero class
    // embedding: for every class (and the null class) it is the unconditional model.
    let mut cond = m.clone();
    cond.num_classes = Some(2);
    let mut ft = trainer(&cond);
    let fresh = ft.evaluate(&ft.ema.model.clone(), &train).nll;
    ft.init_from(&exported).unwrap();
    let conditional = ft.evaluate(&ft.ema.model.clone(), &train).nll;
    assert!(
        (conditional - reference).abs() < 1e-5,
        "{conditional} vs {reference}"
    );
    assert!((fresh - reference).abs() > 1e-4);
    // ... and trains on from there.
    ft.train_step(&train).unwrap();
    let after = ft.evaluate(&ft.model.clone(), &train).nll;
    assert!((after - conditional).abs() > 1e-6);
    // The way back (an unconditional run from a conditional file) is refused by name.
    let cond_file = dir.join("cond.ckpt");
    ft.export(&cond_file).unwrap();
    let mut unc = trainer(&m);
    let e = unc.init_from(&cond_file).unwrap_err().to_string();
    assert!(e.contains("num_classes"), "{e}");

    let mut other = m.clone();
    other.hidden_size = 64;
    let mut bad = trainer(&other);
    let e = bad.init_from(&exported).unwrap_err().to_string();
    assert!(e.contains("model.hidden_size"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A run killed after its metrics passed the last checkpoint logs each step once after the
/// resume (rows past the checkpoint's step are dropped), and keeps the best-by-validation EMA
/// weights in `model-best.ckpt` across the resume.
#[test]
fn resume_truncates_metrics_and_keeps_the_best_model() {
    let _guard = lock_backend_rng();
    let device = default_device();
    let dir = tmp_dir("resume-metrics");
    let (tok, train, val) = qm9(64, 32);
    let (d, m) = configs(ModelKind::Mdlm, &tok, 0.0);
    let mut cfg = train_config(2);
    cfg.val_every = 1;
    cfg.checkpoint_every = 2;
    let mut t = Trainer::new(d, m, cfg, tok.vocabulary(), &device).unwrap();
    t.fit(&train, Some(&val), Some(&dir)).unwrap();
    let ck = dir.join("checkpoints").join("last.ckpt");
    let at_two = dir.join("at-two.ckpt");
    std::fs::copy(&ck, &at_two).unwrap();
    let best = t.best_val.expect("validated");
    assert!(dir.join("model-best.ckpt").exists());
    // Two more steps, then "killed": the checkpoint on disk goes back to step 2.
    t.set_total_steps(4);
    t.fit(&train, Some(&val), Some(&dir)).unwrap();
    let rows = |split: &str| -> Vec<String> {
        std::fs::read_to_string(dir.join("metrics.csv"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with(split))
            // Every column but the timing (tokens/s).
            .map(|l| {
                let mut f: Vec<&str> = l.split(',').collect();
                f.remove(5);
                f.join(",")
            })
            .collect()
    };
    let uninterrupted = rows("train,");
    assert_eq!(uninterrupted.len(), 4);
    std::fs::copy(&at_two, &ck).unwrap();
    let mut r = Trainer::<Generator>::resume(&ck, &device).unwrap();
    assert_eq!(
        r.best_val,
        Some(best),
        "the best validation survives the resume"
    );
    r.set_total_steps(4);
    r.fit(&train, Some(&val), Some(&dir)).unwrap();
    assert_eq!(rows("train,"), uninterrupted, "each step once, same losses");
    assert_eq!(rows("val,").len(), 4);
    let jsonl = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), 8);
    let best_ck = CheckpointFile::load(&dir.join("model-best.ckpt")).unwrap();
    let step: usize = best_ck.field("step", &dir.join("model-best.ckpt")).unwrap();
    assert_eq!(Some(step), r.best_val.map(|(s, _)| s));
    std::fs::remove_dir_all(&dir).ok();
}
