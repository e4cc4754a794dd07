//! The rolling z-score: each value against the mean and standard deviation of the key's
//! previous `window` values.

use std::collections::VecDeque;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sluice_core::{Error, Key, Result};
use sluice_streaming::DStream;

use super::{detect_per_key, floor_sigma, Alert, AlertKind};

/// A key's recent values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ZScoreState {
    window: VecDeque<f64>,
    /// Values that were NaN or infinite, never scored.
    pub non_finite: u64,
}

/// Flags values more than `threshold` standard deviations (sample standard deviation) from
/// the mean of the key's previous `window` values, once it has `min_points` of them.
///
/// ```
/// use sluice_analytics::anomaly::{RollingZScore, ZScoreState};
/// let z = RollingZScore::new(5, 3.0);
/// let mut s = ZScoreState::default();
/// for (t, v) in [1.0, 1.2, 0.9, 1.1, 1.0].into_iter().enumerate() {
///     assert!(z.observe(&mut s, t as i64, v).is_none());
/// }
/// let alert = z.observe(&mut s, 5, 9.0).unwrap();
/// assert!(alert.score > 3.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RollingZScore {
    window: usize,
    threshold: f64,
    min_points: usize,
    side: Side,
    name: Option<String>,
    exclude_flagged: bool,
}

/// Which departures a detector flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Above and below.
    Both,
    /// Only values above what was expected.
    Above,
    /// Only values below.
    Below,
}

impl Side {
    /// Whether a signed score beyond `threshold` is flagged.
    pub(crate) fn flags(self, score: f64, threshold: f64) -> bool {
        match self {
            Side::Both => score.abs() > threshold,
            Side::Above => score > threshold,
            Side::Below => score < -threshold,
        }
    }
}

impl RollingZScore {
    /// Over the previous `window` values, alerting beyond `threshold` σ (from 5 values on).
    pub fn new(window: usize, threshold: f64) -> Self {
        RollingZScore {
            window,
            threshold,
            min_points: 5.min(window),
            side: Side::Both,
            name: None,
            exclude_flagged: false,
        }
    }

    /// Keeps flagged values out of the window, so that one spike does not mask the next
    /// (default: every value enters the window). With this set a lasting level shift never
    /// enters the window and keeps alerting: use it for spikes, not for shifts.
    pub fn exclude_flagged(mut self, yes: bool) -> Self {
        self.exclude_flagged = yes;
        self
    }

    /// Flag only departures above, or only below (default: both).
    pub fn side(mut self, side: Side) -> Self {
        self.side = side;
        self
    }

    /// Values needed before scoring (at least 2).
    pub fn min_points(mut self, n: usize) -> Self {
        self.min_points = n;
        self
    }

    /// Scores one value against the key's window and then adds it to the window.
    pub fn observe(&self, s: &mut ZScoreState, t: i64, value: f64) -> Option<Alert> {
        if !value.is_finite() {
            s.non_finite += 1;
            return None;
        }
        let n = s.window.len();
        let mut alert = None;
        if n >= self.min_points.max(2) {
            let mean = s.window.iter().sum::<f64>() / n as f64;
            let var = s
                .window
                .iter()
                .map(|v| (v - mean) * (v - mean))
                .sum::<f64>()
                / (n - 1) as f64;
            let sigma = floor_sigma(var.sqrt(), mean);
            let score = (value - mean) / sigma;
            if self.side.flags(score, self.threshold) {
                alert = Some(Alert {
                    t,
                    value,
                    score,
                    kind: AlertKind::ZScore,
                    reason: format!(
                        "{value:.4} is {:.1} σ {} the mean {mean:.4} of the last {n} values",
                        score.abs(),
                        if score > 0.0 { "above" } else { "below" }
                    ),
                });
            }
        }
        if alert.is_some() && self.exclude_flagged {
            return alert;
        }
        s.window.push_back(value);
        while s.window.len() > self.window {
            s.window.pop_front();
        }
        alert
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
        if self.window < 2
            || self.min_points > self.window
            || self.threshold.is_nan()
            || self.threshold <= 0.0
        {
            return Err(Error::InvalidArgument(format!(
                "rolling z-score: need window ≥ 2, 2 ≤ min_points ≤ window and a positive \
                 threshold, got window {}, min_points {}, threshold {}",
                self.window, self.min_points, self.threshold
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
