//! Loading trained weights: a checkpoint of any objective for sampling, guidance or evaluation
//! (checked against its kind), the DiT generator with an optional expected config, weights
//! written for models trained elsewhere, and the checks `--init-from` uses to start a
//! fine-tune from another run's weights.

use super::{Generator, Objective};
use crate::checkpoint::{CheckpointFile, load_module_blob, module_blob};
use crate::diffusion::Diffusion;
use crate::dit::{Dit, DitConfig};
use crate::error::{CoreError, Result};
use burn::prelude::*;
use std::path::Path;

pub(super) fn check_kind(ck: &CheckpointFile, path: &Path, want: &str) -> Result<()> {
    let kind: String = ck.field("kind", path)?;
    if kind != want {
        return Err(CoreError::checkpoint(
            path,
            format!("holds a {kind}, not a {want}"),
        ));
    }
    Ok(())
}

/// A trained model loaded for sampling, guidance or evaluation (EMA weights by default).
pub struct Loaded<O: Objective> {
    pub objective: O,
    pub model: O::Model,
    pub vocabulary: Vec<String>,
    pub metadata: serde_json::Value,
    pub step: usize,
}

/// Write an inference-only checkpoint (weights as its EMA blob, as [`Trainer::export`] does)
/// for a model that was not trained here, e.g. one imported from another framework. Loadable by
/// [`load_objective`] and usable with `--init-from`.
pub fn save_inference<O: Objective>(
    path: &Path,
    objective: &O,
    model: O::Model,
    vocabulary: &[String],
    metadata: serde_json::Value,
) -> Result<()> {
    let mut ck = CheckpointFile {
        header: serde_json::json!({
            "format": 1,
            "kind": O::KIND,
            "step": 0,
            "objective": objective,
            "vocabulary": vocabulary,
            "metadata": metadata,
            "exported": true,
        }),
        ..Default::default()
    };
    ck.blobs.insert("ema".into(), module_blob(model)?);
    ck.save(path)
}

/// Sets the parameters under every `label_embed` module to zero.
pub(super) struct ZeroClassEmbedding {
    pub(super) path: Vec<String>,
}

impl burn::module::ModuleMapper for ZeroClassEmbedding {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<burn::tensor::Tensor<D>>,
    ) -> burn::module::Param<burn::tensor::Tensor<D>> {
        if !self.path.iter().any(|p| p == "label_embed") {
            return param;
        }
        param.map(|t| {
            let grad = t.is_require_grad();
            t.zeros_like().set_require_grad(grad)
        })
    }
}

/// Where `checkpoint` has `num_classes` unset (an unconditional model) and `run` sets it, take
/// the run's value into `checkpoint`; true if any was taken.
pub(super) fn adopt_new_classes(
    checkpoint: &mut serde_json::Value,
    run: &serde_json::Value,
) -> bool {
    let (Some(x), Some(y)) = (checkpoint.as_object_mut(), run.as_object()) else {
        return false;
    };
    let mut took = false;
    for (k, va) in x.iter_mut() {
        let Some(vb) = y.get(k) else { continue };
        if k == "num_classes" && va.is_null() && vb.is_u64() {
            *va = vb.clone();
            took = true;
        } else {
            took |= adopt_new_classes(va, vb);
        }
    }
    took
}

/// The first differing leaf of two JSON values, as `key.sub: a vs b`.
pub(super) fn first_difference(
    a: &serde_json::Value,
    b: &serde_json::Value,
    at: &str,
) -> Option<String> {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            for (k, va) in x {
                let key = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                let vb = y.get(k).unwrap_or(&serde_json::Value::Null);
                if let Some(d) = first_difference(va, vb, &key) {
                    return Some(d);
                }
            }
            None
        }
        _ if a == b => None,
        _ => Some(format!("`{at}` is {a} in the checkpoint and {b} here")),
    }
}

/// Load the EMA (or raw, with `use_ema = false`) weights of a checkpoint of objective `O` for
/// inference on `device`.
pub fn load_objective<O: Objective>(
    path: &Path,
    device: &Device,
    use_ema: bool,
) -> Result<Loaded<O>> {
    let ck = CheckpointFile::load(path)?;
    check_kind(&ck, path, O::KIND)?;
    let objective: O = ck.field("objective", path)?;
    objective
        .validate()
        .map_err(|e| CoreError::checkpoint(path, e.to_string()))?;
    let model = objective.init(device);
    let exported = ck.header.get("exported").and_then(|v| v.as_bool()) == Some(true);
    let blob = if use_ema || exported { "ema" } else { "model" };
    let model = load_module_blob(model, ck.blob(blob, path)?, path, "weights")?;
    Ok(Loaded {
        objective,
        model,
        vocabulary: ck.field("vocabulary", path)?,
        metadata: ck.header.get("metadata").cloned().unwrap_or_default(),
        step: ck.field("step", path)?,
    })
}

/// A trained generator loaded for sampling or evaluation.
pub struct LoadedModel {
    pub diffusion: Diffusion,
    pub model_config: DitConfig,
    pub model: Dit,
    pub vocabulary: Vec<String>,
    pub metadata: serde_json::Value,
    pub step: usize,
}

/// Load a generator checkpoint for inference. If `expected` is given, the stored model config
/// must equal it; the error names the first differing field.
pub fn load_for_inference(
    path: &Path,
    device: &Device,
    use_ema: bool,
    expected: Option<&DitConfig>,
) -> Result<LoadedModel> {
    let loaded = load_objective::<Generator>(path, device, use_ema)?;
    if let Some(exp) = expected {
        check_same(path, &loaded.objective.model, exp)?;
    }
    Ok(LoadedModel {
        diffusion: loaded.objective.process(),
        model_config: loaded.objective.model,
        model: loaded.model,
        vocabulary: loaded.vocabulary,
        metadata: loaded.metadata,
        step: loaded.step,
    })
}

fn check_same(path: &Path, stored: &DitConfig, expected: &DitConfig) -> Result<()> {
    let a = serde_json::to_value(stored).expect("config serialises");
    let b = serde_json::to_value(expected).expect("config serialises");
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (k, va) in a {
            if b.get(k) != Some(va) {
                return Err(CoreError::checkpoint(
                    path,
                    format!(
                        "model config mismatch in field `model.{k}`: checkpoint has {va}, expected {}",
                        b.get(k).cloned().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    Ok(())
}
