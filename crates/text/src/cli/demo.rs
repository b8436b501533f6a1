//! `demo`: the whole pipeline on the shipped corpus in a few minutes on a CPU: train tiny AR,
//! MDLM and UDLM models from `configs/text8-*.toml` (shrunk by overrides), validate each on the
//! whole validation split, sample a line from each, and print the BPC table.

use super::ConfigArgs;
use super::sample::generate;
use super::train;
use anyhow::Result;
use clap::Args;
use diffusion_core::sampler::SamplerConfig;
use std::path::{Path, PathBuf};
use std::time::Instant;
use text::corpus::resolve_path;

#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Where the runs and the table go.
    #[arg(long, default_value = "runs/text-demo")]
    pub out: PathBuf,
    /// Training steps per model.
    #[arg(long, default_value_t = 300)]
    pub steps: usize,
    /// Models to train.
    #[arg(long, default_value = "ar,mdlm,udlm")]
    pub kinds: String,
    /// Extra overrides for every model, e.g. `--set model.hidden_size=128`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Train again even if an earlier demo run holds a model.
    #[arg(long)]
    pub retrain: bool,
    #[arg(long)]
    pub backend: Option<String>,
}

/// The configs' models shrunk to train in about a minute each on two cores.
const TINY: [&str; 10] = [
    "model.hidden_size=64",
    "model.n_blocks=2",
    "model.n_heads=4",
    "model.cond_dim=64",
    "train.batch_size=16",
    "train.lr=2e-3",
    "train.lr_schedule={ type = \"cosine_warmup\", warmup = 30, lr_min = 1e-4 }",
    "train.val_every=0",
    "train.val_batches=1",
    "train.checkpoint_every=0",
];

pub fn run(a: &DemoArgs) -> Result<()> {
    let start = Instant::now();
    let mut rows = vec![
        "| model | steps | train s | validation BPC | paper (full scale) |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    let mut samples = Vec::new();
    for kind in a.kinds.split(',').map(str::trim) {
        let run = a.out.join(kind);
        if run.exists() {
            if !a.retrain {
                anyhow::bail!(
                    "{} holds an earlier demo run; pass --retrain to replace it or --out for another folder",
                    run.display()
                );
            }
            std::fs::remove_dir_all(&run)?;
        }
        println!("training {kind} for {} steps …", a.steps);
        let args = ConfigArgs {
            config: Some(resolve_path(Path::new(&format!(
                "configs/text8-{kind}.toml"
            )))),
            set: TINY
                .iter()
                .map(|s| s.to_string())
                .chain(a.set.clone())
                .collect(),
            run_dir: Some(run),
            steps: Some(a.steps),
            backend: a.backend.clone(),
            ..Default::default()
        };
        let t = train::run(&args)?;
        rows.push(format!(
            "| {kind} | {} | {:.0} | {:.3} | {:.2} |",
            t.steps,
            t.train_seconds,
            t.val.bpc,
            text::eval::paper_bpc(t.kind)
        ));
        let config = SamplerConfig {
            steps: 64,
            seed: 0,
            ..Default::default()
        };
        let line = generate(&t.model, 1, config, a.backend.as_deref(), false)?;
        samples.push(format!("{kind:>4}: {}", line.join("")));
    }
    let table = rows.join("\n");
    std::fs::create_dir_all(&a.out)?;
    std::fs::write(a.out.join("table.md"), format!("{table}\n"))?;
    std::fs::write(a.out.join("samples.txt"), samples.join("\n") + "\n")?;
    println!(
        "\n{table}\n\nOne sample each (T = 64 for MDLM / UDLM):\n{}",
        samples.join("\n")
    );
    println!(
        "\nBPC over the whole validation split (last 5 % of the corpus); MDLM / UDLM values are NELBO bounds.\nDemo finished in {:.1} min; files in {}",
        start.elapsed().as_secs_f64() / 60.0,
        a.out.display()
    );
    Ok(())
}
