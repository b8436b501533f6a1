//! Time sampling for training (spec §2.3) and the sampling grid (spec §5.2).

#[cfg(test)]
use crate::rng::Rng;
use crate::rng::Uniforms;

/// Training times for a batch of `n`: antithetic (one draw per stratum [i/n, (i+1)/n)) or
/// i.i.d., then mapped to [ε_s, 1) by t = (1 − ε_s) ũ + ε_s. With `discrete_steps = Some(T)` the
/// time is quantised to {1/T, …, 1} as the D3PM loss expects.
pub fn sample_t(
    rng: &mut impl Uniforms,
    n: usize,
    antithetic: bool,
    sampling_eps: f64,
    discrete_steps: Option<usize>,
) -> Vec<f64> {
    let u = raw_times(rng, n, antithetic);
    u.into_iter()
        .map(|u| {
            let t = (1.0 - sampling_eps) * u + sampling_eps;
            match discrete_steps {
                Some(steps) if steps > 0 => quantise_t(t, steps),
                _ => t,
            }
        })
        .collect()
}

/// The draws ũ ∈ [0, 1) before the affine map (exposed for spec §14 item 9).
pub fn raw_times(rng: &mut impl Uniforms, n: usize, antithetic: bool) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let u = rng.uniform();
            if antithetic {
                (u / n as f64 + i as f64 / n as f64).rem_euclid(1.0)
            } else {
                u
            }
        })
        .collect()
}

/// t ← ⌊tT⌋/T + 1/T (spec §2.3).
pub fn quantise_t(t: f64, steps: usize) -> f64 {
    let steps = steps as f64;
    (t * steps).floor() / steps + 1.0 / steps
}

/// The sampling grid linspace(1, ε, steps + 1) (spec §5.2; ε = 1e-5 in the reference).
pub fn sampling_grid(steps: usize, eps: f64) -> Vec<f64> {
    assert!(steps > 0, "sampling_grid needs at least one step");
    (0..=steps)
        .map(|i| 1.0 + (eps - 1.0) * i as f64 / steps as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::GivenUniforms;

    /// Training times from given uniforms, by hand: antithetic ũ_i = u_i/n + i/n, then
    /// t = (1 − ε)ũ + ε; quantised t = ⌊tT⌋/T + 1/T.
    #[test]
    fn sample_t_on_given_uniforms() {
        let u = [0.2, 0.6, 0.0, 0.96];
        let raw = raw_times(&mut GivenUniforms::new(&u), 4, true);
        for (a, b) in raw.iter().zip([0.05, 0.4, 0.5, 0.99]) {
            assert!((a - b).abs() < 1e-15, "{raw:?}");
        }
        let t = sample_t(&mut GivenUniforms::new(&u), 4, false, 1e-3, None);
        for (a, b) in t.iter().zip([0.2008, 0.6004, 0.001, 0.96004]) {
            assert!((a - b).abs() < 1e-12, "{t:?}");
        }
        // T = 10: 0.2008 → 0.3, 0.6004 → 0.7, 0.001 → 0.1, 0.96004 → 1.0.
        let t = sample_t(&mut GivenUniforms::new(&u), 4, false, 1e-3, Some(10));
        for (a, b) in t.iter().zip([0.3, 0.7, 0.1, 1.0]) {
            assert!((a - b).abs() < 1e-12, "{t:?}");
        }
    }

    /// Spec §14 item 9: exactly one draw in each interval [i/n, (i+1)/n).
    #[test]
    fn antithetic_draws_one_per_stratum() {
        let mut rng = Rng::seed_from_u64(11);
        for &n in &[1usize, 2, 7, 64] {
            let u = raw_times(&mut rng, n, true);
            let mut counts = vec![0; n];
            for &v in &u {
                assert!((0.0..1.0).contains(&v));
                counts[(v * n as f64).floor() as usize] += 1;
            }
            assert!(counts.iter().all(|&c| c == 1), "n={n}: {counts:?}");
        }
    }

    #[test]
    fn training_times_lie_in_eps_one() {
        let mut rng = Rng::seed_from_u64(2);
        let t = sample_t(&mut rng, 1000, true, 1e-3, None);
        assert!(t.iter().all(|&t| (1e-3..1.0).contains(&t)));
        let td = sample_t(&mut rng, 1000, true, 1e-3, Some(10));
        for t in td {
            let k = (t * 10.0).round();
            assert!((t * 10.0 - k).abs() < 1e-9 && (1.0..=10.0).contains(&k));
        }
    }

    /// Spec §14 item 7: steps + 1 points from 1 to 1e-5.
    #[test]
    fn grid_endpoints() {
        let g = sampling_grid(32, 1e-5);
        assert_eq!(g.len(), 33);
        assert_eq!(g[0], 1.0);
        assert!((g[32] - 1e-5).abs() < 1e-15);
        let dt = (1.0 - 1e-5) / 32.0;
        for w in g.windows(2) {
            assert!((w[0] - w[1] - dt).abs() < 1e-12);
        }
    }
}
