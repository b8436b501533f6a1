//! `eval`: score any FASTA of generated sequences as §9.4 does. The intended species is read
//! from each header (`species=NAME`), the oracle is a clean classifier checkpoint, and the
//! reference windows are the validation windows of the oracle's data settings (or of
//! `--reference MANIFEST` cut the same way).

use super::{Genomics, Meta, device};
use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use clap::Args;
use diffusion_core::app::DomainClassifier;
use diffusion_core::classifier::DitClassifier;
use diffusion_core::report::frechet::Gaussian;
use genomics::data::{bases_by_class, prepare};
use genomics::evaluate::{DiscriminatorConfig, Reference, SpeciesScores, oracle_gaussian, score};
use genomics::{GeneratedSample, samples_for};
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct EvalArgs {
    /// FASTA of generated sequences with `species=NAME` in every header (as `sample` writes).
    #[arg(long)]
    pub samples: PathBuf,
    /// Species manifest of the reference genomes (default: the oracle's training manifest).
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Oracle: a clean species classifier (`train-classifier` without `classifier.noise`).
    #[arg(long, default_value = "checkpoints/genomics/species-oracle.ckpt")]
    pub oracle: PathBuf,
    /// Skip the discriminator AUROC (it trains a small network).
    #[arg(long)]
    pub no_discriminator: bool,
    /// Discriminator training epochs over its 90 % split.
    #[arg(long, default_value_t = 5)]
    pub disc_epochs: usize,
    /// Write the scores as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Replace the results of an earlier run at the output path (refused otherwise).
    #[arg(long)]
    pub force: bool,
    #[arg(long)]
    pub backend: Option<String>,
}

/// The oracle and the validation windows it scores against.
pub struct Scorer {
    pub oracle: DitClassifier,
    pub meta: Meta,
    pub seq_len: usize,
    pub val: Vec<Vec<Vec<u8>>>,
    /// The oracle's feature Gaussian over all validation windows (the Fréchet reference).
    pub val_gaussian: Gaussian,
    /// Test windows (bases) per species: the "real" reference row.
    pub test: Vec<Vec<Vec<u8>>>,
    /// The oracle's own held-out report, as stored in its checkpoint by `train-classifier`.
    pub held_out: Option<serde_json::Value>,
}

impl Scorer {
    pub fn load(oracle: &Path, reference: Option<&Path>, dev: &Device) -> Result<Self> {
        let DomainClassifier {
            loaded: c,
            facts: mut meta,
        } = DomainClassifier::<Genomics>::load(oracle, dev)?;
        tracing::info!("oracle {}", oracle.display());
        if c.objective.config.noise.is_some() {
            bail!(
                "{} is a noisy (guidance) classifier; the oracle must be trained on clean windows",
                oracle.display()
            );
        }
        if let Some(r) = reference {
            meta.data.manifest = r.to_path_buf();
        }
        // Samples are compared with the plain, non-overlapping held-out windows, whatever
        // training-only settings the oracle's run used (an overlapping stride, reverse
        // complements), so every oracle scores against the same reference windows.
        meta.data.windows.stride = None;
        meta.data.windows.reverse_complement = false;
        let data = prepare(&meta.data).context("loading the reference windows")?;
        if data.classes != meta.classes {
            bail!(
                "the reference manifest lists {} but the oracle knows {}",
                data.classes.join(","),
                meta.classes.join(",")
            );
        }
        let val = bases_by_class(&data.val, data.classes.len());
        let test = bases_by_class(&data.test, data.classes.len());
        let seq_len = c.objective.config.seq_len;
        let pooled: Vec<Vec<u8>> = val.iter().flatten().cloned().collect();
        let val_gaussian = oracle_gaussian(&c.model, &pooled, seq_len, dev)?;
        Ok(Self {
            test,
            held_out: c.metadata.get("held_out").cloned(),
            seq_len,
            oracle: c.model,
            val_gaussian,
            meta,
            val,
        })
    }

    /// "0.912 (macro F1 0.910, n = 1200 test windows)" or a note that it is unknown.
    pub fn held_out_text(&self) -> String {
        match &self.held_out {
            Some(h) => format!(
                "{:.3} (macro F1 {:.3}, MCC {:.3}, on {} held-out test windows)",
                h["accuracy"].as_f64().unwrap_or(f64::NAN),
                h["macro_f1"].as_f64().unwrap_or(f64::NAN),
                h["mcc"].as_f64().unwrap_or(f64::NAN),
                h["n"]
            ),
            None => "not recorded in the oracle checkpoint".into(),
        }
    }

    /// Scores of `samples`; their species must be ones the oracle knows.
    pub fn score(
        &self,
        samples: &[GeneratedSample],
        disc: Option<&DiscriminatorConfig>,
        dev: &Device,
    ) -> Result<SpeciesScores> {
        let mut intended = Vec::with_capacity(samples.len());
        for (i, s) in samples.iter().enumerate() {
            let c = self
                .meta
                .classes
                .iter()
                .position(|n| *n == s.species)
                .with_context(|| {
                    format!(
                        "sample {i}: species `{}` is not one the oracle knows ({})",
                        s.species,
                        self.meta.classes.join(", ")
                    )
                })?;
            intended.push(c);
        }
        let seqs: Vec<Vec<u8>> = samples.iter().map(|s| s.seq.clone()).collect();
        let window = self.seq_len - 1;
        let (longer, shorter) = (
            seqs.iter().filter(|s| s.len() > window).count(),
            seqs.iter().filter(|s| s.len() < window).count(),
        );
        if longer + shorter > 0 {
            // The oracle and the discriminator see windows of the oracle's length; k-mer JS uses
            // every base.
            tracing::warn!(
                "{longer} sequences longer than the oracle's {window} bp are truncated and {shorter} shorter ones padded for the oracle and the discriminator"
            );
        }
        let reference = Reference {
            val: &self.val,
            oracle: &self.oracle,
            oracle_seq_len: self.seq_len,
            val_gaussian: &self.val_gaussian,
        };
        Ok(score(&seqs, &intended, &reference, disc, dev)?)
    }
}

pub fn run(a: &EvalArgs) -> Result<SpeciesScores> {
    if let Some(out) = &a.json {
        diffusion_core::cli::check_output(out, "--json", a.force)?;
    }
    let dev = device(a.backend.as_deref())?;
    let file = genomics::read_fasta(&a.samples)?; // a malformed file is reported before the oracle loads
    let scorer = Scorer::load(
        &diffusion_core::paths::resolve_path(&a.oracle),
        a.reference.as_deref(),
        &dev,
    )?;
    let samples = samples_for(file, &scorer.meta.classes)?;
    if samples.is_empty() {
        bail!("{}: no sequences", a.samples.display());
    }
    let disc = DiscriminatorConfig {
        epochs: a.disc_epochs,
        ..Default::default()
    };
    let s = scorer.score(&samples, (!a.no_discriminator).then_some(&disc), &dev)?;
    println!("oracle held-out accuracy: {}", scorer.held_out_text());
    println!("{}", SpeciesScores::table_header());
    println!("{}", s.table_row(&a.samples.display().to_string(), "–"));
    if let Some(f) = s.fbd {
        println!("Fréchet distance on the oracle's features (to the validation windows): {f:.3}");
    }
    if let Some(p) = &a.json {
        diffusion_core::run_dir::write_json_atomic(p, &s)?;
        println!("wrote {}", p.display());
    }
    Ok(s)
}
