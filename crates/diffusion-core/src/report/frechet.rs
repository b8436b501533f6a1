//! Fréchet distance between two Gaussians fitted to feature vectors (the FID formula):
//! d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{1/2}). The trace of the square root is computed as
//! Tr((Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}) — the same eigenvalues as (Σ₁Σ₂)^{1/2}, but of a symmetric
//! PSD matrix, so two symmetric eigendecompositions suffice and no complex arithmetic is
//! needed. Negative eigenvalues from rounding are clamped to 0.
//!
//! With a project-trained feature network this is "FID (project classifier features)", not
//! the Inception-v3 FID of the paper: values are comparable only between runs that use the same
//! feature network.

use super::symmetric_eigen::{SymmetricEigen, matmul};
use crate::error::{CoreError, Result};

/// Mean and covariance (unbiased, as `numpy.cov`) of a set of feature vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Gaussian {
    pub dim: usize,
    pub mean: Vec<f64>,
    /// Row-major dim × dim.
    pub cov: Vec<f64>,
}

impl Gaussian {
    /// Fit to `features` (at least two vectors of one length).
    pub fn fit(features: &[Vec<f64>]) -> Result<Self> {
        let n = features.len();
        if n < 2 {
            return Err(CoreError::Metric(format!(
                "a covariance needs at least 2 feature vectors, got {n}"
            )));
        }
        let d = features[0].len();
        if features.iter().any(|f| f.len() != d) {
            return Err(CoreError::Metric(
                "feature vectors of different lengths".into(),
            ));
        }
        let mut mean = vec![0.0; d];
        for f in features {
            for (m, x) in mean.iter_mut().zip(f) {
                *m += x;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut cov = vec![0.0; d * d];
        for f in features {
            for i in 0..d {
                let di = f[i] - mean[i];
                for j in i..d {
                    cov[i * d + j] += di * (f[j] - mean[j]);
                }
            }
        }
        for i in 0..d {
            for j in i..d {
                let c = cov[i * d + j] / (n - 1) as f64;
                cov[i * d + j] = c;
                cov[j * d + i] = c;
            }
        }
        Ok(Self { dim: d, mean, cov })
    }
}

/// The squared Fréchet distance d² between N(μ₁, Σ₁) and N(μ₂, Σ₂).
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> Result<f64> {
    if a.dim != b.dim {
        return Err(CoreError::Metric(format!(
            "Fréchet distance between {}- and {}-dimensional features",
            a.dim, b.dim
        )));
    }
    let d = a.dim;
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let trace = |m: &[f64]| (0..d).map(|i| m[i * d + i]).sum::<f64>();
    let sqrt_a = SymmetricEigen::new(&a.cov, d)?.map(|l| l.max(0.0).sqrt());
    let inner = matmul(&matmul(&sqrt_a, &b.cov, d), &sqrt_a, d);
    let tr_sqrt: f64 = SymmetricEigen::new(&inner, d)?
        .values
        .iter()
        .map(|&l| l.max(0.0).sqrt())
        .sum();
    Ok(mean_term + trace(&a.cov) + trace(&b.cov) - 2.0 * tr_sqrt)
}

/// FID-style distance between two sets of feature vectors.
pub fn frechet_distance_of(features_a: &[Vec<f64>], features_b: &[Vec<f64>]) -> Result<f64> {
    frechet_distance(&Gaussian::fit(features_a)?, &Gaussian::fit(features_b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(mean: Vec<f64>, cov: Vec<f64>) -> Gaussian {
        Gaussian {
            dim: mean.len(),
            mean,
            cov,
        }
    }

    /// Diagonal covariances, by hand: ‖(1, 2) − (0, 0)‖² = 5, and per axis
    /// σ₁² + σ₂² − 2σ₁σ₂ = (σ₁ − σ₂)²: (2 − 1)² + (3 − 0.5)² = 7.25; total 12.25.
    #[test]
    fn diagonal_case_by_hand() {
        let a = g(vec![1.0, 2.0], vec![4.0, 0.0, 0.0, 9.0]);
        let b = g(vec![0.0, 0.0], vec![1.0, 0.0, 0.0, 0.25]);
        assert!((frechet_distance(&a, &b).unwrap() - 12.25).abs() < 1e-12);
        assert!(frechet_distance(&a, &a).unwrap().abs() < 1e-12);
    }

    /// A non-diagonal 2×2 case against scipy 1.17.1 (numpy 2.4.6):
    /// ```python
    /// import numpy as np, scipy.linalg as la
    /// m1 = np.array([0., 0.]); S1 = np.array([[2., .5], [.5, 1.]])
    /// m2 = np.array([1., -1.]); S2 = np.array([[1., -.3], [-.3, .5]])
    /// ((m1 - m2)**2).sum() + np.trace(S1) + np.trace(S2) - 2 * np.trace(la.sqrtm(S1 @ S2)).real
    /// # 2.553301412770546
    /// ```
    #[test]
    fn non_diagonal_case_matches_scipy() {
        let a = g(vec![0.0, 0.0], vec![2.0, 0.5, 0.5, 1.0]);
        let b = g(vec![1.0, -1.0], vec![1.0, -0.3, -0.3, 0.5]);
        let d = frechet_distance(&a, &b).unwrap();
        assert!((d - 2.553301412770546).abs() < 1e-10, "{d}");
        // Symmetric in its arguments.
        assert!((frechet_distance(&b, &a).unwrap() - d).abs() < 1e-10);
    }

    /// Fitted from samples (unbiased covariance), against scipy 1.17.1 for these X (6×3), Y (5×3):
    /// ```python
    /// def f(X, Y):
    ///     a, b = X.mean(0), Y.mean(0); A = np.cov(X, rowvar=False); B = np.cov(Y, rowvar=False)
    ///     return ((a - b)**2).sum() + np.trace(A) + np.trace(B) - 2 * np.trace(la.sqrtm(A @ B)).real
    /// f(X, Y)  # 7.196605087013601
    /// ```
    #[test]
    fn fitted_features_match_scipy() {
        let x = [
            [0.126, -0.132, 0.64],
            [0.105, -0.536, 0.362],
            [1.304, 0.947, -0.704],
            [-1.265, -0.623, 0.041],
            [-2.325, -0.219, -1.246],
            [-0.732, -0.544, -0.316],
        ];
        let y = [
            [1.823, 3.085, 0.743],
            [3.733, -0.33, 1.703],
            [2.807, 1.188, -0.487],
            [-0.843, 0.085, 1.44],
            [-1.019, 0.582, 0.682],
        ];
        let xs: Vec<Vec<f64>> = x.iter().map(|r| r.to_vec()).collect();
        let ys: Vec<Vec<f64>> = y.iter().map(|r| r.to_vec()).collect();
        let d = frechet_distance_of(&xs, &ys).unwrap();
        assert!((d - 7.196605087013601).abs() < 1e-9, "{d}");
        assert!(frechet_distance_of(&xs[..1], &ys).is_err());
    }
}
