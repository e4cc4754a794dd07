//! Recursive least squares: a linear least-squares fit updated one observation at a time, in
//! O(d²) per observation and O(d²) memory, with an optional forgetting factor.
//!
//! The fit keeps the triangular factor `R` of a QR decomposition of the (weighted) design
//! matrix and `z = Qᵀy`, and folds each new row in with Givens rotations (the "QR-RLS"
//! form). This is mathematically the same estimator as the textbook update of the inverse
//! covariance matrix, but it needs no starting guess for that matrix (so after `N` rows the
//! coefficients are exactly the offline least-squares solution on those rows, not a
//! regularised one) and it stays accurate over long series, because it never squares the
//! condition number of the design.

use serde::{Deserialize, Serialize};

/// A diagonal entry of `R` this small, relative to the largest, makes the design singular.
const RANK_TOLERANCE: f64 = 1e-10;

/// Inputs beyond this magnitude are refused: their squares, summed over any realistic number
/// of rows, could overflow.
pub const MAX_MAGNITUDE: f64 = 1e100;

/// Why an observation could not be folded into the fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RlsRejection {
    /// The row has the wrong number of regressors.
    WrongDimension,
    /// A regressor or the target is NaN or infinite.
    NonFinite,
    /// A regressor or the target is beyond [`MAX_MAGNITUDE`].
    OutOfRange,
}

/// A least-squares fit of `y ≈ x · β`, updated row by row.
///
/// With forgetting factor `λ` (in `(0, 1]`), the fit after rows `1..=N` minimises
/// `Σ_k λ^(N−k) (y_k − x_k · β)²`; with `λ = 1` it is ordinary least squares.
///
/// ```
/// use sluice_analytics::rls::RecursiveLeastSquares;
/// let mut fit = RecursiveLeastSquares::new(2, 1.0).unwrap();
/// // y = 3 x + 1
/// for x in [0.0, 1.0, 2.0, 3.0] {
///     fit.update(&[x, 1.0], 3.0 * x + 1.0).unwrap();
/// }
/// let beta = fit.coefficients().unwrap();
/// assert!((beta[0] - 3.0).abs() < 1e-12 && (beta[1] - 1.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecursiveLeastSquares {
    dim: usize,
    forgetting: f64,
    /// `dim × dim`, row-major; only the upper triangle is used.
    r: Vec<f64>,
    z: Vec<f64>,
    rows: u64,
}

impl RecursiveLeastSquares {
    /// An empty fit of `dim` coefficients. `forgetting` must be in `(0, 1]`.
    pub fn new(dim: usize, forgetting: f64) -> Result<Self, String> {
        if dim == 0 {
            return Err("a least-squares fit needs at least one coefficient".into());
        }
        if !(forgetting > 0.0 && forgetting <= 1.0) {
            return Err(format!(
                "the forgetting factor must be in (0, 1], got {forgetting}"
            ));
        }
        Ok(Self::empty(dim, forgetting))
    }

    /// An empty fit, with settings the caller has checked.
    pub(crate) fn empty(dim: usize, forgetting: f64) -> Self {
        RecursiveLeastSquares {
            dim,
            forgetting,
            r: vec![0.0; dim * dim],
            z: vec![0.0; dim],
            rows: 0,
        }
    }

    /// The number of coefficients.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many rows have been folded in.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Folds in the row `x` with target `y`. A refused row leaves the fit unchanged.
    pub fn update(&mut self, x: &[f64], y: f64) -> Result<(), RlsRejection> {
        if x.len() != self.dim {
            return Err(RlsRejection::WrongDimension);
        }
        if !y.is_finite() || x.iter().any(|v| !v.is_finite()) {
            return Err(RlsRejection::NonFinite);
        }
        if y.abs() > MAX_MAGNITUDE || x.iter().any(|v| v.abs() > MAX_MAGNITUDE) {
            return Err(RlsRejection::OutOfRange);
        }
        let d = self.dim;
        if self.forgetting < 1.0 {
            let s = self.forgetting.sqrt();
            for i in 0..d {
                for v in &mut self.r[i * d + i..(i + 1) * d] {
                    *v *= s;
                }
                self.z[i] *= s;
            }
        }
        let mut row = x.to_vec();
        let mut target = y;
        for i in 0..d {
            let b = row[i];
            if b == 0.0 {
                continue;
            }
            let a = self.r[i * d + i];
            let h = a.hypot(b);
            let (c, s) = (a / h, b / h);
            self.r[i * d + i] = h;
            let r_row = &mut self.r[i * d + i + 1..(i + 1) * d];
            for (rij, xj) in r_row.iter_mut().zip(&mut row[i + 1..]) {
                let (r0, x0) = (*rij, *xj);
                *rij = c * r0 + s * x0;
                *xj = c * x0 - s * r0;
            }
            let zi = self.z[i];
            self.z[i] = c * zi + s * target;
            target = c * target - s * zi;
        }
        self.rows += 1;
        Ok(())
    }

    /// Whether the rows so far leave some coefficient undetermined (too few rows, or
    /// regressors that are linear combinations of each other, such as a constant input beside
    /// the intercept).
    pub fn is_singular(&self) -> bool {
        let d = self.dim;
        let largest = (0..d)
            .map(|i| self.r[i * d + i].abs())
            .fold(0.0f64, f64::max);
        largest == 0.0 || (0..d).any(|i| self.r[i * d + i].abs() <= RANK_TOLERANCE * largest)
    }

    /// The least-squares coefficients, or `None` while the design is singular.
    pub fn coefficients(&self) -> Option<Vec<f64>> {
        if self.is_singular() {
            return None;
        }
        let d = self.dim;
        let mut beta = vec![0.0; d];
        for i in (0..d).rev() {
            let tail = &self.r[i * d + i + 1..(i + 1) * d];
            let s = self.z[i] - crate::linalg::dot(tail, &beta[i + 1..]);
            beta[i] = s / self.r[i * d + i];
        }
        beta.iter().all(|b| b.is_finite()).then_some(beta)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn too_few_rows_and_collinear_rows_are_singular() {
        let mut fit = RecursiveLeastSquares::new(3, 1.0).unwrap();
        assert!(fit.coefficients().is_none());
        fit.update(&[1.0, 2.0, 1.0], 1.0).unwrap();
        fit.update(&[2.0, 1.0, 1.0], 2.0).unwrap();
        assert!(fit.is_singular());
        // A constant input beside the intercept never determines both.
        let mut flat = RecursiveLeastSquares::new(2, 1.0).unwrap();
        for _ in 0..100 {
            flat.update(&[5.0, 1.0], 3.0).unwrap();
        }
        assert!(flat.coefficients().is_none());
        // One varying row makes it regular.
        flat.update(&[6.0, 1.0], 4.0).unwrap();
        let beta = flat.coefficients().unwrap();
        assert!((beta[0] - 1.0).abs() < 1e-9 && (beta[1] + 2.0).abs() < 1e-9);
    }

    #[test]
    fn refused_rows_leave_the_fit_unchanged() {
        let mut fit = RecursiveLeastSquares::new(2, 0.9).unwrap();
        fit.update(&[1.0, 1.0], 1.0).unwrap();
        let before = fit.clone();
        assert_eq!(
            fit.update(&[f64::NAN, 1.0], 1.0),
            Err(RlsRejection::NonFinite)
        );
        assert_eq!(
            fit.update(&[1.0, 1.0], f64::INFINITY),
            Err(RlsRejection::NonFinite)
        );
        assert_eq!(
            fit.update(&[1e200, 1.0], 1.0),
            Err(RlsRejection::OutOfRange)
        );
        assert_eq!(fit.update(&[1.0], 1.0), Err(RlsRejection::WrongDimension));
        assert_eq!(fit, before);
    }

    #[test]
    fn forgetting_tracks_a_change() {
        let mut fit = RecursiveLeastSquares::new(2, 0.8).unwrap();
        for k in 0..50 {
            fit.update(&[k as f64, 1.0], 2.0 * k as f64).unwrap();
        }
        for k in 50..150 {
            fit.update(&[k as f64, 1.0], -(k as f64) + 7.0).unwrap();
        }
        let beta = fit.coefficients().unwrap();
        assert!((beta[0] + 1.0).abs() < 1e-6, "{beta:?}");
        assert!(RecursiveLeastSquares::new(2, 0.0).is_err());
        assert!(RecursiveLeastSquares::new(2, 1.5).is_err());
        assert!(RecursiveLeastSquares::new(0, 1.0).is_err());
    }
}
