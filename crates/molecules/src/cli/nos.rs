//! NOS heads (spec §6.4) for the CLI: trained on the frozen encoder of a generator checkpoint
//! and saved as their own checkpoint kind (`diffusion_core::nos::{save_head, load_head}`).

use anyhow::Result;
use diffusion_core::nos::NosHead;
use std::path::Path;

/// Write a NOS head with the facts needed to check it against a generator at sampling time.
pub fn save(
    path: &Path,
    head: &NosHead,
    hidden: usize,
    num_classes: usize,
    vocabulary: &[String],
    metadata: serde_json::Value,
    accuracy: f64,
) -> Result<()> {
    diffusion_core::nos::save_head(
        path,
        head,
        hidden,
        num_classes,
        vocabulary,
        metadata,
        accuracy,
    )?;
    Ok(())
}
