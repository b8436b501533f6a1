//! Validation bits per character, computed the same way by `train` (its final number), `validate`
//! and `demo`: the whole validation split, a fixed batch size and noise seed, so the three agree
//! exactly for the same weights. For MDLM / UDLM it is the NELBO bound (one t per chunk, spec §4);
//! for AR the exact NLL of characters 2..L of each chunk (the first has no context).

use diffusion_core::diffusion::{DiffusionConfig, ModelKind};
use diffusion_core::dit::{Dit, DitConfig};
use diffusion_core::domain::SequenceDataset;
use diffusion_core::train::{Generator, ValStats, evaluate};

/// Chunks per evaluation batch.
pub const EVAL_BATCH: usize = 64;
/// Seed of the evaluation noise stream (times and forward noise of the diffusion bound).
pub const EVAL_SEED: u64 = 0;

/// Validation NLL / BPC of `model` on all of `val`.
pub fn validation_bpc(
    diffusion: &DiffusionConfig,
    model_config: &DitConfig,
    model: &Dit,
    val: &dyn SequenceDataset,
    device: &burn::prelude::Device,
) -> ValStats {
    let objective = Generator::new(diffusion.clone(), model_config.clone());
    evaluate(&objective, model, val, EVAL_BATCH, None, EVAL_SEED, device)
}

/// The paper's full-scale text8 test numbers in BPC (spec Table A: PPL 2.35 / 2.62 / 2.71 →
/// log₂; Table B: UDLM 1.44), for the comparison column of the tables. GIDD is not in the
/// paper (None).
pub fn paper_bpc(kind: ModelKind) -> Option<f64> {
    match kind {
        ModelKind::Ar => Some(2.35f64.log2()),
        ModelKind::Mdlm => Some(2.62f64.log2()),
        ModelKind::Udlm => Some(1.44),
        ModelKind::Gidd => None,
    }
}
