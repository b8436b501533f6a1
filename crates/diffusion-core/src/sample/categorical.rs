//! Categorical draws by exponential race (spec §5.2 item 5): argmax_v p_v / E_v with
//! E_v = 1e-10 − log(U_v + 1e-10), U ~ U[0, 1). Equivalent to Gumbel-max; works on
//! unnormalised p. The f64 variant avoids the fp32 Gumbel diversity issue.

#[cfg(test)]
use crate::rng::Rng;
use crate::rng::Uniforms;

/// Draw one id per row of `probs` (row-major, rows of length `n`), in f32.
pub fn sample_rows_f32(rng: &mut impl Uniforms, probs: &[f32], n: usize) -> Vec<i64> {
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
pub fn sample_rows_f64(rng: &mut impl Uniforms, probs: &[f32], n: usize) -> Vec<i64> {
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
    use crate::rng::GivenUniforms;

    /// The exponential race by hand: E_v = 1e-10 − ln(U_v + 1e-10) and the draw is
    /// argmax p_v / E_v. Equal U: the largest p wins. U_0 = 0.99 gives E_0 ≈ 0.01005, so
    /// p_0 / E_0 ≈ 19.9 beats 0.5 / 0.693 and 0.3 / 0.693.
    #[test]
    fn race_on_given_uniforms() {
        let p = [0.2f32, 0.5, 0.3];
        for f64_mode in [false, true] {
            let draw = |u: &[f64]| {
                let mut g = GivenUniforms::new(u);
                let d = if f64_mode {
                    sample_rows_f64(&mut g, &p, 3)
                } else {
                    sample_rows_f32(&mut g, &p, 3)
                };
                assert_eq!(g.used(), 3);
                d[0]
            };
            assert_eq!(draw(&[0.5, 0.5, 0.5]), 1);
            assert_eq!(draw(&[0.99, 0.5, 0.5]), 0);
            // p_2 / E_2 with U_2 = 0.9 (E ≈ 0.105): 2.85 > p_1 / E_1 with U_1 = 0.6 (E ≈ 0.511): 0.98.
            assert_eq!(draw(&[0.1, 0.6, 0.9]), 2);
        }
    }

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
