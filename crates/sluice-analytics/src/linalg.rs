//! Dense vector arithmetic on `f64` slices: the few BLAS level-1 operations the learners
//! need, written out so that the order of every sum is fixed.

/// The dot product `a · b` (over the shorter of the two).
///
/// ```
/// assert_eq!(sluice_analytics::linalg::dot(&[1.0, 2.0], &[3.0, 4.0]), 11.0);
/// ```
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `y += alpha * x`.
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// `x *= alpha`.
pub fn scal(alpha: f64, x: &mut [f64]) {
    for xi in x.iter_mut() {
        *xi *= alpha;
    }
}

/// The Euclidean norm `‖a‖`.
pub fn norm2(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// The squared Euclidean distance `‖a − b‖²`.
pub fn sqdist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Whether every value is finite (no NaN, no infinity).
pub fn all_finite(a: &[f64]) -> bool {
    a.iter().all(|v| v.is_finite())
}
