//! The records MLlib's learners read: [`LabeledPoint`], and the check that sorts out points
//! a learner cannot use.

use serde::{Deserialize, Serialize};

/// A feature vector with its label (MLlib's `LabeledPoint`).
///
/// ```
/// use sluice_analytics::mllib::LabeledPoint;
/// let p = LabeledPoint::new(1.0, vec![0.5, -2.0]);
/// assert_eq!(p.features.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledPoint {
    /// The label (the target of a regression, 0 or 1 for a binary classifier).
    pub label: f64,
    /// The features.
    pub features: Vec<f64>,
}

impl LabeledPoint {
    /// A labelled point.
    pub fn new(label: f64, features: Vec<f64>) -> Self {
        LabeledPoint { label, features }
    }
}

/// Why a learner set a point aside (counted in its bad-record report, never trained on).
pub(crate) fn point_problem(p: &LabeledPoint, dim: usize, binary: bool) -> Option<String> {
    if p.features.len() != dim {
        return Some(format!(
            "{} features where the model has {dim}",
            p.features.len()
        ));
    }
    if !p.label.is_finite() || p.features.iter().any(|v| !v.is_finite()) {
        return Some("a NaN or infinite value".into());
    }
    if binary && p.label != 0.0 && p.label != 1.0 {
        return Some(format!("label {} is neither 0 nor 1", p.label));
    }
    None
}

/// Why a clustering point is unusable.
pub(crate) fn vector_problem(v: &[f64], dim: usize) -> Option<String> {
    if v.len() != dim {
        return Some(format!("{} values where the centers have {dim}", v.len()));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Some("a NaN or infinite value".into());
    }
    None
}
