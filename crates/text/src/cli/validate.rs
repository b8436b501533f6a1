//! `validate`: bits per character of a checkpoint over the whole validation split of the text
//! it was trained on (for MDLM / UDLM the NELBO bound — the number the paper reports for text8).

use super::{device, load_model};
use anyhow::Result;
use clap::Args;
use diffusion_core::diffusion::ModelKind;
use std::path::PathBuf;
use text::data::prepare;
use text::eval::{paper_bpc, validation_bpc};

#[derive(Args, Clone, Debug)]
pub struct ValidateArgs {
    /// Generator checkpoint (`model.ckpt` or a run's `checkpoints/last.ckpt`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Text file (default: the one the checkpoint was trained on).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long)]
    pub backend: Option<String>,
}

pub fn run(a: &ValidateArgs) -> Result<()> {
    let dev = device(a.backend.as_deref())?;
    let m = load_model(&a.checkpoint, &dev)?;
    let mut cfg = m.data.clone();
    if let Some(p) = &a.data {
        cfg.path = p.clone();
    }
    let data = prepare(&cfg, Some(m.tokenizer.clone()))?;
    let d = &m.loaded.diffusion.config;
    let v = validation_bpc(d, &m.loaded.model_config, &m.loaded.model, &data.val, &dev);
    println!(
        "{}: {:?} step {} on {} validation chunks of {} ({} characters): BPC {:.4} ({:.4} nats/char{}); paper, full scale: {}",
        a.checkpoint.display(),
        d.kind,
        m.loaded.step,
        data.report.val_chunks,
        data.report.seq_len,
        data.report.split.val.len(),
        v.bpc,
        v.nll,
        if d.kind == ModelKind::Ar {
            ""
        } else {
            ", NELBO bound"
        },
        paper_bpc(d.kind).map_or("not in the paper".into(), |v| format!("{v:.2}"))
    );
    Ok(())
}
