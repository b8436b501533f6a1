//! `config.json`: the reference `UDLMConfig` fields, their checks and the mapping to and from
//! [`DitConfig`] and [`DiffusionConfig`].

use super::MODEL_TYPE;
use crate::diffusion::{DiffusionConfig, ModelKind};
use crate::dit::DitConfig;
use crate::error::{CoreError, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

/// The fields of the reference `UDLMConfig` (`config.json`), plus any other fields of the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HfDitConfig {
    /// N: all token ids.
    pub vocab_size: usize,
    /// L: the sequence length the model was trained on.
    pub model_length: usize,
    pub hidden_dim: usize,
    pub cond_dim: usize,
    pub n_blocks: usize,
    pub n_heads: usize,
    pub dropout: f64,
    /// Condition on σ(t); when false the reference feeds σ = 0.
    pub time_conditioning: bool,
    /// Class-conditional (a label table of `cfg_num_classes + 1` rows, the last one the null
    /// class).
    pub cfg: bool,
    /// Number of classes; −1 (the reference's placeholder) when `cfg` is false.
    pub cfg_num_classes: i64,
    /// The reference's AR layout (`parameterization = ar`): causal attention, no σ embedding
    /// and no adaLN modulation (`sigma_map` and every `adaLN_modulation` absent). Not a field of
    /// the reference's `UDLMConfig`, which has no AR form: `"causal": true` in `config.json`
    /// (written by export) marks it.
    pub causal: bool,
    /// Every other field of the file, kept for export.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Fields that [`HfDitConfig`] reads itself (everything else goes to `extra`).
const KNOWN_FIELDS: [&str; 11] = [
    "causal",
    "vocab_size",
    "model_length",
    "hidden_dim",
    "cond_dim",
    "n_blocks",
    "n_heads",
    "dropout",
    "time_conditioning",
    "cfg",
    "cfg_num_classes",
];

impl HfDitConfig {
    /// Read and validate a `config.json`. Errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| CoreError::io(path, e))?;
        Self::from_json_str(&text, &path.display().to_string())
    }

    /// Parse and validate config JSON; `origin` names the source in errors.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Self> {
        let err = |key: &str, reason: String| CoreError::ConfigFile {
            origin: origin.to_string(),
            key: key.to_string(),
            reason,
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| err("", format!("not valid JSON: {e}")))?;
        let Value::Object(mut obj) = value else {
            return Err(err("", "expected a JSON object".into()));
        };
        if let Some(t) = obj.get("model_type")
            && t.as_str() != Some(MODEL_TYPE)
        {
            return Err(err(
                "model_type",
                format!("is {t}, only the reference UDLM layout (\"{MODEL_TYPE}\") is supported"),
            ));
        }
        fn field<T: serde::de::DeserializeOwned>(
            obj: &Map<String, Value>,
            key: &str,
            default: Option<T>,
            expected: &str,
            err: &dyn Fn(&str, String) -> CoreError,
        ) -> Result<T> {
            match obj.get(key) {
                None => default.ok_or_else(|| {
                    err(
                        key,
                        format!("missing (required: {expected} of the UDLMConfig)"),
                    )
                }),
                Some(v) => serde_json::from_value(v.clone())
                    .map_err(|_| err(key, format!("expected {expected}, found {v}"))),
            }
        }
        let size = "a non-negative integer";
        let causal: bool = field(&obj, "causal", Some(false), "a boolean", &err)?;
        let cfg = Self {
            vocab_size: field(&obj, "vocab_size", None, size, &err)?,
            model_length: field(&obj, "model_length", None, size, &err)?,
            hidden_dim: field(&obj, "hidden_dim", None, size, &err)?,
            cond_dim: field(&obj, "cond_dim", None, size, &err)?,
            n_blocks: field(&obj, "n_blocks", None, size, &err)?,
            n_heads: field(&obj, "n_heads", None, size, &err)?,
            dropout: field(&obj, "dropout", Some(0.1), "a number", &err)?,
            // An AR model takes no time; a diffusion model takes it unless told otherwise.
            time_conditioning: field(&obj, "time_conditioning", Some(!causal), "a boolean", &err)?,
            cfg: field(&obj, "cfg", Some(false), "a boolean", &err)?,
            cfg_num_classes: field(&obj, "cfg_num_classes", Some(-1), "an integer", &err)?,
            causal,
            extra: {
                for k in KNOWN_FIELDS {
                    obj.remove(k);
                }
                obj
            },
        };
        cfg.check(origin)?;
        Ok(cfg)
    }

    /// Range and consistency checks, errors naming `origin` and the field.
    pub fn check(&self, origin: &str) -> Result<()> {
        let err = |key: &str, reason: String| {
            Err(CoreError::ConfigFile {
                origin: origin.to_string(),
                key: key.to_string(),
                reason,
            })
        };
        if self.vocab_size < 2 {
            return err(
                "vocab_size",
                format!("is {}, must be at least 2", self.vocab_size),
            );
        }
        if self.model_length == 0 {
            return err("model_length", "must be at least 1".into());
        }
        if self.cond_dim == 0 {
            return err("cond_dim", "must be at least 1".into());
        }
        if self.n_heads == 0 || !self.hidden_dim.is_multiple_of(self.n_heads) {
            return err(
                "n_heads",
                format!(
                    "hidden_dim {} is not divisible by n_heads {}",
                    self.hidden_dim, self.n_heads
                ),
            );
        }
        if self.hidden_dim == 0 || !(self.hidden_dim / self.n_heads).is_multiple_of(2) {
            return err(
                "hidden_dim",
                format!(
                    "head dimension hidden_dim / n_heads = {} must be even and positive (rotary)",
                    self.hidden_dim / self.n_heads
                ),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return err("dropout", format!("is {}, must be in [0, 1)", self.dropout));
        }
        if self.causal && self.time_conditioning {
            return err(
                "time_conditioning",
                "is true but `causal` is true: the reference's AR model has no σ embedding".into(),
            );
        }
        if self.causal && self.cfg {
            return err(
                "cfg",
                "is true but `causal` is true: the reference conditions a class-conditional AR \
                 model on its label alone (adaLN without σ), which this importer does not map"
                    .into(),
            );
        }
        if self.cfg && self.cfg_num_classes < 1 {
            return err(
                "cfg_num_classes",
                format!(
                    "is {} but `cfg` is true: a class-conditional model needs at least 1 class",
                    self.cfg_num_classes
                ),
            );
        }
        Ok(())
    }

    /// Number of classes of a class-conditional model.
    pub fn num_classes(&self) -> Option<usize> {
        self.cfg.then_some(self.cfg_num_classes as usize)
    }

    /// Our DiT config: non-causal with adaLN (diffusion), or causal without (AR); a label table
    /// when `cfg`.
    pub fn to_dit_config(&self) -> DitConfig {
        DitConfig {
            vocab_size: self.vocab_size,
            hidden_size: self.hidden_dim,
            n_blocks: self.n_blocks,
            n_heads: self.n_heads,
            cond_dim: self.cond_dim,
            dropout: self.dropout,
            causal: self.causal,
            num_classes: self.num_classes(),
            adaln: !self.causal,
        }
    }

    /// The HF config of a DiT trained on sequences of `model_length`: the UDLM layout for a
    /// diffusion DiT, the reference's AR layout for a causal one without adaLN.
    pub fn from_dit_config(
        cfg: &DitConfig,
        model_length: usize,
        time_conditioning: bool,
    ) -> Result<Self> {
        if cfg.causal && (cfg.adaln || cfg.num_classes.is_some()) {
            return Err(CoreError::config(
                "model.causal",
                "a causal DiT with adaLN or classes has no reference layout; only plain AR models \
                 (causal, no adaLN, no classes) can be exported",
            ));
        }
        if !cfg.causal && !cfg.adaln {
            return Err(CoreError::config(
                "model.adaln",
                "the HF UDLM layout always has adaLN modulation",
            ));
        }
        let mut extra = Map::new();
        extra.insert("model_type".into(), MODEL_TYPE.into());
        extra.insert("architectures".into(), vec![Value::from("UDLM")].into());
        let out = Self {
            vocab_size: cfg.vocab_size,
            model_length,
            hidden_dim: cfg.hidden_size,
            cond_dim: cfg.cond_dim,
            n_blocks: cfg.n_blocks,
            n_heads: cfg.n_heads,
            dropout: cfg.dropout,
            time_conditioning: time_conditioning && !cfg.causal,
            cfg: cfg.num_classes.is_some(),
            cfg_num_classes: cfg.num_classes.map_or(-1, |c| c as i64),
            causal: cfg.causal,
            extra,
        };
        out.check("model config")?;
        Ok(out)
    }

    /// The HF config of a generator: length from `diffusion.seq_len`, time conditioning as
    /// the diffusion resolves it (default on for UDLM and GIDD, off for MDLM).
    pub fn from_configs(dit: &DitConfig, diffusion: &DiffusionConfig) -> Result<Self> {
        if (diffusion.kind == ModelKind::Ar) != dit.causal {
            return Err(CoreError::config(
                "kind",
                "an AR model needs a causal DiT and a diffusion model a non-causal one",
            ));
        }
        Self::from_dit_config(dit, diffusion.seq_len, diffusion.time_conditioned())
    }

    /// Carry the diffusion facts of the HF config into `diffusion`: N, L (both must agree
    /// with values already set from a tokenizer) and time conditioning.
    pub fn apply_to(&self, diffusion: &mut DiffusionConfig) -> Result<()> {
        if (diffusion.kind == ModelKind::Ar) != self.causal {
            return Err(CoreError::config(
                "kind",
                if self.causal {
                    "the checkpoint is an AR model (`causal`), not a diffusion model"
                } else {
                    "an HF UDLM checkpoint is a non-causal diffusion model, not an AR model"
                },
            ));
        }
        if diffusion.vocab_size != 0 && diffusion.vocab_size != self.vocab_size {
            return Err(CoreError::config(
                "vocab_size",
                format!(
                    "the tokenizer has {} ids but the HF config has vocab_size {}",
                    diffusion.vocab_size, self.vocab_size
                ),
            ));
        }
        if diffusion.seq_len != 0 && diffusion.seq_len != self.model_length {
            return Err(CoreError::config(
                "seq_len",
                format!(
                    "the data has length {} but the HF config has model_length {}",
                    diffusion.seq_len, self.model_length
                ),
            ));
        }
        diffusion.vocab_size = self.vocab_size;
        diffusion.seq_len = self.model_length;
        diffusion.time_conditioning = Some(self.time_conditioning);
        Ok(())
    }

    /// The JSON object written to `config.json`: the extra fields and the UDLM fields.
    pub fn to_json(&self) -> Value {
        let mut obj = self.extra.clone();
        obj.entry("model_type").or_insert(MODEL_TYPE.into());
        obj.insert("vocab_size".into(), self.vocab_size.into());
        obj.insert("model_length".into(), self.model_length.into());
        obj.insert("hidden_dim".into(), self.hidden_dim.into());
        obj.insert("cond_dim".into(), self.cond_dim.into());
        obj.insert("n_blocks".into(), self.n_blocks.into());
        obj.insert("n_heads".into(), self.n_heads.into());
        obj.insert("dropout".into(), self.dropout.into());
        obj.insert("time_conditioning".into(), self.time_conditioning.into());
        obj.insert("cfg".into(), self.cfg.into());
        obj.insert("cfg_num_classes".into(), self.cfg_num_classes.into());
        if self.causal {
            obj.insert("causal".into(), true.into());
        }
        Value::Object(obj)
    }

    pub(super) fn head_dim(&self) -> usize {
        self.hidden_dim / self.n_heads
    }
}
