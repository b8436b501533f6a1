//! One step's gradients: the batch is cut into micro-batches (gradient accumulation and one per
//! device), each with its own noise and dropout stream, run on parallel threads when the step
//! spans several devices.

use super::objective::Objective;
use super::{STREAM_DROPOUT, STREAM_MICRO, Trainer, gather};
use crate::domain::SequenceDataset;
use crate::dropout::DropoutScope;
use crate::error::{CoreError, Result};
use crate::rng::Rng;
use burn::optim::GradientsParams;
use burn::prelude::*;

impl<O: Objective> Trainer<O> {
    /// Loss and gradients of round `r` of this step: one micro-batch per device (`round` holds
    /// up to batch_size × devices indices), on parallel threads when there are several; the
    /// gradients come back on the main device `ad`, where the optimizer is.
    pub(super) fn round_grads(
        &self,
        data: &dyn SequenceDataset,
        round: &[usize],
        r: usize,
        ad: &Device,
    ) -> Vec<Result<(f32, GradientsParams)>> {
        let (k, m, nd) = (self.step, self.micro_batches(), self.devices.len());
        let (objective, seed) = (&self.objective, self.config.seed);
        let jobs: Vec<(usize, Vec<i64>, Option<Vec<i64>>)> = round
            .chunks(self.config.batch_size)
            .enumerate()
            .map(|(d, ids)| {
                let (x, y) = gather(data, ids);
                (r * nd + d, x, y)
            })
            .collect();
        if let [(j, x, y)] = &jobs[..] {
            return vec![micro_step(
                objective,
                seed,
                k,
                *j,
                m,
                x,
                y.as_deref(),
                &self.model,
                ad,
            )];
        }
        let main = &self.model;
        std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .iter()
                .zip(&self.devices)
                .map(|((j, x, y), dev)| {
                    let dev_ad = dev.clone().autodiff();
                    let model = main.clone().fork(&dev_ad);
                    scope.spawn(move || {
                        micro_step(objective, seed, k, *j, m, x, y.as_deref(), &model, &dev_ad)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| {
                            Err(CoreError::Data("a training thread panicked".into()))
                        })
                        .map(|(loss, g)| (loss, g.to_device(ad, main)))
                })
                .collect()
        })
    }
}

/// Loss (already divided by the `m` micro-batches of the step) and gradients of micro-batch
/// `j` of step `k` (row-major ids `x`, labels `y`), on the device `model` lives on.
#[allow(clippy::too_many_arguments)]
fn micro_step<O: Objective>(
    objective: &O,
    seed: u64,
    k: usize,
    j: usize,
    m: usize,
    x: &[i64],
    y: Option<&[i64]>,
    model: &O::Model,
    ad: &Device,
) -> Result<(f32, GradientsParams)> {
    // Micro-batch 0 keeps the single-batch streams, so grad_accum = 1 trains as before.
    let stream = if j == 0 {
        k as u64
    } else {
        STREAM_MICRO + (k * m + j) as u64
    };
    let mut rng = Rng::stream(seed, stream);
    let dropout_seed = Rng::stream(seed, STREAM_DROPOUT + stream).next_u64();
    let scope = DropoutScope::new(dropout_seed);
    let out = objective.loss(model, x, y, &mut rng, true, ad);
    drop(scope);
    let loss = out.loss.div_scalar(m as f64);
    let loss_value: f32 = loss.clone().into_scalar();
    if !loss_value.is_finite() {
        return Err(CoreError::Data(format!(
            "non-finite training loss {} at step {k}",
            loss_value * m as f32
        )));
    }
    let grads = loss.backward();
    Ok((loss_value, GradientsParams::from_grads(grads, model)))
}
