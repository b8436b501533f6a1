//! Genomics as a [`Domain`] of the core's application layer: species windows of the genomes
//! of a manifest, labelled by species, with a held-out test region for the oracle.

use anyhow::{Context, Result};
use diffusion_core::app::{Domain, ExperimentConfig, Splits, metadata_field};
use diffusion_core::train::LoadedGenerator;
use genomics::config::DataConfig;
use genomics::data::{GenomicsData, prepare};
use genomics::tokenizer::DnaTokenizer;
use serde_json::{Value, json};
use std::path::Path;

pub struct Genomics;

impl Domain for Genomics {
    const NAME: &'static str = "genomics";
    const BOS: Option<i64> = Some(genomics::tokenizer::BOS);
    type DataConfig = DataConfig;
    type Tokenizer = DnaTokenizer;
    type Data = GenomicsData;
    type Error = anyhow::Error;
    type Facts = super::Meta;

    /// The DNA alphabet is fixed; a resumed checkpoint's vocabulary must be it.
    fn prepare(cfg: &DataConfig, vocabulary: Option<&[String]>) -> Result<GenomicsData> {
        if let Some(v) = vocabulary {
            DnaTokenizer::from_vocabulary(v)?;
        }
        Ok(prepare(cfg)?)
    }
    fn splits(data: &GenomicsData) -> Splits<'_, DnaTokenizer> {
        let test = Some(&data.test);
        Splits {
            test,
            ..Splits::new(&DnaTokenizer, &data.train, &data.val)
        }
    }
    fn generator_classes(cfg: &DataConfig, data: &GenomicsData) -> Option<usize> {
        cfg.conditional.then_some(data.classes.len())
    }
    fn metadata(cfg: &DataConfig, data: &GenomicsData) -> Value {
        super::metadata(cfg, &data.classes)
    }
    fn report(data: &GenomicsData) -> Value {
        json!(data.report)
    }
    fn describe(data: &GenomicsData) -> String {
        data.report.summary()
    }
    fn class_names(metadata: &Value) -> Option<Vec<String>> {
        serde_json::from_value(metadata.get("classes")?.clone()).ok()
    }
    /// The `[data]` section and species of a checkpoint; its vocabulary must be the DNA one.
    fn facts(vocabulary: &[String], metadata: &Value, path: &Path) -> Result<super::Meta> {
        DnaTokenizer::from_vocabulary(vocabulary).with_context(|| format!("{}", path.display()))?;
        Ok(super::Meta {
            data: metadata_field(metadata, "data", path)?,
            classes: metadata_field(metadata, "classes", path)?,
        })
    }
    /// The windows the checkpoint was cut from, with another manifest when given.
    fn checkpoint_data(
        g: &LoadedGenerator,
        path: &Path,
        data: Option<&Path>,
    ) -> Result<GenomicsData> {
        let mut cfg = Self::facts(&g.vocabulary, &g.metadata, path)?.data;
        if let Some(m) = data {
            cfg.manifest = m.to_path_buf();
        }
        Ok(prepare(&cfg)?)
    }
    /// The generator's own windows, so the head sees the sequences it will guide.
    fn nos_data(
        _: &ExperimentConfig<DataConfig>,
        g: &LoadedGenerator,
    ) -> Result<(DataConfig, GenomicsData)> {
        let data: DataConfig =
            serde_json::from_value(g.metadata.get("data").cloned().unwrap_or_default())
                .context("generator metadata field `data`")?;
        let prepared = prepare(&data)?;
        Ok((data, prepared))
    }
}
