//! Exponential moving average of the weights (spec §7.6): decay_k = min(decay, (1+k)/(10+k)),
//! s ← s − (1 − decay_k)(s − θ) after every optimizer step. The EMA weights are used for
//! validation, sampling and evaluation.

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use std::collections::HashMap;

/// Parameters of a module keyed by id, flattened and detached from autodiff.
struct Collect {
    params: HashMap<ParamId, Tensor<1>>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().inner().detach();
        let n = t.shape().num_elements();
        self.params.insert(param.id, t.reshape([n]));
    }
}

struct Blend {
    params: HashMap<ParamId, Tensor<1>>,
    keep: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(theta) = self.params.remove(&param.id) else {
            return param;
        };
        let keep = self.keep;
        param.map(|s| {
            let dims = s.dims();
            let theta: Tensor<D> = theta.reshape(dims);
            s.clone() - (s - theta).mul_scalar(1.0 - keep)
        })
    }
}

/// The EMA copy of a model (inference device, no autodiff).
#[derive(Clone, Debug)]
pub struct Ema<M: Module> {
    pub model: M,
    pub decay: f64,
    pub num_updates: u64,
}

impl<M: Module> Ema<M> {
    pub fn new(model: &M, decay: f64) -> Self {
        Self {
            model: model.valid(),
            decay,
            num_updates: 0,
        }
    }

    /// The decay used at update `k` (0-based): min(decay, (1 + k)/(10 + k)).
    pub fn decay_at(&self, k: u64) -> f64 {
        self.decay.min((1.0 + k as f64) / (10.0 + k as f64))
    }

    /// One EMA update towards `model`'s current weights.
    pub fn update(&mut self, model: &M) {
        let keep = self.decay_at(self.num_updates);
        let mut collect = Collect {
            params: HashMap::new(),
        };
        model.visit(&mut collect);
        let mut blend = Blend {
            params: collect.params,
            keep,
        };
        self.model = self.model.clone().map(&mut blend);
        self.num_updates += 1;
    }
}
