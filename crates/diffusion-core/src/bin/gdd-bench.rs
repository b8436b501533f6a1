//! Throughput benchmark (release builds; not part of `cargo test`).
//!
//! `cargo run --release -p diffusion-core --bin gdd-bench -- [--backend flex] [--steps 10]`
//!
//! Prints the configuration, then training tokens/s (MDLM NELBO step: forward, backward,
//! global clipping, AdamW, EMA) and sampling samples/s at T steps for MDLM with and without
//! the cache and for UDLM, on a QM9-sized DiT (L 32, N 40, hidden 256, 8 blocks, 8 heads,
//! batch 64). Tokens are random ids: throughput does not depend on their values.

use diffusion_core::backend::{available_backends, device_by_name};

use diffusion_core::diffusion::{DiffusionConfig, ModelKind};
use diffusion_core::dit::DitConfig;
use diffusion_core::domain::TokenSequences;
use diffusion_core::rng::Rng;
use diffusion_core::sampler::{Sampler, SamplerConfig};
use diffusion_core::train::{TrainConfig, Trainer};
use std::time::Instant;

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
    dropout: f64,
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
        dropout: 0.1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--skip-sampling" {
            a.skip_sampling = true;
            continue;
        }
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = || {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: `{v}` is not a number"))
        };
        match flag.as_str() {
            "--backend" => a.backend = v.clone(),
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
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

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
    println!(
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
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let mask = (a.vocab - 1) as i64;
    let mut rng = Rng::seed_from_u64(0);
    let mut data = TokenSequences::new(a.seq_len);
    for _ in 0..a.batch * 4 {
        let row: Vec<i64> = (0..a.seq_len)
            .map(|_| rng.below(a.vocab as u64 - 1) as i64)
            .collect();
        data.push(&row, None).expect("row length");
    }

    // Training throughput (MDLM).
    let d = DiffusionConfig::new(ModelKind::Mdlm, a.vocab, a.seq_len, mask, None);
    let m = DitConfig {
        dropout: a.dropout,
        ..DitConfig::new(a.vocab, a.hidden, a.blocks, a.heads)
    };
    let mut t = Trainer::new(
        d,
        m.clone(),
        TrainConfig::new(a.steps + 3, a.batch),
        vec![],
        &device,
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
    println!(
        "train mdlm: {:.0} tokens/s (median {:.1} ms/step over {} steps)",
        (a.batch * a.seq_len) as f64 / median,
        1000.0 * median,
        a.steps
    );
    if a.skip_sampling {
        return;
    }

    // Sampling throughput. Give the output layer random weights so the denoiser is not uniform.
    for (kind, cache) in [
        (ModelKind::Mdlm, false),
        (ModelKind::Mdlm, true),
        (ModelKind::Udlm, false),
    ] {
        let d = DiffusionConfig::new(kind, a.vocab, a.seq_len, mask, None);
        let diffusion = diffusion_core::diffusion::Diffusion::new(d).expect("config");
        let mut model = m.init(&device);
        model.output_linear = burn::nn::LinearConfig::new(a.hidden, a.vocab).init(&device);
        let cfg = SamplerConfig {
            steps: a.sample_steps,
            use_cache: Some(cache),
            batch_size: a.n_samples,
            seed: 1,
            ..Default::default()
        };
        let s = Sampler::new(&diffusion, &model, cfg, &device).expect("sampler");
        s.sample(a.n_samples.min(8), None, false).expect("warm-up");
        let start = Instant::now();
        let out = s.sample(a.n_samples, None, false).expect("sample");
        let secs = start.elapsed().as_secs_f64();
        println!(
            "sample {:?} cache={}: {:.2} samples/s ({:.1} ms/step, nfe={})",
            kind,
            cache,
            a.n_samples as f64 / secs,
            1000.0 * secs / a.sample_steps as f64,
            out.nfe
        );
    }
}
