//! Tests of the fused training attention: outputs and every gradient against burn's autodiff of
//! the tensor-op form.

use super::*;
use crate::dit::fused_rotary_attention::tests::block_form;
use crate::tensor_util::to_vec_f32;
use crate::testing::{device, uniform_tensor as random};

/// Output and the gradient of qkv against burn's autodiff of the tensor-op form, causal or
/// not, for several batch sizes, lengths and head shapes (d_h 2 to 32, L 1 to 70).
#[test]
fn output_and_gradient_equal_the_tensor_op_form() {
    let ad = device().autodiff();
    for causal in [false, true] {
        for (b, l, heads, dh) in [(1, 1, 1, 2), (2, 7, 2, 4), (3, 33, 4, 16), (1, 70, 2, 32)] {
            let h3 = 3 * heads * dh;
            let run = |fused: bool| {
                let x = random([b, l, h3], (l * 7 + heads) as u64, &ad)
                    .mul_scalar(2.0)
                    .require_grad();
                let w = random([b, l, h3 / 3], 99, &ad);
                let o = if fused {
                    rotary_attention_trainable(x.clone(), heads, causal)
                } else {
                    block_form(x.clone(), heads, causal)
                };
                let out = to_vec_f32(o.clone().inner());
                let g = (o * w).sum().backward();
                (out, to_vec_f32(x.grad(&g).expect("gradient").inner()))
            };
            let (fo, fg) = run(true);
            let (to, tg) = run(false);
            let what = format!("causal {causal} {b}×{l}×{heads}×{dh}");
            for (a, e) in fo.iter().zip(&to) {
                assert!((a - e).abs() < 2e-5, "{what} output: {a} vs {e}");
            }
            for (a, e) in fg.iter().zip(&tg) {
                assert!(a.is_finite(), "{what} gradient {a}");
                assert!(
                    (a - e).abs() < 1e-4 * (1.0 + e.abs()),
                    "{what} gradient: {a} vs {e}"
                );
            }
        }
    }
}

/// Without tracking it is the plain forward (equal to the inference kernel's output).
#[test]
fn untracked_forward_equals_the_inference_kernel() {
    let d = device();
    let qkv = random([2, 9, 3 * 2 * 8], 5, &d);
    let a = to_vec_f32(rotary_attention_trainable(qkv.clone(), 2, true));
    let b = to_vec_f32(super::super::fused_rotary_attention::rotary_attention_fused(qkv, 2, true));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 2e-5, "{x} vs {y}");
    }
}
