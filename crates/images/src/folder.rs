//! A folder of images per class: `root/<class>/*.png|jpg|jpeg`. Classes are the sub-folders in
//! sorted order (label = position), files are read in sorted order, so the same folder always
//! gives the same labels. Sizes are never adjusted silently: either every image already has
//! the size of the first one ([`SizePolicy::Exact`], otherwise an error naming the file) or all
//! are resized to an explicit size ([`SizePolicy::Resize`]).

use crate::error::{ImageError, Result};
use crate::image_set::{ImageSet, interleaved_to_planar};
use diffusion_core::CoreError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What to do with image sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SizePolicy {
    /// All images must have the size of the first one.
    #[default]
    Exact,
    /// Resize every image to height × width (bilinear).
    Resize { height: usize, width: usize },
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CoreError::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|err| CoreError::io(dir, err)))
        .collect::<std::result::Result<_, CoreError>>()?;
    v.sort();
    Ok(v)
}

/// Read one image file as `channels` (1 = grey, 3 = RGB) channel-major bytes with its size,
/// resized if the policy says so.
pub fn read_image(
    path: &Path,
    channels: usize,
    size: SizePolicy,
) -> Result<(Vec<u8>, usize, usize)> {
    let img = image::open(path).map_err(|e| ImageError::Decode {
        path: path.to_path_buf(),
        what: "image".into(),
        reason: e.to_string(),
    })?;
    let img = match size {
        SizePolicy::Exact => img,
        SizePolicy::Resize { height, width } => img.resize_exact(
            width as u32,
            height as u32,
            image::imageops::FilterType::Triangle,
        ),
    };
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = match channels {
        1 => img.to_luma8().into_raw(),
        3 => interleaved_to_planar(img.to_rgb8().as_raw(), 3),
        c => {
            return Err(ImageError::Invalid(format!(
                "images have 1 (grey) or 3 (RGB) channels, not {c}"
            )));
        }
    };
    Ok((raw, h, w))
}

/// Load `root/<class>/*` as a labelled set with `channels` channels.
pub fn load_folder(root: &Path, channels: usize, size: SizePolicy) -> Result<ImageSet> {
    let classes: Vec<PathBuf> = sorted_entries(root)?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    if classes.is_empty() {
        return Err(CoreError::input(
            root,
            "no class sub-folders (expected root/<class>/*.png|jpg)",
        )
        .into());
    }
    let names = classes
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let mut set: Option<ImageSet> = None;
    let mut names = Some(names);
    for (label, dir) in classes.iter().enumerate() {
        let files: Vec<PathBuf> = sorted_entries(dir)?
            .into_iter()
            .filter(|p| p.is_file() && is_image(p))
            .collect();
        if files.is_empty() {
            return Err(CoreError::input(dir, "class folder holds no PNG or JPEG file").into());
        }
        for f in files {
            let (raw, h, w) = read_image(&f, channels, size)?;
            let s = set.get_or_insert_with(|| {
                ImageSet::new(channels, h, w, names.take().unwrap_or_default())
            });
            if (h, w) != (s.height, s.width) {
                return Err(CoreError::input(
                    &f,
                    format!(
                        "{w}×{h} pixels, but the first image is {}×{}; set an explicit size (`data.resize = {{ height = …, width = … }}`) to resize all images",
                        s.width, s.height
                    ),
                ).into());
            }
            s.push(&raw, label as i64)?;
        }
    }
    Ok(set.ok_or_else(|| CoreError::input(root, "no images"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("images-folder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn save(p: &Path, w: u32, h: u32, v: u8) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        image::RgbImage::from_pixel(w, h, image::Rgb([v, v / 2, 255 - v]))
            .save(p)
            .unwrap();
    }

    #[test]
    fn classes_sorted_sizes_checked_or_resized() {
        let root = dir();
        save(&root.join("b_cat/1.png"), 4, 3, 10);
        save(&root.join("b_cat/0.png"), 4, 3, 20);
        save(&root.join("a_dog/x.png"), 4, 3, 30);
        std::fs::write(root.join("a_dog/notes.txt"), "ignored").unwrap();
        let s = load_folder(&root, 3, SizePolicy::Exact).unwrap();
        assert_eq!(s.class_names, vec!["a_dog", "b_cat"]);
        assert_eq!(s.labels, vec![0, 1, 1]);
        assert_eq!((s.channels, s.height, s.width), (3, 3, 4));
        // Channel-major: the first 12 values are R of image 0 (30), then G (15), then B (225).
        assert_eq!(&s.image(0)[..12], &[30; 12]);
        assert_eq!(&s.image(0)[12..24], &[15; 12]);
        assert_eq!(s.image(1)[0], 20, "files in sorted order: 0.png first");

        save(&root.join("b_cat/2.png"), 5, 3, 40);
        let e = load_folder(&root, 3, SizePolicy::Exact)
            .unwrap_err()
            .to_string();
        assert!(e.contains("b_cat/2.png") && e.contains("5×3"), "{e}");
        let s = load_folder(
            &root,
            1,
            SizePolicy::Resize {
                height: 2,
                width: 2,
            },
        )
        .unwrap();
        assert_eq!((s.len(), s.channels, s.height, s.width), (4, 1, 2, 2));
        let _ = std::fs::remove_dir_all(&root);
    }
}
