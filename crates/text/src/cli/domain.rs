//! Text as a [`Domain`] of the core's application layer: the text8 alphabet, contiguous
//! validation split, no labels.

use anyhow::{Context, Result, bail};
use diffusion_core::app::{Domain, ExperimentConfig, Splits, metadata_field};
use diffusion_core::domain::{CharTokenizer, SymbolVocab};
use diffusion_core::train::{LoadedGenerator, ValStats};
use serde_json::{Value, json};
use std::path::Path;
use text::config::DataConfig;
use text::data::{TextData, prepare};
use text::eval::paper_bpc;
use text::tokenizer::{decode, from_vocabulary};

pub struct Text;

impl Domain for Text {
    const NAME: &'static str = "text";
    const TOKEN: &'static str = "character";
    type DataConfig = DataConfig;
    type Tokenizer = CharTokenizer;
    type Data = TextData;
    type Error = anyhow::Error;
    type Facts = super::TextFacts;

    fn prepare(cfg: &DataConfig, vocabulary: Option<&[String]>) -> Result<TextData> {
        let tok = vocabulary.map(from_vocabulary).transpose()?;
        Ok(prepare(cfg, tok)?)
    }
    fn splits(data: &TextData) -> Splits<'_, CharTokenizer> {
        Splits::new(&data.tokenizer, &data.train, &data.val)
    }
    fn metadata(cfg: &DataConfig, _: &TextData) -> Value {
        json!({ "data": cfg })
    }
    fn report(data: &TextData) -> Value {
        json!(data.report)
    }
    fn describe(data: &TextData) -> String {
        data.report.summary()
    }
    /// A sample as text, without the padding spaces around it.
    fn decode(facts: &super::TextFacts, row: &[i64]) -> String {
        decode(&facts.tokenizer, row).trim().to_string()
    }
    /// Each character of `prefix` pinned in turn; it must be in the model's alphabet and no
    /// longer than a sample.
    fn prefix_pins(
        facts: &super::TextFacts,
        prefix: &str,
        seq_len: usize,
    ) -> Result<Vec<(usize, i64)>> {
        let n = prefix.chars().count();
        if n > seq_len {
            bail!("--prefix: {n} characters, but samples hold {seq_len}");
        }
        let mut buf = [0u8; 4];
        let vocab = &facts.tokenizer.vocab;
        (prefix.chars().enumerate())
            .map(|(i, c)| match vocab.id(c.encode_utf8(&mut buf)) {
                SymbolVocab::UNK => {
                    bail!(
                        "--prefix: {c:?} is not in the model's alphabet (a-z and space for text8)"
                    )
                }
                id => Ok((i, id)),
            })
            .collect()
    }
    /// AR models start from a space (a word boundary), since text8 chunks have no BOS.
    fn start_token(facts: &super::TextFacts) -> Option<i64> {
        Some(facts.tokenizer.vocab.id(" "))
    }
    fn facts(vocabulary: &[String], metadata: &Value, path: &Path) -> Result<super::TextFacts> {
        Ok(super::TextFacts {
            tokenizer: from_vocabulary(vocabulary)
                .with_context(|| format!("{}: vocabulary", path.display()))?,
            data: metadata_field(metadata, "data", path)?,
        })
    }
    fn checkpoint_data(g: &LoadedGenerator, path: &Path, data: Option<&Path>) -> Result<TextData> {
        let facts = Self::facts(&g.vocabulary, &g.metadata, path)?;
        let mut cfg = facts.data;
        cfg.seq_len = g.diffusion.config.seq_len;
        if let Some(p) = data {
            cfg.path = p.to_path_buf();
        }
        Ok(prepare(&cfg, Some(facts.tokenizer))?)
    }
    /// The paper's full-scale number, for comparison.
    fn validation_note(g: &LoadedGenerator, _: &TextData, _: &ValStats) -> Option<String> {
        let kind = g.diffusion.kind();
        Some(match paper_bpc(kind) {
            Some(b) => format!("paper, full-scale text8: {b:.2} bits per character"),
            None => "not in the paper".to_string(),
        })
    }
    fn nos_data(
        _: &ExperimentConfig<DataConfig>,
        _: &LoadedGenerator,
    ) -> Result<(DataConfig, TextData)> {
        bail!("text has no labels, so there is nothing for a NOS head to predict")
    }
}
