//! Reuse across reverse steps: the MDLM cache per step and per row, and per-row D-CBG scores of
//! classifiers that ignore σ. Reused outputs equal recomputed ones (tested).

use super::Sampler;
use crate::guidance::{CbgTerm, cbg_scores};
use crate::tensor_util::to_vec_f32;
use burn::prelude::*;

/// Per-sequence MDLM cache: the ids each row's denoiser output was computed for, and the
/// outputs (host copies, row-major [B, L, N]).
pub(super) struct RowCache {
    pub(super) z: Vec<i64>,
    pub(super) log_x: Vec<f32>,
    pub(super) log_x_uncond: Option<Vec<f32>>,
}

/// Per-sequence D-CBG scores of one term whose classifier ignores σ: the ids each row's
/// scores [L, N] were computed for.
pub(super) struct ScoreRows {
    pub(super) z: Vec<i64>,
    pub(super) scores: Vec<f32>,
}

/// What one batch's reverse steps reuse: the whole step's denoiser outputs while no row
/// changed, the per-row denoiser outputs, and per-row D-CBG scores of each term.
pub(super) struct Caches {
    pub(super) step: Option<StepCache>,
    pub(super) rows: Option<RowCache>,
    pub(super) cbg_rows: Vec<Option<ScoreRows>>,
}

/// Denoiser outputs of one step, reusable while the sequences do not change (MDLM cache).
/// D-CBG scores are reused per row instead ([`ScoreRows`]).
pub(super) struct StepCache {
    pub(super) log_x: Tensor<3>,
    pub(super) log_x_uncond: Option<Tensor<3>>,
}

impl Sampler<'_> {
    /// MDLM cache per sequence: a time-independent denoiser's output for a row depends only on
    /// that row, so only rows that changed since they were last evaluated are recomputed (one
    /// batched pass over the changed rows). Identical outputs, fewer rows evaluated.
    pub(super) fn denoise_changed_rows(
        &self,
        z: &[i64],
        b: usize,
        t: f64,
        y: Option<&[i64]>,
        row_cache: &mut Option<RowCache>,
    ) -> (Tensor<3>, Option<Tensor<3>>) {
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        let changed = changed_rows(row_cache.as_ref().map(|rc| rc.z.as_slice()), z, l);
        if changed.len() == b || row_cache.is_none() {
            let (c, u) = self.denoise(z, b, t, y);
            *row_cache = Some(RowCache {
                z: z.to_vec(),
                log_x: to_vec_f32(c.clone()),
                log_x_uncond: u.clone().map(to_vec_f32),
            });
            return (c, u);
        }
        let rc = row_cache.as_mut().expect("row cache present");
        if !changed.is_empty() {
            let sub_y = y.map(|y| pick_rows(y, &changed, 1));
            let (c, u) = self.denoise(
                &pick_rows(z, &changed, l),
                changed.len(),
                t,
                sub_y.as_deref(),
            );
            let (c, u) = (to_vec_f32(c), u.map(to_vec_f32));
            let row = l * n;
            for (j, &r) in changed.iter().enumerate() {
                rc.log_x[r * row..(r + 1) * row].copy_from_slice(&c[j * row..(j + 1) * row]);
                if let (Some(dst), Some(src)) = (rc.log_x_uncond.as_mut(), u.as_ref()) {
                    dst[r * row..(r + 1) * row].copy_from_slice(&src[j * row..(j + 1) * row]);
                }
                rc.z[r * l..(r + 1) * l].copy_from_slice(&z[r * l..(r + 1) * l]);
            }
        }
        let to_t = |v: &Vec<f32>| {
            Tensor::<3>::from_data(TensorData::new(v.clone(), [b, l, n]), &self.device)
        };
        (to_t(&rc.log_x), rc.log_x_uncond.as_ref().map(to_t))
    }

    /// D-CBG scores of `term` [B, L, N], re-evaluating only the rows whose ids changed since
    /// `rows` was filled. Only for terms whose classifier ignores σ ([`cacheable`]): a row's
    /// scores then depend on its ids alone, so reusing them is exact.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn cbg_scores_changed_rows(
        &self,
        term: &CbgTerm<'_>,
        z: &[i64],
        b: usize,
        sigma: &[f64],
        editable: &[bool],
        rows: &mut Option<ScoreRows>,
    ) -> Tensor<3> {
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        let changed = changed_rows(rows.as_ref().map(|sr| sr.z.as_slice()), z, l);
        if changed.len() == b || rows.is_none() {
            let scores = cbg_scores(term, z, l, n, sigma, Some(editable), &self.device);
            *rows = Some(ScoreRows {
                z: z.to_vec(),
                scores: to_vec_f32(scores.clone()),
            });
            return scores;
        }
        let sr = rows.as_mut().expect("score rows present");
        if !changed.is_empty() {
            let sub = to_vec_f32(cbg_scores(
                term,
                &pick_rows(z, &changed, l),
                l,
                n,
                &pick_rows(sigma, &changed, 1),
                Some(&pick_rows(editable, &changed, l)),
                &self.device,
            ));
            let row = l * n;
            for (j, &r) in changed.iter().enumerate() {
                sr.scores[r * row..(r + 1) * row].copy_from_slice(&sub[j * row..(j + 1) * row]);
                sr.z[r * l..(r + 1) * l].copy_from_slice(&z[r * l..(r + 1) * l]);
            }
        }
        Tensor::<3>::from_data(TensorData::new(sr.scores.clone(), [b, l, n]), &self.device)
    }
}

/// Indices of the rows of `z` [B, L] that differ from `prev` (every row when there is none).
pub(super) fn changed_rows(prev: Option<&[i64]>, z: &[i64], l: usize) -> Vec<usize> {
    let b = z.len() / l;
    match prev {
        Some(p) => (0..b)
            .filter(|&r| p[r * l..(r + 1) * l] != z[r * l..(r + 1) * l])
            .collect(),
        None => (0..b).collect(),
    }
}

/// The listed rows of a row-major buffer with `width` values per row, concatenated.
pub(super) fn pick_rows<T: Copy>(v: &[T], rows: &[usize], width: usize) -> Vec<T> {
    rows.iter()
        .flat_map(|&r| v[r * width..(r + 1) * width].iter().copied())
        .collect()
}

/// Scores of a term can be reused for an unchanged row when they do not depend on t.
pub(super) fn cacheable(term: &CbgTerm<'_>) -> bool {
    !term.classifier.time_conditioned() && !term.reference_sigma_mismatch
}
