//! NOS (Gruver et al. 2023; spec §6.4), the gradient-guidance baseline for diffusion models: a
//! linear head on the frozen (EMA) encoder of the generator, and per-step Adagrad updates of an
//! offset δ on the encoder's last hidden state that trade the head's log-likelihood of the
//! target against a KL stability term.

use crate::diffusion::{Diffusion, ModelKind};
use crate::dit::Dit;
use crate::domain::SequenceDataset;
use crate::error::{CoreError, Result};
use crate::rng::Rng;
use crate::tensor_util::{ids_tensor, vec_tensor};
use crate::time::sample_t;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Per-step NOS settings; the reference defaults are 1 step, step size 0.1, λ = 0.01.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NosConfig {
    pub steps: usize,
    pub step_size: f64,
    pub stability: f64,
    pub target: i64,
}

impl Default for NosConfig {
    fn default() -> Self {
        Self {
            steps: 1,
            step_size: 0.1,
            stability: 0.01,
            target: 1,
        }
    }
}

/// The NOS classifier: mean-pooled last hidden state of the frozen generator → Linear → classes.
#[derive(Module, Debug)]
pub struct NosHead {
    pub head: Linear,
}

impl NosHead {
    /// Class log-probabilities [B, C] from hidden states [B, L, H].
    pub fn log_probs(&self, h: Tensor<3>) -> Tensor<2> {
        let [b, _, d] = h.dims();
        log_softmax(self.head.forward(h.mean_dim(1).reshape([b, d])), 1)
    }
}

/// `train-classifier --nos-for` of every domain: train a NOS head on `generator` with the steps,
/// batch size, learning rate and seed of `train`, and save it to `path` with the generator's
/// vocabulary and the domain's `metadata`. Returns the final training accuracy.
#[allow(clippy::too_many_arguments)]
pub fn train_and_save_head(
    path: &std::path::Path,
    diffusion: &Diffusion,
    generator: &Dit,
    data: &dyn SequenceDataset,
    num_classes: usize,
    train: &crate::train::TrainConfig,
    vocabulary: &[String],
    metadata: serde_json::Value,
    device: &Device,
) -> Result<f64> {
    let (head, acc) = train_nos_head(
        diffusion,
        generator,
        data,
        num_classes,
        train.steps,
        train.batch_size,
        train.lr,
        train.seed,
        device,
    )?;
    save_head(
        path,
        &head,
        generator.hidden_size(),
        num_classes,
        vocabulary,
        metadata,
        acc,
    )?;
    Ok(acc)
}

/// Train a NOS head on noisy inputs z_t ~ q(z_t | x) of the generator's process, with the
/// generator frozen. Returns the head and its final training accuracy.
#[allow(clippy::too_many_arguments)]
pub fn train_nos_head(
    diffusion: &Diffusion,
    generator: &Dit,
    data: &dyn SequenceDataset,
    num_classes: usize,
    steps: usize,
    batch_size: usize,
    lr: f64,
    seed: u64,
    device: &Device,
) -> Result<(NosHead, f64)> {
    if diffusion.kind() == ModelKind::Ar {
        return Err(CoreError::config("nos", "NOS guides diffusion models"));
    }
    if data.is_empty() || data.label(0).is_none() {
        return Err(CoreError::Data(
            "NOS head training needs labelled sequences".into(),
        ));
    }
    let cfg = &diffusion.config;
    let l = cfg.seq_len;
    let ad = device.clone().autodiff();
    let hidden = generator.hidden_size();
    let mut head = NosHead {
        head: LinearConfig::new(hidden, num_classes).init(&ad),
    };
    let mut optim = AdamConfig::new().init();
    let mut rng = Rng::seed_from_u64(seed);
    let mut acc = 0.0;
    for _ in 0..steps {
        let idx: Vec<usize> = (0..batch_size)
            .map(|_| rng.below(data.len() as u64) as usize)
            .collect();
        let x: Vec<i64> = idx.iter().flat_map(|&i| data.tokens(i).to_vec()).collect();
        let y: Vec<i64> = idx.iter().map(|&i| data.label(i).unwrap_or(0)).collect();
        let b = idx.len();
        let t = sample_t(&mut rng, b, true, cfg.sampling_eps, None);
        let z = diffusion.process().q_xt(&mut rng, &x, l, &t);
        let sigma = vec_tensor(&diffusion.sigma_input(&t), device);
        let (h, _) = generator.hidden(generator.embed(ids_tensor(&z, b, l, device)), sigma, None);
        let h = Tensor::<3>::from_data(h.into_data(), &ad); // frozen features
        let lp = head.log_probs(h);
        let target = Tensor::<1, Int>::from_data(TensorData::new(y, [b]), &ad);
        let correct = lp
            .clone()
            .inner()
            .argmax(1)
            .reshape([b])
            .equal(target.clone().inner())
            .int()
            .sum()
            .into_scalar::<i64>();
        acc = correct as f64 / b as f64;
        let loss = lp.gather(1, target.reshape([b, 1])).mean().neg();
        let grads = GradientsParams::from_grads(loss.backward(), &head);
        head = optim.step(lr, head, grads);
    }
    Ok((head.valid(), acc))
}

/// log of the reverse step from denoiser logits.
fn log_step(
    diffusion: &Diffusion,
    logits: Tensor<3>,
    z_t: Tensor<2, Int>,
    t: f64,
    s: f64,
) -> Tensor<3> {
    let log_x = diffusion.log_x_from_logits(logits, z_t.clone());
    diffusion.log_reverse_step(log_x, z_t, t, s)
}

/// One NOS step: the log reverse-step distribution [B, L, N] after `config.steps` Adagrad
/// updates of δ on the last hidden state, minimising −Σ log p_φ(y | h + δ) + λ KL(p_orig ‖ p_adj).
#[allow(clippy::too_many_arguments)]
pub fn nos_log_step(
    diffusion: &Diffusion,
    generator_ad: &Dit,
    head_ad: &NosHead,
    z: &[i64],
    labels: Option<Tensor<1, Int>>,
    t: f64,
    s: f64,
    config: &NosConfig,
    device: &Device,
) -> Tensor<3> {
    let cfg = &diffusion.config;
    let l = cfg.seq_len;
    let b = z.len() / l;
    let ad = device.clone().autodiff();
    let z_t = ids_tensor(z, b, l, &ad);
    let sigma = vec_tensor(&diffusion.sigma_input(&vec![t; b]), &ad);
    let (h, c) = generator_ad.hidden(
        generator_ad.embed(z_t.clone()),
        sigma,
        labels.map(|y| y.to_device(&ad)),
    );
    let (h, c) = (h.detach(), c.detach());
    let log_orig = log_step(
        diffusion,
        generator_ad.output(h.clone(), c.clone()),
        z_t.clone(),
        t,
        s,
    )
    .detach();
    let p_orig = log_orig.clone().exp();
    let target = Tensor::<2, Int>::from_data(TensorData::new(vec![config.target; b], [b, 1]), &ad);
    let mut delta = Tensor::<3>::zeros(h.dims(), &ad);
    let mut accum = Tensor::<3>::zeros(h.dims(), &ad);
    for _ in 0..config.steps {
        let d = delta.clone().detach().require_grad();
        let hd = h.clone() + d.clone();
        let log_adj = log_step(
            diffusion,
            generator_ad.output(hd.clone(), c.clone()),
            z_t.clone(),
            t,
            s,
        );
        let clf = head_ad.log_probs(hd).gather(1, target.clone()).sum();
        let kl = (p_orig.clone() * (log_orig.clone() - log_adj))
            .sum()
            .div_scalar(b as f64);
        let loss = kl.mul_scalar(config.stability) - clf;
        let grads = loss.backward();
        let g = d.grad(&grads).expect("gradient of δ").detach();
        // Adagrad (torch defaults: no decay, eps 1e-10).
        accum = accum + g.clone().square();
        delta = delta.detach()
            - g.mul_scalar(config.step_size) / accum.clone().sqrt().add_scalar(1e-10);
    }
    let out = log_step(
        diffusion,
        generator_ad.output(h + delta.detach(), c),
        z_t,
        t,
        s,
    );
    out.inner().detach().to_device(device)
}

/// Checkpoint kind of a saved NOS head.
pub const NOS_HEAD_KIND: &str = "nos-head";

/// Write a NOS head with the facts needed to check it against its generator at sampling time
/// (hidden size, vocabulary) and the domain's `metadata`.
pub fn save_head(
    path: &std::path::Path,
    head: &NosHead,
    hidden: usize,
    num_classes: usize,
    vocabulary: &[String],
    metadata: serde_json::Value,
    train_accuracy: f64,
) -> Result<()> {
    use crate::checkpoint::{CheckpointFile, module_blob};
    let mut ck = CheckpointFile {
        header: serde_json::json!({
            "format": 1,
            "kind": NOS_HEAD_KIND,
            "hidden_size": hidden,
            "num_classes": num_classes,
            "vocabulary": vocabulary,
            "metadata": metadata,
            "train_accuracy": train_accuracy,
        }),
        ..Default::default()
    };
    ck.blobs.insert("head".into(), module_blob(head.clone())?);
    ck.save(path)
}

/// Load a NOS head for a generator with `hidden` features and `vocabulary`; a head trained on
/// another generator, or another checkpoint kind, is an error naming the file.
pub fn load_head(
    path: &std::path::Path,
    device: &Device,
    hidden: usize,
    vocabulary: &[String],
) -> Result<NosHead> {
    use crate::checkpoint::{CheckpointFile, load_module_blob};
    let ck = CheckpointFile::load(path)?;
    let kind: String = ck.field("kind", path)?;
    if kind != NOS_HEAD_KIND {
        return Err(CoreError::checkpoint(
            path,
            format!("holds a {kind}, not a NOS head"),
        ));
    }
    let h: usize = ck.field("hidden_size", path)?;
    let c: usize = ck.field("num_classes", path)?;
    let v: Vec<String> = ck.field("vocabulary", path)?;
    if h != hidden || v != vocabulary {
        return Err(CoreError::checkpoint(
            path,
            format!(
                "this NOS head was trained on another generator (hidden size {h}, or another vocabulary)"
            ),
        ));
    }
    let head = NosHead {
        head: burn::nn::LinearConfig::new(h, c).init(device),
    };
    load_module_blob(head, ck.blob("head", path)?, path, "NOS head")
}
