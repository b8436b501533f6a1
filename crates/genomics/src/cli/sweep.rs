//! `sweep`: one generator sampled at several guidance strengths γ, every row scored as §9.4
//! does. Writes `<out>/gamma_<γ>.fa`, `sweep.md` (Table C columns), `sweep.csv`, `sweep.json`
//! and a plot of oracle F1 and 6-mer JS against γ.

use super::eval::Scorer;
use super::sample::{GuidanceKind, Request, generate, run_pins};
use super::{Genomics, device};
use anyhow::{Result, bail};
use burn::prelude::Device;
use clap::Args;
use diffusion_core::cli::sweep::SweepGuide;
use diffusion_core::nos::NosConfig;
use diffusion_core::plot::{Series, lines};
use diffusion_core::run_dir::RunDir;
use genomics::evaluate::{DiscriminatorConfig, SpeciesScores};
use genomics::random_baseline::{base_composition, random_sequences};
use genomics::{GeneratedSample, write_samples};
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub guide: SweepGuide,
    /// Comma-separated γ values.
    #[arg(long, default_value = "1,2,3", allow_hyphen_values = true)]
    pub gammas: String,
    /// Oracle (clean classifier) checkpoint.
    #[arg(long, default_value = "checkpoints/genomics/species-oracle.ckpt")]
    pub oracle: PathBuf,
    /// Reference manifest (default: the oracle's).
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Sequences per species and row.
    #[arg(long, default_value_t = 16)]
    pub per_species: usize,
    #[arg(long, default_value_t = 128)]
    pub steps: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Skip the discriminator AUROC.
    #[arg(long)]
    pub no_discriminator: bool,
    /// Add the §9.4 "Random" reference row and a "Real" row: as many held-out test windows per
    /// species, scored the same way (the floor of the JS columns at this sample size and the
    /// oracle's ceiling).
    #[arg(long)]
    pub random_row: bool,
    /// Model name in the table (default: the generator's kind).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value = "runs/species-sweep")]
    pub out: PathBuf,
}

/// The "Real" row: `per_species` held-out test windows of every species, scored like samples.
pub fn real_row(
    scorer: &Scorer,
    per_species: usize,
    disc: Option<&DiscriminatorConfig>,
    dev: &Device,
) -> Result<SpeciesScores> {
    let mut samples = Vec::new();
    for (c, name) in scorer.meta.classes.iter().enumerate() {
        for seq in scorer.test[c].iter().take(per_species) {
            samples.push(GeneratedSample {
                species: name.clone(),
                class: c,
                seq: seq.clone(),
            });
        }
    }
    scorer.score(&samples, disc, dev)
}

/// The "Random" row: i.i.d. bases with the pooled validation composition, as many per species
/// as a guided row has.
pub fn random_row(
    scorer: &Scorer,
    per_species: usize,
    disc: Option<&DiscriminatorConfig>,
    seed: u64,
    dev: &Device,
) -> Result<(Vec<GeneratedSample>, SpeciesScores)> {
    let pooled: Vec<&Vec<u8>> = scorer.val.iter().flatten().collect();
    let comp = base_composition(&pooled)?;
    let len = scorer.seq_len - 1;
    let mut samples = Vec::new();
    for (c, name) in scorer.meta.classes.iter().enumerate() {
        for seq in random_sequences(per_species, len, comp, seed.wrapping_add(c as u64))? {
            samples.push(GeneratedSample {
                species: name.clone(),
                class: c,
                seq,
            });
        }
    }
    let s = scorer.score(&samples, disc, dev)?;
    Ok((samples, s))
}

/// `sweep.csv`, `sweep.md` (with the oracle's held-out accuracy under the table), `sweep.json`
/// and the F1 / JS plot over γ.
fn write_sweep(
    dir: &RunDir,
    a: &SweepArgs,
    name: &str,
    rows: &[serde_json::Value],
    mut md: Vec<String>,
    points: &[(f64, f64, f64)],
    scorer: &Scorer,
) -> Result<()> {
    let mut csv = String::from("model,guidance,gamma,n,js3,js6,auroc,accuracy,macro_f1,mcc,fbd\n");
    for r in rows {
        let s = &r["scores"];
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r["model"].as_str().unwrap_or(""),
            r["guidance"].as_str().unwrap_or(""),
            r["gamma"],
            s["n"],
            s["js3"],
            s["js6"],
            s["auroc"],
            s["accuracy"],
            s["macro_f1"],
            s["mcc"],
            s["fbd"]
        ));
    }
    dir.write("sweep.csv", csv.as_bytes())?;
    md.push(String::new());
    md.push(format!(
        "Oracle held-out accuracy: {}. {} sequences per species and row, T = {}.",
        scorer.held_out_text(),
        a.per_species,
        a.steps
    ));
    dir.write("sweep.md", format!("{}\n", md.join("\n")).as_bytes())?;
    dir.write_json(
        "sweep.json",
        &json!({
            "checkpoint": a.guide.checkpoint, "oracle": a.oracle, "per_species": a.per_species,
            "steps": a.steps, "seed": a.guide.seed, "sampler": a.guide.refine.describe(), "rows": rows, "oracle_held_out": scorer.held_out,
        }),
    )?;
    if points.len() > 1 {
        let f1 = Series::line("oracle macro F1", points.iter().map(|p| (p.0, p.1)));
        let js = Series::line("6-mer JS distance", points.iter().map(|p| (p.0, p.2)));
        if let Err(e) = lines(
            &dir.file("sweep"),
            name,
            "guidance strength γ",
            "score",
            &[f1, js],
        ) {
            tracing::warn!("could not draw the sweep plot: {e}");
        }
    }
    Ok(())
}

pub fn run(a: &SweepArgs) -> Result<()> {
    let dev = device(a.guide.backend.as_deref())?;
    let g = super::GenModel::load(&a.guide.checkpoint, &dev)?;
    let models = a.guide.load_models::<Genomics>(&g.loaded, &dev)?;
    let scorer = Scorer::load(
        &diffusion_core::paths::resolve_path(&a.oracle),
        a.reference.as_deref(),
        &dev,
    )?;
    if scorer.meta.classes != g.facts.classes {
        bail!("the oracle and the generator know different species");
    }
    let gammas = diffusion_core::cli::parse_list(&a.gammas)?;
    let disc = DiscriminatorConfig::default();
    let disc = (!a.no_discriminator).then_some(&disc);
    let dir = RunDir {
        path: a.out.clone(),
    };
    std::fs::create_dir_all(&dir.path)?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("{:?}", g.loaded.diffusion.kind()).to_uppercase());
    let mut md = vec![SpeciesScores::table_header()];
    let mut rows = Vec::new();
    if a.random_row {
        let (samples, s) = random_row(&scorer, a.per_species, disc, a.guide.seed, &dev)?;
        write_samples(dir.file("random.fa"), &samples)?;
        md.push(s.table_row("Random", "–"));
        println!("{}", md.last().map(String::as_str).unwrap_or_default());
        rows.push(json!({"model": "Random", "guidance": "–", "gamma": null, "scores": s}));
        let s = real_row(&scorer, a.per_species, disc, &dev)?;
        md.push(s.table_row("Real (test windows)", "–"));
        println!("{}", md.last().map(String::as_str).unwrap_or_default());
        rows.push(
            json!({"model": "Real (test windows)", "guidance": "–", "gamma": null, "scores": s}),
        );
    }
    let mut points = Vec::new();
    for &gamma in &gammas {
        let req = Request {
            pins: run_pins(&g, Vec::new()),
            ..a.guide.request(
                gamma,
                models.models(NosConfig::default()),
                a.steps,
                a.batch_size,
                g.loaded.diffusion.config.seq_len,
            )
        };
        let start = std::time::Instant::now();
        let species: Vec<usize> = (0..g.facts.classes.len()).collect();
        let (samples, nfe) = generate(&g, &req, &species, a.per_species, &dev)?;
        let secs = start.elapsed().as_secs_f64();
        write_samples(dir.file(&format!("gamma_{gamma}.fa")), &samples)?;
        let s = scorer.score(&samples, disc, &dev)?;
        let label = match a.guide.guidance {
            GuidanceKind::None => "none".to_string(),
            k => format!("{} γ={gamma}", k.name().to_uppercase()),
        };
        md.push(s.table_row(&name, &label));
        println!("{}", md.last().map(String::as_str).unwrap_or_default());
        points.push((gamma, s.macro_f1, s.js6));
        rows.push(json!({
            "model": name, "guidance": a.guide.guidance.name(), "gamma": gamma,
            "steps": a.steps, "nfe": nfe, "seconds": secs, "scores": s,
        }));
    }
    write_sweep(&dir, a, &name, &rows, md, &points, &scorer)?;
    println!("wrote {}", dir.file("sweep.md").display());
    Ok(())
}
