//! The `genomics` binary with the dilated-convolution backbone (`[conv]`): train a tiny conv
//! UDLM for 2 steps on slices of two shipped genomes, sample it with D-CFG; AR and NOS are
//! refused with errors that name the key or method.

mod common;

use common::*;

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
    let unused = tmp.join("unused").display().to_string();
    a.extend(["--run-dir", &unused, "--kind", "ar", "--steps", "1"]);
    let e = fails(&a);
    assert!(e.contains("diffusion.kind"), "{e}");
    assert!(
        !tmp.join("unused/config.toml").exists(),
        "a refused run writes no config"
    );
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
