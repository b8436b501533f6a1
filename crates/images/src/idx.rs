//! IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed: a big-endian header
//! `0 0 type ndim`, `ndim` u32 dimensions, then the values. Only unsigned bytes (type 0x08) are
//! image data here. Every check that fails (magic, dimensions, length, gzip stream) is an error
//! naming the file, since a truncated download is the usual cause.

use crate::error::{ImageError, Result};
use crate::image_set::ImageSet;
use diffusion_core::CoreError;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// IDX type code of unsigned bytes.
const UBYTE: u8 = 0x08;

/// The dimensions and bytes of one IDX file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Read a file, gunzipping it when it starts with the gzip magic (whatever its name).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| CoreError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| {
                CoreError::input(
                    path,
                    format!("corrupt or truncated gzip stream ({e}); download the file again"),
                )
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parse IDX bytes (already decompressed); `path` names the file in errors.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    let bad = |reason: String| ImageError::from(CoreError::input(path, reason));
    if bytes.len() < 4 {
        return Err(bad(format!(
            "not an IDX file: {} bytes, shorter than the 4-byte magic",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad(format!(
            "not an IDX file: magic starts with {:02x} {:02x}, expected 00 00",
            bytes[0], bytes[1]
        )));
    }
    if bytes[2] != UBYTE {
        return Err(bad(format!(
            "IDX value type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
            bytes[2]
        )));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err(bad("IDX header declares 0 dimensions".into()));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(bad(format!(
            "truncated IDX header: {ndim} dimensions need {header} bytes, the file has {}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            let o = 4 + 4 * i;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(format!("IDX dimensions {dims:?} overflow")))?;
    let have = bytes.len() - header;
    if have < expected {
        return Err(bad(format!(
            "truncated IDX data: dimensions {dims:?} need {expected} bytes after the header, the file has {have}"
        )));
    }
    if have > expected {
        return Err(bad(format!(
            "IDX data longer than its dimensions {dims:?} say: {have} bytes instead of {expected}"
        )));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Read an IDX file, plain or gzip-compressed.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    parse_idx(&read_maybe_gz(path)?, path)
}

/// Write an unsigned-byte IDX file (gzip-compressed when the name ends in `.gz`).
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<()> {
    let n: usize = dims.iter().product();
    if n != data.len() || dims.is_empty() || dims.len() > 255 {
        return Err(ImageError::Invalid(format!(
            "cannot write {}: dimensions {dims:?} do not match {} values",
            path.display(),
            data.len()
        )));
    }
    let mut bytes = vec![0, 0, UBYTE, dims.len() as u8];
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| {
            ImageError::Invalid(format!("{}: dimension {d} too large", path.display()))
        })?;
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&bytes)
            .and_then(|_| e.finish())
            .map(|b| bytes = b)
            .map_err(|e| CoreError::io(path, e))?;
    }
    diffusion_core::run_dir::write_atomic(path, &bytes)?;
    Ok(())
}

/// The labels file that goes with an images file by the MNIST naming convention
/// (`…images-idx3-ubyte…` → `…labels-idx1-ubyte…`), if the name follows it.
pub fn default_labels_path(images: &Path) -> Option<PathBuf> {
    let name = images.file_name()?.to_str()?;
    name.contains("images-idx3")
        .then(|| images.with_file_name(name.replace("images-idx3", "labels-idx1")))
}

/// Images and labels from an IDX pair. Images are `[n, h, w]` (grey, MNIST) or `[n, c, h, w]`
/// (channel-major, as `images sample` writes them); labels are `[n]`. Class names default to
/// the label numbers `0..=max`.
pub fn load_idx_images(
    images: &Path,
    labels: &Path,
    class_names: Option<Vec<String>>,
) -> Result<ImageSet> {
    let img = read_idx(images)?;
    let lab = read_idx(labels)?;
    let (n, c, h, w) = match img.dims[..] {
        [n, h, w] => (n, 1, h, w),
        [n, c, h, w] => (n, c, h, w),
        _ => {
            return Err(CoreError::input(
                images,
                format!(
                    "an image file has 3 ([n, h, w]) or 4 ([n, c, h, w]) dimensions, this one {:?}",
                    img.dims
                ),
            )
            .into());
        }
    };
    if lab.dims.len() != 1 {
        return Err(CoreError::input(
            labels,
            format!(
                "a label file has 1 dimension, this one {:?} (is it an image file?)",
                lab.dims
            ),
        )
        .into());
    }
    if lab.dims[0] != n {
        return Err(ImageError::Invalid(format!(
            "{} holds {n} images but {} holds {} labels",
            images.display(),
            labels.display(),
            lab.dims[0]
        )));
    }
    let max = lab.data.iter().copied().max().unwrap_or(0) as usize;
    let class_names =
        class_names.unwrap_or_else(|| (0..=max).map(|k| k.to_string()).collect::<Vec<_>>());
    if max >= class_names.len() {
        return Err(CoreError::input(
            labels,
            format!(
                "label {max} but only {} class names are given",
                class_names.len()
            ),
        )
        .into());
    }
    Ok(ImageSet {
        channels: c,
        height: h,
        width: w,
        pixels: img.data,
        labels: lab.data.iter().map(|&y| y as i64).collect(),
        class_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("images-idx-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn write_then_read_plain_and_gz() {
        for name in ["a.idx", "a.idx.gz"] {
            let p = tmp(name);
            write_idx(&p, &[2, 3], &[1, 2, 3, 4, 5, 6]).unwrap();
            let a = read_idx(&p).unwrap();
            assert_eq!(a.dims, vec![2, 3]);
            assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
        }
    }

    #[test]
    fn header_checks_name_the_file() {
        let p = Path::new("some/file.idx");
        let cases: [(&[u8], &str); 5] = [
            (&[0, 0], "shorter than the 4-byte magic"),
            (&[1, 0, 8, 1, 0, 0, 0, 0], "magic starts with 01 00"),
            (&[0, 0, 0x0d, 1, 0, 0, 0, 0], "type 0x0d"),
            (&[0, 0, 8, 2, 0, 0, 0, 1], "truncated IDX header"),
            (&[0, 0, 8, 1, 0, 0, 0, 3, 7, 7], "truncated IDX data"),
        ];
        for (bytes, want) in cases {
            let e = parse_idx(bytes, p).unwrap_err().to_string();
            assert!(e.starts_with("some/file.idx: "), "{e}");
            assert!(e.contains(want), "{e} lacks {want}");
        }
        let e = parse_idx(&[0, 0, 8, 1, 0, 0, 0, 1, 7, 7], p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("longer than its dimensions"), "{e}");
    }

    #[test]
    fn labels_path_follows_mnist_naming() {
        assert_eq!(
            default_labels_path(Path::new("d/train-images-idx3-ubyte.gz")),
            Some(PathBuf::from("d/train-labels-idx1-ubyte.gz"))
        );
        assert_eq!(default_labels_path(Path::new("d/x.idx")), None);
    }
}
