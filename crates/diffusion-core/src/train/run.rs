//! One training run's lifecycle, the same in every domain binary: resolve the token facts into
//! the config, start a trainer or resume the one in the run folder, apply `--init-from` and
//! `--devices`, fit, export `model.ckpt`, draw the curves and print the final validation line.
//! A domain supplies its data, its config sections and what it adds to `summary.json`.

use crate::classifier::ClassifierConfig;
use crate::cli::RunArgs;
use crate::diffusion::{DiffusionConfig, ModelKind};
use crate::domain::{SequenceDataset, Tokenizer};
use crate::error::{CoreError, Result};
use crate::run_dir::RunDir;
use crate::train::{Objective, Trainer, ValStats};
use burn::prelude::Device;
use std::path::PathBuf;
use std::time::Instant;

/// Fill N, L and the special ids of `tok` into a `[diffusion]` section: configs leave them out,
/// so a checkpoint always carries the facts of the tokenizer it was trained with.
pub fn resolve_diffusion(d: &mut DiffusionConfig, tok: &dyn Tokenizer, seq_len: usize) {
    let sp = tok.special_ids();
    d.vocab_size = tok.vocab_size();
    d.seq_len = seq_len;
    d.mask_id = sp.mask;
    d.pad_id = sp.pad;
}

/// Whether a DiT for `kind` is causal (AR) or bidirectional.
pub fn is_causal(kind: ModelKind) -> bool {
    kind == ModelKind::Ar
}

/// Fill the token facts and the number of classes into a `[classifier]` section: an encoder
/// without label embedding, causal exactly for per-position (FUDGE) pooling.
pub fn resolve_classifier(
    c: &mut ClassifierConfig,
    tok: &dyn Tokenizer,
    seq_len: usize,
    num_classes: usize,
) {
    let sp = tok.special_ids();
    c.backbone.vocab_size = tok.vocab_size();
    c.backbone.num_classes = None;
    c.set_causal_from_pooling();
    c.num_classes = num_classes;
    c.seq_len = seq_len;
    c.mask_id = sp.mask;
    c.pad_id = sp.pad;
}

/// The trainer of a run: resumed from `dir`'s last checkpoint with `--resume` (its step count
/// raised or lowered to `total_steps`), else built by `fresh` and started from `--init-from`'s
/// weights when given; then put on `--devices`. `fresh` is not called on resume.
/// `fresh` may fail with the domain's own error type (anyhow in the binaries).
pub fn open_trainer<O: Objective, E: From<CoreError>>(
    args: &RunArgs,
    dir: &RunDir,
    total_steps: usize,
    backend: Option<&str>,
    device: &Device,
    fresh: impl FnOnce() -> std::result::Result<Trainer<O>, E>,
) -> std::result::Result<Trainer<O>, E> {
    let mut t = if args.resume {
        if args.init_from.is_some() {
            return Err(CoreError::config(
                "--init-from",
                "starts a new run; it cannot be combined with --resume",
            )
            .into());
        }
        let mut t = Trainer::<O>::resume(&dir.checkpoint(), device).map_err(E::from)?;
        t.set_total_steps(total_steps);
        tracing::info!(step = t.step, "resuming {}", dir.checkpoint().display());
        t
    } else {
        let mut t = fresh()?;
        if let Some(p) = &args.init_from {
            t.init_from(p).map_err(|e| {
                E::from(CoreError::ConfigFile {
                    origin: format!("--init-from {}", p.display()),
                    key: String::new(),
                    reason: e.to_string(),
                })
            })?;
        }
        t
    };
    args.apply_devices(&mut t, backend).map_err(E::from)?;
    Ok(t)
}

/// [`open_trainer`] for a run whose data is encoded by a tokenizer built from it: a new run
/// calls `prepare(None)` (the data builds its tokenizer) and `fresh` on the result; a resumed
/// run calls `prepare(Some(trainer))`, which encodes the data with the vocabulary stored in
/// the checkpoint (`trainer.vocabulary`), exactly as the run began. Returns the trainer and
/// the data.
pub fn open_trainer_with_data<O: Objective, D, E: From<CoreError>>(
    args: &RunArgs,
    dir: &RunDir,
    total_steps: usize,
    backend: Option<&str>,
    device: &Device,
    mut prepare: impl FnMut(Option<&Trainer<O>>) -> std::result::Result<D, E>,
    fresh: impl FnOnce(&D) -> std::result::Result<Trainer<O>, E>,
) -> std::result::Result<(Trainer<O>, D), E> {
    let mut new_data = None;
    let t = open_trainer::<O, E>(args, dir, total_steps, backend, device, || {
        let data = prepare(None)?;
        let t = fresh(&data)?;
        new_data = Some(data);
        Ok(t)
    })?;
    let data = match new_data {
        Some(d) => d,
        None => prepare(Some(&t))?,
    };
    Ok((t, data))
}

/// What [`fit_and_export`] leaves behind.
pub struct Fitted {
    /// `model.ckpt`: the EMA weights only, for sampling, evaluation and fine-tuning.
    pub model: PathBuf,
    /// The last validation, if any ran.
    pub last: Option<ValStats>,
    pub train_seconds: f64,
}

/// Fit on `train` (validating on `val`), export `model.ckpt` and draw the training curves.
pub fn fit_and_export<O: Objective>(
    t: &mut Trainer<O>,
    train: &dyn SequenceDataset,
    val: &dyn SequenceDataset,
    dir: &RunDir,
) -> Result<Fitted> {
    let (last, train_seconds) = fit(t, train, val, dir)?;
    Ok(Fitted {
        model: export(t, dir)?,
        last,
        train_seconds,
    })
}

/// Fit on `train`, validating on `val`: the last validation (if any ran) and the seconds.
pub fn fit<O: Objective>(
    t: &mut Trainer<O>,
    train: &dyn SequenceDataset,
    val: &dyn SequenceDataset,
    dir: &RunDir,
) -> Result<(Option<ValStats>, f64)> {
    let start = Instant::now();
    let history = t.fit(train, Some(val), Some(&dir.path))?;
    Ok((history.last().cloned(), start.elapsed().as_secs_f64()))
}

/// Export `model.ckpt` (with the trainer's metadata as it is now) and draw the training
/// curves; a failure to draw is a warning, the run's files are complete without the plots.
pub fn export<O: Objective>(t: &Trainer<O>, dir: &RunDir) -> Result<PathBuf> {
    let model = dir.file("model.ckpt");
    t.export(&model)?;
    if let Err(e) = crate::report::render_run(&dir.path) {
        tracing::warn!("could not draw the training curves: {e}");
    }
    Ok(model)
}

/// The line a finished run prints: validation NLL and accuracy for a classifier, the NELBO and
/// perplexity for a generator.
pub fn validation_line(dir: &RunDir, v: &ValStats) -> String {
    match v.accuracy {
        Some(a) => format!(
            "{}: step {} validation NLL {:.4}, accuracy {:.4}",
            dir.path.display(),
            v.step,
            v.nll,
            a
        ),
        None => format!(
            "{}: step {} validation NELBO {:.4} nats/token, PPL {:.3}",
            dir.path.display(),
            v.step,
            v.nll,
            v.ppl
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::Pooling;
    use crate::dit::DitConfig;
    use crate::domain::CharTokenizer;

    #[test]
    fn token_facts_come_from_the_tokenizer() {
        let tok = CharTokenizer::fit(["CNO1="]);
        let mut d = DiffusionConfig::new(ModelKind::Mdlm, 0, 0, 0, None);
        resolve_diffusion(&mut d, &tok, 12);
        let sp = tok.special_ids();
        assert_eq!(
            (d.vocab_size, d.seq_len, d.mask_id, d.pad_id),
            (tok.vocab_size(), 12, sp.mask, sp.pad)
        );
        let mut c = ClassifierConfig {
            backbone: DitConfig {
                num_classes: Some(3),
                ..DitConfig::new(1, 16, 1, 2)
            },
            num_classes: 0,
            pooling: Pooling::PerPosition,
            noise: None,
            schedule: Default::default(),
            time_conditioning: false,
            seq_len: 0,
            mask_id: 0,
            pad_id: None,
            sampling_eps: 1e-3,
            antithetic: true,
        };
        resolve_classifier(&mut c, &tok, 12, 4);
        assert_eq!(c.backbone.vocab_size, tok.vocab_size());
        assert_eq!(c.backbone.num_classes, None);
        assert!(
            c.backbone.causal,
            "per-position pooling is FUDGE's causal encoder"
        );
        assert_eq!((c.num_classes, c.seq_len, c.mask_id), (4, 12, sp.mask));
    }
}
