//! The paper's text8 numbers, for comparison columns. Validation bits per character come from the
//! core (`LoadedGenerator::evaluate` at the domain's fixed batch and noise seed), the same for
//! `train` (its final number), `validate` and `demo`, so the three agree exactly for the same
//! weights. For MDLM / UDLM it is the NELBO bound (one t per chunk, spec §4); for AR the exact NLL
//! of characters 2..L of each chunk (the first has no context).

use diffusion_core::diffusion::ModelKind;

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
