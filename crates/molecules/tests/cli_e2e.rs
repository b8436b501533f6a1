//! The `molecules` binary end to end on a real QM9 slice with tiny models: train, resume,
//! train a classifier, sample unguided / D-CBG / D-CFG, eval, sweep; and bad input gives
//! errors that name the file or key, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_molecules"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mol-cli-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    bin()
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "molecules {args:?} failed:\n{text}");
    text
}

fn fails(args: &[&str]) -> String {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "molecules {args:?} should fail");
    assert!(
        !err.contains("panicked"),
        "panic instead of an error: {err}"
    );
    err
}

const TINY: &[&str] = &[
    "--set",
    "data.path=\"datasets/molecules/qm9_first2000.csv\"",
    "--set",
    "data.max_val=64",
    "--set",
    "train.batch_size=16",
    "--set",
    "train.val_every=0",
    "--set",
    "train.checkpoint_every=2",
];

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn tiny_model() -> Vec<&'static str> {
    let mut v = TINY.to_vec();
    v.extend([
        "--set",
        "model.hidden_size=16",
        "--set",
        "model.n_blocks=1",
        "--set",
        "model.n_heads=2",
        "--set",
        "model.cond_dim=8",
    ]);
    v
}

/// GIDD (hybrid noise) trains with `--set diffusion.kind=gidd` or its config, samples with
/// D-CFG and a Ψ-sampler, and refuses a noisy classifier for D-CBG with the reason.
#[test]
fn gidd_trains_samples_and_refuses_noisy_cbg() {
    let d = tmp("gidd");
    let run = d.join("gidd");
    let r = run.to_str().unwrap();
    let mut args = vec!["train", "--config", "configs/qm9-gidd.toml", "--run-dir", r];
    args.extend(tiny_model());
    args.extend(["--label", "ring_count", "--steps", "3"]);
    let out = ok(&args);
    assert!(out.contains("validation NELBO"), "{out}");
    let resolved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(resolved.contains("kind = \"gidd\"") && resolved.contains("p_uniform = 0.1"));
    let ckpt = run.join("model.ckpt");
    let out_dir = d.join("samples");
    ok(&[
        "sample",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "-n",
        "8",
        "--steps",
        "8",
        "--guidance",
        "cfg",
        "--gamma",
        "2",
        "--psi",
        "max-capped-0.02",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    // The same model from the MDLM config by --set.
    let run2 = d.join("gidd-set");
    let mut args = vec![
        "train",
        "--config",
        "configs/qm9-mdlm.toml",
        "--run-dir",
        run2.to_str().unwrap(),
        "--set",
        "diffusion.kind=\"gidd\"",
        "--set",
        "diffusion.gidd.p_uniform=0.2",
        "--steps",
        "2",
    ];
    args.extend(tiny_model());
    ok(&args);
    let resolved = std::fs::read_to_string(run2.join("config.toml")).unwrap();
    assert!(resolved.contains("kind = \"gidd\"") && resolved.contains("p_uniform = 0.2"));
    // Options that do not apply to the hybrid process are refused, naming the field.
    let mut bad = vec![
        "train",
        "--config",
        "configs/qm9-gidd.toml",
        "--run-dir",
        "/nonexistent/never",
        "--set",
        "diffusion.discrete_steps=8",
    ];
    bad.extend(tiny_model());
    let e = fails(&bad);
    assert!(e.contains("diffusion.discrete_steps"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn train_resume_classify_sample_eval_sweep() {
    let d = tmp("e2e");
    let gen_dir = d.join("udlm");
    let g = gen_dir.to_str().unwrap();
    let mut args = vec!["train", "--config", "configs/qm9-udlm.toml", "--run-dir", g];
    args.extend(tiny_model());
    args.extend(["--label", "qed"]);
    let mut first = args.clone();
    first.extend(["--steps", "2"]);
    ok(&first);
    for f in [
        "config.toml",
        "metrics.csv",
        "model.ckpt",
        "summary.json",
        "loss.svg",
        "loss.png",
    ] {
        assert!(gen_dir.join(f).is_file(), "missing {f}");
    }
    // The resolved config records the tokenizer's facts and the overrides.
    let resolved = std::fs::read_to_string(gen_dir.join("config.toml")).unwrap();
    assert!(resolved.contains("vocab_size = ") && resolved.contains("hidden_size = 16"));
    // A second `train` into the same folder is refused; --resume continues it.
    let e = fails(&first);
    assert!(e.contains("--resume"), "{e}");
    let mut resume = args.clone();
    resume.extend(["--resume", "--steps", "4"]);
    ok(&resume);
    let summary = std::fs::read_to_string(gen_dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"steps\": 4"), "{summary}");

    let clf_dir = d.join("clf");
    let mut cargs = vec![
        "train-classifier",
        "--config",
        "configs/qm9-classifier.toml",
        "--run-dir",
        clf_dir.to_str().unwrap(),
        "--steps",
        "2",
    ];
    cargs.extend(TINY);
    cargs.extend([
        "--set",
        "classifier.backbone.hidden_size=16",
        "--set",
        "classifier.backbone.n_blocks=1",
    ]);
    ok(&cargs);

    let model = gen_dir.join("model.ckpt");
    let clf = clf_dir.join("model.ckpt");
    let (m, c) = (model.to_str().unwrap(), clf.to_str().unwrap());
    let common = [
        "-n",
        "8",
        "--steps",
        "4",
        "--quiet",
        "--reference",
        "datasets/molecules/qm9_first2000.csv",
    ];
    for (name, extra) in [
        ("none", vec![]),
        ("cfg", vec!["--guidance", "cfg", "--gamma", "2"]),
        (
            "cbg",
            vec!["--guidance", "cbg", "--classifier", c, "--gamma", "2"],
        ),
        (
            "multi",
            vec!["--guidance", "cfg", "--also-cbg", &format!("{c}:1:1.5")],
        ),
        ("prefix", vec!["--prefix", "CC"]),
        (
            "smc",
            vec![
                "--steer",
                "smc",
                "--reward",
                "qed:1,valid:0.5",
                "--particles",
                "3",
            ],
        ),
        (
            "svdd",
            vec!["--steer", "svdd", "--reward", "rings", "--candidates", "2"],
        ),
        ("best", vec!["--steer", "best-of-n", "--reward", "valid"]),
    ] {
        let out = d.join(format!("s-{name}"));
        let mut a = vec!["sample", "--checkpoint", m, "--out", out.to_str().unwrap()];
        a.extend(common);
        a.extend(extra.iter().copied());
        let text = ok(&a);
        assert!(text.contains("valid%"), "{text}");
        let smi = std::fs::read_to_string(out.join("samples.smi")).unwrap();
        assert_eq!(smi.lines().count(), 8);
        if name == "prefix" {
            assert!(smi.lines().all(|l| l.starts_with("CC")), "{smi}");
        }
        if ["smc", "svdd", "best"].contains(&name) {
            assert!(
                text.contains("steering (") && text.contains("mean reward"),
                "{text}"
            );
            let mj: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap())
                    .unwrap();
            assert!(mj["run"]["steer_stats"]["mean_reward"].is_number(), "{mj}");
        }
        assert!(out.join("metrics.json").is_file() && out.join("metrics.csv").is_file());
    }
    // Steering needs a reward the domain knows; bad steering settings name their flag.
    for (extra, want) in [
        (vec!["--steer", "smc"], "--reward"),
        (
            vec!["--steer", "smc", "--reward", "logp"],
            "unknown reward `logp`",
        ),
        (vec!["--steer", "smc", "--reward", "qed:x"], "--reward"),
        (
            vec!["--steer", "smc", "--reward", "qed", "--particles", "0"],
            "--particles",
        ),
        (
            vec!["--steer", "smc", "--reward", "qed", "--ess-threshold", "2"],
            "--ess-threshold",
        ),
    ] {
        let out = d.join("s-bad-steer");
        let mut a = vec!["sample", "--checkpoint", m, "--out", out.to_str().unwrap()];
        a.extend(common);
        a.extend(extra.iter().copied());
        let e = fails(&a);
        assert!(e.contains(want), "{extra:?}: {e}");
    }
    // `--reward classifier` is the core's: log p(target class) under a clean classifier given
    // by --reward-classifier (a noisy D-CBG classifier is refused, and so is a missing one).
    let clean_cfg = d.join("clean-classifier.toml");
    let noisy = std::fs::read_to_string(repo().join("configs/qm9-classifier.toml")).unwrap();
    let clean: String = noisy
        .lines()
        .filter(|l| !l.starts_with("noise"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&clean_cfg, clean).unwrap();
    let clean_dir = d.join("clean-clf");
    let mut cargs = vec![
        "train-classifier",
        "--config",
        clean_cfg.to_str().unwrap(),
        "--run-dir",
        clean_dir.to_str().unwrap(),
        "--steps",
        "2",
    ];
    cargs.extend(TINY);
    cargs.extend(["--set", "classifier.backbone.hidden_size=16"]);
    ok(&cargs);
    let clean_ckpt = clean_dir.join("model.ckpt");
    let steer = ["--steer", "best-of-n", "--reward", "classifier:1,valid:0.5"];
    for (reward_clf, want) in [
        (None, Err("--reward-classifier")),
        (Some(c), Err("clean classifier")),
        (Some(clean_ckpt.to_str().unwrap()), Ok("mean reward")),
    ] {
        let out = d.join("s-reward-classifier");
        let mut a = vec!["sample", "--checkpoint", m, "--out", out.to_str().unwrap()];
        a.extend(common);
        a.extend(steer);
        a.push("--force");
        if let Some(p) = reward_clf {
            a.extend(["--reward-classifier", p]);
        }
        match want {
            Ok(needle) => assert!(ok(&a).contains(needle)),
            Err(needle) => {
                let e = fails(&a);
                assert!(e.contains(needle), "{e}");
            }
        }
    }
    // Streaming: batches of 16 for 40 molecules (the last one partial) are written and scored
    // as they finish; the file and the metrics hold all 40.
    let out = d.join("s-stream");
    let text = ok(&[
        "sample",
        "--checkpoint",
        m,
        "-n",
        "40",
        "--batch-size",
        "16",
        "--steps",
        "4",
        "--quiet",
        "--reference",
        "datasets/molecules/qm9_first2000.csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("40 molecules"), "{text}");
    let smi = std::fs::read_to_string(out.join("samples.smi")).unwrap();
    assert_eq!(smi.lines().count(), 40);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["samples"], 40);
    // `--chunk` sizes exact D-CBG passes; alone it is a mistake, not silently ignored.
    let e = fails(&[
        "sample",
        "--checkpoint",
        m,
        "--guidance",
        "cbg",
        "--classifier",
        c,
        "--chunk",
        "4",
        "--out",
        d.join("s-chunk").to_str().unwrap(),
    ]);
    assert!(e.contains("--chunk") && e.contains("--exact"), "{e}");

    // Hugging Face layout: export, import, and the imported model samples the same molecules.
    let hf_dir = d.join("hf");
    ok(&[
        "export-hf",
        "--checkpoint",
        m,
        "--out",
        hf_dir.to_str().unwrap(),
    ]);
    let imported = d.join("imported.ckpt");
    ok(&[
        "import-hf",
        "--weights",
        hf_dir.join("model.safetensors").to_str().unwrap(),
        "--config",
        hf_dir.join("config.json").to_str().unwrap(),
        "--data",
        "datasets/molecules/qm9_first2000.csv",
        "--out",
        imported.to_str().unwrap(),
    ]);
    let (o1, o2) = (d.join("hf-a"), d.join("hf-b"));
    for (ck, o) in [(m, &o1), (imported.to_str().unwrap(), &o2)] {
        let mut a = vec![
            "sample",
            "--checkpoint",
            ck,
            "--guidance",
            "cfg",
            "--gamma",
            "2",
            "--out",
            o.to_str().unwrap(),
        ];
        a.extend(common);
        ok(&a);
    }
    assert_eq!(
        std::fs::read_to_string(o1.join("samples.smi")).unwrap(),
        std::fs::read_to_string(o2.join("samples.smi")).unwrap()
    );

    // Held-out perplexity of the checkpoint.
    let text = ok(&["validate", "--checkpoint", m, "--max-val", "16"]);
    assert!(text.contains("PPL"), "{text}");

    // NOS head on the generator's frozen encoder, then NOS-guided sampling.
    let nos_dir = d.join("nos");
    let mut nargs = vec![
        "train-classifier",
        "--config",
        "configs/qm9-classifier.toml",
        "--run-dir",
        nos_dir.to_str().unwrap(),
        "--nos-for",
        m,
        "--steps",
        "2",
    ];
    nargs.extend(TINY);
    ok(&nargs);
    let nos = nos_dir.join("model.ckpt");
    let out = d.join("s-nos");
    let mut a = vec![
        "sample",
        "--checkpoint",
        m,
        "--guidance",
        "nos",
        "--classifier",
        nos.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    a.extend(common);
    ok(&a);
    // A NOS head is not a D-CBG classifier.
    let mut a = vec![
        "sample",
        "--checkpoint",
        m,
        "--guidance",
        "cbg",
        "--classifier",
        nos.to_str().unwrap(),
    ];
    a.extend(common);
    let e = fails(&a);
    assert!(e.contains("model.ckpt"), "{e}");

    // AR with a causal FUDGE classifier.
    let ar_dir = d.join("ar");
    let mut aargs = vec![
        "train",
        "--config",
        "configs/qm9-ar.toml",
        "--run-dir",
        ar_dir.to_str().unwrap(),
        "--steps",
        "2",
    ];
    aargs.extend(tiny_model());
    ok(&aargs);
    let fu_dir = d.join("fudge");
    let mut fargs = vec![
        "train-classifier",
        "--config",
        "configs/qm9-fudge.toml",
        "--run-dir",
        fu_dir.to_str().unwrap(),
        "--steps",
        "2",
    ];
    fargs.extend(TINY);
    fargs.extend([
        "--set",
        "classifier.backbone.hidden_size=16",
        "--set",
        "classifier.backbone.n_blocks=1",
    ]);
    ok(&fargs);
    let out = d.join("s-fudge");
    let ar = ar_dir.join("model.ckpt");
    let fu = fu_dir.join("model.ckpt");
    let mut a = vec![
        "sample",
        "--checkpoint",
        ar.to_str().unwrap(),
        "--guidance",
        "fudge",
        "--classifier",
        fu.to_str().unwrap(),
        "--top-k",
        "5",
        "--out",
        out.to_str().unwrap(),
    ];
    a.extend(common);
    ok(&a);

    // SELFIES end to end: every sample is written as SELFIES and decoded to SMILES.
    let sf_dir = d.join("selfies");
    let mut sargs = vec![
        "train",
        "--config",
        "configs/qm9-udlm-selfies.toml",
        "--run-dir",
        sf_dir.to_str().unwrap(),
        "--steps",
        "2",
    ];
    sargs.extend(tiny_model());
    ok(&sargs);
    let out = d.join("s-selfies");
    let sf = sf_dir.join("model.ckpt");
    let mut a = vec![
        "sample",
        "--checkpoint",
        sf.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    a.extend(common);
    ok(&a);
    let written = std::fs::read_to_string(out.join("samples.selfies")).unwrap();
    assert_eq!(written.lines().count(), 8);
    assert!(
        written
            .lines()
            .filter(|l| !l.is_empty())
            .all(|l| l.starts_with('[')),
        "{written}"
    );
    let text = ok(&[
        "eval",
        "--samples",
        out.join("samples.selfies").to_str().unwrap(),
        "--format",
        "selfies",
        "--reference",
        "datasets/molecules/qm9_first2000.csv",
    ]);
    assert!(text.contains("valid%"), "{text}");

    // eval scores any file; known molecules count as valid and not novel.
    let f = d.join("mine.smi");
    std::fs::write(&f, "CCO\nC1CC\nc1ccccc1\n").unwrap();
    let text = ok(&[
        "eval",
        "--samples",
        f.to_str().unwrap(),
        "--reference",
        "datasets/molecules/qm9_first2000.csv",
    ]);
    assert!(text.contains("66.7"), "{text}");

    let sw = d.join("sweep");
    let mut a = vec![
        "sweep",
        "--checkpoint",
        m,
        "--guidance",
        "cbg",
        "--classifier",
        c,
        "--gammas",
        "0,2",
        "--out",
        sw.to_str().unwrap(),
    ];
    a.extend([
        "-n",
        "8",
        "--steps",
        "4",
        "--reference",
        "datasets/molecules/qm9_first2000.csv",
    ]);
    ok(&a);
    for f in ["sweep.csv", "sweep.md", "pareto.svg", "pareto.png"] {
        assert!(sw.join(f).is_file(), "missing {f}");
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn bad_input_names_the_problem() {
    let d = tmp("bad");
    let run_dir = d.join("r");
    let r = run_dir.to_str().unwrap();
    // Unknown key in a config file: the file and the key are named.
    let cfg = d.join("bad.toml");
    std::fs::write(
        &cfg,
        "[train]\nsteps = 1\nbatch_size = 2\nlearning_rate = 1.0\n",
    )
    .unwrap();
    let e = fails(&["train", "--config", cfg.to_str().unwrap(), "--run-dir", r]);
    assert!(e.contains("bad.toml") && e.contains("learning_rate"), "{e}");
    // Unknown key on the command line.
    let e = fails(&[
        "train",
        "--config",
        "configs/qm9-udlm.toml",
        "--run-dir",
        r,
        "--set",
        "model.hiden_size=3",
    ]);
    assert!(e.contains("hiden_size"), "{e}");
    // Malformed CSV names the line.
    let csv = d.join("bad.csv");
    std::fs::write(
        &csv,
        "canonical_smiles,qed,ring_count\nCC,0.4,0\nCO,abc,1\n",
    )
    .unwrap();
    let e = fails(&[
        "train",
        "--config",
        "configs/qm9-udlm.toml",
        "--run-dir",
        r,
        "--set",
        &format!("data.path=\"{}\"", csv.display()),
    ]);
    assert!(e.contains("bad.csv:3"), "{e}");
    // Header only: no molecules.
    std::fs::write(&csv, "canonical_smiles,qed,ring_count\n").unwrap();
    let e = fails(&[
        "train",
        "--config",
        "configs/qm9-udlm.toml",
        "--run-dir",
        r,
        "--set",
        &format!("data.path=\"{}\"", csv.display()),
    ]);
    assert!(e.contains("no molecules"), "{e}");
    // Missing and corrupt checkpoints, empty sample files.
    let e = fails(&[
        "sample",
        "--checkpoint",
        d.join("none.ckpt").to_str().unwrap(),
    ]);
    assert!(e.contains("none.ckpt"), "{e}");
    let junk = d.join("junk.ckpt");
    std::fs::write(&junk, b"not a checkpoint").unwrap();
    let e = fails(&["sample", "--checkpoint", junk.to_str().unwrap()]);
    assert!(e.contains("junk.ckpt"), "{e}");
    let empty = d.join("empty.smi");
    std::fs::write(&empty, "").unwrap();
    let e = fails(&["eval", "--samples", empty.to_str().unwrap()]);
    assert!(e.contains("empty"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

/// The bad-input gaps found by trying to break the binary (issue 18), one regression each:
/// command-line errors name the command line, out-of-range values are refused before a run
/// folder is made, nothing a user produced is replaced without `--force`, sample counts are
/// checked, negative γ parses, a D-CBG classifier of the other noise is refused, and logs
/// written to a file carry no colour codes.
#[test]
fn bad_input_gaps_are_refused_with_clear_errors() {
    let d = tmp("gaps");
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    let gen_dir = p("mdlm");
    let mut train = vec![
        "train",
        "--config",
        "configs/qm9-mdlm.toml",
        "--run-dir",
        &gen_dir,
    ];
    train.extend(tiny_model());
    // Errors in overrides name the command line, not the config file.
    for set in [
        "train.nonsense=1",
        "train.batch_size=-3",
        "train.batch_size=0",
    ] {
        let mut a = train.clone();
        a.extend(["--set", set]);
        let e = fails(&a);
        assert!(e.contains(&format!("command line (--set {set})")), "{e}");
        assert!(!e.contains("configs/qm9-mdlm.toml"), "{e}");
    }
    let mut a = train.clone();
    a.extend(["--label", "bogus"]);
    assert!(fails(&a).contains("command line"));
    let mut a = train.clone();
    a.extend(["--steps", "0"]);
    assert!(fails(&a).contains("train.steps"));
    // A bad value in a file names the file, and no run folder is left behind.
    let cfg = d.join("zero.toml");
    let text = std::fs::read_to_string(repo().join("configs/qm9-mdlm.toml"))
        .unwrap()
        .replace("batch_size = 128", "batch_size = 0");
    std::fs::write(&cfg, text).unwrap();
    let lost = p("zero-run");
    let e = fails(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--run-dir",
        &lost,
    ]);
    assert!(
        e.contains("zero.toml") && e.contains("train.batch_size"),
        "{e}"
    );
    assert!(!Path::new(&lost).exists(), "a refused run leaves no folder");

    // A tiny MDLM and a uniform-noise classifier; the training log has no colour codes.
    let mut a = train.clone();
    a.extend(["--steps", "2"]);
    let out = bin()
        .current_dir(repo())
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .args(&a)
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("INFO") && !log.contains('\u{1b}'), "{log}");
    let clf_dir = p("clf-uniform");
    let mut c = vec![
        "train-classifier",
        "--config",
        "configs/qm9-classifier.toml",
        "--run-dir",
        &clf_dir,
        "--steps",
        "2",
        "--label",
        "qed",
    ];
    c.extend(TINY);
    c.extend([
        "--set",
        "classifier.backbone.hidden_size=16",
        "--set",
        "classifier.backbone.n_blocks=1",
    ]);
    ok(&c);
    let model = format!("{gen_dir}/model.ckpt");
    let clf = format!("{clf_dir}/model.ckpt");
    let sample = |out: &str, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "sample",
            "--checkpoint",
            &model,
            "--steps",
            "2",
            "--quiet",
            "--reference",
            "datasets/molecules/qm9_first2000.csv",
            "--out",
            out,
        ]
        .map(String::from)
        .to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = p("samples");
    ok(&refs(&sample(&out, &["-n", "4", "--gamma", "-3"])));
    let before = std::fs::read_to_string(Path::new(&out).join("samples.smi")).unwrap();
    let e = fails(&refs(&sample(&out, &["-n", "2"])));
    assert!(e.contains("--force") && e.contains("samples"), "{e}");
    assert_eq!(
        std::fs::read_to_string(Path::new(&out).join("samples.smi")).unwrap(),
        before,
        "the earlier samples are untouched"
    );
    ok(&refs(&sample(&out, &["-n", "2", "--force"])));
    for (n, needle) in [("0", "at least 1"), ("1000000000000", "GiB free")] {
        let e = fails(&refs(&sample(&p(&format!("n{n}")), &["-n", n])));
        assert!(e.contains(needle), "{e}");
    }
    let e = fails(&refs(&sample(
        &p("sched"),
        &["-n", "2", "--gamma-schedule", "late:2"],
    )));
    assert!(e.contains("guidance.schedule"), "{e}");
    let cbg = ["-n", "2", "--guidance", "cbg", "--classifier", &clf];
    let e = fails(&refs(&sample(&p("cbg"), &cbg)));
    assert!(e.contains("uniform") && e.contains("absorbing"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

/// `demo` on the shipped checkpoints writes its table (one row per setting), and `--retrain`
/// trains every model it needs into `<out>/train/` with the demo's `--set` overrides.
#[test]
fn demo_uses_shipped_models_and_retrains_on_request() {
    let d = tmp("demo");
    let out = d.join("shipped").display().to_string();
    let base = ["demo", "-n", "16", "--steps", "4", "--kinds", "udlm"];
    let mut a = base.to_vec();
    a.extend(["--out", &out]);
    let text = ok(&a);
    assert!(text.contains("using shipped"), "{text}");
    let csv = std::fs::read_to_string(d.join("shipped/table.csv")).unwrap();
    // Header, unguided, D-CBG and D-CFG for two properties, best-of-4.
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(!d.join("shipped/train").exists());

    let out = d.join("retrained").display().to_string();
    let mut a = base.to_vec();
    a.extend([
        "--out",
        &out,
        "--retrain",
        "--train-steps",
        "2",
        "--set",
        "train.batch_size=8",
        "--set",
        "train.val_every=0",
    ]);
    let text = ok(&a);
    assert!(text.contains("udlm: 2 steps"), "{text}");
    let config = std::fs::read_to_string(d.join("retrained/train/udlm/config.toml")).unwrap();
    assert!(config.contains("batch_size = 8"), "{config}");
    assert!(
        d.join("retrained/train/udlm-classifier-qed/model.ckpt")
            .is_file()
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// Every shipped config of the domain reads as `train` reads it (unknown keys refused).
#[test]
fn shipped_configs_parse() {
    type Experiment = diffusion_core::app::ExperimentConfig<molecules::config::DataConfig>;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let read = Experiment::load_all(&dir, &["qm9-"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(read.len() >= 10, "{read:?}");
}
