//! Molecules as a [`Domain`] of the core's application layer: QM9-style SMILES or SELFIES,
//! optionally labelled by a property above its percentile (two classes).

use super::sample::MolFacts;
use anyhow::{Context, Result, bail};
use diffusion_core::app::{Domain, ExperimentConfig, Splits, metadata_field};
use diffusion_core::classifier::ClassifierConfig;
use diffusion_core::domain::{SequenceDataset, Tokenizer};
use diffusion_core::train::{LoadedGenerator, ValStats};
use molecules::config::{DataConfig, Representation};
use molecules::data::{MolData, prepare};
use molecules::mol_tokenizer::MolTokenizer;
use serde_json::{Value, json};
use std::path::Path;

pub struct Molecules;

impl Domain for Molecules {
    const NAME: &'static str = "molecules";
    type DataConfig = DataConfig;
    type Tokenizer = MolTokenizer;
    type Data = MolData;
    type Error = anyhow::Error;
    type Facts = super::sample::MolFacts;
    /// The batch of the README's held-out PPL tables.
    const EVAL_BATCH: usize = 256;
    const BOS: Option<i64> = Some(diffusion_core::domain::SymbolVocab::BOS);

    fn prepare(cfg: &DataConfig, vocabulary: Option<&[String]>) -> Result<MolData> {
        let tok = vocabulary
            .map(|v| MolTokenizer::from_vocabulary(cfg.representation, v))
            .transpose()?;
        Ok(prepare(cfg, tok)?)
    }
    fn splits(data: &MolData) -> Splits<'_, MolTokenizer> {
        Splits::new(&data.tokenizer, &data.train, &data.val)
    }
    fn metadata(cfg: &DataConfig, data: &MolData) -> Value {
        json!({
            "representation": cfg.representation,
            "label": data.label,
            "data_path": cfg.path,
        })
    }
    fn report(data: &MolData) -> Value {
        json!({ "train": data.train.len(), "val": data.val.len(), "left_out": data.report })
    }
    fn describe(data: &MolData) -> String {
        format!(
            "{} train / {} validation molecules, vocabulary {}; {}",
            data.train.len(),
            data.val.len(),
            data.tokenizer.vocab_size(),
            data.report.summary()
        )
    }
    fn check_classifier(cfg: &ExperimentConfig<DataConfig>, _: &ClassifierConfig) -> Result<()> {
        if cfg.data.label.is_none() {
            bail!("a classifier needs labels: set data.label = \"qed\" or \"ring_count\"");
        }
        Ok(())
    }
    /// The tokenizer of the checkpoint's representation and vocabulary, its label and data file.
    fn facts(vocabulary: &[String], metadata: &Value, path: &Path) -> Result<MolFacts> {
        let Some(rep) = metadata.get("representation") else {
            bail!(
                "{}: not a molecules checkpoint (no `representation` in its metadata)",
                path.display()
            );
        };
        let rep: Representation = serde_json::from_value(rep.clone())
            .with_context(|| format!("{}: metadata field `representation`", path.display()))?;
        Ok(MolFacts {
            tokenizer: MolTokenizer::from_vocabulary(rep, vocabulary)?,
            label: metadata_field(metadata, "label", path)?,
            data_path: metadata_field(metadata, "data_path", path)?,
        })
    }
    /// The file, representation, label and length the checkpoint was trained with.
    fn checkpoint_data(g: &LoadedGenerator, path: &Path, data: Option<&Path>) -> Result<MolData> {
        let MolFacts {
            tokenizer: tok,
            label,
            data_path: trained_on,
        } = Self::facts(&g.vocabulary, &g.metadata, path)?;
        let cfg = DataConfig {
            path: data
                .map(Path::to_path_buf)
                .or(trained_on)
                .unwrap_or_else(|| DataConfig::default().path),
            representation: tok.representation,
            seq_len: g.diffusion.config.seq_len,
            label: label.as_ref().map(|l| l.property),
            percentile: label.as_ref().map_or(90.0, |l| l.percentile),
            ..Default::default()
        };
        Ok(prepare(&cfg, Some(tok))?)
    }
    /// Per molecule, so that representations with different tokens (SMILES, SELFIES) compare.
    fn validation_note(g: &LoadedGenerator, data: &MolData, v: &ValStats) -> Option<String> {
        let pad = g.diffusion.config.pad_id;
        let tokens: usize = (0..data.val.len())
            .map(|i| {
                data.val
                    .tokens(i)
                    .iter()
                    .filter(|&&t| Some(t) != pad)
                    .count()
            })
            .sum();
        let per_molecule = tokens as f64 / data.val.len().max(1) as f64;
        Some(format!(
            "pads excluded; {per_molecule:.2} tokens and {:.3} nats per molecule",
            v.nll * per_molecule
        ))
    }
    /// The config's data and label, in the generator's representation and length.
    fn nos_data(
        cfg: &ExperimentConfig<DataConfig>,
        g: &LoadedGenerator,
    ) -> Result<(DataConfig, MolData)> {
        let mut data = cfg.data.clone();
        let rep = g
            .metadata
            .get("representation")
            .cloned()
            .unwrap_or_default();
        data.representation = serde_json::from_value(rep)
            .map_err(|e| anyhow::anyhow!("generator metadata field `representation`: {e}"))?;
        data.seq_len = g.diffusion.config.seq_len;
        let tok = MolTokenizer::from_vocabulary(data.representation, &g.vocabulary)?;
        let prepared = prepare(&data, Some(tok))?;
        Ok((data, prepared))
    }
}
