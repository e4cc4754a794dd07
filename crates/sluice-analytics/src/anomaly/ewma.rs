//! The EWMA control chart: an exponentially weighted moving average of a key's values against
//! control limits around a baseline learned from its first points.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sluice_core::{Error, Key, Result};
use sluice_streaming::DStream;

use super::{detect_per_key, floor_sigma, Alert, AlertKind, Side};

/// A key's baseline and moving average.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EwmaState {
    /// Points in the baseline so far (Welford's running mean and squared deviations).
    baseline_n: u64,
    baseline_mean: f64,
    baseline_m2: f64,
    /// The moving average, and the points since the baseline was fixed.
    z: f64,
    since: u64,
    /// Values that were NaN or infinite, never scored.
    pub non_finite: u64,
}

/// Flags a key when its EWMA statistic `z_t = λ x_t + (1 − λ) z_{t−1}` leaves the control
/// limits `μ₀ ± L σ₀ √(λ/(2−λ) · (1 − (1−λ)^{2i}))`, where `μ₀` and `σ₀` are the mean and
/// standard deviation of the key's first `warmup` values. Small λ (0.05–0.25) finds small,
/// lasting shifts; the score is the statistic's distance from `μ₀` in its own standard
/// deviations.
///
/// ```
/// use sluice_analytics::anomaly::{EwmaChart, EwmaState};
/// let chart = EwmaChart::new(0.2, 3.0).warmup(10);
/// let mut s = EwmaState::default();
/// let mut alerts = 0;
/// for t in 0..40 {
///     let noise = if t % 2 == 0 { 0.1 } else { -0.1 };
///     let drift = if t >= 20 { 0.05 * (t - 20) as f64 } else { 0.0 };
///     alerts += chart.observe(&mut s, t, 10.0 + noise + drift).is_some() as usize;
/// }
/// assert!(alerts > 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EwmaChart {
    lambda: f64,
    limit: f64,
    warmup: u64,
    side: Side,
    name: Option<String>,
}

impl EwmaChart {
    /// Weight `lambda` of the newest value, limits at `limit` standard deviations, a
    /// baseline of 20 values.
    pub fn new(lambda: f64, limit: f64) -> Self {
        EwmaChart {
            lambda,
            limit,
            warmup: 20,
            side: Side::Both,
            name: None,
        }
    }

    /// Flag only the upper or only the lower limit (default: both).
    pub fn side(mut self, side: Side) -> Self {
        self.side = side;
        self
    }

    /// The number of values the baseline is learned from (at least 2).
    pub fn warmup(mut self, n: u64) -> Self {
        self.warmup = n;
        self
    }

    /// Folds one value into the key's chart.
    pub fn observe(&self, s: &mut EwmaState, t: i64, value: f64) -> Option<Alert> {
        if !value.is_finite() {
            s.non_finite += 1;
            return None;
        }
        if s.baseline_n < self.warmup {
            s.baseline_n += 1;
            let d = value - s.baseline_mean;
            s.baseline_mean += d / s.baseline_n as f64;
            s.baseline_m2 += d * (value - s.baseline_mean);
            s.z = s.baseline_mean;
            return None;
        }
        let l = self.lambda;
        s.z = l * value + (1.0 - l) * s.z;
        s.since += 1;
        let mu = s.baseline_mean;
        let sigma0 = floor_sigma((s.baseline_m2 / (s.baseline_n - 1) as f64).sqrt(), mu);
        let spread = (l / (2.0 - l) * (1.0 - (1.0 - l).powf(2.0 * s.since as f64))).sqrt();
        let score = (s.z - mu) / (sigma0 * spread);
        self.side.flags(score, self.limit).then(|| Alert {
            t,
            value,
            score,
            kind: AlertKind::Ewma,
            reason: format!(
                "moving average {:.4} is {} the control limit {:.4} (baseline {mu:.4} ± {sigma0:.4})",
                s.z,
                if score > 0.0 { "above" } else { "below" },
                mu + score.signum() * self.limit * sigma0 * spread
            ),
        })
    }

    /// Names the detector's state (required when the job checkpoints: its state is matched
    /// to the operator by name).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The alerts of a stream of `(key, (t, value))`, per key.
    pub fn detect<K>(&self, stream: &DStream<(K, (i64, f64))>) -> Result<DStream<(K, Alert)>>
    where
        K: Key + Serialize + DeserializeOwned,
    {
        let valid = self.lambda > 0.0 && self.lambda <= 1.0 && self.limit > 0.0;
        if !valid || self.warmup < 2 {
            return Err(Error::InvalidArgument(format!(
                "EWMA chart: need 0 < λ ≤ 1, a positive limit and a warm-up of at least 2, \
                 got λ {}, limit {}, warm-up {}",
                self.lambda, self.limit, self.warmup
            )));
        }
        let me = self.clone();
        Ok(detect_per_key(
            stream,
            self.name.as_deref(),
            move |s, t, v| me.observe(s, t, v),
        ))
    }
}
