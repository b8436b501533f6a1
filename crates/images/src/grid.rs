//! Sample grids as PNG: one row per class (or per guidance setting), each image upscaled by
//! nearest neighbour so small discretised images stay sharp, cells separated by a grey gap.

use crate::error::{ImageError, Result};
use diffusion_core::CoreError;
use image::{Rgb, RgbImage};
use std::path::Path;

/// Gap between cells and around the grid, in output pixels.
pub const GAP: u32 = 2;
const GAP_COLOUR: Rgb<u8> = Rgb([110, 110, 110]);

/// Geometry of the images in a grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Upscaling factor (each pixel becomes scale × scale).
    pub scale: usize,
}

/// Draw `rows` of channel-major images (rows may differ in length) into one RGB image.
pub fn grid_image(rows: &[Vec<&[u8]>], shape: CellShape) -> Result<RgbImage> {
    let CellShape {
        channels,
        height,
        width,
        scale,
    } = shape;
    if !matches!(channels, 1 | 3) || scale == 0 {
        return Err(ImageError::Invalid(format!(
            "a grid cell has 1 or 3 channels and a positive scale, got {channels} and {scale}"
        )));
    }
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let (cw, ch) = ((width * scale) as u32, (height * scale) as u32);
    let out_w = GAP + cols as u32 * (cw + GAP);
    let out_h = GAP + rows.len().max(1) as u32 * (ch + GAP);
    let mut img = RgbImage::from_pixel(out_w, out_h, GAP_COLOUR);
    let plane = height * width;
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if cell.len() != channels * plane {
                return Err(ImageError::Invalid(format!(
                    "grid cell ({r}, {c}) has {} values, expected {channels}×{height}×{width}",
                    cell.len()
                )));
            }
            let (x0, y0) = (GAP + c as u32 * (cw + GAP), GAP + r as u32 * (ch + GAP));
            for y in 0..height {
                for x in 0..width {
                    let p = y * width + x;
                    let px = if channels == 1 {
                        Rgb([cell[p]; 3])
                    } else {
                        Rgb([cell[p], cell[plane + p], cell[2 * plane + p]])
                    };
                    for dy in 0..scale {
                        for dx in 0..scale {
                            img.put_pixel(
                                x0 + (x * scale + dx) as u32,
                                y0 + (y * scale + dy) as u32,
                                px,
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(img)
}

/// Write the grid as a PNG (parent folders are created).
pub fn save_grid(path: &Path, rows: &[Vec<&[u8]>], shape: CellShape) -> Result<()> {
    let img = grid_image(rows, shape)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| CoreError::io(parent, e))?;
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| ImageError::Decode {
            path: path.to_path_buf(),
            what: "PNG grid".into(),
            reason: e.to_string(),
        })?;
    Ok(diffusion_core::atomic_file::write_atomic(
        path,
        bytes.get_ref(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_scale_and_colours() {
        let a = [0u8, 50, 100, 150]; // 2×2 grey
        let b = [255u8; 4];
        let rows = vec![vec![&a[..], &b[..]], vec![&b[..]]];
        let shape = CellShape {
            channels: 1,
            height: 2,
            width: 2,
            scale: 3,
        };
        let img = grid_image(&rows, shape).unwrap();
        // 2 columns, 2 rows of 6×6 cells with 2-pixel gaps.
        assert_eq!((img.width(), img.height()), (2 + 2 * 8, 2 + 2 * 8));
        assert_eq!(img.get_pixel(2, 2), &Rgb([0, 0, 0]));
        assert_eq!(
            img.get_pixel(2 + 3, 2),
            &Rgb([50, 50, 50]),
            "pixel (0, 1) upscaled"
        );
        assert_eq!(img.get_pixel(2 + 5, 2 + 5), &Rgb([150, 150, 150]));
        assert_eq!(img.get_pixel(0, 0), &GAP_COLOUR);
        // Row 2 has one image; its second cell stays gap-coloured.
        assert_eq!(img.get_pixel(10 + 1, 10 + 1), &GAP_COLOUR);
        let rgb = [1u8, 2, 3]; // 1×1 colour pixel, channel-major
        let one = grid_image(
            &[vec![&rgb[..]]],
            CellShape {
                channels: 3,
                height: 1,
                width: 1,
                scale: 1,
            },
        )
        .unwrap();
        assert_eq!(one.get_pixel(2, 2), &Rgb([1, 2, 3]));
        assert!(grid_image(&[vec![&a[..3]]], shape).is_err());
    }
}
