//! Import and export of reference UDLM checkpoints in the Hugging Face layout
//! (`kuleshov-group/udlm-qm9`, `kuleshov-group/udlm-lm1b`): a `config.json` with the fields of the
//! reference `UDLMConfig` and a `model.safetensors` holding the state dict of the reference
//! `UDLM` module (the DiT of spec §7.1 under the prefix `backbone.`).
//!
//! # Name mapping
//!
//! `H` hidden size, `C` cond_dim, `N` vocabulary, `K` classes (`cfg_num_classes`), `d` head
//! dimension. PyTorch `nn.Linear` stores its weight as `[out, in]`, burn's `Linear` as
//! `[in, out]`, so every linear weight is transposed on the way in and out ("ᵀ").
//!
//! | reference tensor (after `backbone.`) | shape in the file | [`Dit`] parameter |
//! |---|---|---|
//! | `vocab_embed.embedding` | `[N, H]` | `vocab_embed` (as is) |
//! | `sigma_map.mlp.0.weight` / `.bias` | `[C, 256]` / `[C]` | `sigma_map.mlp_0` (weight ᵀ) |
//! | `sigma_map.mlp.2.weight` / `.bias` | `[C, C]` / `[C]` | `sigma_map.mlp_2` (weight ᵀ) |
//! | `cond_map.embedding_table.weight` (only with `cfg`) | `[K + 1, C]` | `label_embed.weight` (as is; row `K` is the null class) |
//! | `blocks.i.norm1.weight` | `[H]` | `blocks[i].norm1.weight` |
//! | `blocks.i.attn_qkv.weight` | `[3H, H]` | `blocks[i].attn_qkv.weight` (ᵀ; rows ordered `(q/k/v, head, d)` in both) |
//! | `blocks.i.attn_out.weight` | `[H, H]` | `blocks[i].attn_out.weight` (ᵀ) |
//! | `blocks.i.norm2.weight` | `[H]` | `blocks[i].norm2.weight` |
//! | `blocks.i.mlp.0.weight` / `.bias` | `[4H, H]` / `[4H]` | `blocks[i].mlp_0` (weight ᵀ) |
//! | `blocks.i.mlp.2.weight` / `.bias` | `[H, 4H]` / `[H]` | `blocks[i].mlp_2` (weight ᵀ) |
//! | `blocks.i.adaLN_modulation.weight` / `.bias` | `[6H, C]` / `[6H]` | `blocks[i].adaln_modulation` (weight ᵀ; chunks shift/scale/gate msa, shift/scale/gate mlp in both) |
//! | `output_layer.norm_final.weight` | `[H]` | `output_norm.weight` |
//! | `output_layer.adaLN_modulation.weight` / `.bias` | `[2H, C]` / `[2H]` | `output_adaln` (weight ᵀ; chunks shift, scale) |
//! | `output_layer.linear.weight` / `.bias` | `[N, H]` / `[N]` | `output_linear` (weight ᵀ) |
//! | `rotary_emb.inv_freq` (a buffer, optional) | `[d/2]` | none: checked against 10000^(−2j/d) |
//!
//! # Policy
//!
//! * Tensor names may carry the `backbone.` prefix (the HF `UDLM` module) or none (a bare
//!   `DITBackbone` / training `DIT` state dict); the prefix is detected from
//!   `backbone.vocab_embed.embedding`.
//! * Every missing tensor, every tensor of the wrong shape or of a non-float dtype, and every
//!   tensor the model does not use is an error; one error lists all of them, with both shapes.
//!   The only tolerated extra is the rotary buffer `rotary_emb.inv_freq`, whose values must
//!   match the frequencies this crate computes.
//! * F32, F64, BF16 and F16 tensors are read (converted to f32); export writes F32 with the
//!   `{"format": "pt"}` metadata that `transformers` expects, plus the rotary buffer, as
//!   `save_pretrained` does.
//! * `config.json`: `vocab_size`, `model_length`, `hidden_dim`, `cond_dim`, `n_blocks` and
//!   `n_heads` are required; `dropout` (0.1), `time_conditioning` (true), `cfg` (false) and
//!   `cfg_num_classes` (−1) default as in `UDLMConfig`; any other field (`architectures`,
//!   `auto_map`, `transformers_version`, …) is kept in [`HfDitConfig::extra`] and written back on
//!   export. A `model_type` other than `udlm` is refused.
//! * The HF config has no causal or adaLN switch. The reference's AR DiT (`parameterization =
//!   ar`: causal, no `sigma_map`, no `adaLN_modulation`) is read and written when `config.json`
//!   says `"causal": true` (a field of ours; `time_conditioning` then defaults to false). A
//!   causal DiT with adaLN (the project's own AR models) has no such form and is refused on export.
//! * Semantics: the reference's `time_conditioning = false` feeds σ = 0 to the network; set
//!   [`DiffusionConfig::time_conditioning`] accordingly ([`HfDitConfig::apply_to`]). On a `cfg`
//!   model the reference adds no label term when `cond` is `None`, while [`Dit`] uses the null
//!   class `K`; the reference's own unconditional passes feed the null class explicitly, which
//!   is what [`Dit`] does.

use crate::diffusion::{DiffusionConfig, ModelKind};
use crate::dit::timestep::FREQUENCY_EMBEDDING_SIZE;
use crate::dit::{Dit, DitConfig};
use crate::error::{CoreError, Result};
use crate::tensor_util::to_vec_f32;
use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Usual file names in a Hugging Face model repository.
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";

/// The `model_type` of the reference `UDLMConfig`.
pub const MODEL_TYPE: &str = "udlm";

/// Name of the rotary buffer (not a parameter) in the reference state dict.
const INV_FREQ: &str = "rotary_emb.inv_freq";

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

    fn head_dim(&self) -> usize {
        self.hidden_dim / self.n_heads
    }
}

/// Every tensor of the reference state dict for `cfg` (without prefix, without the rotary
/// buffer) with its PyTorch shape, in module order.
pub fn expected_tensors(cfg: &HfDitConfig) -> Vec<(String, Vec<usize>)> {
    let (h, c, n) = (cfg.hidden_dim, cfg.cond_dim, cfg.vocab_size);
    let mut v: Vec<(String, Vec<usize>)> = vec![("vocab_embed.embedding".into(), vec![n, h])];
    if !cfg.causal {
        v.extend([
            (
                "sigma_map.mlp.0.weight".into(),
                vec![c, FREQUENCY_EMBEDDING_SIZE],
            ),
            ("sigma_map.mlp.0.bias".into(), vec![c]),
            ("sigma_map.mlp.2.weight".into(), vec![c, c]),
            ("sigma_map.mlp.2.bias".into(), vec![c]),
        ]);
    }
    if let Some(k) = cfg.num_classes() {
        v.push(("cond_map.embedding_table.weight".into(), vec![k + 1, c]));
    }
    for i in 0..cfg.n_blocks {
        let p = format!("blocks.{i}.");
        for (name, shape) in [
            ("norm1.weight", vec![h]),
            ("attn_qkv.weight", vec![3 * h, h]),
            ("attn_out.weight", vec![h, h]),
            ("norm2.weight", vec![h]),
            ("mlp.0.weight", vec![4 * h, h]),
            ("mlp.0.bias", vec![4 * h]),
            ("mlp.2.weight", vec![h, 4 * h]),
            ("mlp.2.bias", vec![h]),
            ("adaLN_modulation.weight", vec![6 * h, c]),
            ("adaLN_modulation.bias", vec![6 * h]),
        ] {
            if !(cfg.causal && name.starts_with("adaLN")) {
                v.push((format!("{p}{name}"), shape));
            }
        }
    }
    v.extend([
        ("output_layer.norm_final.weight".into(), vec![h]),
        ("output_layer.linear.weight".into(), vec![n, h]),
        ("output_layer.linear.bias".into(), vec![n]),
    ]);
    if !cfg.causal {
        v.extend([
            (
                "output_layer.adaLN_modulation.weight".into(),
                vec![2 * h, c],
            ),
            ("output_layer.adaLN_modulation.bias".into(), vec![2 * h]),
        ]);
    }
    v
}

/// Rotary inverse frequencies 10000^(−2j/d), j < d/2 (spec §7.1).
fn inv_freq(head_dim: usize) -> Vec<f64> {
    (0..head_dim / 2)
        .map(|j| 10000f64.powf(-(2.0 * j as f64) / head_dim as f64))
        .collect()
}

/// `[rows, cols]` row-major → `[cols, rows]` row-major.
fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; data.len()];
    for r in 0..rows {
        for (k, &x) in data[r * cols..(r + 1) * cols].iter().enumerate() {
            out[k * rows + r] = x;
        }
    }
    out
}

fn f16_to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exp = ((bits >> 10) & 0x1f) as i32;
    let mant = (bits & 0x3ff) as u32;
    let mag = match (exp, mant) {
        (0, 0) => 0,
        (0, m) => {
            // Subnormal: m · 2^−24, exact in f32.
            let v = m as f32 * 2f32.powi(-24);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => 0xff << 23,
        (0x1f, m) => (0xff << 23) | (m << 13),
        (e, m) => (((e - 15 + 127) as u32) << 23) | (m << 13),
    };
    f32::from_bits(sign | mag)
}

/// A tensor's values as f32 (little-endian F32, F64, BF16 or F16).
fn view_to_f32(view: &TensorView<'_>) -> std::result::Result<Vec<f32>, String> {
    let d = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => d
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => d
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        Dtype::BF16 => d
            .chunks_exact(2)
            .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))
            .collect(),
        Dtype::F16 => d
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        other => {
            return Err(format!(
                "dtype {other:?} is not a float type (F32, F64, BF16, F16)"
            ));
        }
    })
}

/// At most `max` lines of a list, then a count of the rest.
fn list(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .map(|i| format!("\n  {i}"))
        .collect::<String>();
    if items.len() > max {
        s.push_str(&format!("\n  … and {} more", items.len() - max));
    }
    s
}

/// Host values of the file's tensors by their unprefixed names, after checking names, shapes
/// and dtypes against `cfg`.
struct Loaded {
    values: HashMap<String, Vec<f32>>,
}

impl Loaded {
    fn read(bytes: &[u8], cfg: &HfDitConfig, path: &Path) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| {
            CoreError::checkpoint(path, format!("not a valid safetensors file: {e}"))
        })?;
        let names: BTreeSet<&str> = st.names().into_iter().collect();
        let prefix = if names.contains("backbone.vocab_embed.embedding") {
            "backbone."
        } else if names.contains("vocab_embed.embedding") {
            ""
        } else {
            return Err(CoreError::checkpoint(
                path,
                format!(
                    "no tensor `backbone.vocab_embed.embedding` (nor `vocab_embed.embedding`): not a \
                     reference UDLM / DiT state dict; the file has {} tensors, e.g.{}",
                    names.len(),
                    list(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>(), 5)
                ),
            ));
        };
        let expected = expected_tensors(cfg);
        let (mut missing, mut wrong, mut bad_dtype) = (Vec::new(), Vec::new(), Vec::new());
        let mut values = HashMap::new();
        let mut used = BTreeSet::new();
        for (name, shape) in &expected {
            let full = format!("{prefix}{name}");
            let Ok(view) = st.tensor(&full) else {
                missing.push(format!("`{full}` (expected shape {shape:?})"));
                continue;
            };
            used.insert(full.clone());
            if view.shape() != shape.as_slice() {
                wrong.push(format!(
                    "`{full}`: file has shape {:?}, config.json implies {shape:?}",
                    view.shape()
                ));
                continue;
            }
            match view_to_f32(&view) {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(e) => bad_dtype.push(format!("`{full}`: {e}")),
            }
        }
        // The rotary buffer: optional, but if present it must be the frequencies we use.
        let rot = format!("{prefix}{INV_FREQ}");
        if let Ok(view) = st.tensor(&rot) {
            used.insert(rot.clone());
            let want = inv_freq(cfg.head_dim());
            if view.shape() != [want.len()] {
                wrong.push(format!(
                    "`{rot}`: file has shape {:?}, config.json implies [{}]",
                    view.shape(),
                    want.len()
                ));
            } else {
                match view_to_f32(&view) {
                    Ok(got) => {
                        if let Some((j, (g, w))) =
                            got.iter().zip(&want).enumerate().find(|(_, (g, w))| {
                                ((**g as f64) - **w).abs() > 1e-5 * w.abs().max(1e-3)
                            })
                        {
                            wrong.push(format!(
                                "`{rot}`: entry {j} is {g}, but rotary frequencies here are \
                                 10000^(-2j/d) = {w} (d = {})",
                                cfg.head_dim()
                            ));
                        }
                    }
                    Err(e) => bad_dtype.push(format!("`{rot}`: {e}")),
                }
            }
        }
        let unexpected: Vec<String> = names
            .iter()
            .filter(|n| !used.contains(**n))
            .map(|n| {
                let shape = st.tensor(n).map(|v| v.shape().to_vec()).unwrap_or_default();
                format!("`{n}` (shape {shape:?})")
            })
            .collect();
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!(
                "{} tensor(s) missing:{}",
                missing.len(),
                list(&missing, 20)
            ));
        }
        if !wrong.is_empty() {
            problems.push(format!(
                "{} tensor(s) of the wrong shape or value:{}",
                wrong.len(),
                list(&wrong, 20)
            ));
        }
        if !bad_dtype.is_empty() {
            problems.push(format!(
                "{} tensor(s) of an unsupported dtype:{}",
                bad_dtype.len(),
                list(&bad_dtype, 20)
            ));
        }
        if !unexpected.is_empty() {
            problems.push(format!(
                "{} unexpected tensor(s) that the model described by config.json does not use \
                 (check n_blocks, cfg, cfg_num_classes):{}",
                unexpected.len(),
                list(&unexpected, 20)
            ));
        }
        if !problems.is_empty() {
            return Err(CoreError::checkpoint(path, problems.join("\n")));
        }
        Ok(Self { values })
    }

    fn take(&mut self, name: &str) -> Vec<f32> {
        self.values
            .remove(name)
            .unwrap_or_else(|| panic!("tensor `{name}` was validated"))
    }

    fn param<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Param<Tensor<D>> {
        Param::from_data(TensorData::new(self.take(name), shape), device)
    }

    /// A PyTorch linear (`[out, in]` weight) as a burn `Linear` (`[in, out]`).
    fn linear(
        &mut self,
        prefix: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        device: &Device,
    ) -> Linear {
        let w = transpose(&self.take(&format!("{prefix}.weight")), d_out, d_in);
        Linear {
            weight: Param::from_data(TensorData::new(w, [d_in, d_out]), device),
            bias: bias.then(|| self.param(&format!("{prefix}.bias"), [d_out], device)),
        }
    }
}

/// Import a reference checkpoint: `weights` is the `model.safetensors`, `config` the
/// `config.json`. Returns our DiT config and the model with every parameter from the file.
pub fn import_safetensors(
    weights: &Path,
    config: &Path,
    device: &Device,
) -> Result<(DitConfig, Dit)> {
    let hf = HfDitConfig::load(config)?;
    let dit = import_safetensors_with(weights, &hf, device)?;
    Ok((hf.to_dit_config(), dit))
}

/// Import the weights of `weights` for an already loaded [`HfDitConfig`].
pub fn import_safetensors_with(weights: &Path, hf: &HfDitConfig, device: &Device) -> Result<Dit> {
    let bytes = std::fs::read(weights).map_err(|e| CoreError::io(weights, e))?;
    let mut t = Loaded::read(&bytes, hf, weights)?;
    drop(bytes);
    let cfg = hf.to_dit_config();
    cfg.validate()?;
    let (h, c, n) = (hf.hidden_dim, hf.cond_dim, hf.vocab_size);
    let mut dit = cfg.init(device);
    dit.vocab_embed = t.param("vocab_embed.embedding", [n, h], device);
    // An AR model has no σ embedding; ours keeps its initial one, whose output only feeds the
    // output modulation, which stays zero (no modulation), as in the reference.
    if !hf.causal {
        dit.sigma_map.mlp_0 =
            t.linear("sigma_map.mlp.0", FREQUENCY_EMBEDDING_SIZE, c, true, device);
        dit.sigma_map.mlp_2 = t.linear("sigma_map.mlp.2", c, c, true, device);
    }
    if let Some(k) = hf.num_classes() {
        dit.label_embed = Some(Embedding {
            weight: t.param("cond_map.embedding_table.weight", [k + 1, c], device),
        });
    }
    for (i, block) in dit.blocks.iter_mut().enumerate() {
        let p = format!("blocks.{i}");
        block.norm1.weight = t.param(&format!("{p}.norm1.weight"), [h], device);
        block.attn_qkv = t.linear(&format!("{p}.attn_qkv"), h, 3 * h, false, device);
        block.attn_out = t.linear(&format!("{p}.attn_out"), h, h, false, device);
        block.norm2.weight = t.param(&format!("{p}.norm2.weight"), [h], device);
        block.mlp_0 = t.linear(&format!("{p}.mlp.0"), h, 4 * h, true, device);
        block.mlp_2 = t.linear(&format!("{p}.mlp.2"), 4 * h, h, true, device);
        if !hf.causal {
            block.adaln_modulation =
                Some(t.linear(&format!("{p}.adaLN_modulation"), c, 6 * h, true, device));
        }
    }
    dit.output_norm.weight = t.param("output_layer.norm_final.weight", [h], device);
    if !hf.causal {
        dit.output_adaln = t.linear("output_layer.adaLN_modulation", c, 2 * h, true, device);
    }
    dit.output_linear = t.linear("output_layer.linear", h, n, true, device);
    debug_assert!(t.values.is_empty(), "unmapped: {:?}", t.values.keys());
    Ok(dit)
}

fn host<const D: usize>(p: &Param<Tensor<D>>) -> (Vec<f32>, Vec<usize>) {
    let v = p.val();
    let dims = v.dims().to_vec();
    let data = v
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("float tensor converts to f32");
    (data, dims)
}

type HostTensor = (String, Vec<f32>, Vec<usize>);

/// A parameter as (name, values, shape).
fn plain<const D: usize>(name: String, p: &Param<Tensor<D>>) -> HostTensor {
    let (d, s) = host(p);
    (name, d, s)
}

/// A burn `Linear` (`[in, out]`) as the PyTorch weight `[out, in]` and bias.
fn push_linear(out: &mut Vec<HostTensor>, prefix: &str, l: &Linear) {
    let (w, s) = host(&l.weight);
    out.push((
        format!("{prefix}.weight"),
        transpose(&w, s[0], s[1]),
        vec![s[1], s[0]],
    ));
    if let Some(b) = &l.bias {
        out.push(plain(format!("{prefix}.bias"), b));
    }
}

/// The reference tensors (unprefixed names, PyTorch shapes) of a DiT.
fn collect(dit: &Dit, path: &Path) -> Result<Vec<HostTensor>> {
    let causal = dit.blocks.first().is_some_and(|b| b.causal);
    let mut out = vec![plain("vocab_embed.embedding".into(), &dit.vocab_embed)];
    if !causal {
        push_linear(&mut out, "sigma_map.mlp.0", &dit.sigma_map.mlp_0);
        push_linear(&mut out, "sigma_map.mlp.2", &dit.sigma_map.mlp_2);
    }
    if let Some(emb) = &dit.label_embed {
        out.push(plain("cond_map.embedding_table.weight".into(), &emb.weight));
    }
    for (i, b) in dit.blocks.iter().enumerate() {
        let p = format!("blocks.{i}");
        if b.causal != causal || (causal == b.adaln_modulation.is_some()) {
            return Err(CoreError::checkpoint(
                path,
                format!(
                    "block {i}: the reference layouts are non-causal with adaLN (diffusion) or \
                     causal without (AR)"
                ),
            ));
        }
        out.push(plain(format!("{p}.norm1.weight"), &b.norm1.weight));
        push_linear(&mut out, &format!("{p}.attn_qkv"), &b.attn_qkv);
        push_linear(&mut out, &format!("{p}.attn_out"), &b.attn_out);
        out.push(plain(format!("{p}.norm2.weight"), &b.norm2.weight));
        push_linear(&mut out, &format!("{p}.mlp.0"), &b.mlp_0);
        push_linear(&mut out, &format!("{p}.mlp.2"), &b.mlp_2);
        if let Some(adaln) = &b.adaln_modulation {
            push_linear(&mut out, &format!("{p}.adaLN_modulation"), adaln);
        }
    }
    if causal {
        out.extend(fold_output_modulation(dit));
    } else {
        out.push(plain(
            "output_layer.norm_final.weight".into(),
            &dit.output_norm.weight,
        ));
        push_linear(&mut out, "output_layer.linear", &dit.output_linear);
        push_linear(&mut out, "output_layer.adaLN_modulation", &dit.output_adaln);
    }
    Ok(out)
}

/// The output layer of an AR DiT without its modulation, as the reference's AR layout has it.
/// Our AR network still modulates its output by (shift, scale) = adaLN(c) from the constant
/// c = SiLU(TimeEmb(0)) (an AR model always gets σ = 0), so the modulation is folded exactly:
/// LN(x)·w·(1 + scale) + shift, then ·W + b, equals LN(x)·w′ then ·W + b′ with
/// w′ = w ⊙ (1 + scale) and b′ = b + shift·W.
fn fold_output_modulation(dit: &Dit) -> Vec<HostTensor> {
    let device = dit.vocab_embed.val().device();
    let c = dit.conditioning(Tensor::zeros([1], &device), None); // [1, C]
    let mods = dit.output_adaln.forward(c); // [1, 2H]
    let h = dit.output_norm.weight.val().dims()[0];
    let shift = mods.clone().narrow(1, 0, h); // [1, H]
    let scale = mods.narrow(1, h, h); // [1, H]
    let w = dit.output_norm.weight.val().reshape([1, h]) * scale.add_scalar(1.0);
    let weight = dit.output_linear.weight.val(); // [H, N]
    let n = weight.dims()[1];
    let bias = shift.matmul(weight.clone()).reshape([n]);
    let bias = match &dit.output_linear.bias {
        Some(b) => bias + b.val(),
        None => bias,
    };
    let (wl, sl) = host(&dit.output_linear.weight);
    vec![
        (
            "output_layer.norm_final.weight".into(),
            to_vec_f32(w.reshape([h])),
            vec![h],
        ),
        (
            "output_layer.linear.weight".into(),
            transpose(&wl, sl[0], sl[1]),
            vec![sl[1], sl[0]],
        ),
        ("output_layer.linear.bias".into(), to_vec_f32(bias), vec![n]),
    ]
}

/// Export a DiT in the reference layout: `weights` (`model.safetensors`, F32, names prefixed
/// `backbone.`) and `config` (`config.json`). Each file is written to `<file>.tmp`, synced and
/// renamed, so a crash never leaves a torn file. The model must match `cfg` in every shape.
pub fn export_safetensors(
    dit: &Dit,
    cfg: &HfDitConfig,
    weights: &Path,
    config: &Path,
) -> Result<()> {
    cfg.check(&config.display().to_string())?;
    let tensors = collect(dit, weights)?;
    // The model and the config must describe the same network.
    let expected: BTreeMap<String, Vec<usize>> = expected_tensors(cfg).into_iter().collect();
    let mut problems = Vec::new();
    for (name, _, shape) in &tensors {
        match expected.get(name) {
            None => problems.push(format!(
                "model has `backbone.{name}` (shape {shape:?}) that the config does not describe"
            )),
            Some(want) if want != shape => problems.push(format!(
                "`backbone.{name}`: model has shape {shape:?}, the config implies {want:?}"
            )),
            _ => {}
        }
    }
    let have: BTreeSet<&String> = tensors.iter().map(|(n, _, _)| n).collect();
    for (name, shape) in &expected {
        if !have.contains(name) {
            problems.push(format!(
                "the config implies `backbone.{name}` (shape {shape:?}) that the model lacks"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(CoreError::checkpoint(
            weights,
            format!("model and config disagree:{}", list(&problems, 20)),
        ));
    }

    let rot: Vec<f32> = inv_freq(cfg.head_dim()).iter().map(|&x| x as f32).collect();
    let rot_len = rot.len();
    let mut owned: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .into_iter()
        .map(|(n, d, s)| (format!("backbone.{n}"), bytes_of(&d), s))
        .collect();
    owned.push((
        format!("backbone.{INV_FREQ}"),
        bytes_of(&rot),
        vec![rot_len],
    ));
    let views = owned
        .iter()
        .map(|(n, d, s)| {
            TensorView::new(Dtype::F32, s.clone(), d)
                .map(|v| (n.clone(), v))
                .map_err(|e| CoreError::checkpoint(weights, format!("tensor `{n}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);

    let out = crate::atomic_file::AtomicFile::create(weights)?;
    safetensors::tensor::serialize_to_file(views, Some(metadata), out.tmp())
        .map_err(|e| CoreError::checkpoint(out.tmp(), format!("cannot write safetensors: {e}")))?;
    out.commit()?;

    let mut text = serde_json::to_string_pretty(&cfg.to_json()).expect("config serialises");
    text.push('\n');
    crate::atomic_file::write_atomic(config, text.as_bytes())
}

fn bytes_of(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_swaps_axes() {
        // [[1, 2, 3], [4, 5, 6]] → [[1, 4], [2, 5], [3, 6]]
        assert_eq!(
            transpose(&[1., 2., 3., 4., 5., 6.], 2, 3),
            vec![1., 4., 2., 5., 3., 6.]
        );
    }

    #[test]
    fn half_precision_conversions() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }
}
