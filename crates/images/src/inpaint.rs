//! Inpainting constraints from two PNGs: an image with the known pixels and a mask that is
//! white (≥ 128) where a pixel is known. Known pixels become pinned tokens that the sampler
//! holds fixed at every step; the model fills in the rest. Both files must have the model's
//! image size (no silent resizing).

use crate::error::{ImageError, Result};
use crate::folder::{SizePolicy, read_image};
use crate::tokenizer::PixelTokenizer;
use diffusion_core::CoreError;
use std::path::Path;

/// (position, token) pins for every channel of every known pixel.
pub fn pins_from_arrays(
    tok: &PixelTokenizer,
    image: &[u8],
    known: &[bool],
) -> Result<Vec<(usize, i64)>> {
    let plane = tok.height * tok.width;
    if image.len() != tok.seq_len() || known.len() != plane {
        return Err(ImageError::Invalid(format!(
            "inpainting: {} image values and {} mask values for {}×{}×{} images",
            image.len(),
            known.len(),
            tok.channels,
            tok.height,
            tok.width
        )));
    }
    let ids = tok.encode_image(image)?;
    Ok((0..tok.channels)
        .flat_map(|c| (0..plane).map(move |p| (c, p)))
        .filter(|&(_, p)| known[p])
        .map(|(c, p)| (c * plane + p, ids[c * plane + p]))
        .collect())
}

/// Pins from an image PNG and a mask PNG.
pub fn inpainting_pins(
    tok: &PixelTokenizer,
    image_png: &Path,
    mask_png: &Path,
) -> Result<Vec<(usize, i64)>> {
    let check = |path: &Path, h: usize, w: usize| {
        if (h, w) != (tok.height, tok.width) {
            return Err(CoreError::input(
                path,
                format!(
                    "{w}×{h} pixels, but the model generates {}×{} images",
                    tok.width, tok.height
                ),
            ));
        }
        Ok(())
    };
    let (image, h, w) = read_image(image_png, tok.channels, SizePolicy::Exact)?;
    check(image_png, h, w)?;
    let (mask, h, w) = read_image(mask_png, 1, SizePolicy::Exact)?;
    check(mask_png, h, w)?;
    let known: Vec<bool> = mask.iter().map(|&v| v >= 128).collect();
    if !known.iter().any(|&k| k) {
        return Err(CoreError::input(
            mask_png,
            "the mask marks no pixel as known (white = known, black = to generate)",
        )
        .into());
    }
    pins_from_arrays(tok, &image, &known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_cover_every_channel_of_known_pixels() {
        let tok = PixelTokenizer::new(4, 3, 1, 2).unwrap();
        // Pixel 0 = (0, 100, 255), pixel 1 = (10, 20, 30); only pixel 1 is known.
        let img = [0u8, 10, 100, 20, 255, 30];
        let pins = pins_from_arrays(&tok, &img, &[false, true]).unwrap();
        assert_eq!(pins, vec![(1, 0), (3, 0), (5, 0)]);
        let pins = pins_from_arrays(&tok, &img, &[true, false]).unwrap();
        assert_eq!(pins, vec![(0, 0), (2, 1), (4, 3)]);
        assert!(pins_from_arrays(&tok, &img, &[true]).is_err());
    }

    #[test]
    fn png_size_must_match_the_model() {
        let d = std::env::temp_dir().join(format!("images-inpaint-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let img = d.join("img.png");
        let mask = d.join("mask.png");
        image::GrayImage::from_fn(3, 2, |x, _| image::Luma([x as u8 * 100]))
            .save(&img)
            .unwrap();
        image::GrayImage::from_fn(3, 2, |x, y| image::Luma([if x == y { 255 } else { 0 }]))
            .save(&mask)
            .unwrap();
        let tok = PixelTokenizer::new(256, 1, 2, 3).unwrap();
        let pins = inpainting_pins(&tok, &img, &mask).unwrap();
        assert_eq!(pins, vec![(0, 0), (4, 100)]);
        let small = PixelTokenizer::new(256, 1, 2, 2).unwrap();
        let e = inpainting_pins(&small, &img, &mask)
            .unwrap_err()
            .to_string();
        assert!(e.contains("img.png") && e.contains("3×2"), "{e}");
    }
}
