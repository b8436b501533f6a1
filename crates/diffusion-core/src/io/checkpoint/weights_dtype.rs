//! How a checkpoint's weights are stored on disk: f32, or f16 for shipping (every f32 tensor of
//! every blob rounded to half precision on write and widened back on read), the conversion
//! between the two, and a listing of a file's tensors.

use super::CheckpointFile;
use crate::atomic_file::write_atomic;
use crate::error::{CoreError, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// Header field naming how the weights are stored on disk (absent: f32).
pub const WEIGHTS_DTYPE_FIELD: &str = "weights_dtype";

/// Largest finite f16 value.
const F16_MAX: f32 = 65504.0;

/// How the float tensors of a checkpoint's blobs are stored on disk. In memory (a loaded
/// [`CheckpointFile`]) they are always f32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightsDtype {
    /// 4 bytes a value, exactly what the model holds. The default.
    #[default]
    F32,
    /// 2 bytes a value (IEEE half: 11 significant bits, |x| ≤ 65504), round to nearest. Halves
    /// a weights-only file. A value outside the f16 range (or not finite) is an error naming
    /// the tensor, never silently clamped: such a checkpoint stays f32. Values below 2⁻²⁴ in
    /// magnitude round to 0, as f16 rounding does.
    F16,
}

impl WeightsDtype {
    /// The name used in headers and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            WeightsDtype::F32 => "f32",
            WeightsDtype::F16 => "f16",
        }
    }

    /// The storage dtype a checkpoint header records (absent: f32). An unknown or ill-typed
    /// value is an error naming the file and the field.
    pub fn from_header(header: &serde_json::Value, path: &Path) -> Result<Self> {
        let bad = |why: String| {
            CoreError::checkpoint(path, format!("header field `{WEIGHTS_DTYPE_FIELD}`: {why}"))
        };
        match header.get(WEIGHTS_DTYPE_FIELD) {
            None => Ok(WeightsDtype::F32),
            Some(serde_json::Value::String(s)) => match s.as_str() {
                "f32" => Ok(WeightsDtype::F32),
                "f16" => Ok(WeightsDtype::F16),
                other => Err(bad(format!(
                    "`{other}` is not a storage dtype (expected \"f32\" or \"f16\")"
                ))),
            },
            Some(v) => Err(bad(format!(
                "{v} is not a storage dtype (expected \"f32\" or \"f16\")"
            ))),
        }
    }
}

impl std::fmt::Display for WeightsDtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Re-encode the float tensors of burnpack blob `blob` (named `name` in errors) as `to`:
/// f32 → f16 (each value must lie within ±65504) or f16 → f32 (exact). Other tensors (ints,
/// bools, tensors already in `to`) and the record's metadata are copied unchanged.
pub(super) fn burnpack_convert(blob: &[u8], name: &str, to: WeightsDtype) -> Result<Vec<u8>> {
    use burn::tensor::f16;
    use burn_pack::{Bytes, DType, Reader, Tensor, Writer};
    let bad = |why: String| CoreError::Data(format!("blob `{name}`: {why}"));
    let reader = Reader::from_bytes(Bytes::from_bytes_vec(blob.to_vec()))
        .map_err(|e| bad(format!("not a burnpack record: {e}")))?;
    let metadata = reader.metadata().clone();
    let tensors = reader
        .into_tensors()
        .map_err(|e| bad(format!("not a burnpack record: {e}")))?;
    let mut out = Vec::with_capacity(tensors.len());
    for t in tensors {
        let (tname, dtype, shape, id, bytes) = t
            .into_parts()
            .map_err(|e| bad(format!("tensor data: {e}")))?;
        let converted = match (dtype, to) {
            (DType::F32, WeightsDtype::F16) => {
                let mut half = Vec::with_capacity(bytes.len() / 2);
                for c in bytes.chunks_exact(4) {
                    let v = f32::from_le_bytes(c.try_into().expect("4 bytes"));
                    if !v.is_finite() || v.abs() > F16_MAX {
                        return Err(bad(format!(
                            "tensor `{tname}` holds {v}, outside the f16 range (±65504); \
                             keep this checkpoint in f32"
                        )));
                    }
                    half.extend_from_slice(&f16::from_f32(v).to_le_bytes());
                }
                Tensor::new(tname, DType::F16, shape, id, Bytes::from_bytes_vec(half))
            }
            (DType::F16, WeightsDtype::F32) => {
                let full: Vec<u8> = bytes
                    .chunks_exact(2)
                    .flat_map(|c| {
                        f16::from_le_bytes(c.try_into().expect("2 bytes"))
                            .to_f32()
                            .to_le_bytes()
                    })
                    .collect();
                Tensor::new(tname, DType::F32, shape, id, Bytes::from_bytes_vec(full))
            }
            _ => Tensor::new(tname, dtype, shape, id, bytes),
        };
        out.push(converted);
    }
    let mut writer = Writer::new(out);
    for (k, v) in &metadata {
        writer = writer.with_metadata(k, v);
    }
    let bytes = writer
        .into_bytes()
        .map_err(|e| bad(format!("cannot re-encode: {e}")))?;
    Ok(bytes.to_vec())
}

/// The tensors of one burnpack blob: (name, shape) each.
pub type BlobTensors = Vec<(String, Vec<usize>)>;

/// Per blob of a loaded checkpoint: its burnpack tensors as (name, shape), for `gdd-checkpoint
/// info` and tests. Errors name the file and blob.
pub fn blob_tensors(ck: &CheckpointFile, path: &Path) -> Result<BTreeMap<String, BlobTensors>> {
    let mut all = BTreeMap::new();
    for (name, data) in &ck.blobs {
        let reader = burn_pack::Reader::from_bytes(burn_pack::Bytes::from_bytes_vec(data.clone()))
            .map_err(|e| {
                CoreError::checkpoint(path, format!("blob `{name}` is not a burnpack record: {e}"))
            })?;
        let tensors = reader
            .into_tensors()
            .map_err(|e| CoreError::checkpoint(path, format!("blob `{name}`: {e}")))?;
        all.insert(
            name.clone(),
            tensors
                .into_iter()
                .map(|t| (t.name.clone(), t.shape.to_vec()))
                .collect(),
        );
    }
    Ok(all)
}

/// Rewrite the weights-only checkpoint `input` to `output` with its weights stored as `dtype`
/// (e.g. f16 for shipping). Training checkpoints (with optimizer state) are refused: convert
/// the run's exported `model.ckpt`. `input` and `output` may be the same file (written
/// atomically).
pub fn convert_weights_dtype(input: &Path, output: &Path, dtype: WeightsDtype) -> Result<()> {
    let mut ck = CheckpointFile::load(input)?;
    if ck.blobs.contains_key("optimizer") {
        return Err(CoreError::checkpoint(
            input,
            "is a training checkpoint (it holds optimizer state); convert a weights-only file \
             such as a run's model.ckpt",
        ));
    }
    ck.weights_dtype = dtype;
    let bytes = ck
        .to_bytes()
        .map_err(|e| CoreError::checkpoint(input, e.to_string()))?;
    write_atomic(output, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::checkpoint::{MAGIC, fnv1a, load_module_blob, module_blob};
    use burn::prelude::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Every f32 tensor of a burnpack blob by name.
    fn values(blob: &[u8]) -> BTreeMap<String, Vec<f32>> {
        let reader =
            burn_pack::Reader::from_bytes(burn_pack::Bytes::from_bytes_vec(blob.to_vec())).unwrap();
        reader
            .into_tensors()
            .unwrap()
            .into_iter()
            .map(|t| {
                assert_eq!(t.dtype, burn_pack::DType::F32, "{} is not f32", t.name);
                let name = t.name.clone();
                let bytes = t.into_bytes().unwrap();
                let v = bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                (name, v)
            })
            .collect()
    }

    fn f16_round(v: &[f32]) -> Vec<f32> {
        v.iter()
            .map(|&x| burn::tensor::f16::from_f32(x).to_f32())
            .collect()
    }

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("ckpt-f16-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A weights-only file holding `module` (as the trainer's export does), stored as `dtype`.
    fn write_module<M: burn::module::Module>(path: &Path, module: M, dtype: WeightsDtype) {
        let mut c = CheckpointFile {
            header: serde_json::json!({"kind": "generator", "exported": true}),
            weights_dtype: dtype,
            ..Default::default()
        };
        c.blobs.insert("ema".into(), module_blob(module).unwrap());
        c.save(path).unwrap();
    }

    fn linear() -> burn::nn::Linear {
        burn::nn::LinearConfig::new(24, 40).init(&crate::testing::device())
    }

    #[test]
    fn f16_round_trip_gives_the_f16_rounded_weights_and_f32_files_load_unchanged() {
        let dir = tmp("roundtrip");
        let model = linear();
        let want = values(&module_blob(model.clone()).unwrap());
        let (p32, p16) = (dir.join("w32.ckpt"), dir.join("w16.ckpt"));
        write_module(&p32, model.clone(), WeightsDtype::F32);
        write_module(&p16, model, WeightsDtype::F16);

        // f32 (the format every existing file has): no header field, exact weights.
        let h = CheckpointFile::read_header(&p32).unwrap();
        assert!(h.get(WEIGHTS_DTYPE_FIELD).is_none(), "{h}");
        let c = CheckpointFile::load(&p32).unwrap();
        assert_eq!(c.weights_dtype, WeightsDtype::F32);
        let back = load_module_blob(linear(), c.blob("ema", &p32).unwrap(), &p32, "w").unwrap();
        assert_eq!(values(&module_blob(back).unwrap()), want);

        // f16: the header says so, the file is about half the size, and loading gives an f32
        // module holding exactly the f16-rounded weights.
        let h = CheckpointFile::read_header(&p16).unwrap();
        assert_eq!(h[WEIGHTS_DTYPE_FIELD], "f16");
        let (n32, n16) = (
            std::fs::metadata(&p32).unwrap().len(),
            std::fs::metadata(&p16).unwrap().len(),
        );
        assert!(n16 * 10 < n32 * 6, "{n16} vs {n32}");
        let c = CheckpointFile::load(&p16).unwrap();
        assert_eq!(c.weights_dtype, WeightsDtype::F16);
        assert!(c.header.get(WEIGHTS_DTYPE_FIELD).is_none());
        let back = load_module_blob(linear(), c.blob("ema", &p16).unwrap(), &p16, "w").unwrap();
        let got = values(&module_blob(back).unwrap());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (name, v) in &want {
            assert_eq!(got[name], f16_round(v), "{name}");
            assert_ne!(&got[name], v, "{name}: rounding changed nothing");
        }

        // The converter: f32 → f16 gives the same bytes as writing f16 directly, and back to
        // f32 widens exactly; a training checkpoint (optimizer state) is refused.
        let conv = dir.join("conv.ckpt");
        convert_weights_dtype(&p32, &conv, WeightsDtype::F16).unwrap();
        assert_eq!(std::fs::read(&conv).unwrap(), std::fs::read(&p16).unwrap());
        convert_weights_dtype(&conv, &conv, WeightsDtype::F32).unwrap();
        let c = CheckpointFile::load(&conv).unwrap();
        assert_eq!(c.weights_dtype, WeightsDtype::F32);
        assert_eq!(values(c.blob("ema", &conv).unwrap()), got);
        let mut train = CheckpointFile::load(&p32).unwrap();
        train.blobs.insert("optimizer".into(), vec![0; 4]);
        train.save(&conv).unwrap();
        let e = convert_weights_dtype(&conv, &dir.join("x.ckpt"), WeightsDtype::F16)
            .unwrap_err()
            .to_string();
        assert!(e.contains("optimizer") && e.contains("conv.ckpt"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn weights_outside_the_f16_range_are_an_error_naming_the_tensor() {
        let dir = tmp("range");
        let dev = crate::testing::device();
        for bad in [70000.0f32, -1e6, f32::NAN, f32::INFINITY] {
            let mut model = linear();
            let mut w = crate::tensor_util::to_vec_f32(model.weight.val());
            w[7] = bad;
            model.weight = burn::module::Param::from_tensor(Tensor::from_data(
                TensorData::new(w, [24, 40]),
                &dev,
            ));
            let path = dir.join("big.ckpt");
            let mut c = CheckpointFile {
                header: serde_json::json!({"kind": "generator"}),
                weights_dtype: WeightsDtype::F16,
                ..Default::default()
            };
            c.blobs
                .insert("ema".into(), module_blob(model.clone()).unwrap());
            let e = c.save(&path).unwrap_err().to_string();
            assert!(
                e.contains("`weight`") && e.contains("f16 range") && e.contains("big.ckpt"),
                "{e}"
            );
            assert!(!path.exists() && !path.with_extension("tmp").exists());
            // The same weights stay loadable in f32.
            write_module(&path, model, WeightsDtype::F32);
            assert!(CheckpointFile::load(&path).is_ok());
            let e = convert_weights_dtype(&path, &dir.join("o.ckpt"), WeightsDtype::F16)
                .unwrap_err()
                .to_string();
            assert!(e.contains("`weight`") && e.contains("big.ckpt"), "{e}");
            std::fs::remove_file(&path).ok();
        }
        // 65504 is the largest f16 and is kept exactly.
        let mut c = CheckpointFile {
            header: serde_json::json!({}),
            weights_dtype: WeightsDtype::F16,
            ..Default::default()
        };
        let t = burn_pack::Tensor::new(
            "edge".into(),
            burn_pack::DType::F32,
            vec![2],
            None,
            burn_pack::Bytes::from_bytes_vec(
                [65504.0f32, -65504.0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
        );
        let blob = burn_pack::Writer::new(vec![t])
            .into_bytes()
            .unwrap()
            .to_vec();
        c.blobs.insert("ema".into(), blob);
        let path = dir.join("edge.ckpt");
        c.save(&path).unwrap();
        let back = CheckpointFile::load(&path).unwrap();
        assert_eq!(
            values(back.blob("ema", &path).unwrap())["edge"],
            [65504.0, -65504.0]
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A file whose header is exactly `header` (and one small blob), bypassing `to_bytes`.
    fn raw_file(path: &Path, header: serde_json::Value) {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        let h = serde_json::to_vec(&header).unwrap();
        bytes.extend_from_slice(&(h.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&h);
        bytes.extend_from_slice(&0u64.to_le_bytes());
        let sum = fnv1a(&bytes);
        bytes.extend_from_slice(&sum.to_le_bytes());
        std::fs::write(path, &bytes).unwrap();
    }

    #[test]
    fn a_bad_weights_dtype_in_a_header_names_the_file_and_field() {
        let dir = tmp("header");
        let path = dir.join("odd.ckpt");
        for bad in [serde_json::json!("bf8"), serde_json::json!(16)] {
            raw_file(
                &path,
                serde_json::json!({"kind": "generator", "weights_dtype": bad}),
            );
            let e = CheckpointFile::load(&path).unwrap_err().to_string();
            assert!(
                e.contains("odd.ckpt") && e.contains("`weights_dtype`"),
                "{e}"
            );
            let h = CheckpointFile::read_header(&path).unwrap();
            let e = WeightsDtype::from_header(&h, &path)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("odd.ckpt") && e.contains("`weights_dtype`"),
                "{e}"
            );
        }
        // An explicit "f32" is accepted (the default, normally not written).
        raw_file(
            &path,
            serde_json::json!({"kind": "generator", "weights_dtype": "f32"}),
        );
        assert_eq!(
            CheckpointFile::load(&path).unwrap().weights_dtype,
            WeightsDtype::F32
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    /// `train --init-from` an f16 file: the fine-tuning model starts from the f16-rounded
    /// weights of the exported model and trains on.
    #[test]
    fn fine_tuning_starts_from_an_f16_checkpoint() {
        use crate::diffusion::{DiffusionConfig, ModelKind};
        use crate::dit::DitConfig;
        use crate::domain::TokenSequences;
        use crate::train::{TrainConfig, Trainer, load_for_inference};
        let dir = tmp("finetune");
        let dev = crate::testing::device();
        let (vocab, l, mask) = (8usize, 8usize, 7i64);
        let mut data = TokenSequences::new(l);
        for i in 0..32i64 {
            let row: Vec<i64> = (0..l as i64).map(|j| (i + j) % 7).collect();
            data.push(&row, None).unwrap();
        }
        let d = DiffusionConfig::new(ModelKind::Mdlm, vocab, l, mask, None);
        let m = DitConfig {
            dropout: 0.0,
            cond_dim: 16,
            ..DitConfig::new(vocab, 16, 1, 2)
        };
        let vocabulary: Vec<String> = (0..vocab).map(|i| format!("s{i}")).collect();
        let new = || {
            Trainer::new(
                d.clone(),
                m.clone(),
                TrainConfig::new(3, 8),
                vocabulary.clone(),
                &dev,
            )
            .unwrap()
        };
        let mut t = new();
        t.train_step(&data).unwrap();
        let (p32, p16) = (dir.join("model.ckpt"), dir.join("model-f16.ckpt"));
        t.export(&p32).unwrap();
        convert_weights_dtype(&p32, &p16, WeightsDtype::F16).unwrap();
        let want: BTreeMap<String, Vec<f32>> = values(&module_blob(t.ema.model.clone()).unwrap())
            .into_iter()
            .map(|(k, v)| (k, f16_round(&v)))
            .collect();

        // Inference loading and fine-tuning both see the f16-rounded weights, in f32.
        let loaded = load_for_inference(&p16, &dev, true, None).unwrap();
        assert_eq!(values(&module_blob(loaded.model).unwrap()), want);
        let mut ft = new();
        ft.init_from(&p16).unwrap();
        assert_eq!(values(&module_blob(ft.model.clone()).unwrap()), want);
        assert_eq!(values(&module_blob(ft.ema.model.clone()).unwrap()), want);
        let stats = ft.train_step(&data).unwrap();
        assert!(stats.loss.is_finite(), "{}", stats.loss);
        std::fs::remove_dir_all(&dir).ok();
    }
}
