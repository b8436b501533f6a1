//! Autoregressive sampling (spec §5.3) and its FUDGE guidance.

use super::Sampler;
use crate::error::{CoreError, Result};
use crate::guidance::{FudgeTerm, cfg_combine};
use crate::rng::Rng;
use crate::sample::nucleus::nucleus;
use crate::tensor_util::{ids_tensor, to_vec_f32};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

impl Sampler<'_> {
    /// AR sampling (spec §5.3): position 0 = BOS, then L − 1 tokens one by one by
    /// argmax(log p + Gumbel) (here: the equivalent exponential race). No KV cache.
    pub(super) fn sample_ar(
        &self,
        rng: &mut Rng,
        b: usize,
        y: Option<&[i64]>,
        bar: &indicatif::ProgressBar,
        on_step: &mut dyn FnMut(usize, &[i64]),
    ) -> Result<(Vec<i64>, usize)> {
        let cfg = &self.diffusion.config;
        let (l, n) = (cfg.seq_len, cfg.vocab_size);
        let bos = self.config.bos_id.ok_or_else(|| {
            CoreError::config(
                "sampling.bos_id",
                "AR sampling needs the tokenizer's BOS id",
            )
        })?;
        let labels = self.label_tensor(y, b);
        let mut z = vec![cfg.pad_id.unwrap_or(bos); b * l];
        for r in 0..b {
            z[r * l] = bos;
        }
        self.apply_pins(&mut z);
        let gamma = self.guidance.cfg_gamma;
        let null = self.model.num_classes() as i64;
        for i in 1..l {
            let prefix: Vec<i64> = z.chunks(l).flat_map(|r| r[..i].to_vec()).collect();
            // Next-token log-probs [rows, 1, N] at position i − 1.
            let next_lp = |ids: &[i64], rows: usize, lab: Option<Tensor<1, Int>>| {
                let logits = self.model.forward(
                    ids_tensor(ids, rows, i, &self.device),
                    Tensor::zeros([rows], &self.device),
                    lab,
                );
                log_softmax(logits.narrow(1, i - 1, 1), 2)
            };
            let lp = match (y, gamma) {
                (Some(yv), Some(g)) if g != 0.0 && g != 1.0 => {
                    let mut ids2 = prefix.clone();
                    ids2.extend_from_slice(&prefix);
                    let mut y2 = yv.to_vec();
                    y2.extend(std::iter::repeat_n(null, b));
                    let both = next_lp(&ids2, 2 * b, self.label_tensor(Some(&y2), 2 * b));
                    cfg_combine(both.clone().narrow(0, 0, b), both.narrow(0, b, b), g)
                }
                (Some(_), Some(0.0)) => {
                    next_lp(&prefix, b, self.label_tensor(Some(&vec![null; b]), b))
                }
                _ => next_lp(&prefix, b, labels.clone()),
            };
            let next = match &self.guidance.fudge {
                None => {
                    let mut probs = to_vec_f32(lp.exp().reshape([b, n]));
                    if let Some(p) = self.config.top_p {
                        nucleus(&mut probs, n, p);
                    }
                    self.draw(rng, &probs, n)
                }
                Some(f) => self.fudge_step(rng, f, &prefix, &to_vec_f32(lp.reshape([b, n])), b, i),
            };
            for r in 0..b {
                z[r * l + i] = next[r];
            }
            self.apply_pins(&mut z);
            on_step(i - 1, &z);
            bar.inc(1);
        }
        Ok((z, l - 1))
    }

    /// One FUDGE step: rescore the top-k next tokens of each row with the causal classifier.
    pub(super) fn fudge_step(
        &self,
        rng: &mut Rng,
        f: &FudgeTerm<'_>,
        prefix: &[i64],
        lp: &[f32],
        b: usize,
        i: usize,
    ) -> Vec<i64> {
        let n = self.diffusion.config.vocab_size;
        let k = f.top_k.min(n);
        let mut cands = Vec::with_capacity(b * k);
        let mut ids = Vec::with_capacity(b * k * (i + 1));
        for r in 0..b {
            let row = &lp[r * n..(r + 1) * n];
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &c| row[c].total_cmp(&row[a]));
            for &v in &order[..k] {
                cands.push(v);
                ids.extend_from_slice(&prefix[r * i..(r + 1) * i]);
                ids.push(v as i64);
            }
        }
        let clf = f
            .classifier
            .position_log_probs(ids_tensor(&ids, b * k, i + 1, &self.device)); // [B·k, i+1, C]
        let c = clf.dims()[2];
        let at = to_vec_f32(clf.narrow(1, i, 1).reshape([b * k, c]));
        let mut probs = Vec::with_capacity(b * k);
        for r in 0..b {
            let scores: Vec<f64> = (0..k)
                .map(|j| {
                    let v = cands[r * k + j];
                    lp[r * n + v] as f64 + f.gamma * at[(r * k + j) * c + f.target as usize] as f64
                })
                .collect();
            let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            probs.extend(scores.iter().map(|s| (s - m).exp() as f32));
        }
        self.draw(rng, &probs, k)
            .into_iter()
            .enumerate()
            .map(|(r, j)| cands[r * k + j as usize] as i64)
            .collect()
    }
}
