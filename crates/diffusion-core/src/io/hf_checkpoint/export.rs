//! Writing a [`Dit`] as a reference `model.safetensors` (F32, with the rotary buffer and the
//! metadata `transformers` expects) and its `config.json`.

use super::import::{expected_tensors, inv_freq, list, transpose};
use super::{HfDitConfig, INV_FREQ};
use crate::dit::Dit;
use crate::error::{CoreError, Result};
use crate::tensor_util::to_vec_f32;
use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

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
