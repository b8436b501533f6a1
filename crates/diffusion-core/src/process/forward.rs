//! Forward processes q(z_t | x) = Cat(α_t x + (1 − α_t) π) (spec §2.1).
//!
//! Token-level sampling happens on the host with the project RNG, so training and sampling
//! are reproducible from a seed on every backend.

#[cfg(test)]
use crate::rng::Rng;
use crate::rng::Uniforms;
use serde::{Deserialize, Serialize};

/// The limiting distribution π of the forward process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Noise {
    /// Absorbing / mask noise (MDLM): π = one-hot at the mask id.
    Absorbing,
    /// Uniform noise (UDLM): π = 1/N over all N ids, special ids included (spec §13.6).
    Uniform,
    /// Hybrid mask-plus-uniform noise (GIDD, spec §2.5). Its draws need the process's knobs:
    /// they go through [`crate::noise::NoiseProcess`], not the functions of this file.
    Hybrid,
}

impl Noise {
    /// Absorbing noise only: a token that is not the mask is final in the reverse process.
    pub fn unmasked_is_final(self) -> bool {
        self == Noise::Absorbing
    }

    pub fn name(self) -> &'static str {
        match self {
            Noise::Absorbing => "absorbing",
            Noise::Uniform => "uniform",
            Noise::Hybrid => "hybrid",
        }
    }
}

const HYBRID_HERE: &str = "the hybrid process draws through NoiseProcess (process/hybrid.rs); \
     configurations that would reach this are refused when validated";

/// Sample z_t ~ q(z_t | x) per token: with probability m(t) = 1 − α_t the token is replaced by
/// the mask id (absorbing) or by a uniform draw from all `vocab_size` ids (uniform; the draw may
/// return the original token, so P(z_t = x) = α_t + (1 − α_t)/N exactly).
///
/// `x` is row-major [B, L]; `move_chance[b]` is m(t_b).
pub fn q_xt(
    rng: &mut impl Uniforms,
    x: &[i64],
    seq_len: usize,
    move_chance: &[f64],
    noise: Noise,
    vocab_size: usize,
    mask_id: i64,
) -> Vec<i64> {
    assert_eq!(x.len(), move_chance.len() * seq_len, "q_xt: shape mismatch");
    x.iter()
        .enumerate()
        .map(|(i, &tok)| {
            let m = move_chance[i / seq_len];
            if rng.uniform() < m {
                match noise {
                    Noise::Absorbing => mask_id,
                    Noise::Uniform => rng.below(vocab_size as u64) as i64,
                    Noise::Hybrid => panic!("{HYBRID_HERE}"),
                }
            } else {
                tok
            }
        })
        .collect()
}

/// The t = 1 sample: all mask (absorbing) or i.i.d. uniform over all ids (uniform).
pub fn sample_prior(
    rng: &mut impl Uniforms,
    n_tokens: usize,
    noise: Noise,
    vocab_size: usize,
    mask_id: i64,
) -> Vec<i64> {
    match noise {
        Noise::Absorbing => vec![mask_id; n_tokens],
        Noise::Uniform => (0..n_tokens)
            .map(|_| rng.below(vocab_size as u64) as i64)
            .collect(),
        Noise::Hybrid => panic!("{HYBRID_HERE}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::GivenUniforms;

    /// q(z_t | x) with given uniforms, by hand: a token moves iff u < m(t_b); a uniform move
    /// then takes ⌊u′·N⌋ of the next number (N = 5, mask id 4).
    #[test]
    fn q_xt_on_given_uniforms() {
        let x = [3, 1, 2, 0];
        let m = [0.5, 0.2]; // rows of L = 2
        let mut g = GivenUniforms::new(&[0.4, 0.7, 0.1, 0.9]);
        assert_eq!(
            q_xt(&mut g, &x, 2, &m, Noise::Absorbing, 5, 4),
            [4, 1, 4, 0]
        );
        assert_eq!(g.used(), 4);
        let mut g = GivenUniforms::new(&[0.4, 0.75, 0.7, 0.1, 0.05, 0.9]);
        assert_eq!(q_xt(&mut g, &x, 2, &m, Noise::Uniform, 5, 4), [3, 1, 0, 0]);
        assert_eq!(g.used(), 6);
        let mut g = GivenUniforms::new(&[0.0, 0.39, 0.99]);
        assert_eq!(sample_prior(&mut g, 3, Noise::Uniform, 5, 4), [0, 1, 4]);
        assert_eq!(sample_prior(&mut g, 3, Noise::Absorbing, 5, 4), [4, 4, 4]);
    }

    /// Spec §14 item 8: empirical P(z_t = x) → α_t + (1 − α_t)/N (uniform) or α_t (absorbing).
    #[test]
    fn empirical_keep_probability() {
        let n_vocab = 5;
        let mut rng = Rng::seed_from_u64(5);
        let n = 200_000;
        let x: Vec<i64> = (0..n).map(|i| (i % 4) as i64).collect();
        for (noise, alpha) in [(Noise::Uniform, 0.3), (Noise::Absorbing, 0.3)] {
            let z = q_xt(&mut rng, &x, n, &[1.0 - alpha], noise, n_vocab, 4);
            let same = x.iter().zip(&z).filter(|(a, b)| a == b).count() as f64 / n as f64;
            let expect = match noise {
                Noise::Uniform => alpha + (1.0 - alpha) / n_vocab as f64,
                _ => alpha,
            };
            assert!(
                (same - expect).abs() < 5e-3,
                "{noise:?}: {same} vs {expect}"
            );
            if noise == Noise::Absorbing {
                assert!(x.iter().zip(&z).all(|(&a, &b)| a == b || b == 4));
            }
        }
    }

    #[test]
    fn prior_samples() {
        let mut rng = Rng::seed_from_u64(1);
        assert!(
            sample_prior(&mut rng, 10, Noise::Absorbing, 5, 4)
                .iter()
                .all(|&v| v == 4)
        );
        let u = sample_prior(&mut rng, 10_000, Noise::Uniform, 5, 4);
        for v in 0..5 {
            let c = u.iter().filter(|&&x| x == v).count();
            assert!((1800..2200).contains(&c));
        }
    }
}
