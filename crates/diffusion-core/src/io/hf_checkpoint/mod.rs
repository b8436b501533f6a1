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

mod config;
mod export;
mod import;

pub use config::HfDitConfig;
pub use export::export_safetensors;
pub use import::{expected_tensors, import_safetensors, import_safetensors_with};

/// Usual file names in a Hugging Face model repository.
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";

/// The `model_type` of the reference `UDLMConfig`.
pub const MODEL_TYPE: &str = "udlm";

/// Name of the rotary buffer (not a parameter) in the reference state dict.
pub(crate) const INV_FREQ: &str = "rotary_emb.inv_freq";
