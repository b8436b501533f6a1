//! The `text` binary end to end on a small slice of the shipped corpus with tiny models: train
//! two steps (AR, MDLM, UDLM), validate (prints the BPC `train` recorded), sample n lines,
//! resume, and reject unknown config keys by name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_text");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = text(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "text {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The first 40,000 characters of the shipped corpus as a plain-text file.
fn small_corpus(dir: &Path) -> PathBuf {
    let full = text::corpus::load_corpus(
        &repo().join("datasets/text/text8style_austen_shakespeare.txt.gz"),
        false,
    )
    .unwrap();
    let p = dir.join("small.txt");
    std::fs::write(&p, &full[..40_000]).unwrap();
    p
}

const TINY: [&str; 16] = [
    "--set",
    "data.seq_len=32",
    "--set",
    "model.hidden_size=16",
    "--set",
    "model.n_blocks=1",
    "--set",
    "model.n_heads=2",
    "--set",
    "model.cond_dim=16",
    "--set",
    "train.batch_size=4",
    "--set",
    "train.val_batches=1",
    "--set",
    "train.checkpoint_every=0",
];

/// The number after `BPC ` in a line of output.
fn bpc(out: &str) -> f64 {
    let rest = out.split("BPC ").nth(1).expect("output names the BPC");
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn train_validate_sample_resume_and_reject_unknown_keys() {
    let dir = std::env::temp_dir().join(format!("text-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let corpus = small_corpus(&dir);
    let data = format!("data.path={}", corpus.display());

    for kind in ["ar", "mdlm", "udlm"] {
        let run = dir.join(kind);
        let config = format!("configs/text8-{kind}.toml");
        let mut args = vec!["train", "--config", &config, "--set", &data];
        args.extend(TINY);
        let run_s = run.display().to_string();
        args.extend(["--steps", "2", "--run-dir", &run_s]);
        let out = ok(&args);
        let trained = bpc(&out);
        assert!(trained.is_finite() && trained > 0.0, "{out}");
        for f in [
            "config.toml",
            "metrics.csv",
            "metrics.jsonl",
            "model.ckpt",
            "checkpoints/last.ckpt",
            "summary.json",
        ] {
            assert!(run.join(f).is_file(), "{kind}: no {f}");
        }
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["steps"], 2);
        assert_eq!(summary["data"]["val_chunks"], 62, "2,000 characters / 32");

        // validate: whole validation split, same number as train recorded.
        let ckpt = run.join("model.ckpt").display().to_string();
        let out = ok(&["validate", "--checkpoint", &ckpt]);
        assert!(out.contains("62 validation chunks of 32"), "{out}");
        assert!((bpc(&out) - trained).abs() < 1e-3, "{out} vs {trained}");

        // sample: n lines of text in the alphabet.
        let samples = dir.join(format!("{kind}-samples.txt"));
        let s = samples.display().to_string();
        ok(&[
            "sample",
            "--checkpoint",
            &ckpt,
            "-n",
            "3",
            "--steps",
            "4",
            "--out",
            &s,
            "--quiet",
        ]);
        let lines = std::fs::read_to_string(&samples).unwrap();
        assert_eq!(lines.lines().count(), 3, "{lines:?}");
        assert!(
            lines
                .chars()
                .all(|c| c == '\n' || text::tokenizer::ALPHABET.contains(c))
        );
    }

    // A second run into the same folder is refused; --resume continues it from its own config.
    let run = dir.join("udlm").display().to_string();
    let out = text(&[
        "train",
        "--config",
        "configs/text8-udlm.toml",
        "--run-dir",
        &run,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
    ok(&["train", "--resume", "--run-dir", &run, "--steps", "3"]);
    let summary = std::fs::read_to_string(dir.join("udlm/summary.json")).unwrap();
    assert!(summary.contains("\"steps\": 3"), "{summary}");

    // An unknown key is an error naming it.
    let out = text(&[
        "train",
        "--config",
        "configs/text8-udlm.toml",
        "--set",
        "train.stpes=3",
        "--run-dir",
        &dir.join("never").display().to_string(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stpes"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
