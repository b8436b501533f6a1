//! Helpers shared by the genomics CLI tests: run the binary, expect success or a clean error,
//! and a two-species manifest of real genome slices with tiny training overrides.
#![allow(dead_code)] // each test binary uses its own subset

use genomics::read_fasta;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genomics"))
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .expect("the genomics binary runs")
}

pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "genomics {args:?} failed:\n{text}");
    text
}

pub fn fails(args: &[&str]) -> String {
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
pub fn slice_manifest(dir: &Path) -> PathBuf {
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

pub fn tiny(manifest: &Path) -> Vec<String> {
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

pub fn args<'a>(base: &'a [&'a str], extra: &'a [String]) -> Vec<&'a str> {
    base.iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .collect()
}
