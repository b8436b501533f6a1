//! The CIFAR-10 JPEG pack (see `datasets/images/PROVENANCE.md`): `cifar10_<split>.jpgpack` is
//! the concatenation of 32×32 baseline JPEGs, `cifar10_<split>_index.csv` gives each image's
//! `index,label,class,source_file,offset,length`. Slices are decoded with the `image` crate
//! (zune-jpeg) into channel-major RGB. The pack is lossy (quality-75 JPEG re-encodings of
//! CIFAR-10), which is a property of the data, not of the decoder.

use crate::error::{ImageError, Result};
use crate::image_set::ImageSet;
use diffusion_core::CoreError;
use std::path::{Path, PathBuf};

const HEADER: &str = "index,label,class,source_file,offset,length";
/// CIFAR-10 images are 32×32 RGB.
pub const SIDE: usize = 32;

/// One row of the index CSV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackEntry {
    pub index: usize,
    pub label: i64,
    pub class: String,
    pub source_file: String,
    pub offset: usize,
    pub length: usize,
}

/// An opened pack: its bytes, its index and the class names (label order).
pub struct CifarPack {
    pub pack_path: PathBuf,
    pub index_path: PathBuf,
    pub bytes: Vec<u8>,
    pub entries: Vec<PackEntry>,
    pub class_names: Vec<String>,
}

/// Parse the index CSV; `path` names it in errors (with the line number).
pub fn parse_index(text: &str, path: &Path) -> Result<Vec<PackEntry>> {
    let mut lines = text.lines();
    match lines.next() {
        Some(h) if h.trim() == HEADER => {}
        other => {
            return Err(CoreError::input(
                path,
                format!(
                    "line 1: expected the header `{HEADER}`, found `{}`",
                    other.unwrap_or("")
                ),
            )
            .into());
        }
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        let lineno = i + 2;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.trim().split(',').collect();
        if f.len() != 6 {
            return Err(CoreError::input(
                path,
                format!("line {lineno}: {} fields, expected 6", f.len()),
            )
            .into());
        }
        let num = |k: usize, name: &str| {
            f[k].parse::<usize>().map_err(|_| {
                CoreError::input(
                    path,
                    format!(
                        "line {lineno}: {name} `{}` is not a non-negative integer",
                        f[k]
                    ),
                )
            })
        };
        out.push(PackEntry {
            index: num(0, "index")?,
            label: num(1, "label")? as i64,
            class: f[2].to_string(),
            source_file: f[3].to_string(),
            offset: num(4, "offset")?,
            length: num(5, "length")?,
        });
    }
    if out.is_empty() {
        return Err(CoreError::input(path, "the index lists no images").into());
    }
    Ok(out)
}

/// Class names in label order, checked to be one name per label.
fn class_names(entries: &[PackEntry], path: &Path) -> Result<Vec<String>> {
    let max = entries.iter().map(|e| e.label).max().unwrap_or(0) as usize;
    let mut names: Vec<Option<String>> = vec![None; max + 1];
    for e in entries {
        let slot = &mut names[e.label as usize];
        match slot {
            None => *slot = Some(e.class.clone()),
            Some(n) if *n != e.class => {
                return Err(CoreError::input(
                    path,
                    format!(
                        "label {} is called both `{n}` and `{}` (index {})",
                        e.label, e.class, e.index
                    ),
                )
                .into());
            }
            _ => {}
        }
    }
    names
        .into_iter()
        .enumerate()
        .map(|(k, n)| {
            n.ok_or_else(|| CoreError::input(path, format!("no image has label {k}")).into())
        })
        .collect()
}

impl CifarPack {
    /// Open `dir/cifar10_<split>.jpgpack` with its index; every byte range is checked.
    pub fn open(dir: &Path, split: &str) -> Result<Self> {
        let pack_path = dir.join(format!("cifar10_{split}.jpgpack"));
        let index_path = dir.join(format!("cifar10_{split}_index.csv"));
        let text =
            std::fs::read_to_string(&index_path).map_err(|e| CoreError::io(&index_path, e))?;
        let entries = parse_index(&text, &index_path)?;
        let bytes = std::fs::read(&pack_path).map_err(|e| CoreError::io(&pack_path, e))?;
        for e in &entries {
            if e.offset
                .checked_add(e.length)
                .is_none_or(|end| end > bytes.len())
            {
                return Err(CoreError::input(
                    &pack_path,
                    format!(
                        "image {} (`{}`) at bytes {}..{} lies beyond the end of the pack ({} bytes); the pack is truncated or does not match {}",
                        e.index,
                        e.source_file,
                        e.offset,
                        e.offset + e.length,
                        bytes.len(),
                        index_path.display()
                    ),
                ).into());
            }
        }
        let class_names = class_names(&entries, &index_path)?;
        Ok(Self {
            pack_path,
            index_path,
            bytes,
            entries,
            class_names,
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Decode entry `i` to 3·32·32 channel-major bytes.
    pub fn decode(&self, i: usize) -> Result<Vec<u8>> {
        let e = &self.entries[i];
        let what = || format!("image {} (`{}`)", e.index, e.source_file);
        let slice = &self.bytes[e.offset..e.offset + e.length];
        let img = image::load_from_memory_with_format(slice, image::ImageFormat::Jpeg)
            .map_err(|err| ImageError::Decode {
                path: self.pack_path.clone(),
                what: what(),
                reason: err.to_string(),
            })?
            .to_rgb8();
        if (img.width() as usize, img.height() as usize) != (SIDE, SIDE) {
            return Err(ImageError::Decode {
                path: self.pack_path.clone(),
                what: what(),
                reason: format!("{}×{}, expected 32×32", img.width(), img.height()),
            });
        }
        Ok(crate::image_set::interleaved_to_planar(img.as_raw(), 3))
    }

    /// Decode the whole pack, or at most `max_per_class` images of each class (the first ones
    /// in index order).
    pub fn load(&self, max_per_class: Option<usize>) -> Result<ImageSet> {
        let mut set = ImageSet::new(3, SIDE, SIDE, self.class_names.clone());
        let mut taken = vec![0usize; self.class_names.len()];
        for (i, e) in self.entries.iter().enumerate() {
            let k = e.label as usize;
            if max_per_class.is_some_and(|m| taken[k] >= m) {
                continue;
            }
            taken[k] += 1;
            set.push(&self.decode(i)?, e.label)?;
        }
        Ok(set)
    }
}

/// The reference decodes shipped with the pack (`cifar10_test_ref100_decoded.bin`): records of
/// 1 label byte + 3072 bytes (R, G, B planes, row-major), i.e. already channel-major.
pub fn read_reference_decodes(path: &Path) -> Result<Vec<(i64, Vec<u8>)>> {
    let bytes = std::fs::read(path).map_err(|e| CoreError::io(path, e))?;
    let rec = 1 + 3 * SIDE * SIDE;
    if bytes.is_empty() || !bytes.len().is_multiple_of(rec) {
        return Err(CoreError::input(
            path,
            format!(
                "{} bytes is not a whole number of {rec}-byte records",
                bytes.len()
            ),
        )
        .into());
    }
    Ok(bytes
        .chunks(rec)
        .map(|r| (r[0] as i64, r[1..].to_vec()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_errors_name_file_and_line() {
        let p = Path::new("x_index.csv");
        let e = parse_index("a,b\n", p).unwrap_err().to_string();
        assert!(e.contains("x_index.csv: line 1"), "{e}");
        let text = format!("{HEADER}\n0,0,airplane,a.jpg,0,10\n1,0,airplane,b.jpg,x,10\n");
        let e = parse_index(&text, p).unwrap_err().to_string();
        assert!(e.contains("line 3: offset `x`"), "{e}");
        let ok = parse_index(&format!("{HEADER}\n0,1,cat,a.jpg,5,10\n"), p).unwrap();
        assert_eq!(ok[0].label, 1);
        assert_eq!((ok[0].offset, ok[0].length), (5, 10));
        // Label 0 has no image: class names cannot be complete.
        assert!(class_names(&ok, p).is_err());
    }
}
