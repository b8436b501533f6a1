//! Reference (Hugging Face `kuleshov-group/udlm-*`) checkpoints: a safetensors file written here
//! with exactly the reference tensor names and PyTorch shapes imports into the right parameters
//! (with the Linear transposes), gives the logits of an independent PyTorch forward
//! (`scripts/hf_reference_forward.py`), exports back bit for bit, and bad files give errors
//! naming the tensor or field and the file.

use burn::prelude::*;
use diffusion_core::backend::default_device;
use diffusion_core::diffusion::{DiffusionConfig, ModelKind};
use diffusion_core::dit::{Dit, DitConfig};
use diffusion_core::hf_checkpoint::{
    HfDitConfig, export_safetensors, import_safetensors, import_safetensors_with,
};
use diffusion_core::tensor_util::{ids_tensor, to_vec_f32, vec_tensor};
use safetensors::tensor::{Dtype, SafeTensors, TensorView, serialize_to_file};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

// The tiny fixture: hidden 32, 2 blocks, 2 heads (d = 16), vocab 35, L 32, cond 16, 2 classes.
const N: usize = 35;
const H: usize = 32;
const C: usize = 16;
const BLOCKS: usize = 2;
const HEADS: usize = 2;
const L: usize = 32;
const CLASSES: usize = 2;

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gdd-hf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The reference state dict of `UDLM` (models/hf/modeling_udlm.py), written out by hand from
/// the module tree: PyTorch names and shapes (Linear weights are [out, in]).
fn reference_names(cfg: bool) -> Vec<(String, Vec<usize>)> {
    let mut v: Vec<(String, Vec<usize>)> = vec![
        ("backbone.vocab_embed.embedding".into(), vec![N, H]),
        ("backbone.sigma_map.mlp.0.weight".into(), vec![C, 256]),
        ("backbone.sigma_map.mlp.0.bias".into(), vec![C]),
        ("backbone.sigma_map.mlp.2.weight".into(), vec![C, C]),
        ("backbone.sigma_map.mlp.2.bias".into(), vec![C]),
    ];
    if cfg {
        v.push((
            "backbone.cond_map.embedding_table.weight".into(),
            vec![CLASSES + 1, C],
        ));
    }
    v.push(("backbone.rotary_emb.inv_freq".into(), vec![H / HEADS / 2]));
    for i in 0..BLOCKS {
        let b = |s: &str| format!("backbone.blocks.{i}.{s}");
        v.extend([
            (b("norm1.weight"), vec![H]),
            (b("attn_qkv.weight"), vec![3 * H, H]),
            (b("attn_out.weight"), vec![H, H]),
            (b("norm2.weight"), vec![H]),
            (b("mlp.0.weight"), vec![4 * H, H]),
            (b("mlp.0.bias"), vec![4 * H]),
            (b("mlp.2.weight"), vec![H, 4 * H]),
            (b("mlp.2.bias"), vec![H]),
            (b("adaLN_modulation.weight"), vec![6 * H, C]),
            (b("adaLN_modulation.bias"), vec![6 * H]),
        ]);
    }
    v.extend([
        ("backbone.output_layer.norm_final.weight".into(), vec![H]),
        ("backbone.output_layer.linear.weight".into(), vec![N, H]),
        ("backbone.output_layer.linear.bias".into(), vec![N]),
        (
            "backbone.output_layer.adaLN_modulation.weight".into(),
            vec![2 * H, C],
        ),
        (
            "backbone.output_layer.adaLN_modulation.bias".into(),
            vec![2 * H],
        ),
    ]);
    v
}

fn name_hash(name: &str) -> u64 {
    name.bytes()
        .enumerate()
        .fold(0, |h, (j, b)| (h + (j as u64 + 1) * b as u64) % 1_000_003)
}

/// Deterministic, position-dependent values: LayerNorm weights 1 ± 0.25, biases ± 0.25,
/// embedding tables ± 1, matrices ± 1.5/√fan_in; the rotary buffer holds its true values.
fn fill(name: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    if name.ends_with("inv_freq") {
        let d = 2 * n;
        return (0..n)
            .map(|j| 10000f64.powf(-(2.0 * j as f64) / d as f64) as f32)
            .collect();
    }
    let h = name_hash(name);
    (0..n)
        .map(|i| {
            let v = ((i as u64 * 7919 + h * 104_729 + 13) % 2003) as f64 / 2003.0 - 0.5;
            let x = if name.contains("norm") {
                1.0 + 0.5 * v
            } else if shape.len() == 1 {
                0.5 * v
            } else if name.contains("embedding") {
                2.0 * v
            } else {
                v * 3.0 / (shape[1] as f64).sqrt()
            };
            x as f32
        })
        .collect()
}

fn config_json(cfg: bool) -> String {
    format!(
        r#"{{
  "_name_or_path": "kuleshov-group/udlm-qm9",
  "architectures": ["UDLM"],
  "auto_map": {{"AutoConfig": "configuration_udlm.UDLMConfig"}},
  "model_type": "udlm",
  "return_dict": false,
  "torch_dtype": "float32",
  "transformers_version": "4.46.3",
  "vocab_size": {N},
  "model_length": {L},
  "hidden_dim": {H},
  "cond_dim": {C},
  "n_blocks": {BLOCKS},
  "n_heads": {HEADS},
  "dropout": 0.1,
  "time_conditioning": true,
  "cfg": {cfg},
  "cfg_num_classes": {classes}
}}
"#,
        classes = if cfg { CLASSES as i64 } else { -1 }
    )
}

type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;

fn fixture_tensors(cfg: bool) -> Tensors {
    reference_names(cfg)
        .into_iter()
        .map(|(n, s)| {
            let v = fill(&n, &s);
            (n, s, v)
        })
        .collect()
}

fn write_tensors(path: &Path, tensors: &Tensors, dtype: Dtype) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| match dtype {
            Dtype::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Dtype::BF16 => v
                .iter()
                .flat_map(|x| ((x.to_bits() >> 16) as u16).to_le_bytes())
                .collect(),
            _ => unreachable!(),
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, s, _), b)| (n.clone(), TensorView::new(dtype, s.clone(), b).unwrap()))
        .collect();
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    serialize_to_file(views, Some(meta), path).unwrap();
}

/// `model.safetensors` and `config.json` of the fixture in `dir`.
fn write_fixture(dir: &Path, cfg: bool) -> (PathBuf, PathBuf) {
    let (w, c) = (dir.join("model.safetensors"), dir.join("config.json"));
    write_tensors(&w, &fixture_tensors(cfg), Dtype::F32);
    std::fs::write(&c, config_json(cfg)).unwrap();
    (w, c)
}

fn read_tensors(path: &Path) -> BTreeMap<String, (Vec<usize>, Dtype, Vec<u8>)> {
    let buf = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&buf).unwrap();
    st.tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.shape().to_vec(), v.dtype(), v.data().to_vec())))
        .collect()
}

/// The fixed input of the test vector: ids (b·13 + l·7 + 3) mod 35, σ = [0.7, 2.5],
/// labels [1, 2] (2 = the null class).
fn reference_input(device: &Device) -> (Tensor<2, Int>, Tensor<1>, Tensor<1, Int>) {
    let ids: Vec<i64> = (0..2)
        .flat_map(|b| (0..L).map(move |l| ((b * 13 + l * 7 + 3) % N) as i64))
        .collect();
    (
        ids_tensor(&ids, 2, L, device),
        vec_tensor(&[0.7, 2.5], device),
        Tensor::from_data(TensorData::new(vec![1i64, 2], [2]), device),
    )
}

fn logits(dit: &Dit, device: &Device) -> Vec<f32> {
    let (ids, sigma, labels) = reference_input(device);
    to_vec_f32(dit.forward(ids, sigma, Some(labels)))
}

/// Writes the fixture for `scripts/hf_reference_forward.py`:
/// `HF_FIXTURE_OUT=/tmp/hf-fixture cargo test -p diffusion-core --test hf_checkpoint -- --ignored`
#[test]
#[ignore]
fn write_reference_fixture() {
    let dir = PathBuf::from(std::env::var("HF_FIXTURE_OUT").expect("set HF_FIXTURE_OUT"));
    std::fs::create_dir_all(&dir).unwrap();
    write_fixture(&dir, true);
}

fn value(t: Tensor<2>, row: usize, col: usize) -> f32 {
    let cols = t.dims()[1];
    to_vec_f32(t)[row * cols + col]
}

fn value1(t: Tensor<1>, i: usize) -> f32 {
    to_vec_f32(t)[i]
}

#[test]
fn parameters_land_in_place_with_transposes() {
    let device = default_device();
    let dir = tmp_dir("place");
    let (w, c) = write_fixture(&dir, true);
    let (cfg, dit) = import_safetensors(&w, &c, &device).unwrap();
    assert_eq!(
        cfg,
        DitConfig {
            cond_dim: C,
            num_classes: Some(CLASSES),
            ..DitConfig::new(N, H, BLOCKS, HEADS)
        }
    );
    let file: HashMap<String, (Vec<usize>, Vec<f32>)> = fixture_tensors(true)
        .into_iter()
        .map(|(n, s, v)| (n, (s, v)))
        .collect();
    // PyTorch [rows, cols] entry.
    let at = |name: &str, r: usize, c: usize| {
        let (s, v) = &file[&format!("backbone.{name}")];
        v[r * s[1] + c]
    };
    let at1 = |name: &str, i: usize| file[&format!("backbone.{name}")].1[i];

    // Tables as they are.
    assert_eq!(
        value(dit.vocab_embed.val(), 3, 5),
        at("vocab_embed.embedding", 3, 5)
    );
    let emb = dit.label_embed.as_ref().unwrap().weight.val();
    assert_eq!(emb.dims(), [CLASSES + 1, C]);
    assert_eq!(
        value(emb, 2, 7),
        at("cond_map.embedding_table.weight", 2, 7)
    );
    // Linear weights transposed: ours [in, out] = theirs [out, in]ᵀ.
    assert_eq!(
        value(dit.sigma_map.mlp_0.weight.val(), 200, 5),
        at("sigma_map.mlp.0.weight", 5, 200)
    );
    assert_eq!(
        value1(dit.sigma_map.mlp_2.bias.as_ref().unwrap().val(), 9),
        at1("sigma_map.mlp.2.bias", 9)
    );
    let b1 = &dit.blocks[1];
    // A value row of the fused qkv (rows 2H.. are v, head-major) stays a value column.
    assert_eq!(
        value(b1.attn_qkv.weight.val(), 3, 2 * H + 7),
        at("blocks.1.attn_qkv.weight", 2 * H + 7, 3)
    );
    assert_eq!(
        value(b1.attn_qkv.weight.val(), 30, H + 17),
        at("blocks.1.attn_qkv.weight", H + 17, 30)
    );
    assert_eq!(
        value(b1.attn_out.weight.val(), 4, 29),
        at("blocks.1.attn_out.weight", 29, 4)
    );
    assert_eq!(
        value(b1.mlp_0.weight.val(), 31, 100),
        at("blocks.1.mlp.0.weight", 100, 31)
    );
    assert_eq!(
        value(b1.mlp_2.weight.val(), 100, 31),
        at("blocks.1.mlp.2.weight", 31, 100)
    );
    assert_eq!(
        value1(b1.mlp_0.bias.as_ref().unwrap().val(), 77),
        at1("blocks.1.mlp.0.bias", 77)
    );
    let ada = b1.adaln_modulation.as_ref().unwrap();
    // gate_mlp is the sixth chunk in both.
    assert_eq!(
        value(ada.weight.val(), 11, 5 * H + 3),
        at("blocks.1.adaLN_modulation.weight", 5 * H + 3, 11)
    );
    assert_eq!(
        value1(ada.bias.as_ref().unwrap().val(), 5 * H + 3),
        at1("blocks.1.adaLN_modulation.bias", 5 * H + 3)
    );
    assert_eq!(
        value1(b1.norm2.weight.val(), 13),
        at1("blocks.1.norm2.weight", 13)
    );
    assert_eq!(
        value1(dit.output_norm.weight.val(), 1),
        at1("output_layer.norm_final.weight", 1)
    );
    assert_eq!(
        value(dit.output_linear.weight.val(), 6, 34),
        at("output_layer.linear.weight", 34, 6)
    );
    assert_eq!(
        value1(dit.output_linear.bias.as_ref().unwrap().val(), 34),
        at1("output_layer.linear.bias", 34)
    );
    assert_eq!(
        value(dit.output_adaln.weight.val(), 15, H + 2),
        at("output_layer.adaLN_modulation.weight", H + 2, 15)
    );
    // The probes really distinguish a transpose.
    assert_ne!(
        at("blocks.1.attn_out.weight", 29, 4),
        at("blocks.1.attn_out.weight", 4, 29)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Logits of the fixture for `reference_input`, computed by `scripts/hf_reference_forward.py`
/// (an independent float64 PyTorch re-implementation of the reference DiT forward, torch
/// 2.15 on CPU) from the file `write_reference_fixture` writes:
/// `HF_FIXTURE_OUT=/tmp/hf-fixture cargo test -p diffusion-core --test hf_checkpoint -- --ignored`
/// then `python3 scripts/hf_reference_forward.py /tmp/hf-fixture`.
/// Rows: batch element 0 at positions 0, 5, 31, then batch element 1 at the same positions.
const REFERENCE_POSITIONS: [usize; 3] = [0, 5, 31];
const REFERENCE_LOGITS: [[f64; N]; 6] = [
    [
        -3.57186919e-01,
        1.00582471e-01,
        -4.04274372e-01,
        -4.09233724e-01,
        1.10592590e+00,
        -1.02052307e+00,
        5.14626912e-01,
        -1.01200393e+00,
        4.67539474e-01,
        -7.51239985e-01,
        9.50106685e-01,
        -7.66170261e-01,
        9.03019227e-01,
        -1.12985430e+00,
        1.32034150e+00,
        -1.81138981e+00,
        1.44951508e+00,
        -2.02228205e+00,
        1.40242765e+00,
        -1.28303042e+00,
        1.29201369e+00,
        -1.01817075e+00,
        1.24492626e+00,
        -5.02032470e-01,
        1.38956455e+00,
        -6.61875980e-01,
        1.75019199e+00,
        -7.08963432e-01,
        1.86223996e+00,
        -1.47828542e+00,
        1.84184674e+00,
        -1.52537293e+00,
        9.89043303e-01,
        -1.23134194e+00,
        -5.04261599e-01,
    ],
    [
        -4.42787839e-01,
        1.10393144e-01,
        -4.86365129e-01,
        -4.72583269e-01,
        1.22281723e+00,
        -1.22360961e+00,
        6.37245502e-01,
        -1.39394335e+00,
        5.93668218e-01,
        -8.83014973e-01,
        1.08378578e+00,
        -8.91258693e-01,
        1.04020847e+00,
        -1.29529347e+00,
        1.43805576e+00,
        -1.91244458e+00,
        1.65162802e+00,
        -2.16369444e+00,
        1.60805075e+00,
        -1.41724259e+00,
        1.50051422e+00,
        -1.18288328e+00,
        1.45693694e+00,
        -6.02395191e-01,
        1.62148653e+00,
        -7.02887762e-01,
        1.97932497e+00,
        -7.46465056e-01,
        2.09187122e+00,
        -1.53936015e+00,
        1.79885830e+00,
        -1.58293750e+00,
        9.84663830e-01,
        -1.31917828e+00,
        -4.89732851e-01,
    ],
    [
        1.22045363e+00,
        -1.04339936e-02,
        1.18311721e+00,
        1.17469835e-01,
        -1.44692946e+00,
        1.12143774e+00,
        -2.15009546e+00,
        2.49410338e+00,
        -2.18743179e+00,
        1.88886172e+00,
        -1.88426378e+00,
        2.03747532e+00,
        -1.92160015e+00,
        1.09180404e+00,
        -1.23034081e+00,
        1.33055444e+00,
        -1.58208076e+00,
        2.20523845e+00,
        -1.61941710e+00,
        2.95983028e+00,
        -1.71260983e+00,
        2.83814740e+00,
        -1.74994614e+00,
        2.58125575e+00,
        -1.52786599e+00,
        1.21773013e+00,
        -1.87853081e+00,
        1.18039381e+00,
        -1.80094182e+00,
        3.73522462e-01,
        -1.41479295e+00,
        3.36186112e-01,
        -1.59691320e+00,
        6.90425501e-01,
        -8.69663768e-01,
    ],
    [
        2.04828416e+00,
        -1.11022587e+00,
        2.00603773e+00,
        -2.14934540e+00,
        1.57535310e+00,
        -1.89888241e+00,
        5.94320314e-01,
        -1.78587438e+00,
        5.52073813e-01,
        -1.53005167e+00,
        -9.46064396e-02,
        -1.45595571e+00,
        -1.36852930e-01,
        -6.98654508e-01,
        -4.12019137e-01,
        -3.41785609e-01,
        -2.09038832e-01,
        -4.42432962e-01,
        -2.51285281e-01,
        -2.66559922e-02,
        -4.73826451e-01,
        1.44420366e+00,
        -5.16072876e-01,
        1.91550462e+00,
        -1.71930059e+00,
        2.33622442e+00,
        -1.47900271e+00,
        2.29397800e+00,
        -6.19793106e-01,
        2.67181704e+00,
        -3.85782628e-01,
        2.62957062e+00,
        -1.31351722e+00,
        1.86208827e+00,
        -1.29150753e+00,
    ],
    [
        2.02197626e+00,
        -1.08803768e+00,
        1.98270312e+00,
        -2.18977383e+00,
        1.54282883e+00,
        -1.92714456e+00,
        5.41974077e-01,
        -1.77361088e+00,
        5.02700876e-01,
        -1.48612033e+00,
        -1.18676412e-01,
        -1.40874956e+00,
        -1.57949603e-01,
        -6.81476573e-01,
        -4.21283948e-01,
        -3.30903079e-01,
        -2.21227735e-01,
        -4.19346853e-01,
        -2.60500885e-01,
        8.76561679e-04,
        -4.66743968e-01,
        1.45511281e+00,
        -5.06017093e-01,
        1.93189877e+00,
        -1.68284266e+00,
        2.32665973e+00,
        -1.46104775e+00,
        2.28738660e+00,
        -5.88079519e-01,
        2.63163087e+00,
        -3.69413378e-01,
        2.59235775e+00,
        -1.30043849e+00,
        1.83683550e+00,
        -1.26285760e+00,
    ],
    [
        -1.18309102e+00,
        3.46791236e+00,
        -1.26698360e+00,
        3.71899100e+00,
        -8.47743652e-01,
        3.71119849e+00,
        -7.54648040e-01,
        1.74271468e+00,
        -8.38540666e-01,
        1.22279708e+00,
        -1.03052753e+00,
        3.16327623e-01,
        -1.11442016e+00,
        8.36722376e-01,
        -1.17632977e+00,
        5.98748964e-01,
        -5.41521415e-01,
        8.39191904e-01,
        -6.25414013e-01,
        -4.43562647e-02,
        -5.47734391e-01,
        8.64527322e-02,
        -6.31626992e-01,
        -1.24257683e+00,
        -2.76060170e-01,
        -1.05547232e+00,
        1.69573042e-01,
        -1.13936500e+00,
        -8.01188229e-01,
        -8.33991340e-01,
        -1.25859355e-01,
        -9.17883987e-01,
        1.20446642e+00,
        -1.23107039e+00,
        2.40793822e+00,
    ],
];
const REFERENCE_SUM: [f64; 2] = [1.3802096198e+01, 4.2883742249e+01];
const REFERENCE_SUMSQ: [f64; 2] = [2.4380551948e+03, 2.6420616415e+03];

#[test]
fn forward_matches_independent_pytorch_forward() {
    let device = default_device();
    let dir = tmp_dir("forward");
    let (w, c) = write_fixture(&dir, true);
    let (_, dit) = import_safetensors(&w, &c, &device).unwrap();
    let got = logits(&dit, &device);
    assert_eq!(got.len(), 2 * L * N);
    // f32 against float64: relative error (to max(1, |logit|)) ≤ 2e-5.
    let err = |g: f32, w: f64| (g as f64 - w).abs() / w.abs().max(1.0);
    for b in 0..2 {
        for (p, &pos) in REFERENCE_POSITIONS.iter().enumerate() {
            for v in 0..N {
                let g = got[(b * L + pos) * N + v];
                let want = REFERENCE_LOGITS[b * 3 + p][v];
                assert!(
                    err(g, want) <= 2e-5,
                    "b {b} pos {pos} token {v}: {g} vs {want}"
                );
            }
        }
        let row = &got[b * L * N..(b + 1) * L * N];
        let sum: f64 = row.iter().map(|&x| x as f64).sum();
        let sumsq: f64 = row.iter().map(|&x| (x as f64) * (x as f64)).sum();
        // Summed f32 rounding: ≤ 1e-5 of the root-mean-square logit per element.
        let rms = (REFERENCE_SUMSQ[b] / (L * N) as f64).sqrt();
        assert!(
            (sum - REFERENCE_SUM[b]).abs() <= 1e-5 * rms * (L * N) as f64,
            "b {b}: sum {sum} vs {}",
            REFERENCE_SUM[b]
        );
        assert!(
            (sumsq - REFERENCE_SUMSQ[b]).abs() <= 1e-5 * REFERENCE_SUMSQ[b],
            "b {b}: sum of squares {sumsq} vs {}",
            REFERENCE_SUMSQ[b]
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn export_import_round_trip_is_exact() {
    let device = default_device();
    let dir = tmp_dir("roundtrip");
    let (w, c) = write_fixture(&dir, true);
    let hf = HfDitConfig::load(&c).unwrap();
    let dit = import_safetensors_with(&w, &hf, &device).unwrap();

    // Export writes exactly the reference tensors back, bit for bit.
    let (w2, c2) = (
        dir.join("out/model.safetensors"),
        dir.join("out/config.json"),
    );
    export_safetensors(&dit, &hf, &w2, &c2).unwrap();
    assert!(!dir.join("out/model.safetensors.tmp").exists());
    let (a, b) = (read_tensors(&w), read_tensors(&w2));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "tensor names"
    );
    for (name, (shape, dtype, bytes)) in &a {
        let (s2, d2, b2) = &b[name];
        assert_eq!((shape, dtype), (s2, d2), "{name}");
        assert!(bytes == b2, "{name}: values differ");
    }
    // The exported file carries the metadata transformers checks.
    let buf = std::fs::read(&w2).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&buf).unwrap();
    assert_eq!(
        meta.metadata()
            .as_ref()
            .unwrap()
            .get("format")
            .map(String::as_str),
        Some("pt")
    );
    // config.json round trip keeps the UDLM fields and the other fields.
    let hf2 = HfDitConfig::load(&c2).unwrap();
    assert_eq!(hf2, hf);
    assert_eq!(
        hf2.extra["auto_map"]["AutoConfig"],
        "configuration_udlm.UDLMConfig"
    );

    // Re-import gives the same network.
    let (_, dit2) = import_safetensors(&w2, &c2, &device).unwrap();
    assert_eq!(logits(&dit, &device), logits(&dit2, &device));

    // A model of our own (random init, non-zero output layer, no classes) round-trips too.
    let ours = DitConfig {
        cond_dim: C,
        dropout: 0.0,
        ..DitConfig::new(N, H, BLOCKS, HEADS)
    };
    let mut m = ours.init(&device);
    m.output_linear = burn::nn::LinearConfig::new(H, N).init(&device);
    m.output_adaln = burn::nn::LinearConfig::new(C, 2 * H).init(&device);
    for blk in &mut m.blocks {
        blk.adaln_modulation = Some(burn::nn::LinearConfig::new(C, 6 * H).init(&device));
    }
    let mut diffusion = DiffusionConfig::new(ModelKind::Mdlm, N, L, 2, None);
    let hf3 = HfDitConfig::from_configs(&ours, &diffusion).unwrap();
    assert!(!hf3.time_conditioning && !hf3.cfg && hf3.cfg_num_classes == -1);
    let (w3, c3) = (
        dir.join("own/model.safetensors"),
        dir.join("own/config.json"),
    );
    export_safetensors(&m, &hf3, &w3, &c3).unwrap();
    let (cfg3, m3) = import_safetensors(&w3, &c3, &device).unwrap();
    assert_eq!(cfg3, ours);
    let sigma = vec_tensor(&[0.0, 0.0], &device);
    let (ids, _, _) = reference_input(&device);
    let x = to_vec_f32(m.forward(ids.clone(), sigma.clone(), None));
    let y = to_vec_f32(m3.forward(ids, sigma, None));
    assert_eq!(x, y);
    assert!(x.iter().any(|&v| v != 0.0));
    // The HF facts flow into a diffusion config.
    diffusion.time_conditioning = None;
    HfDitConfig::load(&c3)
        .unwrap()
        .apply_to(&mut diffusion)
        .unwrap();
    assert_eq!(diffusion.time_conditioning, Some(false));
    assert_eq!((diffusion.vocab_size, diffusion.seq_len), (N, L));
    let mut other = DiffusionConfig::new(ModelKind::Udlm, N, 40, 2, None);
    let e = hf.apply_to(&mut other).unwrap_err().to_string();
    assert!(e.contains("model_length 32"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The reference's AR layout (causal, no σ embedding, no adaLN): an AR DiT of ours exports
/// to it, with its constant output modulation folded into the final norm and bias, and imports
/// back to the same logits.
#[test]
fn ar_layout_round_trip() {
    let device = default_device();
    let dir = tmp_dir("ar");
    let ours = DitConfig {
        cond_dim: C,
        dropout: 0.0,
        causal: true,
        adaln: false,
        ..DitConfig::new(N, H, BLOCKS, HEADS)
    };
    let mut m = ours.init(&device);
    m.output_linear = burn::nn::LinearConfig::new(H, N).init(&device);
    // A trained AR network has a non-zero output modulation from its constant c.
    m.output_adaln = burn::nn::LinearConfig::new(C, 2 * H).init(&device);
    let diffusion = DiffusionConfig::new(ModelKind::Ar, N, L, 2, None);
    let hf = HfDitConfig::from_configs(&ours, &diffusion).unwrap();
    assert!(hf.causal && !hf.time_conditioning);
    let (w, c) = (dir.join("model.safetensors"), dir.join("config.json"));
    export_safetensors(&m, &hf, &w, &c).unwrap();
    let names: Vec<String> = read_tensors(&w).into_keys().collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("sigma_map") && !n.contains("adaLN")),
        "{names:?}"
    );
    assert!(names.contains(&"backbone.blocks.0.attn_qkv.weight".to_string()));
    let text = std::fs::read_to_string(&c).unwrap();
    assert!(text.contains("\"causal\": true"), "{text}");

    let (cfg2, m2) = import_safetensors(&w, &c, &device).unwrap();
    assert_eq!(cfg2, ours);
    let (ids, _, _) = reference_input(&device);
    let sigma = vec_tensor(&[0.0, 0.0], &device);
    let x = to_vec_f32(m.forward(ids.clone(), sigma.clone(), None));
    let y = to_vec_f32(m2.forward(ids, sigma, None));
    let scale = x.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    assert!(scale > 0.0);
    for (a, b) in x.iter().zip(&y) {
        assert!((a - b).abs() <= 1e-5 * scale.max(1.0), "{a} vs {b}");
    }
    // The AR facts flow into an AR diffusion config, and only into one.
    let mut ar = DiffusionConfig::new(ModelKind::Ar, N, L, 2, None);
    HfDitConfig::load(&c).unwrap().apply_to(&mut ar).unwrap();
    let mut udlm = DiffusionConfig::new(ModelKind::Udlm, N, L, 2, None);
    let e = HfDitConfig::load(&c)
        .unwrap()
        .apply_to(&mut udlm)
        .unwrap_err()
        .to_string();
    assert!(e.contains("AR model"), "{e}");
    // An AR config with time conditioning or classes is refused by field.
    let bad = text.replace(
        "\"time_conditioning\": false",
        "\"time_conditioning\": true",
    );
    let e = HfDitConfig::from_json_str(&bad, "config.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("time_conditioning"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unprefixed_and_bf16_files_import() {
    let device = default_device();
    let dir = tmp_dir("variants");
    let (_, c) = write_fixture(&dir, false);
    // A bare backbone state dict (no `backbone.` prefix), without the rotary buffer, in BF16.
    let tensors: Tensors = fixture_tensors(false)
        .into_iter()
        .filter(|(n, _, _)| !n.ends_with("inv_freq"))
        .map(|(n, s, v)| (n.trim_start_matches("backbone.").to_string(), s, v))
        .collect();
    let w = dir.join("bare.safetensors");
    write_tensors(&w, &tensors, Dtype::BF16);
    let (cfg, dit) = import_safetensors(&w, &c, &device).unwrap();
    assert_eq!(cfg.num_classes, None);
    assert!(dit.label_embed.is_none());
    let want = fill("backbone.output_layer.linear.weight", &[N, H])[34 * H + 6];
    let want = f32::from_bits(want.to_bits() & 0xffff_0000);
    assert_eq!(value(dit.output_linear.weight.val(), 6, 34), want);
    let _ = std::fs::remove_dir_all(dir);
}

fn import_err(dir: &Path, tensors: &Tensors, config: &str) -> String {
    let (w, c) = (dir.join("bad.safetensors"), dir.join("bad.json"));
    write_tensors(&w, tensors, Dtype::F32);
    std::fs::write(&c, config).unwrap();
    match import_safetensors(&w, &c, &default_device()) {
        Ok(_) => panic!("import of {} must fail", w.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_files_give_errors_naming_tensor_field_and_file() {
    let dir = tmp_dir("errors");
    let good = fixture_tensors(true);
    let cfg = config_json(true);

    // Wrong shape: both shapes and the tensor are named, with the file.
    let mut t = good.clone();
    let i = t
        .iter()
        .position(|(n, _, _)| n == "backbone.blocks.1.attn_out.weight")
        .unwrap();
    t[i].1 = vec![H, H + 1];
    t[i].2 = vec![0.5; H * (H + 1)];
    let e = import_err(&dir, &t, &cfg);
    assert!(e.contains("bad.safetensors"), "{e}");
    assert!(e.contains("`backbone.blocks.1.attn_out.weight`"), "{e}");
    assert!(e.contains("[32, 33]") && e.contains("[32, 32]"), "{e}");

    // Missing tensors: all of them listed.
    let t: Tensors = good
        .iter()
        .filter(|(n, _, _)| {
            n != "backbone.output_layer.linear.bias" && n != "backbone.blocks.0.norm2.weight"
        })
        .cloned()
        .collect();
    let e = import_err(&dir, &t, &cfg);
    assert!(e.contains("2 tensor(s) missing"), "{e}");
    assert!(e.contains("`backbone.output_layer.linear.bias`"), "{e}");
    assert!(e.contains("`backbone.blocks.0.norm2.weight`"), "{e}");

    // Unused extra tensors: listed.
    let mut t = good.clone();
    t.push((
        "backbone.blocks.2.norm1.weight".into(),
        vec![H],
        vec![1.0; H],
    ));
    let e = import_err(&dir, &t, &cfg);
    assert!(
        e.contains("unexpected") && e.contains("`backbone.blocks.2.norm1.weight`"),
        "{e}"
    );

    // A class-conditional file with a config that says cfg = false: the label table is unused.
    let e = import_err(&dir, &good, &config_json(false));
    assert!(
        e.contains("`backbone.cond_map.embedding_table.weight`"),
        "{e}"
    );

    // A rotary buffer with other frequencies.
    let mut t = good.clone();
    let i = t
        .iter()
        .position(|(n, _, _)| n.ends_with("inv_freq"))
        .unwrap();
    t[i].2[1] *= 2.0;
    let e = import_err(&dir, &t, &cfg);
    assert!(e.contains("`backbone.rotary_emb.inv_freq`: entry 1"), "{e}");

    // Not a DiT state dict at all.
    let e = import_err(&dir, &vec![("x".into(), vec![1], vec![0.0])], &cfg);
    assert!(e.contains("backbone.vocab_embed.embedding"), "{e}");

    // config.json: missing, ill-typed and inconsistent fields are named with the file.
    let e = import_err(&dir, &good, &cfg.replace("\"hidden_dim\": 32,", ""));
    assert!(
        e.contains("bad.json") && e.contains("`hidden_dim`") && e.contains("missing"),
        "{e}"
    );
    let e = import_err(
        &dir,
        &good,
        &cfg.replace("\"n_heads\": 2", "\"n_heads\": \"two\""),
    );
    assert!(e.contains("bad.json") && e.contains("`n_heads`"), "{e}");
    let e = import_err(
        &dir,
        &good,
        &cfg.replace("\"n_heads\": 2", "\"n_heads\": 3"),
    );
    assert!(
        e.contains("`n_heads`") && e.contains("not divisible"),
        "{e}"
    );
    let e = import_err(
        &dir,
        &good,
        &cfg.replace("\"cfg_num_classes\": 2", "\"cfg_num_classes\": -1"),
    );
    assert!(e.contains("`cfg_num_classes`"), "{e}");
    let e = import_err(&dir, &good, &cfg.replace("\"udlm\"", "\"mdlm\""));
    assert!(e.contains("`model_type`"), "{e}");
    let e = import_err(&dir, &good, "{ not json");
    assert!(
        e.contains("bad.json") && e.contains("not valid JSON"),
        "{e}"
    );
    // A config for more blocks than the file has: the missing block's tensors are named.
    let e = import_err(
        &dir,
        &good,
        &cfg.replace("\"n_blocks\": 2", "\"n_blocks\": 3"),
    );
    assert!(e.contains("`backbone.blocks.2.attn_qkv.weight`"), "{e}");

    // Export refuses a model that does not match its config, and AR models.
    let device = default_device();
    let m = DitConfig {
        cond_dim: C,
        ..DitConfig::new(N, H, BLOCKS, HEADS)
    }
    .init(&device);
    let hf = HfDitConfig::from_json_str(&config_json(false), "test").unwrap();
    let mut wrong = hf.clone();
    wrong.vocab_size = 40;
    let e = export_safetensors(&m, &wrong, &dir.join("x.safetensors"), &dir.join("x.json"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`backbone.vocab_embed.embedding`") && e.contains("[40, 32]"),
        "{e}"
    );
    assert!(!dir.join("x.safetensors").exists() && !dir.join("x.json").exists());
    let ar = DitConfig {
        causal: true,
        ..DitConfig::new(N, H, BLOCKS, HEADS)
    };
    let e = HfDitConfig::from_dit_config(&ar, L, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("causal"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
