//! A small, seedable, serialisable random number generator (xoshiro256++).
//!
//! All randomness that decides *what* is trained or sampled (time draws, forward noise,
//! categorical draws, data order) comes from this generator, so a run is reproducible from
//! its seed and a checkpoint can store the exact generator state.

use serde::{Deserialize, Serialize};

/// xoshiro256 by Blackman and Vigna, seeded through SplitMix64, with the `++` output scrambler
/// or, when `STAR_STAR`, the `**` one; the state, its update and the draws are the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Xoshiro256<const STAR_STAR: bool> {
    s: [u64; 4],
}

/// The project's generator: xoshiro256++.
pub type Rng = Xoshiro256<false>;

/// xoshiro256**: the generator the genomics data windows, class balancing and random baseline
/// were drawn with, kept so their splits and tables stay reproducible.
pub type Xoshiro256StarStar = Xoshiro256<true>;

/// SplitMix64 (Steele, Lea & Flood 2014): the next output of the sequence whose state is `x`.
pub fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<const STAR_STAR: bool> Xoshiro256<STAR_STAR> {
    /// A generator seeded from one `u64` (four SplitMix64 outputs, never all zero).
    pub fn seed_from_u64(seed: u64) -> Self {
        let mut x = seed;
        let s = [
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
        ];
        Xoshiro256 { s }
    }

    /// A generator for stream `stream` of `seed`: independent streams for independent uses.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut x = seed ^ stream.wrapping_mul(0xD134_2543_DE82_EF95);
        let mixed = splitmix64(&mut x);
        Self::seed_from_u64(mixed)
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = if STAR_STAR {
            s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9)
        } else {
            (s[0].wrapping_add(s[3])).rotate_left(23).wrapping_add(s[0])
        };
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, 1) as f32 (24 random bits).
    pub fn uniform_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform integer in [0, n). Lemire's method without bias.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        let mut m = (self.next_u64() as u128) * (n as u128);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = (self.next_u64() as u128) * (n as u128);
            }
        }
        (m >> 64) as u64
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// The uniform draws a formula consumes. Every function that turns randomness into tokens or
/// times (`q_xt`, `sample_prior`, `sample_t`, the categorical draws) takes `&mut impl Uniforms`,
/// so it can be run on the project [`Rng`] or on hand-chosen numbers ([`GivenUniforms`]) and
/// checked formula by formula.
pub trait Uniforms {
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64;
    /// Uniform in [0, 1) as f32.
    fn uniform_f32(&mut self) -> f32;
    /// Uniform integer in [0, n).
    fn below(&mut self, n: u64) -> u64;
}

/// A borrowed source draws as the source does, so `&mut dyn Uniforms` can be handed on.
impl<U: Uniforms + ?Sized> Uniforms for &mut U {
    fn uniform(&mut self) -> f64 {
        (**self).uniform()
    }
    fn uniform_f32(&mut self) -> f32 {
        (**self).uniform_f32()
    }
    fn below(&mut self, n: u64) -> u64 {
        (**self).below(n)
    }
}

impl<const STAR_STAR: bool> Uniforms for Xoshiro256<STAR_STAR> {
    fn uniform(&mut self) -> f64 {
        Xoshiro256::uniform(self)
    }
    fn uniform_f32(&mut self) -> f32 {
        Xoshiro256::uniform_f32(self)
    }
    fn below(&mut self, n: u64) -> u64 {
        Xoshiro256::below(self, n)
    }
}

/// Given numbers u ∈ [0, 1) handed out in order: `uniform` returns the next one,
/// `uniform_f32` the next one as f32, `below(n)` = ⌊u·n⌋ of the next one.
///
/// For tests and for replaying another implementation's draws. Running out of numbers, or a
/// number outside [0, 1), is a bug in the caller and panics with the index.
#[derive(Clone, Debug)]
pub struct GivenUniforms<'a> {
    values: &'a [f64],
    next: usize,
}

impl<'a> GivenUniforms<'a> {
    pub fn new(values: &'a [f64]) -> Self {
        Self { values, next: 0 }
    }

    /// How many numbers have been used.
    pub fn used(&self) -> usize {
        self.next
    }

    fn take(&mut self) -> f64 {
        let i = self.next;
        let u = *self.values.get(i).unwrap_or_else(|| {
            panic!(
                "GivenUniforms: draw {i} asked of {} numbers",
                self.values.len()
            )
        });
        assert!(
            (0.0..1.0).contains(&u),
            "GivenUniforms: number {i} = {u} is not in [0, 1)"
        );
        self.next += 1;
        u
    }
}

impl Uniforms for GivenUniforms<'_> {
    fn uniform(&mut self) -> f64 {
        self.take()
    }
    fn uniform_f32(&mut self) -> f32 {
        self.take() as f32
    }
    fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "GivenUniforms::below(0)");
        ((self.take() * n as f64) as u64).min(n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_uniforms_are_handed_out_in_order() {
        let mut g = GivenUniforms::new(&[0.25, 0.5, 0.999]);
        assert_eq!(Uniforms::uniform(&mut g), 0.25);
        assert_eq!(Uniforms::uniform_f32(&mut g), 0.5);
        assert_eq!(Uniforms::below(&mut g, 4), 3);
        assert_eq!(g.used(), 3);
    }

    /// Reference outputs: splitmix64.c for seed 1234567, and xoshiro256** seeded with 7
    /// (the generator genomics cut its data windows with before it moved here).
    #[test]
    fn splitmix_and_star_star_match_reference_vectors() {
        let mut x = 1_234_567;
        assert_eq!(splitmix64(&mut x), 6_457_827_717_110_365_317);
        assert_eq!(splitmix64(&mut x), 3_203_168_211_198_807_973);
        let mut r = Xoshiro256StarStar::seed_from_u64(7);
        let v: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(
            v,
            [
                12_923_355_070_828_475_994,
                5_142_052_590_334_782_674,
                15_488_392_906_492_639_638
            ]
        );
    }

    #[test]
    fn rng_as_uniforms_is_the_same_stream() {
        let mut a = Rng::seed_from_u64(9);
        let mut b = a.clone();
        assert_eq!(Uniforms::uniform(&mut a), b.uniform());
        assert_eq!(Uniforms::below(&mut a, 10), b.below(10));
    }

    #[test]
    fn uniform_is_in_range_and_roughly_flat() {
        let mut r = Rng::seed_from_u64(7);
        let mut bins = [0usize; 10];
        for _ in 0..100_000 {
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
            bins[(u * 10.0) as usize] += 1;
        }
        for b in bins {
            assert!((9_500..10_500).contains(&b), "bin count {b}");
        }
    }

    #[test]
    fn below_covers_all_values() {
        let mut r = Rng::seed_from_u64(1);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            seen[r.below(7) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn state_roundtrips_through_serde() {
        let mut r = Rng::seed_from_u64(3);
        r.next_u64();
        let json = serde_json::to_string(&r).unwrap();
        let mut r2: Rng = serde_json::from_str(&json).unwrap();
        assert_eq!(r.next_u64(), r2.next_u64());
    }
}
