//! `demo`: the whole pipeline on the shipped genomes in minutes on a CPU. It gets species-
//! conditional AR, MDLM and UDLM generators, a noisy classifier per noise type (D-CBG) and the
//! clean oracle — from shipped checkpoints when present, otherwise trained now with
//! `configs/species-*.toml` — then samples every species each way, writes the FASTA files and
//! prints the §9.4 table with the oracle's own held-out accuracy.

use super::eval::Scorer;
use super::sample::{GuidanceKind, Request};
use super::sweep::SpeciesRows;
use super::{GenModel, Genomics, device};
use anyhow::Result;
use clap::Args;
use diffusion_core::app::guidance_models;
use diffusion_core::cli::demo::DemoModelArgs;
use diffusion_core::cli::sweep_table::SweepTable;
use diffusion_core::sampler::SamplerConfig;
use genomics::evaluate::DiscriminatorConfig;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Where runs, FASTA files and the table go.
    #[arg(long, default_value = "runs/genomics-demo")]
    pub out: PathBuf,
    /// Training steps per model (default: the configs' `train.steps`).
    #[arg(long)]
    pub train_steps: Option<usize>,
    /// Sequences per species and row (the README's table uses 32; 8 keeps the demo to minutes).
    #[arg(long, default_value_t = 8)]
    pub per_species: usize,
    /// Reverse steps T.
    #[arg(long, default_value_t = 64)]
    pub steps: usize,
    /// D-CFG strengths.
    #[arg(long, default_value = "1,3", allow_hyphen_values = true)]
    pub gammas: String,
    /// D-CBG strength (diffusion models).
    #[arg(long, default_value_t = 2.0)]
    pub cbg_gamma: f64,
    /// Models to run.
    #[arg(long, default_value = "ar,mdlm,udlm")]
    pub kinds: String,
    /// Skip the discriminator AUROC column.
    #[arg(long)]
    pub no_discriminator: bool,
    /// Shipped checkpoints, --retrain, --set and the backend.
    #[command(flatten)]
    pub models: DemoModelArgs,
}

/// A shipped checkpoint, the demo's own earlier run, or a fresh training run.
fn obtain(a: &DemoArgs, name: &str, config: &str, classifier: bool) -> Result<PathBuf> {
    a.models
        .obtain::<Genomics>(&a.out, name, config, Vec::new(), a.train_steps, classifier)
}

/// One generator's rows: (guidance, γ, noisy classifier).
type Rows = Vec<(GuidanceKind, f64, Option<PathBuf>)>;

/// Every model first (training or announcing shipped files), then the table row by row: per
/// kind, D-CFG at each γ and, for diffusion models, D-CBG with the noisy classifier.
fn plan_rows<'k>(a: &'k DemoArgs, gammas: &[f64]) -> Result<Vec<(&'k str, PathBuf, Rows)>> {
    let mut plan = Vec::new();
    for kind in a.kinds.split(',').map(str::trim) {
        let g_path = obtain(
            a,
            &format!("species-{kind}"),
            &format!("configs/species-{kind}.toml"),
            false,
        )?;
        let mut rows: Rows = gammas
            .iter()
            .map(|&gm| (GuidanceKind::Cfg, gm, None))
            .collect();
        if kind != "ar" {
            let noise = if kind == "mdlm" {
                "absorbing"
            } else {
                "uniform"
            };
            let clf = obtain(
                a,
                &format!("species-classifier-{noise}"),
                &format!("configs/species-classifier-{noise}.toml"),
                true,
            )?;
            rows.push((GuidanceKind::Cbg, a.cbg_gamma, Some(clf)));
        }
        plan.push((kind, g_path, rows));
    }
    Ok(plan)
}

pub fn run(a: &DemoArgs) -> Result<()> {
    let start = Instant::now();
    let dev = device(a.models.backend.as_deref())?;
    let oracle = obtain(a, "species-oracle", "configs/species-oracle.toml", true)?;
    let scorer = Scorer::load(&oracle, None, &dev)?;
    let disc = DiscriminatorConfig::default();
    let disc = (!a.no_discriminator).then_some(&disc);
    let gammas = diffusion_core::cli::parse_list(&a.gammas)?;
    let plan = plan_rows(a, &gammas)?;
    println!();
    let species_rows = SpeciesRows {
        scorer: &scorer,
        per_species: a.per_species,
        disc,
    };
    let mut table = SweepTable::named(&a.out, "table")?;
    species_rows.reference(&mut table, 0, &dev)?;
    for (kind, g_path, rows) in plan {
        let g = GenModel::load(&g_path, &dev)?;
        for (guidance, gamma, clf) in rows {
            let clf = clf.as_deref();
            let models = guidance_models::load_guidance::<Genomics>(guidance, clf, &[], &g, &dev)?;
            let config = SamplerConfig::run(a.steps, 64, 0);
            let req = Request::new(guidance, gamma, models.models(Default::default()), config);
            let fasta = a.out.join(format!("{kind}-{}-{gamma}.fa", guidance.name()));
            let rule = format!("{} γ={gamma}", guidance.name().to_uppercase());
            let label = format!("{} | {rule}", kind.to_uppercase());
            table.push(species_rows.sampled((&g, req), &fasta, label, gamma, &dev)?);
        }
    }
    let caption = species_rows.caption(&a.steps.to_string());
    table.write(
        &caption,
        json!({"steps": a.steps, "per_species": a.per_species}),
        &[],
    )?;
    println!(
        "\n{caption}\ndemo finished in {:.0} s; FASTA files and table.md in {}",
        start.elapsed().as_secs_f64(),
        a.out.display()
    );
    Ok(())
}
