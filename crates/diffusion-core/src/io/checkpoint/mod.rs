//! Self-describing checkpoint files, written atomically.
//!
//! Layout: magic `GDDCKPT1`, a JSON header (configs, step, seed, vocabulary), named binary blobs
//! (burnpack records of the model, the EMA model and the optimizer), and an FNV-1a checksum of
//! everything before it. Files are written to `<path>.tmp`, synced, then renamed over `<path>`,
//! so a crash leaves either the old or the new checkpoint, never a torn one.
//!
//! Weights can be stored in half precision ([`WeightsDtype::F16`], header field
//! `weights_dtype = "f16"`; absent means f32): every f32 tensor of every blob is rounded to f16
//! on write and widened back to f32 on read, so loaders always see f32 records and an f16 file
//! loads into the usual f32 model. Only weights-only files (no optimizer state) are stored this
//! way; `gdd-checkpoint to-f16` converts one.

use crate::atomic_file::write_atomic;
use crate::error::{CoreError, Result};
use std::collections::BTreeMap;
use std::path::Path;

mod weights_dtype;
use weights_dtype::burnpack_convert;
pub use weights_dtype::*;

pub(crate) const MAGIC: &[u8; 8] = b"GDDCKPT1";

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A checkpoint in memory: a JSON header and named blobs.
#[derive(Clone, Debug, Default)]
pub struct CheckpointFile {
    pub header: serde_json::Value,
    /// Burnpack records (and, in training checkpoints, the optimizer state), always f32 in
    /// memory whatever [`Self::weights_dtype`] says.
    pub blobs: BTreeMap<String, Vec<u8>>,
    /// How [`Self::save`] stores the float tensors of the blobs (and how the loaded file stored
    /// them). The header field [`WEIGHTS_DTYPE_FIELD`] is written from it, not from `header`.
    pub weights_dtype: WeightsDtype,
}

impl CheckpointFile {
    /// The file's bytes. With [`WeightsDtype::F16`] every blob is re-encoded in half precision;
    /// that fails (naming the tensor) for a value outside the f16 range, and for a file that
    /// holds optimizer state (only weights-only checkpoints are stored in f16).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut header = self.header.clone();
        let mut blobs = std::borrow::Cow::Borrowed(&self.blobs);
        if let Some(h) = header.as_object_mut() {
            h.remove(WEIGHTS_DTYPE_FIELD);
        }
        if self.weights_dtype == WeightsDtype::F16 {
            if self.blobs.contains_key("optimizer") {
                return Err(CoreError::Data(
                    "only weights-only checkpoints (no `optimizer` blob) can be stored in f16; \
                     convert the run's exported model.ckpt"
                        .into(),
                ));
            }
            let h = header.as_object_mut().ok_or_else(|| {
                CoreError::Data("an f16 checkpoint needs a JSON object as its header".into())
            })?;
            h.insert(WEIGHTS_DTYPE_FIELD.into(), WeightsDtype::F16.name().into());
            let mut half = BTreeMap::new();
            for (name, data) in &self.blobs {
                half.insert(
                    name.clone(),
                    burnpack_convert(data, name, WeightsDtype::F16)?,
                );
            }
            blobs = std::borrow::Cow::Owned(half);
        }
        let header = serde_json::to_vec(&header).expect("JSON header serialises");
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&(blobs.len() as u64).to_le_bytes());
        for (name, data) in blobs.iter() {
            out.extend_from_slice(&(name.len() as u64).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            out.extend_from_slice(data);
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        Ok(out)
    }

    /// Parse a file's bytes; f16 blobs are widened to f32 (see [`WeightsDtype`]).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |why: &str| CoreError::checkpoint(path, why.to_string());
        if bytes.len() < MAGIC.len() + 8 + 8 + 8 || &bytes[..8] != MAGIC {
            return Err(bad("not a checkpoint file (bad magic or too short)"));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().expect("8 bytes"));
        if stored != fnv1a(body) {
            return Err(bad("checksum mismatch: the file is truncated or corrupt"));
        }
        let mut pos = 8usize;
        let mut take = |n: usize| -> Result<&[u8]> {
            if pos + n > body.len() {
                return Err(bad("truncated record"));
            }
            let s = &body[pos..pos + n];
            pos += n;
            Ok(s)
        };
        let read_u64 = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes")) as usize;
        let hlen = read_u64(take(8)?);
        let header: serde_json::Value = serde_json::from_slice(take(hlen)?)
            .map_err(|e| bad(&format!("header is not valid JSON: {e}")))?;
        let n = read_u64(take(8)?);
        let mut blobs = BTreeMap::new();
        for _ in 0..n {
            let nl = read_u64(take(8)?);
            let name =
                String::from_utf8(take(nl)?.to_vec()).map_err(|_| bad("blob name is not UTF-8"))?;
            let dl = read_u64(take(8)?);
            blobs.insert(name, take(dl)?.to_vec());
        }
        let weights_dtype = WeightsDtype::from_header(&header, path)?;
        let mut header = header;
        if weights_dtype == WeightsDtype::F16 {
            for (name, data) in blobs.iter_mut() {
                *data = burnpack_convert(data, name, WeightsDtype::F32)
                    .map_err(|e| CoreError::checkpoint(path, e.to_string()))?;
            }
        }
        if let Some(h) = header.as_object_mut() {
            h.remove(WEIGHTS_DTYPE_FIELD);
        }
        Ok(Self {
            header,
            blobs,
            weights_dtype,
        })
    }

    /// Write atomically: `<path>.tmp`, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self
            .to_bytes()
            .map_err(|e| CoreError::checkpoint(path, e.to_string()))?;
        write_atomic(path, &bytes)
    }

    /// The JSON header alone (magic, length and header bytes; blobs and checksum are not read):
    /// enough to see what a checkpoint holds before loading it. A full [`Self::load`] still
    /// verifies the whole file.
    pub fn read_header(path: &Path) -> Result<serde_json::Value> {
        use std::io::Read;
        let path = &crate::paths::resolve_checkpoint(path);
        let bad = |why: String| CoreError::checkpoint(path, why);
        let mut f = std::fs::File::open(path).map_err(|e| CoreError::io(path, e))?;
        let mut head = [0u8; 16];
        f.read_exact(&mut head)
            .map_err(|_| bad("not a checkpoint file (bad magic or too short)".into()))?;
        if &head[..8] != MAGIC {
            return Err(bad("not a checkpoint file (bad magic or too short)".into()));
        }
        let hlen = u64::from_le_bytes(head[8..].try_into().expect("8 bytes")) as usize;
        let mut header = Vec::new();
        f.take(hlen as u64)
            .read_to_end(&mut header)
            .map_err(|e| CoreError::io(path, e))?;
        if header.len() != hlen {
            return Err(bad("truncated record".into()));
        }
        serde_json::from_slice(&header).map_err(|e| bad(format!("header is not valid JSON: {e}")))
    }

    /// Read and verify a checkpoint; a shipped one (`checkpoints/…`) is also found outside the
    /// current directory ([`crate::paths::resolve_checkpoint`]).
    pub fn load(path: &Path) -> Result<Self> {
        let path = &crate::paths::resolve_checkpoint(path);
        let bytes = std::fs::read(path).map_err(|e| CoreError::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    pub fn blob(&self, name: &str, path: &Path) -> Result<&[u8]> {
        self.blobs
            .get(name)
            .map(|v| v.as_slice())
            .ok_or_else(|| CoreError::checkpoint(path, format!("missing blob `{name}`")))
    }

    /// Deserialize header field `key`, naming it in the error.
    pub fn field<T: serde::de::DeserializeOwned>(&self, key: &str, path: &Path) -> Result<T> {
        let v = self
            .header
            .get(key)
            .ok_or_else(|| CoreError::checkpoint(path, format!("header has no field `{key}`")))?;
        serde_json::from_value(v.clone())
            .map_err(|e| CoreError::checkpoint(path, format!("header field `{key}`: {e}")))
    }
}

/// The `kind` a checkpoint header names (`generator`, `classifier`, a domain's own objective,
/// `nos-head`), read without loading the weights; domains dispatch on it to pick the loader.
pub fn checkpoint_kind(path: &Path) -> Result<String> {
    let header = CheckpointFile::read_header(path)?;
    header
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_string)
        .ok_or_else(|| CoreError::checkpoint(path, "header has no field `kind`"))
}

/// Load a module's parameters from a burnpack blob, with errors naming the checkpoint.
pub fn load_module_blob<M: burn::module::Module>(
    module: M,
    blob: &[u8],
    path: &Path,
    what: &str,
) -> Result<M> {
    load_blob(module, blob, path, what, false)
}

/// [`load_module_blob`] where tensors of `module` that `blob` lacks keep their initial values
/// (a new parameter in an otherwise identical model).
pub fn load_module_blob_partial<M: burn::module::Module>(
    module: M,
    blob: &[u8],
    path: &Path,
    what: &str,
) -> Result<M> {
    load_blob(module, blob, path, what, true)
}

fn load_blob<M: burn::module::Module>(
    module: M,
    blob: &[u8],
    path: &Path,
    what: &str,
    partial: bool,
) -> Result<M> {
    let record =
        burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(blob.to_vec()))
            .map_err(|e| CoreError::checkpoint(path, format!("{what}: {e}")))?
            .allow_partial(partial);
    module
        .try_load_record(record)
        .map_err(|e| CoreError::checkpoint(path, format!("{what} does not fit the model: {e}")))
}

/// A module's parameters as a burnpack blob.
pub fn module_blob<M: burn::module::Module>(module: M) -> Result<Vec<u8>> {
    let bytes = module
        .into_record()
        .into_bytes()
        .map_err(|e| CoreError::Data(format!("cannot serialise module: {e}")))?;
    Ok(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_corruption_is_detected() {
        let dir = std::env::temp_dir().join(format!("ckpt-test-{}", std::process::id()));
        let path = dir.join("a.ckpt");
        let mut c = CheckpointFile {
            header: serde_json::json!({"step": 3}),
            ..Default::default()
        };
        c.blobs.insert("model".into(), vec![1, 2, 3, 4]);
        c.save(&path).unwrap();
        let back = CheckpointFile::load(&path).unwrap();
        assert_eq!(back.header["step"], 3);
        assert_eq!(back.blob("model", &path).unwrap(), &[1, 2, 3, 4]);
        assert!(!path.with_extension("tmp").exists());
        assert_eq!(CheckpointFile::read_header(&path).unwrap()["step"], 3);
        let err = checkpoint_kind(&path).unwrap_err().to_string();
        assert!(err.contains("kind") && err.contains("a.ckpt"), "{err}");

        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        let err = CheckpointFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("checksum") && err.contains("a.ckpt"), "{err}");

        std::fs::write(&path, &bytes[..10]).unwrap();
        assert!(CheckpointFile::load(&path).is_err());
        assert!(CheckpointFile::read_header(&path).is_err());
        std::fs::write(&path, &bytes[..20]).unwrap();
        let err = CheckpointFile::read_header(&path).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
