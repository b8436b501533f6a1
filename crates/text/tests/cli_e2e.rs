//! The `text` binary end to end on a small slice of the shipped corpus with tiny models: train
//! two steps (AR, MDLM, UDLM), validate (prints the BPC `train` recorded), sample n lines,
//! resume, and reject unknown config keys by name; `demo` on the shipped f16 checkpoints and
//! `demo --train` on tiny models.

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

/// The BPC a command printed (`train` and `validate`: "… = x bits per character").
fn bpc(out: &str) -> f64 {
    let before = out.split(" bits per character").next().unwrap();
    let word = before
        .split_whitespace()
        .last()
        .expect("output names the BPC");
    word.parse().unwrap()
}

/// Any domain trains the core's dilated-convolution backbone from a `[conv]` section: text
/// trains a conv MDLM, `validate` prints the number `train` recorded, `sample` decodes it.
#[test]
fn conv_backbone_trains_validates_and_samples() {
    let dir = std::env::temp_dir().join(format!("text-conv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let corpus = small_corpus(&dir);
    let config = dir.join("conv.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\npath = {:?}\nseq_len = 32\n\n[diffusion]\nkind = \"mdlm\"\n\n\
             [conv]\nhidden_size = 16\ncond_dim = 16\nmax_dilation = 4\nn_cycles = 1\n\n\
             [train]\nsteps = 2\nbatch_size = 4\nval_batches = 1\ncheckpoint_every = 0\n",
            corpus.display().to_string()
        ),
    )
    .unwrap();
    let run = dir.join("run");
    let (config_s, run_s) = (config.display().to_string(), run.display().to_string());
    let out = ok(&["train", "--config", &config_s, "--run-dir", &run_s]);
    assert!(out.contains("dilated-convolution"), "{out}");
    let trained = bpc(&out);
    let ckpt = run.join("model.ckpt").display().to_string();
    let out = ok(&["validate", "--checkpoint", &ckpt]);
    assert!(out.contains("dilated-convolution"), "{out}");
    assert!((bpc(&out) - trained).abs() < 1e-3, "{out} vs {trained}");
    let samples = dir.join("samples.txt").display().to_string();
    ok(&[
        "sample",
        "--checkpoint",
        &ckpt,
        "-n",
        "3",
        "--steps",
        "4",
        "--out",
        &samples,
    ]);
    let lines = std::fs::read_to_string(&samples).unwrap();
    assert_eq!(lines.lines().count(), 3, "{lines}");
    assert!(
        lines
            .chars()
            .all(|c| c == '\n' || text::tokenizer::ALPHABET.contains(c)),
        "{lines}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_validate_sample_resume_and_reject_unknown_keys() {
    let dir = std::env::temp_dir().join(format!("text-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let corpus = small_corpus(&dir);
    let data = format!("data.path={}", corpus.display());

    for kind in ["ar", "mdlm", "udlm", "gidd"] {
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
        assert!(out.contains("on 62 held-out sequences of L = 32"), "{out}");
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
        // --prefix: every sample starts with the prompt; a character outside the alphabet and
        // a prompt longer than a sample are refused.
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
            "--force",
            "--prefix",
            "the cat ",
        ]);
        let lines = std::fs::read_to_string(&samples).unwrap();
        assert!(
            lines.lines().all(|l| l.starts_with("the cat")),
            "{kind}: {lines:?}"
        );
        // The run record beside the samples (the core's `sample`).
        let record = std::fs::read_to_string(samples.with_extension("json")).unwrap();
        let run: serde_json::Value = serde_json::from_str(&record).unwrap();
        assert_eq!(run["prefix"], "the cat ", "{record}");
        assert!(run["nfe"].as_u64().is_some_and(|n| n > 0), "{record}");
        for (prefix, want) in [("The", "'T'"), (&"a".repeat(40)[..], "40 characters")] {
            let out = text(&[
                "sample",
                "--checkpoint",
                &ckpt,
                "--out",
                &s,
                "--force",
                "--prefix",
                prefix,
            ]);
            let e = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success() && e.contains(want), "{e}");
        }
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

/// The rows `| kind | … | BPC | paper |` of a demo table: (kind, BPC).
fn table_rows(table: &str) -> Vec<(String, f64)> {
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| model"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let n = cells.len();
            (cells[1].to_string(), cells[n - 3].parse().unwrap())
        })
        .collect()
}

/// `demo` reads the shipped checkpoints (f16 files), validates each on the held-out split of
/// the given text and samples from each; its BPC is the one `validate` prints for the file.
#[test]
fn demo_reports_the_shipped_checkpoints() {
    let dir = std::env::temp_dir().join(format!("text-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let corpus = small_corpus(&dir).display().to_string();
    for kind in ["ar", "mdlm", "udlm"] {
        let header = diffusion_core::checkpoint::CheckpointFile::read_header(
            &repo().join(format!("checkpoints/text/{kind}.ckpt")),
        )
        .unwrap();
        assert_eq!(header["weights_dtype"], "f16", "{kind}");
    }
    let out = dir.join("demo").display().to_string();
    let stdout = ok(&[
        "demo",
        "--data",
        &corpus,
        "--samples",
        "2",
        "--sample-steps",
        "4",
        "--out",
        &out,
    ]);
    assert_eq!(stdout.matches("using shipped").count(), 3, "{stdout}");
    let table = std::fs::read_to_string(dir.join("demo/table.md")).unwrap();
    let rows = table_rows(&table);
    assert_eq!(
        rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["ar", "mdlm", "udlm"],
        "{table}"
    );
    // Trained models beat the uniform guess over 27 characters by a wide margin.
    for (kind, b) in &rows {
        assert!(
            b.is_finite() && *b > 0.5 && *b < 4.0,
            "{kind}: {b}\n{table}"
        );
    }
    let samples = std::fs::read_to_string(dir.join("demo/samples.txt")).unwrap();
    assert_eq!(samples.lines().count(), 6, "{samples}");
    let validated = ok(&[
        "validate",
        "--checkpoint",
        "checkpoints/text/mdlm.ckpt",
        "--data",
        &corpus,
    ]);
    assert!(
        (bpc(&validated) - rows[1].1).abs() < 1e-3,
        "{validated}\n{table}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `demo --retrain` trains its own tiny models and reports them the same way; a later demo
/// into the same folder without shipped checkpoints reuses them.
#[test]
fn demo_trains_its_own_tiny_models() {
    let dir = std::env::temp_dir().join(format!("text-demo-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = format!("data.path={}", small_corpus(&dir).display());
    let out = dir.join("demo").display().to_string();
    let mut args = vec![
        "demo",
        "--retrain",
        "--steps",
        "2",
        "--kinds",
        "mdlm,udlm,gidd",
        "--samples",
        "1",
        "--sample-steps",
        "2",
        "--out",
        &out,
        "--set",
        &data,
    ];
    args.extend(TINY);
    ok(&args);
    let table = std::fs::read_to_string(dir.join("demo/table.md")).unwrap();
    let rows = table_rows(&table);
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows.iter().all(|r| r.1.is_finite()), "{table}");
    assert!(dir.join("demo/train/mdlm/model.ckpt").is_file());
    // The tiny MDLM trains on the plain masked cross-entropy (see the demo's TINY_MDLM).
    let config = std::fs::read_to_string(dir.join("demo/train/mdlm/config.toml")).unwrap();
    assert!(config.contains("simple_ce = true"), "{config}");
    // A second run into the same folder, with no shipped checkpoints, reuses the three models.
    let none = dir.join("none").display().to_string();
    args[1] = "--checkpoints";
    args.insert(2, &none);
    let again = ok(&args);
    assert_eq!(
        again.matches("from an earlier demo run").count(),
        3,
        "{again}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("demo/table.md")).unwrap(),
        table
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `train --init-from` a shipped f16 checkpoint: the run starts from its weights (step 0's
/// loss is the shipped model's, far below a fresh model's) and a config of another shape is
/// refused, naming the field.
#[test]
fn fine_tune_from_a_shipped_f16_checkpoint() {
    let dir = std::env::temp_dir().join(format!("text-finetune-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = format!("data.path={}", small_corpus(&dir).display());
    let run = dir.join("ft").display().to_string();
    let common = [
        "--set",
        &data,
        "--set",
        "train.val_every=0",
        "--set",
        "train.val_batches=1",
        "--set",
        "train.checkpoint_every=0",
        "--steps",
        "1",
    ];
    let mut args = vec![
        "train",
        "--config",
        "configs/text8-release-udlm.toml",
        "--init-from",
        "checkpoints/text/udlm.ckpt",
        "--run-dir",
        &run,
    ];
    args.extend(common);
    let out = ok(&args);
    // One step of lr warm-up barely moves the shipped weights: the BPC stays that of a
    // trained model (a fresh one is near log2(32) = 5).
    assert!(bpc(&out) < 4.0, "{out}");

    let mut args = vec![
        "train",
        "--config",
        "configs/text8-udlm.toml",
        "--init-from",
        "checkpoints/text/udlm.ckpt",
        "--run-dir",
    ];
    let other = dir.join("other").display().to_string();
    args.push(&other);
    args.extend(common);
    let out = text(&args);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("udlm.ckpt") && e.contains("model.dropout"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Every shipped config of the domain reads as `train` reads it (unknown keys refused).
#[test]
fn shipped_configs_parse() {
    type Experiment = diffusion_core::app::ExperimentConfig<text::config::DataConfig>;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let read = Experiment::load_all(&dir, &["text8-"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(read.len() >= 8, "{read:?}");
}
