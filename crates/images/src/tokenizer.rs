//! Pixels as tokens: each 8-bit channel value becomes one of `levels` equal-width bins
//! (`bin = v · levels / 256`), images are flattened channel-major (c, h, w) as the reference
//! does for CIFAR-10 (spec §7.3), and the mask id is `levels`, one past the last bin (the
//! reference's CIFAR mask id 256 at 256 levels). Decoding maps a bin to its centre value, so at
//! 256 levels the round trip is exact and at fewer levels it is the nearest-centre quantisation.
//!
//! The tokenizer stores its whole description (levels and image geometry) in its vocabulary so
//! a checkpoint alone rebuilds it (see [`PixelTokenizer::from_vocabulary`]).

use crate::error::{ImageError, Result};
use diffusion_core::CoreError;
use diffusion_core::domain::{SpecialIds, Tokenizer};
use serde::{Deserialize, Serialize};

/// Prefix of the vocabulary's last entry, which describes the tokenizer.
const DESCRIPTOR: &str = "#pixels";

/// Quantised pixels of fixed-size images.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixelTokenizer {
    /// Grey / colour levels per channel, 2..=256.
    pub levels: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl PixelTokenizer {
    pub fn new(levels: usize, channels: usize, height: usize, width: usize) -> Result<Self> {
        if !(2..=256).contains(&levels) {
            return Err(ImageError::Invalid(format!(
                "data.levels must be in 2..=256, got {levels}"
            )));
        }
        if !matches!(channels, 1 | 3) || height == 0 || width == 0 {
            return Err(ImageError::Invalid(format!(
                "images must have 1 or 3 channels and a positive size, got {channels}×{height}×{width}"
            )));
        }
        Ok(Self {
            levels,
            channels,
            height,
            width,
        })
    }

    /// L = C·H·W tokens per image.
    pub fn seq_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The absorbing state of MDLM (never produced by [`Self::encode_image`]).
    pub fn mask_id(&self) -> i64 {
        self.levels as i64
    }

    /// Bin of an 8-bit value.
    pub fn bin(&self, v: u8) -> i64 {
        (v as usize * self.levels / 256) as i64
    }

    /// The 8-bit values of bin `k`: `lo..=hi`.
    pub fn bin_range(&self, k: usize) -> (usize, usize) {
        let lo = (k * 256).div_ceil(self.levels);
        let hi = ((k + 1) * 256).div_ceil(self.levels) - 1;
        (lo, hi)
    }

    /// Centre of bin `k` as an 8-bit value: the midpoint of its values, rounded up, so it
    /// always lies in the bin; the mask and out-of-range ids decode to 0.
    pub fn value(&self, k: i64) -> u8 {
        if k < 0 || k as usize >= self.levels {
            return 0;
        }
        let (lo, hi) = self.bin_range(k as usize);
        (lo + hi).div_ceil(2) as u8
    }

    /// Channel-major image bytes → token ids.
    pub fn encode_image(&self, image: &[u8]) -> Result<Vec<i64>> {
        if image.len() != self.seq_len() {
            return Err(ImageError::Invalid(format!(
                "an image of {} values, the tokenizer expects {}×{}×{} = {}",
                image.len(),
                self.channels,
                self.height,
                self.width,
                self.seq_len()
            )));
        }
        Ok(image.iter().map(|&v| self.bin(v)).collect())
    }

    /// Token ids → channel-major image bytes (bin centres; masks become 0).
    pub fn decode_image(&self, ids: &[i64]) -> Vec<u8> {
        ids.iter().map(|&k| self.value(k)).collect()
    }

    /// The descriptor entry stored last in the vocabulary.
    fn descriptor(&self) -> String {
        format!(
            "{DESCRIPTOR} levels={} channels={} height={} width={}",
            self.levels, self.channels, self.height, self.width
        )
    }

    /// Rebuild the tokenizer from a checkpoint's vocabulary (as [`Tokenizer::vocabulary`]
    /// writes it); anything else is an error saying it is not an images checkpoint.
    pub fn from_vocabulary(vocab: &[String]) -> Result<Self> {
        let bad = || {
            ImageError::Invalid(
                "the checkpoint's vocabulary does not describe a pixel tokenizer (not an images model)"
                    .into(),
            )
        };
        let desc = vocab.last().ok_or_else(bad)?;
        let rest = desc.strip_prefix(DESCRIPTOR).ok_or_else(bad)?;
        let get = |key: &str| -> Result<usize> {
            rest.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .ok_or_else(bad)
        };
        let t = Self::new(
            get("levels")?,
            get("channels")?,
            get("height")?,
            get("width")?,
        )?;
        if t.vocabulary() != vocab {
            return Err(bad());
        }
        Ok(t)
    }
}

impl Tokenizer for PixelTokenizer {
    /// N = levels + 1 (the mask).
    fn vocab_size(&self) -> usize {
        self.levels + 1
    }

    fn special_ids(&self) -> SpecialIds {
        SpecialIds {
            mask: self.mask_id(),
            pad: None,
            bos: None,
            eos: None,
        }
    }

    /// Text form of an image: `len` 8-bit values separated by spaces or commas, channel-major.
    fn encode(&self, text: &str, len: usize) -> diffusion_core::Result<Vec<i64>> {
        let values: Vec<u8> = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u8>()
                    .map_err(|_| CoreError::Data(format!("`{s}` is not a pixel value (0..=255)")))
            })
            .collect::<diffusion_core::Result<_>>()?;
        if values.len() != len {
            return Err(CoreError::Data(format!(
                "{} pixel values, expected {len}",
                values.len()
            )));
        }
        Ok(values.iter().map(|&v| self.bin(v)).collect())
    }

    /// Bin centres separated by spaces; masks (special tokens) are dropped.
    fn decode(&self, ids: &[i64]) -> String {
        ids.iter()
            .filter(|&&k| k >= 0 && (k as usize) < self.levels)
            .map(|&k| self.value(k).to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One entry per id (the bin's 8-bit range `lo-hi`, then `[MASK]`), followed by one
    /// descriptor entry with the levels and the geometry.
    fn vocabulary(&self) -> Vec<String> {
        let mut v: Vec<String> = (0..self.levels)
            .map(|k| {
                let (lo, hi) = self.bin_range(k);
                format!("{lo}-{hi}")
            })
            .collect();
        v.push("[MASK]".into());
        v.push(self.descriptor());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_round_trip_at_256_levels() {
        let t = PixelTokenizer::new(256, 3, 2, 2).unwrap();
        let img: Vec<u8> = (0..12).map(|i| (i * 23) as u8).collect();
        let ids = t.encode_image(&img).unwrap();
        assert_eq!(ids, img.iter().map(|&v| v as i64).collect::<Vec<_>>());
        assert_eq!(t.decode_image(&ids), img);
        for v in 0..=255u8 {
            assert_eq!(t.value(t.bin(v)), v);
        }
        assert_eq!(t.mask_id(), 256);
        assert_eq!(t.vocab_size(), 257);
    }

    #[test]
    fn fewer_levels_quantise_to_bin_centres() {
        let t = PixelTokenizer::new(4, 1, 1, 4).unwrap();
        assert_eq!(t.encode_image(&[0, 63, 64, 255]).unwrap(), vec![0, 0, 1, 3]);
        assert_eq!(t.decode_image(&[0, 1, 2, 3, 4]), vec![32, 96, 160, 224, 0]);
        // Every level: the centre of a bin falls back into that bin.
        for levels in 2..=256 {
            let t = PixelTokenizer::new(levels, 1, 1, 1).unwrap();
            for k in 0..levels as i64 {
                assert_eq!(t.bin(t.value(k)), k, "levels {levels} bin {k}");
            }
        }
        let t2 = PixelTokenizer::new(2, 1, 1, 2).unwrap();
        assert_eq!(t2.encode_image(&[127, 128]).unwrap(), vec![0, 1]);
        assert!(PixelTokenizer::new(1, 1, 1, 1).is_err());
        assert!(PixelTokenizer::new(257, 1, 1, 1).is_err());
    }

    #[test]
    fn vocabulary_rebuilds_the_tokenizer_and_text_form_round_trips() {
        let t = PixelTokenizer::new(4, 1, 2, 3).unwrap();
        let v = t.vocabulary();
        assert_eq!(&v[..5], &["0-63", "64-127", "128-191", "192-255", "[MASK]"]);
        assert_eq!(PixelTokenizer::from_vocabulary(&v).unwrap(), t);
        assert!(PixelTokenizer::from_vocabulary(&["a".to_string()]).is_err());
        let ids = t.encode("0 70, 130 200 255 1", 6).unwrap();
        assert_eq!(ids, vec![0, 1, 2, 3, 3, 0]);
        assert_eq!(t.decode(&ids), "32 96 160 224 224 32");
        assert!(t.encode("1 2", 6).is_err());
        assert!(t.encode("1 2 3 4 5 300", 6).is_err());
    }
}
