//! QM9 as the reference uses it (spec §8): `canonical_smiles`, a 5 % test split with seed 42,
//! and binary labels `value > 90th percentile of the full data set` for `qed` and `ring_count`.

use crate::error::{MolError, Result};
use diffusion_core::CoreError;
use diffusion_core::rng::Rng;
use std::io::Read;
use std::path::Path;

/// One molecule with its guidance properties.
#[derive(Clone, Debug, PartialEq)]
pub struct Qm9Record {
    /// 1-based line in the source file.
    pub line: usize,
    pub smiles: String,
    pub qed: f64,
    pub ring_count: f64,
}

/// Read a QM9 CSV (plain or `.gz`) with at least the columns `canonical_smiles`, `qed` and
/// `ring_count`. A missing column, a short row or a non-numeric property is an error naming the
/// line; quoted fields are not supported (QM9 has none).
pub fn load_qm9(path: &Path) -> Result<Vec<Qm9Record>> {
    let io = |e| CoreError::io(path, e);
    let mut raw = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .read_to_end(&mut raw)
        .map_err(io)?;
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .map_err(io)?;
        s
    } else {
        String::from_utf8(raw).map_err(|_| CoreError::parse(path, 0, "not UTF-8 text"))?
    };
    let err = |line: usize, reason: String| MolError::from(CoreError::parse(path, line, reason));
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| err(1, "empty file".into()))?
        .split(',')
        .collect();
    let col = |name: &str| {
        header.iter().position(|h| h.trim() == name).ok_or_else(|| {
            err(
                1,
                format!("missing column `{name}` (header: {})", header.join(",")),
            )
        })
    };
    let (ci, qi, ri) = (col("canonical_smiles")?, col("qed")?, col("ring_count")?);
    let mut out = Vec::new();
    for (k, line) in lines.enumerate() {
        let n = k + 2;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != header.len() {
            return Err(err(
                n,
                format!("{} fields, the header has {}", f.len(), header.len()),
            ));
        }
        let num = |i: usize, name: &str| {
            f[i].trim()
                .parse::<f64>()
                .map_err(|_| err(n, format!("`{name}` = `{}` is not a number", f[i])))
        };
        let smiles = f[ci].trim();
        if smiles.is_empty() {
            return Err(err(n, "empty `canonical_smiles`".into()));
        }
        out.push(Qm9Record {
            line: n,
            smiles: smiles.to_string(),
            qed: num(qi, "qed")?,
            ring_count: num(ri, "ring_count")?,
        });
    }
    Ok(out)
}

/// Percentile with linear interpolation between order statistics (numpy's default).
pub fn percentile(values: &[f64], q: f64) -> f64 {
    assert!(!values.is_empty(), "percentile of an empty set");
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Labels `value > percentile(values, q)` and the threshold.
pub fn threshold_labels(values: &[f64], q: f64) -> (f64, Vec<i64>) {
    let t = percentile(values, q);
    (t, values.iter().map(|&v| (v > t) as i64).collect())
}

/// A seeded split of `n` items into (train, test) indices with `round(test_fraction · n)` test
/// items. The reference uses Hugging Face's `train_test_split(0.05, seed=42)`; its exact
/// permutation (numpy's generator) is not reproduced, only the fraction and the fixed seed.
pub fn split(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::seed_from_u64(seed).shuffle(&mut idx);
    let n_test = (test_fraction * n as f64).round() as usize;
    let test = idx[..n_test].to_vec();
    let mut train = idx[n_test..].to_vec();
    train.sort_unstable();
    let mut test = test;
    test.sort_unstable();
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("qm9-{name}-{}.csv", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn loads_the_shipped_slice() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../datasets/molecules/qm9_first2000.csv");
        let r = load_qm9(&p).unwrap();
        assert_eq!(r.len(), 2000);
        assert_eq!(r[0].smiles, "C");
        assert_eq!(r[0].line, 2);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let p = write(
            "short",
            "canonical_smiles,qed,ring_count\nCC,0.4,0\nCO,0.3\n",
        );
        let e = load_qm9(&p).unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("2 fields"), "{e}");
        let p = write("nan", "canonical_smiles,qed,ring_count\nCC,abc,0\n");
        let e = load_qm9(&p).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("qed"), "{e}");
        let p = write("col", "smiles,qed\nCC,0.1\n");
        assert!(
            load_qm9(&p)
                .unwrap_err()
                .to_string()
                .contains("canonical_smiles")
        );
    }

    #[test]
    fn percentile_matches_numpy() {
        // numpy.percentile([1, 2, 3, 4], 90) = 3.7
        assert!((percentile(&[4.0, 1.0, 3.0, 2.0], 90.0) - 3.7).abs() < 1e-12);
        let (t, y) = threshold_labels(
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            90.0,
        );
        assert_eq!(t, 9.0);
        assert_eq!(y.iter().sum::<i64>(), 1);
    }

    #[test]
    fn split_sizes_and_disjointness() {
        let (tr, te) = split(1000, 0.05, 42);
        assert_eq!(te.len(), 50);
        assert_eq!(tr.len(), 950);
        assert!(te.iter().all(|i| !tr.contains(i)));
        assert_eq!(split(1000, 0.05, 42), (tr, te));
    }
}

#[cfg(test)]
mod full_data_tests {
    use super::*;

    /// The shipped QM9 loads completely and its 90th percentiles match the provenance file.
    #[test]
    fn full_qm9_thresholds_match_provenance() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/molecules/qm9.csv.gz");
        let r = load_qm9(&p).unwrap();
        assert_eq!(r.len(), 130_831);
        let qed: Vec<f64> = r.iter().map(|x| x.qed).collect();
        let rings: Vec<f64> = r.iter().map(|x| x.ring_count).collect();
        let (tq, yq) = threshold_labels(&qed, 90.0);
        assert!((tq - 0.5537).abs() < 5e-4, "QED p90 {tq}");
        let (tr, yr) = threshold_labels(&rings, 90.0);
        assert_eq!(tr, 3.0);
        // value > p90: about 10 % for QED; ring counts 4–9 (11,332 molecules) for rings.
        let frac = yq.iter().sum::<i64>() as f64 / r.len() as f64;
        assert!((frac - 0.1).abs() < 0.002, "{frac}");
        assert_eq!(yr.iter().sum::<i64>(), 5461 + 3565 + 925 + 337 + 36 + 8);
    }
}
