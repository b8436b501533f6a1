//! `demo`: the whole pipeline on the shipped QM9 in minutes on a CPU. For MDLM and UDLM it gets
//! an unconditional generator, a class-conditional generator per property (D-CFG) and a noisy
//! classifier per property (D-CBG) — from shipped checkpoints when present, otherwise trained
//! now with `configs/qm9-*.toml` — then samples each way and prints the metrics table.

use super::sample::{
    GuidanceKind, Request, decode, generate, known_set, load_classifier, load_generator,
};
use super::{ConfigArgs, device};
use anyhow::Result;
use clap::Args;
use diffusion_core::atomic_file::write_atomic;
use diffusion_core::cli::demo::DemoModels;
use diffusion_core::generate::GuidanceModels;
use diffusion_core::sampler::SamplerConfig;
use molecules::metrics::Qm9Metrics;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Where runs, samples and the table go.
    #[arg(long, default_value = "runs/demo")]
    pub out: PathBuf,
    /// Shipped checkpoints (`<name>.ckpt`); missing ones are trained.
    #[arg(long, default_value = "checkpoints/molecules")]
    pub checkpoints: PathBuf,
    /// Train every model now even if a shipped checkpoint exists.
    #[arg(long)]
    pub retrain: bool,
    /// Training steps per model (default: the configs' `train.steps`).
    #[arg(long)]
    pub train_steps: Option<usize>,
    /// Molecules per row.
    #[arg(short = 'n', long, default_value_t = 1024)]
    pub num_samples: usize,
    /// Reverse steps T.
    #[arg(long, default_value_t = 32)]
    pub steps: usize,
    /// Guidance strength γ for the guided rows.
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
    pub gamma: f64,
    /// Models to run.
    #[arg(long, default_value = "mdlm,udlm")]
    pub kinds: String,
    #[arg(long)]
    pub backend: Option<String>,
}

const PROPERTIES: [&str; 2] = ["qed", "ring_count"];

/// A shipped checkpoint, the demo's own earlier run, or a fresh training run.
fn obtain(
    a: &DemoArgs,
    name: &str,
    config: &str,
    set: Vec<String>,
    classifier: bool,
) -> Result<PathBuf> {
    let models = DemoModels {
        checkpoints: &a.checkpoints,
        out: &a.out,
        retrain: a.retrain,
        set: &[],
        backend: a.backend.as_deref(),
    };
    models.obtain(name, config, set, a.train_steps, |run| {
        let args = ConfigArgs {
            run,
            ..Default::default()
        };
        let t = if classifier {
            super::train::train_classifier(&args)?
        } else {
            super::train::train_generator(&args)?
        };
        Ok(t.model)
    })
}

pub fn run(a: &DemoArgs) -> Result<()> {
    let start = Instant::now();
    let dev = device(a.backend.as_deref())?;
    let known = known_set(Path::new("datasets/molecules/qm9.csv.gz"))?;
    let mut table = vec![Qm9Metrics::table_header()];
    let mut csv = format!("row,{}\n", Qm9Metrics::csv_header());
    // Every model first (training or announcing shipped files), then the table, row by row.
    let mut rows: Vec<(String, PathBuf, GuidanceKind, Option<PathBuf>)> = Vec::new();
    for kind in a.kinds.split(',').map(str::trim) {
        let config = format!("configs/qm9-{kind}.toml");
        let noise = if kind == "mdlm" {
            "absorbing"
        } else {
            "uniform"
        };
        let base = obtain(a, kind, &config, vec![], false)?;
        rows.push((
            format!("{kind} unguided"),
            base.clone(),
            GuidanceKind::None,
            None,
        ));
        for p in PROPERTIES {
            let clf = obtain(
                a,
                &format!("{kind}-classifier-{p}"),
                "configs/qm9-classifier.toml",
                vec![
                    format!("data.label=\"{p}\""),
                    format!("classifier.noise=\"{noise}\""),
                ],
                true,
            )?;
            rows.push((
                format!("{kind} D-CBG {p} γ={}", a.gamma),
                base.clone(),
                GuidanceKind::Cbg,
                Some(clf),
            ));
            let cond = obtain(
                a,
                &format!("{kind}-cfg-{p}"),
                &config,
                vec![format!("data.label=\"{p}\"")],
                false,
            )?;
            rows.push((
                format!("{kind} D-CFG {p} γ={}", a.gamma),
                cond,
                GuidanceKind::Cfg,
                None,
            ));
        }
    }
    println!("\n{}", table[0]);
    for (name, gen_path, guidance, clf_path) in rows {
        let g = load_generator(&gen_path, &dev)?;
        let clf = match &clf_path {
            Some(p) => Some(load_classifier(p, &dev, &g)?),
            None => None,
        };
        let models = GuidanceModels {
            classifier: clf.as_ref().map(|c| &c.model),
            ..Default::default()
        };
        let req = Request::new(
            guidance,
            a.gamma,
            models,
            SamplerConfig::run(a.steps, 256, 0),
        );
        let t0 = Instant::now();
        let (tokens, _) = generate(&g, &req, 1, a.num_samples, &dev)?;
        let (text, smiles) = decode(&g.tokenizer, &tokens);
        let m = molecules::metrics::score(&smiles, &known);
        let slug = name.replace([' ', '='], "_");
        super::sample::write_outputs(
            &a.out.join("samples").join(&slug),
            g.tokenizer.representation,
            &text,
            &smiles,
            &m,
            serde_json::json!({"row": name, "checkpoint": gen_path, "classifier": clf_path}),
        )?;
        let line = m.table_row(&name);
        println!("{line}   ({:.1} s)", t0.elapsed().as_secs_f64());
        table.push(line);
        csv.push_str(&format!("{name},{}\n", m.csv_row()));
    }
    write_atomic(
        &a.out.join("table.txt"),
        (table.join("\n") + "\n").as_bytes(),
    )?;
    write_atomic(&a.out.join("table.csv"), csv.as_bytes())?;
    println!(
        "\n{} molecules per row, T = {}; QED(nov) and rings(nov) are means over novel molecules.\nDemo finished in {:.1} min; files in {}",
        a.num_samples,
        a.steps,
        start.elapsed().as_secs_f64() / 60.0,
        a.out.display()
    );
    Ok(())
}
