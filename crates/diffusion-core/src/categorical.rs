//! Categorical draws by exponential race (spec §5.2 item 5): argmax_v p_v / E_v with
//! E_v = 1e-10 − log(U_v + 1e-10), U ~ U[0, 1). Equivalent to Gumbel-max; works on
//! unnormalised p. The f64 variant avoids the fp32 Gumbel diversity issue.

use crate::rng::Rng;

/// Draw one id per row of `probs` (row-major, rows of length `n`), in f32.
pub fn sample_rows_f32(rng: &mut Rng, probs: &[f32], n: usize) -> Vec<i64> {
    probs
        .chunks(n)
        .map(|row| {
            let mut best = (f32::NEG_INFINITY, 0usize);
            for (v, &p) in row.iter().enumerate() {
                let e = 1e-10f32 - (rng.uniform_f32() + 1e-10).ln();
                let score = p / e;
                if score > best.0 {
                    best = (score, v);
                }
            }
            best.1 as i64
        })
        .collect()
}

/// Draw one id per row in f64.
pub fn sample_rows_f64(rng: &mut Rng, probs: &[f32], n: usize) -> Vec<i64> {
    probs
        .chunks(n)
        .map(|row| {
            let mut best = (f64::NEG_INFINITY, 0usize);
            for (v, &p) in row.iter().enumerate() {
                let e = 1e-10 - (rng.uniform() + 1e-10).ln();
                let score = p as f64 / e;
                if score > best.0 {
                    best = (score, v);
                }
            }
            best.1 as i64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_match_probabilities() {
        let p = [0.1f32, 0.6, 0.0, 0.3];
        for f64_mode in [false, true] {
            let mut rng = Rng::seed_from_u64(3);
            let rows: Vec<f32> = p.iter().cycle().take(4 * 40_000).cloned().collect();
            let draws = if f64_mode {
                sample_rows_f64(&mut rng, &rows, 4)
            } else {
                sample_rows_f32(&mut rng, &rows, 4)
            };
            for (v, &pv) in p.iter().enumerate() {
                let f = draws.iter().filter(|&&d| d == v as i64).count() as f64 / 40_000.0;
                assert!((f - pv as f64).abs() < 0.01, "v={v} f={f}");
            }
        }
    }

    #[test]
    fn unnormalised_input_is_fine() {
        let mut rng = Rng::seed_from_u64(1);
        let d = sample_rows_f32(&mut rng, &[0.0, 5.0, 0.0], 3);
        assert_eq!(d, vec![1]);
    }
}
