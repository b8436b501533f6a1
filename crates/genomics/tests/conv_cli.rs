//! The `genomics` binary with the dilated-convolution backbone (`[conv]`): train a tiny conv
//! UDLM for 2 steps on slices of two shipped genomes, sample it with D-CFG; AR and NOS are
//! refused with errors that name the key or method.

use genomics::read_fasta;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genomics"))
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .expect("the genomics binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "genomics {args:?} failed:\n{text}");
    text
}

fn fails(args: &[&str]) -> String {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "genomics {args:?} should fail");
    assert!(
        !err.contains("panicked"),
        "panic instead of an error: {err}"
    );
    err
}

/// A two-species manifest of real genome slices in a fresh temporary directory.
fn slice_manifest(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("temp dir");
    let mut tsv = String::from("label\tfile\n");
    for (label, file) in [
        ("hpylori", "08_hpylori.fa.gz"),
        ("ctrachomatis", "11_ctrachomatis.fa.gz"),
    ] {
        let f = read_fasta(repo().join("datasets/genomics").join(file)).expect("shipped genome");
        let seq = &f.records[0].seq[..24_000];
        let text = format!(">{label}_slice\n{}\n", String::from_utf8_lossy(seq));
        std::fs::write(dir.join(format!("{label}.fa")), text).expect("write slice");
        tsv.push_str(&format!("{label}\t{label}.fa\n"));
    }
    let m = dir.join("manifest.tsv");
    std::fs::write(&m, tsv).expect("write manifest");
    m
}

fn tiny(manifest: &Path) -> Vec<String> {
    [
        format!("data.manifest=\"{}\"", manifest.display()),
        "data.windows.length=32".into(),
        "data.max_train_per_class=48".into(),
        "data.max_eval_per_class=12".into(),
        "train.batch_size=8".into(),
        "train.val_every=0".into(),
        "train.checkpoint_every=0".into(),
        "train.val_batches=2".into(),
    ]
    .into_iter()
    .flat_map(|s| ["--set".to_string(), s])
    .collect()
}

fn small_conv() -> Vec<String> {
    [
        "conv.hidden_size=16",
        "conv.cond_dim=8",
        "conv.max_dilation=4",
        "conv.n_cycles=1",
    ]
    .into_iter()
    .flat_map(|s| ["--set".to_string(), s.to_string()])
    .collect()
}

fn args<'a>(base: &'a [&'a str], extra: &'a [String]) -> Vec<&'a str> {
    base.iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .collect()
}

#[test]
fn conv_udlm_trains_and_samples_with_dcfg() {
    let tmp = std::env::temp_dir().join(format!("gen-conv-cli-{}", std::process::id()));
    std::fs::remove_dir_all(&tmp).ok();
    let manifest = slice_manifest(&tmp.join("data"));
    let mut extra = tiny(&manifest);
    extra.extend(small_conv());
    let run_dir = tmp.join("conv").display().to_string();
    let base = ["train", "--config", "configs/species-udlm-conv.toml"];
    let mut a = args(&base, &extra);
    a.extend(["--run-dir", &run_dir, "--steps", "2"]);
    ok(&a);
    let config = std::fs::read_to_string(tmp.join("conv/config.toml")).expect("resolved config");
    assert!(
        config.contains("[conv]") && config.contains("num_classes = 2"),
        "{config}"
    );
    let ckpt = format!("{run_dir}/model.ckpt");
    let fa = tmp.join("cfg.fa").display().to_string();
    ok(&[
        "sample",
        "--checkpoint",
        &ckpt,
        "--guidance",
        "cfg",
        "--gamma",
        "2",
        "--per-species",
        "2",
        "--steps",
        "4",
        "--motif",
        "3:GATC",
        "--out",
        &fa,
        "--quiet",
    ]);
    let samples = genomics::read_samples(&fa).expect("FASTA written by sample");
    assert_eq!(samples.len(), 4);
    for s in &samples {
        assert_eq!(s.seq.len(), 32);
        assert_eq!(&s.seq[3..7], b"GATC", "the motif is kept");
    }
    assert_eq!(samples[0].species, "hpylori");
    assert_eq!(samples[3].species, "ctrachomatis");

    // AR is not a conv model; NOS needs a DiT's hidden states.
    let mut a = args(&base, &extra);
    a.extend(["--run-dir", "unused", "--kind", "ar", "--steps", "1"]);
    let e = fails(&a);
    assert!(e.contains("diffusion.kind"), "{e}");
    let e = fails(&[
        "train-classifier",
        "--config",
        "configs/species-classifier-uniform.toml",
        "--run-dir",
        &tmp.join("nos").display().to_string(),
        "--nos-for",
        &ckpt,
        "--steps",
        "1",
    ]);
    assert!(e.contains("NOS") && e.contains("[conv]"), "{e}");
    std::fs::remove_dir_all(&tmp).ok();
}
