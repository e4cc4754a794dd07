//! Per-key anomaly detectors. Each emits an [`Alert`] — the time, the value, a score and the
//! reason — for the points it flags, and nothing for the others:
//!
//! - [`RollingZScore`]: how many standard deviations a value lies from the mean of the key's
//!   previous `window` values (spikes and outliers);
//! - [`EwmaChart`]: an exponentially weighted moving average control chart against a
//!   baseline learned from the key's first points (slow drifts);
//! - [`residual_alerts`]: the [lag model](crate::lag_model)'s residual beyond k times its
//!   recent standard deviation (values the model did not expect).
//!
//! Values that are NaN or infinite are never scored: they are counted in the key's state and
//! leave it unchanged.

mod ewma;
mod residual;
mod zscore;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sluice_core::{Data, Key};
use sluice_streaming::state::{State, StateSpec};
use sluice_streaming::{DStream, Time};

pub use ewma::{EwmaChart, EwmaState};
pub use residual::{residual_alert, residual_alerts};
pub use zscore::{RollingZScore, Side, ZScoreState};

/// Which detector raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertKind {
    /// [`RollingZScore`].
    ZScore,
    /// [`EwmaChart`].
    Ewma,
    /// [`residual_alerts`].
    Residual,
}

/// A flagged point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The point's time.
    pub t: i64,
    /// The point's value.
    pub value: f64,
    /// The detector's score: standard deviations from what was expected (signed).
    pub score: f64,
    /// The detector.
    pub kind: AlertKind,
    /// Why, in words.
    pub reason: String,
}

/// A spread this small (relative to the level) is treated as this much, so that a value
/// leaving a constant series gets a large, finite score.
pub(crate) fn floor_sigma(sigma: f64, level: f64) -> f64 {
    sigma.max(1e-9 * level.abs().max(1.0))
}

/// Runs a detector's `observe(state, t, value)` per key of `stream` in `map_with_state` (its
/// state named `name`, if given, for checkpoints) and keeps the alerts.
pub(crate) fn detect_per_key<K, S>(
    stream: &DStream<(K, (i64, f64))>,
    name: Option<&str>,
    observe: impl Fn(&mut S, i64, f64) -> Option<Alert> + Send + Sync + 'static,
) -> DStream<(K, Alert)>
where
    K: Key + Serialize + DeserializeOwned,
    S: Data + Default + Serialize + DeserializeOwned,
{
    let spec = StateSpec::function(
        move |_t: Time, k: &K, v: Option<(i64, f64)>, s: &mut State<S>| {
            let (t, value) = v?;
            if s.is_timing_out() {
                return None;
            }
            if !s.exists() {
                s.update(S::default()).ok()?;
            }
            let alert = observe(s.get_mut().ok()?, t, value);
            Some((k.clone(), alert))
        },
    );
    let states = stream.map_with_state(spec);
    if let Some(name) = name {
        states.set_name(name);
    }
    states
        .stream()
        .flat_map(|(k, a): (K, Option<Alert>)| a.map(|a| (k, a)))
}
