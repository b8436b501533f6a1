//! `sweep`: one generator sampled at several guidance strengths γ (and step counts T), every
//! row scored as §9.4 does. Writes `<out>/T<T>-gamma<γ>.fa` and the core's sweep files:
//! `sweep.md` (Table C columns, the oracle's held-out accuracy under it), `sweep.csv`,
//! `sweep.json` and a plot of oracle F1 and 6-mer JS against γ.

use super::eval::Scorer;
use super::sample::{Request, generate, run_pins};
use super::{GenModel, Genomics, device};
use anyhow::{Result, bail};
use burn::prelude::Device;
use clap::Args;
use diffusion_core::cli::sweep::SweepGuide;
use diffusion_core::cli::sweep_table::{SweepPlot, SweepRow, SweepTable, settings};
use diffusion_core::nos::NosConfig;
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
    /// Comma-separated numbers of reverse steps T.
    #[arg(long, default_value = "128")]
    pub steps: String,
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
fn real_row(
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
fn random_row(
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

/// How the rows of a species table are made: the oracle scorer, sequences per species and
/// the optional discriminator (shared by `sweep` and `demo`).
pub struct SpeciesRows<'a> {
    pub scorer: &'a Scorer,
    pub per_species: usize,
    pub disc: Option<&'a DiscriminatorConfig>,
}

impl SpeciesRows<'_> {
    /// Push the §9.4 reference rows: Random (its sequences written to `random.fa`) and Real.
    pub fn reference(
        &self,
        table: &mut SweepTable<SpeciesScores>,
        seed: u64,
        dev: &Device,
    ) -> Result<()> {
        let (scorer, per, disc) = (self.scorer, self.per_species, self.disc);
        let (samples, s) = random_row(scorer, per, disc, seed, dev)?;
        write_samples(table.dir.file("random.fa"), &samples)?;
        table.push(SweepRow::reference("Random | –", s));
        let s = real_row(scorer, per, disc, dev)?;
        table.push(SweepRow::reference("Real (test windows) | –", s));
        Ok(())
    }

    /// Sample every species for `req` (with the generator's pins), write the sequences to
    /// `fasta` and score them: the row `label` at γ = `gamma`.
    pub fn sampled(
        &self,
        (g, req): (&GenModel, Request),
        fasta: &std::path::Path,
        label: String,
        gamma: f64,
        dev: &Device,
    ) -> Result<SweepRow<SpeciesScores>> {
        let req = Request {
            pins: run_pins(g, Vec::new()),
            ..req
        };
        let species: Vec<usize> = (0..g.facts.classes.len()).collect();
        let start = std::time::Instant::now();
        let (samples, nfe) = generate(g, &req, &species, self.per_species, dev)?;
        let seconds = start.elapsed().as_secs_f64();
        write_samples(fasta, &samples)?;
        Ok(SweepRow {
            label,
            gamma: Some(gamma),
            steps: Some(req.sampler.steps),
            nfe: Some(nfe),
            seconds: Some(seconds),
            scores: self.scorer.score(&samples, self.disc, dev)?,
        })
    }

    /// The oracle line under a species table.
    pub fn caption(&self, steps: &str) -> String {
        format!(
            "Oracle held-out accuracy: {}. {} sequences per species and row, T = {steps}.",
            self.scorer.held_out_text(),
            self.per_species
        )
    }
}

pub fn run(a: &SweepArgs) -> Result<()> {
    let dev = device(a.guide.backend.as_deref())?;
    let g = GenModel::load(&a.guide.checkpoint, &dev)?;
    let models = a.guide.load_models::<Genomics>(&g.loaded, &dev)?;
    let scorer = Scorer::load(
        &diffusion_core::paths::resolve_path(&a.oracle),
        a.reference.as_deref(),
        &dev,
    )?;
    if scorer.meta.classes != g.facts.classes {
        bail!("the oracle and the generator know different species");
    }
    let grid = settings(&a.gammas, &a.steps)?;
    let several = grid.first().map(|f| f.0) != grid.last().map(|l| l.0);
    let disc = DiscriminatorConfig::default();
    let disc = (!a.no_discriminator).then_some(&disc);
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("{:?}", g.loaded.diffusion.kind()).to_uppercase());
    let rows = SpeciesRows {
        scorer: &scorer,
        per_species: a.per_species,
        disc,
    };
    let mut table = SweepTable::create(&a.out)?;
    if a.random_row {
        rows.reference(&mut table, a.guide.seed, &dev)?;
    }
    for (steps, gamma) in grid {
        let seq_len = g.loaded.diffusion.config.seq_len;
        let nos = models.models(NosConfig::default());
        let req = a.guide.request(gamma, nos, steps, a.batch_size, seq_len);
        let fasta = table.dir.file(&format!("T{steps}-gamma{gamma}.fa"));
        let label = format!("{name} | {}", a.guide.row_label(steps, gamma, several));
        table.push(rows.sampled((&g, req), &fasta, label, gamma, &dev)?);
    }
    let settings = json!({
        "checkpoint": a.guide.checkpoint, "oracle": a.oracle, "per_species": a.per_species,
        "seed": a.guide.seed, "sampler": a.guide.refine.describe(),
        "oracle_held_out": scorer.held_out,
    });
    let plot = SweepPlot::<SpeciesScores> {
        stem: "sweep",
        title: name,
        metrics: vec![
            ("oracle macro F1", |s| Some(s.macro_f1)),
            ("6-mer JS distance", |s| Some(s.js6)),
        ],
    };
    let caption = rows.caption(&a.steps);
    Ok(table.write(&caption, settings, &[plot])?)
}
