//! Alerts on the lag model's residuals: a value the model did not expect.

use sluice_core::Key;
use sluice_streaming::DStream;

use super::{Alert, AlertKind};
use crate::lag_model::ModelPoint;

/// The points of a [lag model](crate::lag_model)'s output whose residual is beyond `k` times
/// the key's recent residual standard deviation (points without a prediction, or before the
/// model has seen 10 residuals, are never flagged).
pub fn residual_alerts<K: Key>(stream: &DStream<(K, ModelPoint)>, k: f64) -> DStream<(K, Alert)> {
    stream.flat_map(move |(key, p): (K, ModelPoint)| residual_alert(&p, k).map(|a| (key, a)))
}

/// The alert for one model point, if its residual is beyond `k` σ.
pub fn residual_alert(p: &ModelPoint, k: f64) -> Option<Alert> {
    let (r, sigma) = (p.residual?, p.sigma?);
    let sigma = super::floor_sigma(sigma, p.actual);
    let score = r / sigma;
    (score.abs() > k).then(|| Alert {
        t: p.t,
        value: p.actual,
        score,
        kind: AlertKind::Residual,
        reason: format!(
            "{:.4} is {:.1} σ {} the model's prediction {:.4}",
            p.actual,
            score.abs(),
            if score > 0.0 { "above" } else { "below" },
            p.predicted.unwrap_or(f64::NAN)
        ),
    })
}
