//! The `images` binary end to end with tiny models on 60 shipped MNIST digits at 7×7: train
//! MDLM / UDLM generators and clean / noisy classifiers for two steps, sample with D-CFG, D-CBG
//! and inpainting, score with `eval`, sweep γ and T, and reject bad input (corrupt IDX, unknown
//! config key, missing file, wrong-size PNG) with errors that name the file or key.

use images::idx::read_idx;
use images::tokenizer::PixelTokenizer;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_images");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn images(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = images(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "images {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The error text of a command that must fail cleanly (exit 1, no panic).
fn fails(args: &[&str]) -> String {
    let out = images(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "images {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Tiny data and models: 60 digits at 7×7 (L = 49), 4 levels, one DiT block of 16.
const DATA: [&str; 8] = [
    "--set",
    "data.max_images=60",
    "--set",
    "data.downsample=4",
    "--set",
    "data.val_fraction=0.2",
    "--set",
    "train.batch_size=4",
];
const GEN: [&str; 8] = [
    "--set",
    "model.hidden_size=16",
    "--set",
    "model.n_blocks=1",
    "--set",
    "model.n_heads=2",
    "--set",
    "model.cond_dim=16",
];
const CLF: [&str; 8] = [
    "--set",
    "classifier.backbone.hidden_size=16",
    "--set",
    "classifier.backbone.n_blocks=1",
    "--set",
    "classifier.backbone.n_heads=2",
    "--set",
    "classifier.backbone.cond_dim=16",
];

fn train(cmd: &str, config: &str, run: &Path, extra: &[&str]) -> String {
    let run_s = run.display().to_string();
    let mut args = vec![cmd, "--config", config, "--steps", "2", "--run-dir", &run_s];
    args.extend(DATA);
    args.extend(if cmd == "train" { GEN } else { CLF });
    args.extend(extra);
    ok(&args)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn train_sample_guide_inpaint_eval_sweep() {
    let dir = std::env::temp_dir().join(format!("images-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Generators.
    let out = train("train", "configs/mnist-mdlm.toml", &dir.join("mdlm"), &[]);
    assert!(
        out.contains("bits per dimension") && out.contains("L = 49"),
        "{out}"
    );
    for f in [
        "config.toml",
        "metrics.csv",
        "model.ckpt",
        "checkpoints/last.ckpt",
        "summary.json",
    ] {
        assert!(dir.join("mdlm").join(f).is_file(), "no {f}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("mdlm/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["steps"], 2);
    assert_eq!(summary["data"]["images"], 60);
    assert!(summary["validation"]["bpc"].as_f64().unwrap() > 0.0);
    train("train", "configs/mnist-udlm.toml", &dir.join("udlm"), &[]);
    // A second `train` into a folder that holds a run is refused.
    let mut again = vec!["train", "--config", "configs/mnist-mdlm.toml", "--run-dir"];
    let mdlm_dir = s(&dir.join("mdlm"));
    again.push(&mdlm_dir);
    fails(&again);

    // Classifiers: clean (evaluation) and noisy (D-CBG for MDLM).
    let out = train(
        "train-classifier",
        "configs/mnist-eval-classifier.toml",
        &dir.join("eval"),
        &[],
    );
    assert!(out.contains("clean (evaluation) classifier"), "{out}");
    let out = train(
        "train-classifier",
        "configs/mnist-classifier.toml",
        &dir.join("noisy"),
        &[],
    );
    assert!(out.contains("noisy (D-CBG)"), "{out}");

    let mdlm = s(&dir.join("mdlm/model.ckpt"));
    let udlm = s(&dir.join("udlm/model.ckpt"));
    let eval = s(&dir.join("eval/model.ckpt"));
    let noisy = s(&dir.join("noisy/model.ckpt"));

    // D-CFG for every class, scored by the evaluation classifier.
    let cfg_out = dir.join("cfg");
    let out = ok(&[
        "sample",
        "--checkpoint",
        &mdlm,
        "--guidance",
        "cfg",
        "--gamma",
        "2",
        "-n",
        "2",
        "--steps",
        "4",
        "--eval-classifier",
        &eval,
        "--out",
        &s(&cfg_out),
        "--quiet",
    ]);
    assert!(out.contains("20 images"), "{out}");
    let imgs = read_idx(&cfg_out.join("samples-images-idx3-ubyte")).unwrap();
    assert_eq!(imgs.dims, vec![20, 7, 7]);
    let labels = read_idx(&cfg_out.join("samples-labels-idx1-ubyte")).unwrap();
    assert_eq!(
        labels.data,
        (0..10u8).flat_map(|c| [c, c]).collect::<Vec<_>>()
    );
    // 4 levels: only bin centres appear.
    assert!(imgs.data.iter().all(|v| [32, 96, 160, 224].contains(v)));
    let grid = image::open(cfg_out.join("grid.png")).unwrap();
    // 10 rows × 2 columns of 7×7 cells upscaled 4× with 2-pixel gaps.
    assert_eq!((grid.width(), grid.height()), (2 + 2 * 30, 2 + 10 * 30));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cfg_out.join("metrics.json")).unwrap())
            .unwrap();
    assert!(m["metrics"]["fid"].as_f64().unwrap().is_finite());
    let acc = m["metrics"]["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
    let is = m["metrics"]["inception_score"].as_f64().unwrap();
    assert!((1.0..=10.0).contains(&is), "{is}");

    // `eval` on the folder gives the numbers `sample` recorded.
    let out = ok(&[
        "eval",
        "--samples",
        &s(&cfg_out),
        "--eval-classifier",
        &eval,
    ]);
    let fid = format!("{:.2}", m["metrics"]["fid"].as_f64().unwrap());
    assert!(out.contains(&fid), "{out} lacks FID {fid}");

    // Reward steering without guidance aims each class group at its class: the images carry
    // their intended labels and are scored against them.
    let steer_out = dir.join("steer");
    let out = ok(&[
        "sample",
        "--checkpoint",
        &mdlm,
        "--class",
        "3",
        "-n",
        "2",
        "--steps",
        "4",
        "--steer",
        "best-of-n",
        "--particles",
        "2",
        "--reward",
        "classifier",
        "--reward-classifier",
        &eval,
        "--eval-classifier",
        &eval,
        "--out",
        &s(&steer_out),
        "--quiet",
    ]);
    assert!(out.contains("2 images"), "{out}");
    let labels = read_idx(&steer_out.join("samples-labels-idx1-ubyte")).unwrap();
    assert_eq!(labels.data, vec![3, 3]);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(steer_out.join("metrics.json")).unwrap())
            .unwrap();
    assert!(m["metrics"]["accuracy"].as_f64().is_some(), "{m}");

    // NOS: a head on the DiT generator's hidden states, then NOS-guided samples of one class.
    let out = train(
        "train-classifier",
        "configs/mnist-eval-classifier.toml",
        &dir.join("nos"),
        &["--nos-for", &mdlm],
    );
    assert!(out.contains("NOS head for"), "{out}");
    let nos_out = dir.join("nos-samples");
    let out = ok(&[
        "sample",
        "--checkpoint",
        &mdlm,
        "--guidance",
        "nos",
        "--classifier",
        &s(&dir.join("nos/model.ckpt")),
        "--class",
        "7",
        "-n",
        "2",
        "--steps",
        "4",
        "--out",
        &s(&nos_out),
        "--quiet",
    ]);
    assert!(out.contains("2 images"), "{out}");
    let labels = read_idx(&nos_out.join("samples-labels-idx1-ubyte")).unwrap();
    assert_eq!(labels.data, vec![7, 7]);

    // D-CBG toward one class with the noisy classifier.
    let cbg_out = dir.join("cbg");
    ok(&[
        "sample",
        "--checkpoint",
        &mdlm,
        "--guidance",
        "cbg",
        "--classifier",
        &noisy,
        "--gamma",
        "2",
        "--class",
        "3",
        "-n",
        "3",
        "--steps",
        "4",
        "--out",
        &s(&cbg_out),
        "--quiet",
    ]);
    let labels = read_idx(&cbg_out.join("samples-labels-idx1-ubyte")).unwrap();
    assert_eq!(labels.data, vec![3, 3, 3]);

    // Inpainting keeps the given pixels, for MDLM and UDLM: the top 3 rows of a digit are known.
    let tok = PixelTokenizer::new(4, 1, 7, 7).unwrap();
    let given: Vec<u8> = (0..49).map(|i| ((i * 37) % 256) as u8).collect();
    let img_png = dir.join("given.png");
    let mask_png = dir.join("mask.png");
    image::GrayImage::from_raw(7, 7, given.clone())
        .unwrap()
        .save(&img_png)
        .unwrap();
    image::GrayImage::from_fn(7, 7, |_, y| image::Luma([if y < 3 { 255 } else { 0 }]))
        .save(&mask_png)
        .unwrap();
    for (name, ckpt) in [("mdlm", &mdlm), ("udlm", &udlm)] {
        let o = dir.join(format!("inpaint-{name}"));
        ok(&[
            "sample",
            "--checkpoint",
            ckpt,
            "--inpaint",
            &s(&img_png),
            "--inpaint-mask",
            &s(&mask_png),
            "-n",
            "2",
            "--class",
            "1",
            "--guidance",
            "cfg",
            "--steps",
            "4",
            "--out",
            &s(&o),
            "--quiet",
        ]);
        let got = read_idx(&o.join("samples-images-idx3-ubyte")).unwrap();
        assert_eq!(got.dims, vec![2, 7, 7]);
        for img in got.data.chunks(49) {
            for p in 0..21 {
                assert_eq!(img[p], tok.value(tok.bin(given[p])), "{name}: pixel {p}");
            }
        }
    }

    // Sweep over γ and T: table, grids and plots.
    let sw = dir.join("sweep");
    ok(&[
        "sweep",
        "--checkpoint",
        &udlm,
        "--guidance",
        "cfg",
        "--gammas",
        "0,2",
        "--steps",
        "2,3",
        "-n",
        "1",
        "--eval-classifier",
        &eval,
        "--out",
        &s(&sw),
    ]);
    let csv = std::fs::read_to_string(sw.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    for f in [
        "fid.svg",
        "fid.png",
        "is.png",
        "accuracy.svg",
        "T3-gamma2/grid.png",
    ] {
        assert!(sw.join(f).is_file(), "sweep: no {f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_are_errors_naming_the_file_or_key() {
    let dir = std::env::temp_dir().join(format!("images-cli-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A truncated gzip IDX as the image file.
    let src = std::fs::read(repo().join("datasets/images/mnist10k-images-idx3-ubyte.gz")).unwrap();
    let cut = dir.join("cut-images-idx3-ubyte.gz");
    std::fs::write(&cut, &src[..5000]).unwrap();
    let path = format!("data.path=\"{}\"", cut.display());
    let labels = "data.labels=\"datasets/images/mnist10k-labels-idx1-ubyte.gz\"";
    let run = s(&dir.join("run"));
    let e = fails(&[
        "train",
        "--config",
        "configs/mnist-mdlm.toml",
        "--set",
        &path,
        "--set",
        labels,
        "--run-dir",
        &run,
    ]);
    assert!(
        e.contains(&cut.display().to_string()) && e.contains("gzip"),
        "{e}"
    );

    // Unknown and ill-typed config keys.
    let e = fails(&[
        "train",
        "--config",
        "configs/mnist-mdlm.toml",
        "--set",
        "data.colours=3",
    ]);
    assert!(e.contains("data.colours"), "{e}");
    let e = fails(&[
        "train",
        "--config",
        "configs/mnist-udlm.toml",
        "--set",
        "data.levels=\"many\"",
    ]);
    assert!(e.contains("data.levels"), "{e}");
    let e = fails(&[
        "train",
        "--config",
        "configs/mnist-mdlm.toml",
        "--set",
        "data.levels=300",
        "--run-dir",
        &s(&dir.join("run2")),
    ]);
    assert!(e.contains("data.levels") && e.contains("2..=256"), "{e}");

    // Missing files.
    let e = fails(&["sample", "--checkpoint", "/nonexistent/model.ckpt"]);
    assert!(e.contains("/nonexistent/model.ckpt"), "{e}");
    let e = fails(&["train", "--config", "configs/no-such-config.toml"]);
    assert!(e.contains("no-such-config.toml"), "{e}");
    let e = fails(&[
        "eval",
        "--samples",
        "/nonexistent/samples-images-idx3-ubyte",
        "--eval-classifier",
        "/nonexistent/eval.ckpt",
    ]);
    assert!(e.contains("/nonexistent/eval.ckpt"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The UNet backbone through the whole CLI: train (14×14, two scales, ch 8) and resume, sample
/// unguided and with D-CFG, score, sweep T, report; DiT-only and bad settings are errors.
#[test]
fn unet_train_resume_sample_cfg_sweep_report() {
    let dir = std::env::temp_dir().join(format!("images-cli-unet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = dir.join("udlm-unet");
    let tiny = [
        "--set",
        "data.max_images=60",
        "--set",
        "data.val_fraction=0.2",
        "--set",
        "train.batch_size=4",
        "--set",
        "unet.ch=8",
    ];
    let mut args = vec![
        "train",
        "--config",
        "configs/mnist-udlm-unet.toml",
        "--steps",
        "2",
        "--run-dir",
    ];
    let run_s = s(&run);
    args.push(&run_s);
    args.extend(tiny);
    let out = ok(&args);
    assert!(
        out.contains("Udlm (UNet) step 2") && out.contains("L = 196"),
        "{out}"
    );
    let cfg = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        cfg.contains("[unet]") && cfg.contains("height = 14"),
        "{cfg}"
    );
    // Resume continues the same UNet run (the checkpoint says it is one).
    let mut again = args.clone();
    again[4] = "3";
    again.push("--resume");
    let out = ok(&again);
    assert!(out.contains("Udlm (UNet) step 3"), "{out}");

    // A clean evaluation classifier at the same size.
    let eval_dir = dir.join("eval");
    let mut c = vec![
        "train-classifier",
        "--config",
        "configs/mnist-eval-classifier.toml",
        "--steps",
        "2",
        "--run-dir",
    ];
    let eval_s = s(&eval_dir);
    c.push(&eval_s);
    c.extend(&tiny[..6]);
    c.extend(CLF);
    ok(&c);
    let eval = s(&eval_dir.join("model.ckpt"));

    let ckpt = s(&run.join("model.ckpt"));
    // NOS works on a DiT's hidden states: refused for a UNet, with the reason.
    let mut nos = c.clone();
    let nos_dir = s(&dir.join("nos"));
    nos[6] = &nos_dir;
    nos.extend(["--nos-for", &ckpt]);
    let e = fails(&nos);
    assert!(e.contains("DiT") && e.contains("UNet"), "{e}");
    let cfg_out = dir.join("cfg");
    let out = ok(&[
        "sample",
        "--checkpoint",
        &ckpt,
        "--guidance",
        "cfg",
        "--gamma",
        "3",
        "-n",
        "2",
        "--steps",
        "4",
        "--eval-classifier",
        &eval,
        "--out",
        &s(&cfg_out),
        "--quiet",
    ]);
    assert!(out.contains("20 images"), "{out}");
    let imgs = read_idx(&cfg_out.join("samples-images-idx3-ubyte")).unwrap();
    assert_eq!(imgs.dims, vec![20, 14, 14]);
    assert!(imgs.data.iter().all(|v| [32, 96, 160, 224].contains(v)));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cfg_out.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(m["run"]["backbone"], "UNet");
    assert!(m["metrics"]["fid"].as_f64().unwrap().is_finite());
    ok(&[
        "sample",
        "--checkpoint",
        &ckpt,
        "-n",
        "1",
        "--steps",
        "3",
        "--out",
        &s(&dir.join("none")),
        "--quiet",
    ]);
    ok(&[
        "eval",
        "--samples",
        &s(&cfg_out),
        "--eval-classifier",
        &eval,
    ]);
    let sweep = dir.join("sweep");
    ok(&[
        "sweep",
        "--checkpoint",
        &ckpt,
        "--guidance",
        "cfg",
        "--gammas",
        "1",
        "--steps",
        "2,3",
        "-n",
        "1",
        "--eval-classifier",
        &eval,
        "--out",
        &s(&sweep),
    ]);
    let md = std::fs::read_to_string(sweep.join("sweep.md")).unwrap();
    assert!(md.contains("T = 2") && md.contains("T = 3"), "{md}");
    let out = ok(&["report", &s(&run)]);
    assert!(!out.is_empty());

    // A UNet that the image size cannot take, and a config with both backbones, name the key.
    let mut bad = vec![
        "train",
        "--config",
        "configs/mnist-udlm-unet.toml",
        "--steps",
        "1",
        "--set",
        "unet.ch_mult=[1,2,2,2]",
        "--run-dir",
    ];
    let bad_dir = s(&dir.join("bad"));
    bad.push(&bad_dir);
    bad.extend(tiny);
    let err = fails(&bad);
    assert!(err.contains("unet.ch_mult"), "{err}");
    let both_dir = s(&dir.join("both"));
    let err = fails(&[
        "train",
        "--config",
        "configs/mnist-udlm-unet.toml",
        "--set",
        "model.hidden_size=16",
        "--set",
        "model.n_blocks=1",
        "--set",
        "model.n_heads=2",
        "--run-dir",
        &both_dir,
    ]);
    assert!(err.contains("[unet]"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `demo` on the shipped checkpoints: the table has the real-images row and, per model, the
/// unguided and guided rows; the grids are written and nothing is trained.
#[test]
fn demo_runs_on_the_shipped_models() {
    let out = std::env::temp_dir().join(format!("images-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = out.display().to_string();
    let text = ok(&[
        "demo", "-n", "1", "--steps", "4", "--kinds", "udlm", "--out", &o,
    ]);
    assert!(text.contains("using shipped"), "{text}");
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(table.contains("| real training images"), "{table}");
    assert!(table.contains("| udlm unguided"), "{table}");
    assert!(out.join("grid-udlm.png").is_file());
    assert!(!out.join("train").exists());
    let _ = std::fs::remove_dir_all(&out);
}

/// Every shipped config of the domain reads as `train` reads it (unknown keys refused).
#[test]
fn shipped_configs_parse() {
    type Experiment = diffusion_core::app::ExperimentConfig<images::config::DataConfig>;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let read = Experiment::load_all(&dir, &["mnist-", "cifar", "fashion-"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(read.len() >= 8, "{read:?}");
}
