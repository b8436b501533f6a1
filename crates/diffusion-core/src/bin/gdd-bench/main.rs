//! Throughput benchmark (release builds; not part of `cargo test`).
//!
//! `cargo run --release -p diffusion-core --bin gdd-bench -- [--backend flex] [--steps 10]`
//!
//! Prints the configuration, then training tokens/s (MDLM NELBO step: forward, backward,
//! global clipping, AdamW, EMA) and sampling samples/s at T steps for MDLM with and without
//! the cache, for UDLM and for AR (causal DiT, L − 1 forward passes over the growing prefix, no
//! KV cache, as the reference), on a QM9-sized DiT (L 32, N 40, hidden 256, 8 blocks, 8 heads,
//! batch 64), then the per-step cost of guided sampling. Tokens are random ids: throughput does
//! not depend on their values.
//!
//! `--json` prints one JSON object per line (the configuration, then one per measurement)
//! instead of the human-readable lines; `scripts/bench/run.sh` parses it. `--skip-training`
//! and `--sample-kinds mdlm,mdlm-cache,udlm,ar` (or `none`) select what runs. Threads: the
//! rayon pool, `RAYON_NUM_THREADS`.

use diffusion_core::backend::{available_backends, device_by_name};

use diffusion_core::diffusion::{DiffusionConfig, ModelKind};
use diffusion_core::dit::DitConfig;
use diffusion_core::domain::TokenSequences;
use diffusion_core::rng::Rng;
use diffusion_core::sampler::{Sampler, SamplerConfig};
use diffusion_core::train::{TrainConfig, Trainer};
use std::time::Instant;

mod guidance;

struct Args {
    backend: String,
    steps: usize,
    batch: usize,
    seq_len: usize,
    vocab: usize,
    hidden: usize,
    blocks: usize,
    heads: usize,
    sample_steps: usize,
    n_samples: usize,
    skip_sampling: bool,
    skip_guidance: bool,
    exact_samples: usize,
    clf_blocks: usize,
    /// Classifier width (default: the generator's).
    clf_hidden: Option<usize>,
    /// Sequences per exact D-CBG pass (default: the core's [`CbgMode::exact`]).
    exact_chunk: Option<usize>,
    dropout: f64,
    json: bool,
    skip_training: bool,
    sample_kinds: Vec<SampleKind>,
    /// `--gemm M,K,N`: only time an [M, K]·[K, N] f32 matmul (the compute ceiling).
    gemm: Option<[usize; 3]>,
}

/// One sampling measurement: a model kind and, for MDLM, whether the cache is on.
#[derive(Clone, Copy, PartialEq, Debug)]
enum SampleKind {
    Mdlm,
    MdlmCache,
    Udlm,
    Ar,
}

impl SampleKind {
    const ALL: [SampleKind; 4] = [Self::Mdlm, Self::MdlmCache, Self::Udlm, Self::Ar];

    fn parse_list(v: &str) -> Result<Vec<Self>, String> {
        if v == "none" {
            return Ok(vec![]);
        }
        v.split(',')
            .map(|k| match k.trim() {
                "mdlm" => Ok(Self::Mdlm),
                "mdlm-cache" => Ok(Self::MdlmCache),
                "udlm" => Ok(Self::Udlm),
                "ar" => Ok(Self::Ar),
                other => Err(format!(
                    "--sample-kinds: `{other}` is not one of mdlm, mdlm-cache, udlm, ar, none"
                )),
            })
            .collect()
    }

    fn model(self) -> ModelKind {
        match self {
            Self::Mdlm | Self::MdlmCache => ModelKind::Mdlm,
            Self::Udlm => ModelKind::Udlm,
            Self::Ar => ModelKind::Ar,
        }
    }
}

/// Threads of the rayon pool the CPU backends use (`RAYON_NUM_THREADS`, else all cores).
fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

/// Prints `human` by default and the JSON object `json` with `--json`.
fn emit(a: &Args, human: String, json: serde_json::Value) {
    if a.json {
        println!("{json}");
    } else {
        println!("{human}");
    }
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        backend: available_backends()
            .first()
            .copied()
            .unwrap_or("flex")
            .to_string(),
        steps: 10,
        batch: 64,
        seq_len: 32,
        vocab: 40,
        hidden: 256,
        blocks: 8,
        heads: 8,
        sample_steps: 32,
        n_samples: 64,
        skip_sampling: false,
        skip_guidance: false,
        exact_samples: 2,
        clf_blocks: 3,
        clf_hidden: None,
        exact_chunk: None,
        dropout: 0.1,
        json: false,
        skip_training: false,
        sample_kinds: SampleKind::ALL.to_vec(),
        gemm: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--skip-sampling" {
            a.skip_sampling = true;
            continue;
        }
        if flag == "--skip-guidance" {
            a.skip_guidance = true;
            continue;
        }
        if flag == "--skip-training" {
            a.skip_training = true;
            continue;
        }
        if flag == "--json" {
            a.json = true;
            continue;
        }
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        set_value(&mut a, &flag, &v)?;
    }
    Ok(a)
}

/// Set the option `flag` to `v`.
fn set_value(a: &mut Args, flag: &str, v: &str) -> Result<(), String> {
    let num = || {
        v.parse::<usize>()
            .map_err(|_| format!("{flag}: `{v}` is not a number"))
    };
    match flag {
        "--backend" => a.backend = v.to_string(),
        "--dropout" => {
            a.dropout = v
                .parse()
                .map_err(|_| format!("--dropout: `{v}` is not a number"))?
        }
        "--steps" => a.steps = num()?,
        "--batch" => a.batch = num()?,
        "--seq-len" => a.seq_len = num()?,
        "--vocab" => a.vocab = num()?,
        "--hidden" => a.hidden = num()?,
        "--blocks" => a.blocks = num()?,
        "--heads" => a.heads = num()?,
        "--sample-steps" => a.sample_steps = num()?,
        "--samples" => a.n_samples = num()?,
        "--exact-samples" => a.exact_samples = num()?.max(1),
        "--clf-blocks" => a.clf_blocks = num()?.max(1),
        "--clf-hidden" => a.clf_hidden = Some(num()?.max(1)),
        "--exact-chunk" => a.exact_chunk = Some(num()?.max(1)),
        "--sample-kinds" => a.sample_kinds = SampleKind::parse_list(v)?,
        "--gemm" => {
            let dims: Vec<usize> = v
                .split(',')
                .map(|d| d.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|_| format!("--gemm: `{v}` is not M,K,N"))?;
            let dims: [usize; 3] = dims
                .try_into()
                .map_err(|_| format!("--gemm: `{v}` is not M,K,N"))?;
            a.gemm = Some(dims);
        }
        _ => return Err(format!("unknown flag {flag}")),
    }
    Ok(())
}

const USAGE: &str = "gdd-bench: training and sampling throughput of the core DiT (release builds)

Options (defaults in parentheses are the QM9-size configuration):
  --backend NAME        flex | ndarray | wgpu | cuda (the build's CPU backend)
  --steps N             timed training steps
  --batch N  --seq-len N  --vocab N  --hidden N  --blocks N  --heads N  --dropout P
  --sample-steps N      reverse steps T of the sampling benchmarks
  --samples N           sequences per sampling benchmark
  --sample-kinds LIST   mdlm, mdlm-cache, udlm, ar, none
  --exact-samples N     sequences for exact D-CBG   --exact-chunk N  sequences per pass
  --clf-blocks N  --clf-hidden N   classifier depth and width (default 3, the generator's)
  --gemm M,K,N          only time an [M,K]·[K,N] f32 matmul, GFLOP/s (the compute ceiling)
  --skip-training  --skip-sampling  --skip-guidance  --json
  -h, --help";

fn main() {
    diffusion_core::allocator::tune_for_tensors();
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gdd-bench: {e}");
            std::process::exit(2);
        }
    };
    let device = match device_by_name(&a.backend) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("gdd-bench: {e}");
            std::process::exit(2);
        }
    };
    emit(
        &a,
        format!(
            "config: backend={} batch={} L={} vocab={} hidden={} blocks={} heads={} dropout={} train_steps={} sample_T={} samples={} threads={}",
            a.backend,
            a.batch,
            a.seq_len,
            a.vocab,
            a.hidden,
            a.blocks,
            a.heads,
            a.dropout,
            a.steps,
            a.sample_steps,
            a.n_samples,
            threads()
        ),
        serde_json::json!({
            "bench": "config",
            "program": "gdd-bench",
            "backend": a.backend,
            "batch": a.batch,
            "L": a.seq_len,
            "vocab": a.vocab,
            "hidden": a.hidden,
            "blocks": a.blocks,
            "heads": a.heads,
            "dropout": a.dropout,
            "train_steps": a.steps,
            "sample_T": a.sample_steps,
            "samples": a.n_samples,
            "threads": threads(),
        }),
    );
    if let Some(dims) = a.gemm {
        gemm(&a, dims, &device);
        return;
    }
    let mask = (a.vocab - 1) as i64;
    let m = DitConfig {
        dropout: a.dropout,
        ..DitConfig::new(a.vocab, a.hidden, a.blocks, a.heads)
    };
    if !a.skip_training {
        train(&a, &m, mask, &device);
    }
    if a.skip_sampling {
        return;
    }

    // Sampling throughput. Give the output layer random weights so the denoiser is not uniform.
    for &kind in &a.sample_kinds {
        sample(&a, &m, mask, kind, &device);
    }

    if a.skip_guidance {
        return;
    }
    guidance::guidance(&a, &m, mask, &device);
}

/// Training throughput (MDLM): median time of `a.steps` steps after 3 warm-up steps.
fn train(a: &Args, m: &DitConfig, mask: i64, device: &burn::prelude::Device) {
    let mut rng = Rng::seed_from_u64(0);
    let mut data = TokenSequences::new(a.seq_len);
    for _ in 0..a.batch * 4 {
        let row: Vec<i64> = (0..a.seq_len)
            .map(|_| rng.below(a.vocab as u64 - 1) as i64)
            .collect();
        data.push(&row, None).expect("row length");
    }
    let d = DiffusionConfig::new(ModelKind::Mdlm, a.vocab, a.seq_len, mask, None);
    let mut t = Trainer::new(
        d,
        m.clone(),
        TrainConfig::new(a.steps + 3, a.batch),
        vec![],
        device,
    )
    .expect("trainer");
    for _ in 0..3 {
        t.train_step(&data).expect("warm-up step");
    }
    let mut times: Vec<f64> = (0..a.steps)
        .map(|_| {
            let start = Instant::now();
            t.train_step(&data).expect("step");
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let tokens_per_s = (a.batch * a.seq_len) as f64 / median;
    emit(
        a,
        format!(
            "train mdlm: {:.0} tokens/s (median {:.1} ms/step over {} steps)",
            tokens_per_s,
            1000.0 * median,
            a.steps
        ),
        serde_json::json!({
            "bench": "train",
            "model": "mdlm",
            "L": a.seq_len,
            "vocab": a.vocab,
            "batch": a.batch,
            "steps": a.steps,
            "tokens_per_s": tokens_per_s,
            "ms_per_step": 1000.0 * median,
        }),
    );
}

/// GFLOP/s of one f32 matmul through burn (2·M·K·N flops), median of 20 after 3 warm-ups.
fn gemm(a: &Args, [m, k, n]: [usize; 3], device: &burn::prelude::Device) {
    use burn::prelude::*;
    let mut rng = Rng::seed_from_u64(0);
    let mut random = |r: usize, c: usize| {
        let v: Vec<f32> = (0..r * c).map(|_| rng.uniform_f32() - 0.5).collect();
        Tensor::<2>::from_data(TensorData::new(v, [r, c]), device)
    };
    let (x, w) = (random(m, k), random(k, n));
    let mut times = Vec::new();
    for i in 0..23 {
        let t0 = Instant::now();
        let y = x.clone().matmul(w.clone());
        let _ = y.slice([0..1, 0..1]).into_data(); // wait for the result
        if i >= 3 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let gflops = 2.0 * (m * k * n) as f64 / median / 1e9;
    emit(
        a,
        format!("gemm {m}x{k}x{n}: {gflops:.1} GFLOP/s (median of 20)"),
        serde_json::json!({"bench": "gemm", "m": m, "k": k, "n": n, "gflops": gflops}),
    );
}

/// Sampling throughput of one kind: a warm-up on at most 8 samples, then `a.n_samples` timed.
/// AR uses a causal DiT without adaLN in the blocks (the reference's AR model) and always takes
/// L − 1 steps, whatever T.
fn sample(a: &Args, m: &DitConfig, mask: i64, kind: SampleKind, device: &burn::prelude::Device) {
    let d = DiffusionConfig::new(kind.model(), a.vocab, a.seq_len, mask, None);
    let diffusion = diffusion_core::diffusion::Diffusion::new(d).expect("config");
    let mc = if kind == SampleKind::Ar {
        DitConfig {
            causal: true,
            adaln: false,
            ..m.clone()
        }
    } else {
        m.clone()
    };
    let mut model = mc.init(device);
    model.output_linear = burn::nn::LinearConfig::new(a.hidden, a.vocab).init(device);
    let cache = kind == SampleKind::MdlmCache;
    let cfg = SamplerConfig {
        steps: a.sample_steps,
        use_cache: Some(cache),
        batch_size: a.n_samples,
        seed: 1,
        bos_id: (kind == SampleKind::Ar).then_some(0),
        ..Default::default()
    };
    let s = Sampler::new(&diffusion, &model, cfg, device).expect("sampler");
    s.sample(a.n_samples.min(8), None, false).expect("warm-up");
    let start = Instant::now();
    let out = s.sample(a.n_samples, None, false).expect("sample");
    let secs = start.elapsed().as_secs_f64();
    let steps = if kind == SampleKind::Ar {
        a.seq_len - 1
    } else {
        a.sample_steps
    };
    let samples_per_s = a.n_samples as f64 / secs;
    emit(
        a,
        format!(
            "sample {:?} cache={}: {:.2} samples/s ({:.1} ms/step, nfe={})",
            kind.model(),
            cache,
            samples_per_s,
            1000.0 * secs / steps as f64,
            out.nfe
        ),
        serde_json::json!({
            "bench": "sample",
            "model": format!("{:?}", kind.model()).to_lowercase(),
            "cache": cache,
            "T": steps,
            "L": a.seq_len,
            "samples": a.n_samples,
            "samples_per_s": samples_per_s,
            "ms_per_step": 1000.0 * secs / steps as f64,
            "nfe": out.nfe,
        }),
    );
}
