//! Eigendecomposition of a real symmetric matrix by cyclic Jacobi rotations, in f64. Small and
//! dependency-free; accurate to rounding for the feature dimensions used here (tens to a few
//! hundred), which is all the Fréchet distance needs (matrix square roots of covariances).

use crate::error::{CoreError, Result};

/// Eigenvalues and eigenvectors (columns of `vectors`, row-major n×n) of a symmetric matrix.
#[derive(Clone, Debug)]
pub struct SymmetricEigen {
    pub n: usize,
    pub values: Vec<f64>,
    pub vectors: Vec<f64>,
}

impl SymmetricEigen {
    /// Decompose the symmetric row-major n×n matrix `a` (its symmetric part is used).
    pub fn new(a: &[f64], n: usize) -> Result<Self> {
        if a.len() != n * n {
            return Err(CoreError::Metric(format!(
                "eigendecomposition of {} values as a {n}×{n} matrix",
                a.len()
            )));
        }
        if a.iter().any(|x| !x.is_finite()) {
            return Err(CoreError::Metric(
                "eigendecomposition of a matrix with NaN or infinite entries".into(),
            ));
        }
        let mut m: Vec<f64> = (0..n * n)
            .map(|k| 0.5 * (a[k] + a[(k % n) * n + k / n]))
            .collect();
        let mut v: Vec<f64> = (0..n * n)
            .map(|k| if k / n == k % n { 1.0 } else { 0.0 })
            .collect();
        let scale: f64 = m.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
        for _sweep in 0..100 {
            let off: f64 = (0..n)
                .flat_map(|p| (p + 1..n).map(move |q| (p, q)))
                .map(|(p, q)| m[p * n + q] * m[p * n + q])
                .sum();
            if off <= 1e-30 * scale {
                break;
            }
            for p in 0..n {
                for q in p + 1..n {
                    let apq = m[p * n + q];
                    if apq == 0.0 {
                        continue;
                    }
                    // Rotation angle that zeroes m[p][q]: t = tan θ, the smaller root of
                    // t² + 2ϑt − 1 = 0 with ϑ = (a_qq − a_pp) / (2 a_pq).
                    let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                    let t = if theta == 0.0 { 1.0 } else { t };
                    let c = 1.0 / (t * t + 1.0).sqrt();
                    let s = t * c;
                    for k in 0..n {
                        let (akp, akq) = (m[k * n + p], m[k * n + q]);
                        m[k * n + p] = c * akp - s * akq;
                        m[k * n + q] = s * akp + c * akq;
                    }
                    for k in 0..n {
                        let (apk, aqk) = (m[p * n + k], m[q * n + k]);
                        m[p * n + k] = c * apk - s * aqk;
                        m[q * n + k] = s * apk + c * aqk;
                    }
                    for k in 0..n {
                        let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        Ok(Self {
            n,
            values: (0..n).map(|i| m[i * n + i]).collect(),
            vectors: v,
        })
    }

    /// V · diag(f(λ)) · Vᵀ, row-major.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Vec<f64> {
        let n = self.n;
        let fl: Vec<f64> = self.values.iter().map(|&l| f(l)).collect();
        let mut out = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                out[i * n + j] = (0..n)
                    .map(|k| self.vectors[i * n + k] * fl[k] * self.vectors[j * n + k])
                    .sum();
            }
        }
        out
    }
}

/// Row-major product of n×n matrices.
pub fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..n {
                out[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn reconstructs_random_symmetric_matrices() {
        let mut rng = Rng::seed_from_u64(9);
        for n in [1, 2, 5, 24] {
            let r: Vec<f64> = (0..n * n).map(|_| rng.uniform() - 0.5).collect();
            let a: Vec<f64> = (0..n * n).map(|k| r[k] + r[(k % n) * n + k / n]).collect();
            let e = SymmetricEigen::new(&a, n).unwrap();
            let back = e.map(|l| l);
            for (x, y) in a.iter().zip(&back) {
                assert!((x - y).abs() < 1e-10, "n {n}: {x} vs {y}");
            }
            // Orthonormal eigenvectors: VᵀV = I.
            let vt: Vec<f64> = (0..n * n).map(|k| e.vectors[(k % n) * n + k / n]).collect();
            let i = matmul(&vt, &e.vectors, n);
            for (k, x) in i.iter().enumerate() {
                let want = if k / n == k % n { 1.0 } else { 0.0 };
                assert!((x - want).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn known_eigenvalues() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let e = SymmetricEigen::new(&[2.0, 1.0, 1.0, 2.0], 2).unwrap();
        let mut v = e.values.clone();
        v.sort_by(f64::total_cmp);
        assert!((v[0] - 1.0).abs() < 1e-12 && (v[1] - 3.0).abs() < 1e-12);
        assert!(SymmetricEigen::new(&[f64::NAN], 1).is_err());
    }
}
