//! Reading `model.safetensors` into a [`Dit`]: every tensor checked by name, shape and dtype
//! against the config, linear weights transposed, the rotary buffer checked.

use super::{HfDitConfig, INV_FREQ};
use crate::dit::timestep::FREQUENCY_EMBEDDING_SIZE;
use crate::dit::{Dit, DitConfig};
use crate::error::{CoreError, Result};
use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

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
pub(super) fn inv_freq(head_dim: usize) -> Vec<f64> {
    (0..head_dim / 2)
        .map(|j| 10000f64.powf(-(2.0 * j as f64) / head_dim as f64))
        .collect()
}

/// `[rows, cols]` row-major → `[cols, rows]` row-major.
pub(super) fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
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
pub(super) fn list(items: &[String], max: usize) -> String {
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

/// What is wrong with a file, by kind, to report all at once.
#[derive(Default)]
struct Problems {
    missing: Vec<String>,
    wrong: Vec<String>,
    bad_dtype: Vec<String>,
    unexpected: Vec<String>,
}

impl Problems {
    /// Ok when nothing is wrong, else one error listing every problem of `path`.
    fn into_result(self, path: &Path) -> Result<()> {
        let groups = [
            (self.missing, "tensor(s) missing"),
            (self.wrong, "tensor(s) of the wrong shape or value"),
            (self.bad_dtype, "tensor(s) of an unsupported dtype"),
            (
                self.unexpected,
                "unexpected tensor(s) that the model described by config.json does not use \
                 (check n_blocks, cfg, cfg_num_classes)",
            ),
        ];
        let problems: Vec<String> = groups
            .iter()
            .filter(|(items, _)| !items.is_empty())
            .map(|(items, what)| format!("{} {what}:{}", items.len(), list(items, 20)))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CoreError::checkpoint(path, problems.join("\n")))
        }
    }
}

/// The prefix of the file's tensor names: `backbone.` (a Lightning state dict) or none.
fn name_prefix(names: &BTreeSet<&str>, path: &Path) -> Result<&'static str> {
    if names.contains("backbone.vocab_embed.embedding") {
        Ok("backbone.")
    } else if names.contains("vocab_embed.embedding") {
        Ok("")
    } else {
        Err(CoreError::checkpoint(
            path,
            format!(
                "no tensor `backbone.vocab_embed.embedding` (nor `vocab_embed.embedding`): not a \
                 reference UDLM / DiT state dict; the file has {} tensors, e.g.{}",
                names.len(),
                list(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>(), 5)
            ),
        ))
    }
}

/// The rotary buffer `rot` is optional, but if present it must hold the frequencies used here.
fn check_rotary(view: &TensorView, rot: &str, cfg: &HfDitConfig, problems: &mut Problems) {
    let want = inv_freq(cfg.head_dim());
    if view.shape() != [want.len()] {
        problems.wrong.push(format!(
            "`{rot}`: file has shape {:?}, config.json implies [{}]",
            view.shape(),
            want.len()
        ));
        return;
    }
    match view_to_f32(view) {
        Ok(got) => {
            if let Some((j, (g, w))) = got
                .iter()
                .zip(&want)
                .enumerate()
                .find(|(_, (g, w))| ((**g as f64) - **w).abs() > 1e-5 * w.abs().max(1e-3))
            {
                problems.wrong.push(format!(
                    "`{rot}`: entry {j} is {g}, but rotary frequencies here are \
                     10000^(-2j/d) = {w} (d = {})",
                    cfg.head_dim()
                ));
            }
        }
        Err(e) => problems.bad_dtype.push(format!("`{rot}`: {e}")),
    }
}

impl Loaded {
    fn read(bytes: &[u8], cfg: &HfDitConfig, path: &Path) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| {
            CoreError::checkpoint(path, format!("not a valid safetensors file: {e}"))
        })?;
        let names: BTreeSet<&str> = st.names().into_iter().collect();
        let prefix = name_prefix(&names, path)?;
        let mut problems = Problems::default();
        let mut values = HashMap::new();
        let mut used = BTreeSet::new();
        for (name, shape) in &expected_tensors(cfg) {
            let full = format!("{prefix}{name}");
            let Ok(view) = st.tensor(&full) else {
                problems
                    .missing
                    .push(format!("`{full}` (expected shape {shape:?})"));
                continue;
            };
            used.insert(full.clone());
            if view.shape() != shape.as_slice() {
                problems.wrong.push(format!(
                    "`{full}`: file has shape {:?}, config.json implies {shape:?}",
                    view.shape()
                ));
                continue;
            }
            match view_to_f32(&view) {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(e) => problems.bad_dtype.push(format!("`{full}`: {e}")),
            }
        }
        let rot = format!("{prefix}{INV_FREQ}");
        if let Ok(view) = st.tensor(&rot) {
            used.insert(rot.clone());
            check_rotary(&view, &rot, cfg, &mut problems);
        }
        problems.unexpected = names
            .iter()
            .filter(|n| !used.contains(**n))
            .map(|n| {
                let shape = st.tensor(n).map(|v| v.shape().to_vec()).unwrap_or_default();
                format!("`{n}` (shape {shape:?})")
            })
            .collect();
        problems.into_result(path)?;
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
