//! The one thing losses and samplers need from a generator network: logits over the vocabulary
//! for noisy ids, a noise level and optional class labels. The DiT implements it; a domain can
//! bring another backbone (e.g. an image UNet with a discretised-logistic head) by implementing
//! this trait, and train it through its own [`crate::train::Objective`], without editing the core.

use crate::dit::Dit;
use burn::prelude::*;

/// A generator backbone: ids [B, L], network time input σ [B] and labels [B] → logits [B, L, N].
pub trait Denoiser {
    /// Logits [B, L, N]. `labels` hold class ids, the null class `num_classes()` included.
    fn forward(
        &self,
        tokens: Tensor<2, Int>,
        sigma: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Tensor<3>;

    /// Number of real classes C of a class-conditional model (the null class of D-CFG is id C);
    /// 0 for an unconditional model.
    fn num_classes(&self) -> usize;

    /// Whether the model takes class labels.
    fn is_conditional(&self) -> bool {
        self.num_classes() > 0
    }

    /// The DiT, for methods that work on its hidden states (NOS); None for other backbones.
    fn as_dit(&self) -> Option<&Dit> {
        None
    }
}

impl Denoiser for Dit {
    fn forward(
        &self,
        tokens: Tensor<2, Int>,
        sigma: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Tensor<3> {
        Dit::forward(self, tokens, sigma, labels)
    }

    fn num_classes(&self) -> usize {
        self.num_classes
    }

    fn is_conditional(&self) -> bool {
        self.label_embed.is_some()
    }

    fn as_dit(&self) -> Option<&Dit> {
        Some(self)
    }
}
