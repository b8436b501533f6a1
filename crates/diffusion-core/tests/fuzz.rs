//! Fuzzing of the core's parsers of outside input (see `diffusion_core::fuzz`): checkpoint
//! files, including the weights inside them, and config overrides. Each must give `Ok` or a
//! clear `Err`, never a panic. Cases: `GDD_FUZZ_CASES` per parser (default 2,000).

use diffusion_core::backend::default_device;
use diffusion_core::checkpoint::{CheckpointFile, load_module_blob, module_blob};
use diffusion_core::config_file::{apply_override, from_table};
use diffusion_core::dit::{Dit, DitConfig};
use diffusion_core::fuzz::{Fuzzer, cases, check_no_panic};
use diffusion_core::train::TrainConfig;
use std::path::Path;

/// A weights-bearing checkpoint: header, a real DiT weight blob, checksum.
fn checkpoint_bytes(cfg: &DitConfig) -> Vec<u8> {
    let model: Dit = cfg.init(&default_device());
    let mut ck = CheckpointFile {
        header: serde_json::json!({"format": 1, "kind": "generator", "step": 3}),
        ..Default::default()
    };
    ck.blobs.insert("ema".into(), module_blob(model).unwrap());
    ck.to_bytes().unwrap()
}

#[test]
fn fuzz_checkpoint_files_and_their_weights() {
    let cfg = DitConfig::new(8, 16, 1, 2);
    let valid = checkpoint_bytes(&cfg);
    let path = Path::new("fuzz.ckpt");
    let dev = default_device();
    let mut f = Fuzzer::new(1);
    check_no_panic(
        "checkpoint",
        cases(),
        |_| f.mutate(&valid, &[0, 1, b'{', b'}', b'"', 0xff]),
        |bytes| {
            if let Ok(ck) = CheckpointFile::from_bytes(bytes, path) {
                let _ = CheckpointFile::from_bytes(&ck.to_bytes().unwrap(), path);
            }
        },
    );
    // The container's checksum rejects most mutations before the weights are read; fuzz the
    // weight blob itself behind a valid container too.
    let blob = module_blob(cfg.init(&dev)).unwrap();
    let mut f = Fuzzer::new(2);
    check_no_panic(
        "weights blob",
        cases(),
        |_| f.mutate(&blob, &[0, 1, 0xff]),
        |b| {
            let _ = load_module_blob(cfg.init(&dev), b, path, "weights");
        },
    );
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct WithTrain {
    train: TrainConfig,
}

#[test]
fn fuzz_config_text_and_overrides() {
    let text = "[train]\nsteps = 10\nbatch_size = 4\nlr = 1e-3\n\n[train.lr_schedule]\ntype = \"cosine_warmup\"\nwarmup = 2\nlr_min = 1e-5\n";
    let mut f = Fuzzer::new(3);
    check_no_panic(
        "config text",
        cases(),
        |_| f.mutate_str(text, "[]=.\"\n{}#,"),
        |t| {
            if let Ok(table) = toml::from_str::<toml::Table>(t) {
                let _ = from_table::<WithTrain>(table, "fuzz.toml");
            }
        },
    );
    let keys = [
        "train.steps",
        "train",
        "train.lr_schedule.type",
        "a.b.c",
        ".x",
        "train..lr",
        "",
    ];
    let values = [
        "1",
        "-3",
        "1e999",
        "\"x\"",
        "[1,",
        "{ type = 1 }",
        "nan",
        "",
        "=",
    ];
    let mut f = Fuzzer::new(4);
    check_no_panic(
        "--set",
        cases(),
        |_| {
            let a = format!("{}={}", f.string(&keys, 2), f.string(&values, 2));
            let b = f.mutate_str(&a, "=.\"[]{}");
            (a, b)
        },
        |(a, b)| {
            let mut table: toml::Table = toml::from_str(text).unwrap();
            for o in [a, b] {
                let _ = apply_override(&mut table, o);
            }
            let _ = from_table::<WithTrain>(table, "command line");
        },
    );
}
