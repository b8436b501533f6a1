//! `import-hf` / `export-hf`: generators in the reference's Hugging Face UDLM layout
//! (`model.safetensors` + `config.json`, as `kuleshov-group/udlm-qm9`), and AR models in the
//! reference's AR layout (`"causal": true`: no σ embedding, no adaLN). The HF files carry no
//! vocabulary: it is the QM9 tokenizer's (specials, then the sorted symbols), fitted on the
//! data set and checked against the config's `vocab_size`.

use super::device;
use anyhow::{Result, bail};
use clap::Args;
use diffusion_core::diffusion::{DiffusionConfig, ModelKind};
use diffusion_core::domain::Tokenizer;
use diffusion_core::hf_checkpoint::{HfDitConfig, export_safetensors, import_safetensors_with};
use diffusion_core::train::{Generator, save_inference};
use molecules::config::{DataConfig, Representation};
use molecules::data::prepare;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct ImportArgs {
    /// `model.safetensors` of the reference checkpoint.
    #[arg(long)]
    pub weights: PathBuf,
    /// Its `config.json`.
    #[arg(long)]
    pub config: PathBuf,
    /// The data set whose tokenizer the model uses (QM9 by default).
    #[arg(long, default_value = "datasets/molecules/qm9.csv.gz")]
    pub data: PathBuf,
    /// The checkpoint to write.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub backend: Option<String>,
}

#[derive(Args, Clone, Debug)]
pub struct ExportArgs {
    /// A MDLM / UDLM generator checkpoint.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Folder for `model.safetensors` and `config.json`.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn import(a: &ImportArgs) -> Result<()> {
    let dev = device(a.backend.as_deref())?;
    let hf = HfDitConfig::load(&a.config)?;
    let data_cfg = DataConfig {
        path: a.data.clone(),
        representation: Representation::Smiles,
        seq_len: hf.model_length,
        max_val: Some(1),
        ..Default::default()
    };
    let data = prepare(&data_cfg, None)?;
    let sp = data.tokenizer.special_ids();
    // The reference's AR layout (`"causal": true`) is an AR model; otherwise the UDLM layout.
    let kind = if hf.causal {
        ModelKind::Ar
    } else {
        ModelKind::Udlm
    };
    let mut diffusion = DiffusionConfig::new(
        kind,
        data.tokenizer.vocab_size(),
        hf.model_length,
        sp.mask,
        sp.pad,
    );
    hf.apply_to(&mut diffusion)?;
    let dit = import_safetensors_with(&a.weights, &hf, &dev)?;
    let objective = Generator::new(diffusion, hf.to_dit_config());
    save_inference(
        &a.out,
        &objective,
        dit,
        &data.tokenizer.vocabulary(),
        serde_json::json!({
            "domain": "molecules",
            "representation": "smiles",
            "label": null,
            "data_path": a.data,
            "imported_from": a.weights,
        }),
    )?;
    println!("imported {} → {}", a.weights.display(), a.out.display());
    Ok(())
}

pub fn export(a: &ExportArgs) -> Result<()> {
    let dev = device(None)?;
    let g = super::sample::Generator::load(&a.checkpoint, &dev)?;
    let d = &g.loaded.diffusion.config;
    if d.kind == ModelKind::Ar {
        bail!(
            "this AR model cannot be exported: the project's AR DiTs modulate every block from a \
             constant conditioning (adaLN), which the reference's AR layout (no adaLN) cannot \
             hold; AR checkpoints in the reference layout can be imported"
        );
    }
    let (dit, dit_config) = g.loaded.dit_with_config("export-hf")?;
    let hf = HfDitConfig::from_configs(dit_config, d)?;
    std::fs::create_dir_all(&a.out)?;
    export_safetensors(
        dit,
        &hf,
        &a.out.join("model.safetensors"),
        &a.out.join("config.json"),
    )?;
    println!("exported {} → {}", a.checkpoint.display(), a.out.display());
    Ok(())
}
