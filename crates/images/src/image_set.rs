//! A labelled set of 8-bit images in one layout for every source (IDX, CIFAR pack, folders):
//! each image is `channels × height × width` bytes in channel-major (c, h, w) order, the order
//! in which the reference flattens CIFAR-10 into tokens (spec §7.3).

use crate::error::{ImageError, Result};
use serde::{Deserialize, Serialize};

/// Images of one size with a class label each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSet {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Row-major [n, channels·height·width], channel-major within an image.
    pub pixels: Vec<u8>,
    /// Class of each image, in `0..class_names.len()`.
    pub labels: Vec<i64>,
    pub class_names: Vec<String>,
}

impl ImageSet {
    /// An empty set of the given geometry.
    pub fn new(channels: usize, height: usize, width: usize, class_names: Vec<String>) -> Self {
        Self {
            channels,
            height,
            width,
            pixels: Vec::new(),
            labels: Vec::new(),
            class_names,
        }
    }

    /// Values per image (C·H·W).
    pub fn dim(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Image `i` as C·H·W bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        let d = self.dim();
        &self.pixels[i * d..(i + 1) * d]
    }

    /// Append one image; its length and label are checked.
    pub fn push(&mut self, image: &[u8], label: i64) -> Result<()> {
        if image.len() != self.dim() {
            return Err(ImageError::Invalid(format!(
                "image of {} values in a set of {}×{}×{} images",
                image.len(),
                self.channels,
                self.height,
                self.width
            )));
        }
        if label < 0 || label as usize >= self.num_classes() {
            return Err(ImageError::Invalid(format!(
                "label {label} outside 0..{}",
                self.num_classes()
            )));
        }
        self.pixels.extend_from_slice(image);
        self.labels.push(label);
        Ok(())
    }

    /// The images at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Self {
        let mut out = Self::new(
            self.channels,
            self.height,
            self.width,
            self.class_names.clone(),
        );
        for &i in idx {
            out.pixels.extend_from_slice(self.image(i));
            out.labels.push(self.labels[i]);
        }
        out
    }

    /// Images per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.num_classes()];
        for &y in &self.labels {
            c[y as usize] += 1;
        }
        c
    }

    /// Average-pool by `factor` in both directions (e.g. 28×28 → 14×14 with 2), rounding to the
    /// nearest level: a smaller L makes the DiT practical on a CPU. Height and width must be
    /// multiples of `factor`.
    pub fn downsample(&self, factor: usize) -> Result<Self> {
        if factor == 0 || !self.height.is_multiple_of(factor) || !self.width.is_multiple_of(factor)
        {
            return Err(ImageError::Invalid(format!(
                "cannot downsample {}×{} images by {factor}: the size must be a multiple of it",
                self.height, self.width
            )));
        }
        if factor == 1 {
            return Ok(self.clone());
        }
        let (h, w) = (self.height / factor, self.width / factor);
        let area = (factor * factor) as u32;
        let mut out = Self::new(self.channels, h, w, self.class_names.clone());
        out.labels = self.labels.clone();
        out.pixels.reserve(self.len() * self.channels * h * w);
        for i in 0..self.len() {
            let img = self.image(i);
            for c in 0..self.channels {
                let plane = &img[c * self.height * self.width..(c + 1) * self.height * self.width];
                for y in 0..h {
                    for x in 0..w {
                        let mut sum = 0u32;
                        for dy in 0..factor {
                            let row = (y * factor + dy) * self.width;
                            for dx in 0..factor {
                                sum += plane[row + x * factor + dx] as u32;
                            }
                        }
                        out.pixels.push(((sum + area / 2) / area) as u8);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Interleaved pixels (`image`'s layout: h, w, c) → channel-major planes (c, h, w).
pub fn interleaved_to_planar(raw: &[u8], channels: usize) -> Vec<u8> {
    let hw = raw.len() / channels;
    let mut out = vec![0u8; raw.len()];
    for (p, px) in raw.chunks(channels).enumerate() {
        for (c, &v) in px.iter().enumerate() {
            out[c * hw + p] = v;
        }
    }
    out
}

/// Channel-major planes (c, h, w) → interleaved pixels (h, w, c).
pub fn planar_to_interleaved(planes: &[u8], channels: usize) -> Vec<u8> {
    let hw = planes.len() / channels;
    let mut out = vec![0u8; planes.len()];
    for c in 0..channels {
        for p in 0..hw {
            out[p * channels + c] = planes[c * hw + p];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        let rgb = [1u8, 2, 3, 4, 5, 6]; // two pixels
        let planar = interleaved_to_planar(&rgb, 3);
        assert_eq!(planar, vec![1, 4, 2, 5, 3, 6]);
        assert_eq!(planar_to_interleaved(&planar, 3), rgb.to_vec());
    }

    #[test]
    fn downsample_averages_blocks_per_channel() {
        let mut s = ImageSet::new(2, 2, 4, vec!["a".into()]);
        // channel 0: [[0, 2, 10, 10], [4, 6, 10, 11]]; channel 1: all 255.
        let mut img = vec![0, 2, 10, 10, 4, 6, 10, 11];
        img.extend([255; 8]);
        s.push(&img, 0).unwrap();
        let d = s.downsample(2).unwrap();
        assert_eq!((d.height, d.width), (1, 2));
        // (0+2+4+6)/4 = 3; (10+10+10+11)/4 = 10.25 → 10.
        assert_eq!(d.image(0), &[3, 10, 255, 255]);
        assert!(s.downsample(3).is_err());
    }

    #[test]
    fn push_checks_size_and_label() {
        let mut s = ImageSet::new(1, 2, 2, vec!["a".into(), "b".into()]);
        assert!(s.push(&[1, 2, 3], 0).is_err());
        assert!(s.push(&[1, 2, 3, 4], 2).is_err());
        s.push(&[1, 2, 3, 4], 1).unwrap();
        assert_eq!(s.class_counts(), vec![0, 1]);
        assert_eq!(s.subset(&[0, 0]).len(), 2);
    }
}
