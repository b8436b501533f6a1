//! `demo`: the whole pipeline on the shipped QM9 in minutes on a CPU. For MDLM and UDLM it gets
//! an unconditional generator, a class-conditional generator per property (D-CFG) and a noisy
//! classifier per property (D-CBG) — from shipped checkpoints when present, otherwise trained
//! now with `configs/qm9-*.toml` — then samples each way, adds best-of-4 steering towards more
//! rings, and prints the metrics table.

use super::sample::{Generator, GuidanceKind, Request, decode, generate, known_set};
use super::{Molecules, device};
use anyhow::Result;
use burn::prelude::Device;
use clap::Args;
use diffusion_core::app::guidance_models::guiding_classifier;
use diffusion_core::cli::demo::DemoModelArgs;
use diffusion_core::cli::sweep_table::{SweepRow, SweepTable};
use diffusion_core::generate::GuidanceModels;
use diffusion_core::guidance::steer::{SmcConfig, SteerMethod, X0Estimate};
use diffusion_core::sample::args::SteerRequest;
use diffusion_core::sampler::SamplerConfig;
use molecules::metrics::Qm9Metrics;
use molecules::reward::build_reward;
use serde_json::json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Where runs, samples and the table go.
    #[arg(long, default_value = "runs/demo")]
    pub out: PathBuf,
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
    /// Models to run (UDLM first: the more valid of the two).
    #[arg(long, default_value = "udlm,mdlm")]
    pub kinds: String,
    /// Shipped checkpoints, --retrain, --set and the backend.
    #[command(flatten)]
    pub models: DemoModelArgs,
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
    a.models
        .obtain::<Molecules>(&a.out, name, config, set, a.train_steps, classifier)
}

/// One row of the demo table: a generator, its guidance, and optionally a noisy classifier
/// (D-CBG) or best-of-N steering towards a reward.
struct Row {
    name: String,
    generator: PathBuf,
    guidance: GuidanceKind,
    classifier: Option<PathBuf>,
    best_of: Option<(usize, &'static str)>,
}

/// Every model first (training or announcing shipped files): per kind the unguided row, D-CBG
/// and D-CFG towards each property, and best-of-4 with the ring-count reward, which shows
/// what exact-reward steering buys (mostly valid molecules with more rings).
fn plan_rows(a: &DemoArgs) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for kind in a.kinds.split(',').map(str::trim) {
        let config = format!("configs/qm9-{kind}.toml");
        let noise = if kind == "mdlm" {
            "absorbing"
        } else {
            "uniform"
        };
        let base = obtain(a, kind, &config, vec![], false)?;
        let row = |name: String, generator: &PathBuf, guidance| Row {
            name,
            generator: generator.clone(),
            guidance,
            classifier: None,
            best_of: None,
        };
        rows.push(row(format!("{kind} unguided"), &base, GuidanceKind::None));
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
            rows.push(Row {
                classifier: Some(clf),
                ..row(
                    format!("{kind} D-CBG {p} γ={}", a.gamma),
                    &base,
                    GuidanceKind::Cbg,
                )
            });
            let cond = obtain(
                a,
                &format!("{kind}-cfg-{p}"),
                &config,
                vec![format!("data.label=\"{p}\"")],
                false,
            )?;
            let name = format!("{kind} D-CFG {p} γ={}", a.gamma);
            rows.push(row(name, &cond, GuidanceKind::Cfg));
        }
        rows.push(Row {
            best_of: Some((4, "rings")),
            ..row(format!("{kind} best-of-4 rings"), &base, GuidanceKind::None)
        });
    }
    Ok(rows)
}

/// Sample one row, write its samples and metrics under `runs/demo/samples/`; returns the table
/// row.
fn run_row(
    a: &DemoArgs,
    row: &Row,
    known: &HashSet<String>,
    dev: &Device,
) -> Result<SweepRow<Qm9Metrics>> {
    let g = Generator::load(&row.generator, dev)?;
    let clf = match &row.classifier {
        Some(p) => Some(guiding_classifier::<Molecules>(p, &g, dev)?),
        None => None,
    };
    let models = GuidanceModels {
        classifier: clf.as_ref().map(|c| &c.model),
        ..Default::default()
    };
    let reward = match row.best_of {
        Some((_, name)) => Some(build_reward(
            &[(name.to_string(), 1.0)],
            &g.facts.tokenizer,
        )?),
        None => None,
    };
    let mut req = Request::new(
        row.guidance,
        a.gamma,
        models,
        SamplerConfig::run(a.steps, 256, 0),
    );
    if let (Some((n, _)), Some(reward)) = (row.best_of, &reward) {
        req.steer = Some(SteerRequest {
            reward: reward.as_ref(),
            method: SteerMethod::Smc(SmcConfig::best_of_n(n)),
            x0: X0Estimate::Argmax,
        });
    }
    let start = Instant::now();
    let (tokens, nfe) = generate(&g, &req, 1, a.num_samples, dev)?;
    let seconds = start.elapsed().as_secs_f64();
    let (text, smiles) = decode(&g.facts.tokenizer, &tokens);
    let m = molecules::metrics::score(&smiles, known);
    super::sample::write_outputs(
        &a.out
            .join("samples")
            .join(row.name.replace([' ', '='], "_")),
        g.facts.tokenizer.representation,
        &text,
        &smiles,
        &m,
        serde_json::json!({
            "row": row.name,
            "checkpoint": row.generator,
            "classifier": row.classifier,
        }),
    )?;
    let guided = row.guidance != GuidanceKind::None;
    Ok(SweepRow {
        label: row.name.clone(),
        gamma: guided.then_some(a.gamma),
        steps: Some(a.steps),
        nfe: Some(nfe),
        seconds: Some(seconds),
        scores: m,
    })
}

pub fn run(a: &DemoArgs) -> Result<()> {
    let start = Instant::now();
    let dev = device(a.models.backend.as_deref())?;
    let known = known_set(Path::new("datasets/molecules/qm9.csv.gz"))?;
    let rows = plan_rows(a)?;
    println!();
    let mut table = SweepTable::named(&a.out, "table")?;
    for row in &rows {
        table.push(run_row(a, row, &known, &dev)?);
    }
    let caption = format!(
        "{} molecules per row, T = {}, seed 0; QED and rings are means over novel molecules.",
        a.num_samples, a.steps
    );
    let settings = json!({"num_samples": a.num_samples, "steps": a.steps, "gamma": a.gamma});
    table.write(&caption, settings, &[])?;
    println!(
        "\n{caption}\nDemo finished in {:.1} min; files in {}",
        start.elapsed().as_secs_f64() / 60.0,
        a.out.display()
    );
    Ok(())
}
