//! The evaluation network behind the Fréchet distances and inception scores of generated
//! sequences (images: "FID (project classifier features)" and "IS (project classifier)";
//! genomics: the Fréchet distance on the species oracle's features): anything that maps token
//! sequences to a feature vector and class probabilities. The default is a clean (t = 0) DiT
//! classifier trained by the project on the same data set; an Inception-style network can
//! replace it by implementing [`FeatureNetwork`].

use crate::classifier::DitClassifier;
use crate::error::{CoreError, Result};
use crate::tensor_util::{ids_tensor, to_vec_f32};
use burn::prelude::*;
use burn::tensor::activation::softmax;

/// Features and class probabilities of a batch of sequences.
#[derive(Clone, Debug, Default)]
pub struct Evaluated {
    /// [n][D] feature vectors (the input of the Fréchet distance).
    pub features: Vec<Vec<f64>>,
    /// [n][C] class probabilities (inception score, accuracy, F1).
    pub probs: Vec<Vec<f64>>,
}

impl Evaluated {
    /// Most probable class of each sequence.
    pub fn predictions(&self) -> Vec<usize> {
        self.probs
            .iter()
            .map(|p| {
                (0..p.len())
                    .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                    .unwrap_or(0)
            })
            .collect()
    }
}

/// A network that scores token sequences.
pub trait FeatureNetwork {
    /// Shown in tables, e.g. "project classifier".
    fn name(&self) -> &str;
    fn num_classes(&self) -> usize;
    /// Evaluate `tokens`, row-major [n, seq_len].
    fn evaluate(&self, tokens: &[i64], seq_len: usize) -> Result<Evaluated>;
}

/// A DiT classifier used clean (σ = 0): features are its pooled last hidden state, the same
/// vector its head classifies.
pub struct ClassifierFeatures {
    pub model: DitClassifier,
    pub device: Device,
    pub batch_size: usize,
    pub label: String,
}

impl ClassifierFeatures {
    pub fn new(model: DitClassifier, device: &Device) -> Self {
        Self {
            model,
            device: device.clone(),
            batch_size: 256,
            label: "project classifier".into(),
        }
    }
}

impl FeatureNetwork for ClassifierFeatures {
    fn name(&self) -> &str {
        &self.label
    }

    fn num_classes(&self) -> usize {
        self.model.head.weight.val().dims()[1]
    }

    fn evaluate(&self, tokens: &[i64], seq_len: usize) -> Result<Evaluated> {
        if seq_len == 0 || !tokens.len().is_multiple_of(seq_len) {
            return Err(CoreError::Data(format!(
                "{} tokens are not whole sequences of {seq_len}",
                tokens.len()
            )));
        }
        let m = &self.model;
        let mut out = Evaluated::default();
        for chunk in tokens.chunks(self.batch_size.max(1) * seq_len) {
            let b = chunk.len() / seq_len;
            let z = ids_tensor(chunk, b, seq_len, &self.device);
            let sigma = Tensor::<1>::zeros([b], &self.device);
            let pooled = m.pooled_features(z, sigma); // [B, H], the head's input
            let d = pooled.dims()[1];
            let probs = softmax(m.head.forward(pooled.clone()), 1); // [B, C]
            let c = probs.dims()[1];
            let f = to_vec_f32(pooled);
            let p = to_vec_f32(probs);
            out.features
                .extend(f.chunks(d).map(|r| r.iter().map(|&x| x as f64).collect()));
            out.probs
                .extend(p.chunks(c).map(|r| r.iter().map(|&x| x as f64).collect()));
        }
        Ok(out)
    }
}
