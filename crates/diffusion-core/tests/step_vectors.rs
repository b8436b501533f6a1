//! One guided reverse step, composed from the public step functions, against values computed
//! by hand (N = 3, t = 0.5, s = 0.25, loglinear ε = 1e-3, so m_t = 0.4995, m_s = 0.24975):
//! the posterior of each noise, D-CBG scores exact and first-order, and their combination.

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, softmax};
use diffusion_core::backend::default_device;
use diffusion_core::diffusion::{Diffusion, DiffusionConfig, ModelKind};
use diffusion_core::guidance::{GuidanceClassifier, cbg_exact_scores, cbg_first_order_scores};
use diffusion_core::step::guided_log_step;
use diffusion_core::tensor_util::{ids_tensor, to_vec_f32};

const T: f64 = 0.5;
const S: f64 = 0.25;

/// log p(1 | z) = log σ(#ones(z) − 1), log p(0 | z) = log σ(1 − #ones(z)): not affine in the
/// one-hot input, so exact and first-order D-CBG differ.
#[derive(Debug, Clone)]
struct OnesCounter;

impl GuidanceClassifier for OnesCounter {
    fn num_classes(&self) -> usize {
        2
    }
    fn time_conditioned(&self) -> bool {
        false
    }
    fn log_probs(&self, z: Tensor<2, Int>, sigma: Tensor<1>) -> Tensor<2> {
        self.log_probs_soft(z.one_hot::<3>(3).float(), sigma)
    }
    fn log_probs_soft(&self, x: Tensor<3>, _sigma: Tensor<1>) -> Tensor<2> {
        let [b, _, _] = x.dims();
        let a = x.narrow(2, 1, 1).sum_dim(1).reshape([b, 1]).sub_scalar(1.0);
        Tensor::cat(vec![log_sigmoid(a.clone().neg()), log_sigmoid(a)], 1)
    }
    fn frozen_on(&self, _device: &Device) -> Box<dyn GuidanceClassifier> {
        Box::new(OnesCounter)
    }
}

fn close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() < tol, "{got:?} vs {want:?}");
    }
}

/// Exact D-CBG, z = [0, 2], target 1: the base log σ(−1) = −1.31326 everywhere except the
/// edits to 1 (one one: log σ(0) = −0.69315). First order: base + σ(1) = −0.58215 there (the
/// gradient of log σ(a) is σ(−a) = σ(1) = 0.73106 on the token-1 inputs). A non-editable
/// position keeps the base score.
#[test]
fn exact_and_first_order_cbg_by_hand() {
    let d = default_device();
    let z = [0i64, 2];
    let (base, one) = (-1.3132616875182228, -std::f64::consts::LN_2);
    for chunk in [1, 16] {
        let ex = cbg_exact_scores(&OnesCounter, &z, 2, 3, &[0.0], 1, None, chunk, &d);
        close(&to_vec_f32(ex), &[base, one, base, base, one, base], 1e-5);
    }
    let ex = cbg_exact_scores(
        &OnesCounter,
        &z,
        2,
        3,
        &[0.0],
        1,
        Some(&[true, false]),
        4,
        &d,
    );
    close(&to_vec_f32(ex), &[base, one, base, base, base, base], 1e-5);
    let fo = cbg_first_order_scores(&OnesCounter, &z, 2, 3, &[0.0], 1, &d);
    let lifted = base + 0.7310585786300049;
    close(
        &to_vec_f32(fo),
        &[base, lifted, base, base, lifted, base],
        1e-5,
    );
}

fn step(
    kind: ModelKind,
    z_t: [i64; 2],
    x_theta: [f64; 3],
    scores: [f64; 3],
    gamma: f64,
) -> Vec<f32> {
    let d = default_device();
    let diffusion = Diffusion::new(DiffusionConfig::new(kind, 3, 2, 2, None)).unwrap();
    let log_x: Vec<f32> = x_theta
        .iter()
        .chain(&x_theta)
        .map(|&p| if p > 0.0 { p.ln() as f32 } else { -1e9 })
        .collect();
    let log_x = Tensor::<3>::from_data(TensorData::new(log_x, [1, 2, 3]), &d);
    let log_post = diffusion.log_reverse_step(log_x, ids_tensor(&z_t, 1, 2, &d), T, S);
    let score: Vec<f32> = scores.iter().chain(&scores).map(|&v| v as f32).collect();
    let score = Tensor::<3>::from_data(TensorData::new(score, [1, 2, 3]), &d);
    let log_p = guided_log_step(log_post, vec![(score, gamma)]);
    to_vec_f32(softmax(log_p, 2))
}

/// Absorbing, z_t = [MASK, 0], x_θ = (0.7, 0.3, 0): the posterior at the mask is
/// ((m_t − m_s)/m_t · x_θ, m_s/m_t) = (0.35, 0.15, 0.5); with scores (−0.1, −2, −0.5) and γ = 2
/// the step is ∝ q · e^{2s} = (0.60552, 0.00581, 0.38868). The unmasked position stays 0.
#[test]
fn guided_absorbing_step_by_hand() {
    let scores = [-0.1, -2.0, -0.5];
    let p = step(ModelKind::Mdlm, [2, 0], [0.7, 0.3, 0.0], scores, 0.0);
    close(&p, &[0.35, 0.15, 0.5, 1.0, 0.0, 0.0], 1e-5);
    let p = step(ModelKind::Mdlm, [2, 0], [0.7, 0.3, 0.0], scores, 2.0);
    close(
        &p,
        &[
            0.6055152775997028,
            0.005805361770259598,
            0.38867936063003766,
            1.0,
            0.0,
            0.0,
        ],
        1e-5,
    );
}

/// Uniform, z_t = 1, x_θ = (0.6, 0.3, 0.1), α_t = 0.5005, α_s = 0.75025: by Bayes,
/// q(z_s = v) ∝ (α_t/α_s·[v = 1] + (1 − α_t/α_s)/3) · (α_s x_θ[v] + (1 − α_s)/3)
/// = (0.186918, 0.757618, 0.055464); guided with the same scores and γ = 2:
/// (0.816992, 0.074079, 0.108929).
#[test]
fn guided_uniform_step_by_hand() {
    let scores = [-0.1, -2.0, -0.5];
    let plain = [0.18691827183454246, 0.7576177433986555, 0.05546398476680204];
    let p = step(ModelKind::Udlm, [1, 1], [0.6, 0.3, 0.1], scores, 0.0);
    close(&p, &[plain, plain].concat(), 1e-5);
    let guided = [0.8169921227224164, 0.07407935940275995, 0.10892851787482362];
    let p = step(ModelKind::Udlm, [1, 1], [0.6, 0.3, 0.1], scores, 2.0);
    close(&p, &[guided, guided].concat(), 1e-5);
}
