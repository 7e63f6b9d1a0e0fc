//! Weighted linear least squares with parameter covariances.
//!
//! Finite-size scaling fits are linear in their parameters once the exponents
//! are fixed, e.g. `p_L = p_c + a·L^(−1/ν) + b·L^(−1/ν−ω)`. With basis
//! functions `f_j`, data `y_i ± σ_i` and the design matrix `X_ij = f_j(x_i)`,
//! the estimate is `β = (XᵀWX)⁻¹ XᵀW y` with `W = diag(1/σ_i²)` and covariance
//! `(XᵀWX)⁻¹`. When the fit is worse than its error bars (χ²/dof > 1) the
//! covariance is scaled by χ²/dof, the conservative convention (Birge ratio),
//! so that reported errors never understate the scatter.

use ndarray::{Array1, Array2};
use ndarray_linalg::Inverse;

use crate::error::{Error, Result};

/// The result of a weighted linear fit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinearFit {
    /// Fitted parameters `β_j`.
    pub params: Vec<f64>,
    /// Standard errors of the parameters (after Birge scaling).
    pub stderr: Vec<f64>,
    /// Covariance matrix (row-major, after Birge scaling).
    pub covariance: Vec<Vec<f64>>,
    /// χ² of the fit with the given error bars.
    pub chi2: f64,
    /// Degrees of freedom, `n − k`.
    pub dof: usize,
}

/// Fits `y_i ≈ Σ_j β_j X[i][j]` with error bars `sigma_i`.
///
/// Errors if there are fewer points than parameters, a σ is not positive, or
/// the normal matrix is singular.
pub fn weighted_linear_fit(design: &[Vec<f64>], y: &[f64], sigma: &[f64]) -> Result<LinearFit> {
    let n = y.len();
    let k = design.first().map_or(0, Vec::len);
    if n < k || k == 0 || design.len() != n || sigma.len() != n {
        return Err(Error::Numerical {
            context: "weighted least squares".into(),
            reason: format!("{n} points for {k} parameters"),
        });
    }
    if let Some(s) = sigma.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(Error::Numerical {
            context: "weighted least squares".into(),
            reason: format!("error bar {s} is not positive"),
        });
    }
    let mut xtwx = Array2::<f64>::zeros((k, k));
    let mut xtwy = Array1::<f64>::zeros(k);
    for i in 0..n {
        let w = 1.0 / (sigma[i] * sigma[i]);
        for a in 0..k {
            xtwy[a] += w * design[i][a] * y[i];
            for b in 0..k {
                xtwx[[a, b]] += w * design[i][a] * design[i][b];
            }
        }
    }
    let cov = xtwx.inv().map_err(|e| Error::Numerical {
        context: "weighted least squares".into(),
        reason: format!("singular normal matrix: {e}"),
    })?;
    let beta = cov.dot(&xtwy);
    let chi2: f64 = (0..n)
        .map(|i| {
            let model: f64 = (0..k).map(|j| beta[j] * design[i][j]).sum();
            ((y[i] - model) / sigma[i]).powi(2)
        })
        .sum();
    let dof = n - k;
    let scale = if dof > 0 {
        (chi2 / dof as f64).max(1.0)
    } else {
        1.0
    };
    let covariance: Vec<Vec<f64>> = (0..k)
        .map(|a| (0..k).map(|b| cov[[a, b]] * scale).collect())
        .collect();
    Ok(LinearFit {
        params: beta.to_vec(),
        stderr: (0..k).map(|j| covariance[j][j].sqrt()).collect(),
        covariance,
        chi2,
        dof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_line() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        let design: Vec<Vec<f64>> = xs.iter().map(|&x| vec![1.0, x]).collect();
        let y: Vec<f64> = xs.iter().map(|x| 0.5 + 2.0 * x).collect();
        let fit = weighted_linear_fit(&design, &y, &[0.1; 4]).unwrap();
        assert!((fit.params[0] - 0.5).abs() < 1e-12 && (fit.params[1] - 2.0).abs() < 1e-12);
        assert!(fit.chi2 < 1e-20);
    }

    #[test]
    fn intercept_error_matches_closed_form() {
        // Unweighted straight line: var(intercept) = σ² Σx² / (n Σx² − (Σx)²).
        let xs = [0.0, 1.0, 2.0];
        let design: Vec<Vec<f64>> = xs.iter().map(|&x| vec![1.0, x]).collect();
        let y = [1.0, 3.0, 5.0];
        let fit = weighted_linear_fit(&design, &y, &[0.5; 3]).unwrap();
        let expected = (0.25f64 * 5.0 / (3.0 * 5.0 - 9.0)).sqrt();
        assert!(
            (fit.stderr[0] - expected).abs() < 1e-12,
            "{} vs {expected}",
            fit.stderr[0]
        );
    }

    #[test]
    fn refuses_underdetermined_fits() {
        assert!(weighted_linear_fit(&[vec![1.0, 1.0]], &[1.0], &[1.0]).is_err());
        assert!(weighted_linear_fit(&[vec![1.0], vec![1.0]], &[1.0, 2.0], &[1.0, 0.0]).is_err());
    }
}
