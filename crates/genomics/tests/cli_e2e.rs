//! The `genomics` binary end to end with tiny models on slices of two shipped genomes
//! (H. pylori and C. trachomatis, the first 24 kbp of each): train, resume, the oracle and a
//! noisy classifier, a NOS head, sampling unguided / D-CFG / D-CBG / NOS with a pinned motif,
//! eval, sweep with the random row; and bad input gives errors that name the file, key or
//! species, never a panic.

mod common;

use common::*;

fn small_model(prefix: &str) -> Vec<String> {
    [
        format!("{prefix}.hidden_size=32"),
        format!("{prefix}.n_blocks=1"),
        format!("{prefix}.n_heads=2"),
        format!("{prefix}.cond_dim=16"),
    ]
    .into_iter()
    .flat_map(|s| ["--set".to_string(), s])
    .collect()
}

#[test]
fn train_sample_guide_and_score_end_to_end() {
    let tmp = std::env::temp_dir().join(format!("gen-cli-{}", std::process::id()));
    std::fs::remove_dir_all(&tmp).ok();
    let manifest = slice_manifest(&tmp.join("data"));
    let t = tiny(&manifest);
    let p = |s: &str| tmp.join(s).display().to_string();
    let (udlm, oracle, clf, nos, ar) = (p("udlm"), p("oracle"), p("clf"), p("nos"), p("ar"));
    let udlm_ckpt = format!("{udlm}/model.ckpt");
    let oracle_ckpt = format!("{oracle}/model.ckpt");

    // Generator: train, then resume to more steps.
    let m = small_model("model");
    let mut extra = t.clone();
    extra.extend(m.clone());
    ok(&args(
        &[
            "train",
            "--config",
            "configs/species-udlm.toml",
            "--run-dir",
            &udlm,
            "--steps",
            "3",
        ],
        &extra,
    ));
    let out = ok(&args(
        &[
            "train",
            "--config",
            "configs/species-udlm.toml",
            "--run-dir",
            &udlm,
            "--resume",
            "--steps",
            "5",
        ],
        &extra,
    ));
    assert!(out.contains("step 5"), "{out}");
    let config = std::fs::read_to_string(tmp.join("udlm/config.toml")).expect("resolved config");
    assert!(
        config.contains("seq_len = 33") && config.contains("num_classes = 2"),
        "{config}"
    );

    // Oracle (clean) and a noisy classifier; the oracle's held-out report is printed.
    let mut ce = t.clone();
    ce.extend(small_model("classifier.backbone"));
    let out = ok(&args(
        &[
            "train-classifier",
            "--config",
            "configs/species-oracle.toml",
            "--run-dir",
            &oracle,
            "--steps",
            "4",
        ],
        &ce,
    ));
    assert!(out.contains("held-out test split: accuracy"), "{out}");
    ok(&args(
        &[
            "train-classifier",
            "--config",
            "configs/species-classifier-uniform.toml",
            "--run-dir",
            &clf,
            "--steps",
            "3",
        ],
        &ce,
    ));
    ok(&args(
        &[
            "train-classifier",
            "--config",
            "configs/species-classifier-uniform.toml",
            "--run-dir",
            &nos,
            "--nos-for",
            &udlm_ckpt,
            "--steps",
            "3",
        ],
        &ce,
    ));

    // Sampling: D-CFG with a pinned motif, D-CBG, NOS.
    let fa = p("cfg.fa");
    ok(&[
        "sample",
        "--checkpoint",
        &udlm_ckpt,
        "--guidance",
        "cfg",
        "--gamma",
        "2",
        "--per-species",
        "3",
        "--steps",
        "8",
        "--motif",
        "5:TATAAT",
        "--out",
        &fa,
        "--quiet",
    ]);
    let samples = genomics::read_samples(&fa).expect("FASTA written by sample");
    assert_eq!(samples.len(), 6);
    for s in &samples {
        assert_eq!(s.seq.len(), 32);
        assert_eq!(&s.seq[5..11], b"TATAAT", "the motif is kept");
    }
    assert_eq!(samples[0].species, "hpylori");
    assert_eq!(samples[5].species, "ctrachomatis");
    let record = std::path::Path::new(&fa).with_extension("json");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).expect("run record")).unwrap();
    assert_eq!(
        (run["guidance"].as_str(), run["gamma"].as_f64()),
        (Some("cfg"), Some(2.0))
    );
    assert_eq!(
        run["species"],
        serde_json::json!(["hpylori", "ctrachomatis"])
    );
    assert!(run["nfe"].as_u64().is_some_and(|n| n > 0), "{run}");
    ok(&[
        "sample",
        "--checkpoint",
        &udlm_ckpt,
        "--guidance",
        "cbg",
        "--classifier",
        &format!("{clf}/model.ckpt"),
        "--species",
        "ctrachomatis",
        "--per-species",
        "2",
        "--steps",
        "4",
        "--out",
        &p("cbg.fa"),
        "--quiet",
    ]);
    assert_eq!(
        genomics::read_samples(p("cbg.fa"))
            .expect("cbg FASTA")
            .len(),
        2
    );
    ok(&[
        "sample",
        "--checkpoint",
        &udlm_ckpt,
        "--guidance",
        "nos",
        "--classifier",
        &format!("{nos}/model.ckpt"),
        "--per-species",
        "1",
        "--steps",
        "4",
        "--out",
        &p("nos.fa"),
        "--quiet",
    ]);

    // Eval of the FASTA, with the discriminator, as JSON.
    let json = p("scores.json");
    let out = ok(&[
        "eval",
        "--samples",
        &fa,
        "--oracle",
        &oracle_ckpt,
        "--disc-epochs",
        "1",
        "--json",
        &json,
    ]);
    assert!(out.contains("Oracle F1"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("scores")).expect("json");
    for k in ["js3", "js6", "macro_f1", "mcc", "accuracy"] {
        let x = v[k].as_f64().unwrap_or(f64::NAN);
        assert!(
            (0.0..=1.0).contains(&x) || (k == "mcc" && x.abs() <= 1.0),
            "{k} = {x}"
        );
    }
    assert!(v["auroc"].as_f64().is_some());
    let fbd = v["fbd"].as_f64().unwrap_or(f64::NAN);
    assert!(fbd.is_finite() && fbd > 0.0, "fbd = {fbd}");
    assert!(
        out.contains("Fréchet distance on the oracle's features"),
        "{out}"
    );

    // Sweep with the random row.
    let sweep = p("sweep");
    ok(&[
        "sweep",
        "--checkpoint",
        &udlm_ckpt,
        "--guidance",
        "cfg",
        "--gammas",
        "1,3",
        "--oracle",
        &oracle_ckpt,
        "--per-species",
        "2",
        "--steps",
        "4",
        "--no-discriminator",
        "--random-row",
        "--out",
        &sweep,
    ]);
    let md = std::fs::read_to_string(tmp.join("sweep/sweep.md")).expect("sweep table");
    assert!(
        md.contains("| Random |")
            && md.contains("| Real (test windows) |")
            && md.contains("CFG γ=3"),
        "{md}"
    );
    assert!(md.contains("Oracle held-out accuracy: 0."), "{md}");
    let csv = std::fs::read_to_string(tmp.join("sweep/sweep.csv")).expect("sweep csv");
    assert!(
        csv.lines().next().is_some_and(|h| h.ends_with(",mcc,fbd")),
        "{csv}"
    );

    // An oracle trained on overlapping, reverse-complemented windows scores against the same
    // plain reference windows: every row's k-mer JS columns are unchanged.
    let oracle2 = p("oracle-overlap");
    let mut ce2 = ce.clone();
    ce2.extend(
        [
            "--set",
            "data.windows.stride=8",
            "--set",
            "data.windows.reverse_complement=true",
        ]
        .map(String::from),
    );
    ok(&args(
        &[
            "train-classifier",
            "--config",
            "configs/species-oracle.toml",
            "--run-dir",
            &oracle2,
            "--steps",
            "2",
        ],
        &ce2,
    ));
    let sweep2 = p("sweep2");
    let oracle2_ckpt = format!("{oracle2}/model.ckpt");
    ok(&[
        "sweep",
        "--checkpoint",
        &udlm_ckpt,
        "--guidance",
        "cfg",
        "--gammas",
        "1,3",
        "--oracle",
        &oracle2_ckpt,
        "--per-species",
        "2",
        "--steps",
        "4",
        "--no-discriminator",
        "--random-row",
        "--out",
        &sweep2,
    ]);
    let md2 = std::fs::read_to_string(tmp.join("sweep2/sweep.md")).expect("sweep table");
    let js = |md: &str| -> Vec<String> {
        md.lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Model"))
            .map(|l| l.split('|').skip(4).take(2).collect::<Vec<_>>().join("|"))
            .collect()
    };
    assert_eq!(js(&md), js(&md2), "{md}\n{md2}");

    // AR with D-CFG.
    let mut ae = t.clone();
    ae.extend(m);
    ok(&args(
        &[
            "train",
            "--config",
            "configs/species-ar.toml",
            "--run-dir",
            &ar,
            "--steps",
            "2",
            "--devices",
            "2",
            "--set",
            "train.grad_accum=2",
        ],
        &ae,
    ));
    ok(&[
        "sample",
        "--checkpoint",
        &format!("{ar}/model.ckpt"),
        "--guidance",
        "cfg",
        "--gamma",
        "2",
        "--per-species",
        "2",
        "--out",
        &p("ar.fa"),
        "--quiet",
    ]);
    let ar_samples = genomics::read_samples(p("ar.fa")).expect("AR FASTA");
    assert!(ar_samples.iter().all(|s| s.seq.len() == 32));

    // FUDGE for the AR model: a causal per-position species classifier, then guided decoding.
    let fudge = p("fudge");
    ok(&args(
        &[
            "train-classifier",
            "--config",
            "configs/species-fudge.toml",
            "--run-dir",
            &fudge,
            "--steps",
            "3",
        ],
        &ce,
    ));
    ok(&[
        "sample",
        "--checkpoint",
        &format!("{ar}/model.ckpt"),
        "--guidance",
        "fudge",
        "--classifier",
        &format!("{fudge}/model.ckpt"),
        "--gamma",
        "2",
        "--top-k",
        "3",
        "--per-species",
        "2",
        "--out",
        &p("fudge.fa"),
        "--quiet",
    ]);
    let fudge_samples = genomics::read_samples(p("fudge.fa")).expect("FUDGE FASTA");
    assert_eq!(fudge_samples.len(), 4);
    assert!(fudge_samples.iter().all(|s| s.seq.len() == 32));
    // A FUDGE classifier cannot guide a diffusion model, and says so.
    let e = fails(&[
        "sample",
        "--checkpoint",
        &udlm_ckpt,
        "--guidance",
        "fudge",
        "--classifier",
        &format!("{fudge}/model.ckpt"),
        "--per-species",
        "1",
        "--out",
        &p("bad-fudge.fa"),
    ]);
    assert!(e.to_lowercase().contains("fudge"), "{e}");

    // Bad input: errors that name what is wrong.
    let e = fails(&args(
        &[
            "train",
            "--config",
            "configs/species-udlm.toml",
            "--run-dir",
            &p("bad"),
            "--set",
            "data.windowz=3",
        ],
        &[],
    ));
    assert!(e.contains("windowz"), "{e}");
    let e = fails(&[
        "sample",
        "--checkpoint",
        &udlm_ckpt,
        "--species",
        "nessie",
        "--out",
        &p("x.fa"),
    ]);
    assert!(e.contains("nessie"), "{e}");
    let e = fails(&[
        "sample",
        "--checkpoint",
        &udlm_ckpt,
        "--motif",
        "30:TATAAT",
        "--out",
        &p("x.fa"),
    ]);
    assert!(e.contains("--motif"), "{e}");
    let e = fails(&["sample", "--checkpoint", &oracle_ckpt, "--out", &p("x.fa")]);
    assert!(e.contains("oracle/model.ckpt"), "{e}");
    let stranger = p("stranger.fa");
    std::fs::write(&stranger, ">sample_0 species=yeti class=0\nACGT\n").expect("write");
    let e = fails(&[
        "eval",
        "--samples",
        &stranger,
        "--oracle",
        &oracle_ckpt,
        "--no-discriminator",
    ]);
    assert!(e.contains("yeti"), "{e}");
    // Headers naming the species only are what `eval` reads; species and class must agree.
    let by_name = p("by-name.fa");
    let window = "ACGT".repeat(8);
    std::fs::write(
        &by_name,
        format!(">a species=hpylori\n{window}\n>b species=ctrachomatis\n{window}\n"),
    )
    .expect("write");
    let out = ok(&[
        "eval",
        "--samples",
        &by_name,
        "--oracle",
        &oracle_ckpt,
        "--no-discriminator",
    ]);
    assert!(out.contains("Oracle F1"), "{out}");
    let clash = p("clash.fa");
    std::fs::write(&clash, format!(">a species=hpylori class=1\n{window}\n")).expect("write");
    let e = fails(&[
        "eval",
        "--samples",
        &clash,
        "--oracle",
        &oracle_ckpt,
        "--no-discriminator",
    ]);
    assert!(e.contains("clash.fa:1") && e.contains("class=1"), "{e}");
    let e = fails(&[
        "eval",
        "--samples",
        &stranger,
        "--oracle",
        &format!("{clf}/model.ckpt"),
    ]);
    assert!(e.contains("noisy"), "{e}");
    std::fs::remove_dir_all(&tmp).ok();
}

/// `demo` on the shipped checkpoints: the table has the Random and Real rows and, per model,
/// D-CFG at each γ and D-CBG; nothing is trained.
#[test]
fn demo_runs_on_the_shipped_models() {
    let out = std::env::temp_dir().join(format!("genomics-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = out.display().to_string();
    let text = ok(&[
        "demo",
        "--per-species",
        "1",
        "--steps",
        "4",
        "--kinds",
        "mdlm",
        "--no-discriminator",
        "--out",
        &o,
    ]);
    assert!(text.contains("using shipped"), "{text}");
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| ")).collect();
    // Header, Random, Real, D-CFG γ = 1 and 3, D-CBG.
    assert_eq!(rows.len(), 6, "{table}");
    assert!(
        rows.iter().any(|r| r.starts_with("| MDLM | CBG")),
        "{table}"
    );
    assert!(!out.join("train").exists());
    let _ = std::fs::remove_dir_all(&out);
}

/// Every shipped config of the domain reads as `train` reads it (unknown keys refused).
#[test]
fn shipped_configs_parse() {
    type Experiment = diffusion_core::app::ExperimentConfig<genomics::config::DataConfig>;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let read = Experiment::load_all(&dir, &["species-"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(read.len() >= 10, "{read:?}");
}
