//! Backpressure: Spark's PID rate estimator, and the settings that turn it on.
//!
//! After each completed batch a source that supports backpressure feeds the estimator the
//! batch's record count, processing delay and scheduling delay; the estimator answers with
//! the rate (records per second) the source should read at next, or `None` when the batch
//! carries no information. The formula and parameters are Spark's (`PIDRateEstimator`):
//!
//! ```text
//! processingRate  = records / processingDelay            (records/s)
//! error           = latestRate − processingRate
//! historicalError = schedulingDelay × processingRate / batchInterval
//! dError          = (error − latestError) / Δt           (Δt in seconds)
//! newRate         = max(minRate, latestRate − Kp·error − Ki·historicalError − Kd·dError)
//! ```
//!
//! A batch is skipped unless its time is after the last one seen, it had records and its
//! processing took time. The first valid batch only sets `latestRate` to its processing rate.
//!
//! Unlike Spark, the first batch is bounded: [`BackpressureSettings::initial_rate`] has a
//! default, so a job that starts behind a large backlog does not read all of it at once.
//!
//! The estimator is pure (no clock, no threads) and is tested on hand-computed sequences.

use std::time::Duration;

use sluice_core::{Conf, Error, Result};

use crate::time::Time;

/// Key: whether backpressure is on.
pub const ENABLED: &str = "sluice.streaming.backpressure.enabled";
/// Key: the rate of the first batch (records/s) while the estimator has no measurement.
pub const INITIAL_RATE: &str = "sluice.streaming.backpressure.initialRate";
/// Key: the PID's proportional gain.
pub const PID_PROPORTIONAL: &str = "sluice.streaming.backpressure.pid.proportional";
/// Key: the PID's integral gain.
pub const PID_INTEGRAL: &str = "sluice.streaming.backpressure.pid.integral";
/// Key: the PID's derivative gain.
pub const PID_DERIVED: &str = "sluice.streaming.backpressure.pid.derived";
/// Key: the lowest rate the estimator answers (records/s).
pub const PID_MIN_RATE: &str = "sluice.streaming.backpressure.pid.minRate";

/// Every backpressure key.
pub const KEYS: [&str; 6] = [
    ENABLED,
    INITIAL_RATE,
    PID_PROPORTIONAL,
    PID_INTEGRAL,
    PID_DERIVED,
    PID_MIN_RATE,
];

/// Default rate of the first batch when backpressure is on (records/s).
pub const DEFAULT_INITIAL_RATE: f64 = 10_000.0;

/// Validated backpressure settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BackpressureSettings {
    /// Whether sources adapt their rate to processing.
    pub enabled: bool,
    /// The first batch's rate, records/s.
    pub initial_rate: f64,
    /// Proportional gain (Spark: 1.0).
    pub proportional: f64,
    /// Integral gain (Spark: 0.2).
    pub integral: f64,
    /// Derivative gain (Spark: 0.0).
    pub derived: f64,
    /// Lowest rate, records/s (Spark: 100).
    pub min_rate: f64,
}

impl Default for BackpressureSettings {
    fn default() -> Self {
        BackpressureSettings {
            enabled: false,
            initial_rate: DEFAULT_INITIAL_RATE,
            proportional: 1.0,
            integral: 0.2,
            derived: 0.0,
            min_rate: 100.0,
        }
    }
}

impl BackpressureSettings {
    /// Parses the `sluice.streaming.backpressure.*` keys of `conf`.
    ///
    /// ```
    /// use sluice_core::Conf;
    /// use sluice_streaming::backpressure::BackpressureSettings;
    /// let conf = Conf::new().set("sluice.streaming.backpressure.enabled", "true");
    /// let s = BackpressureSettings::from_conf(&conf).unwrap();
    /// assert!(s.enabled);
    /// assert_eq!(s.min_rate, 100.0);
    /// let bad = Conf::new().set("sluice.streaming.backpressure.pid.minRate", "0");
    /// assert!(BackpressureSettings::from_conf(&bad).is_err());
    /// ```
    pub fn from_conf(conf: &Conf) -> Result<Self> {
        let d = BackpressureSettings::default();
        let enabled = match conf.get(ENABLED).map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => return Err(Error::config(ENABLED, v, "expected true or false")),
        };
        let num = |key: &str, default: f64, positive: bool| -> Result<f64> {
            match conf.get(key) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() && (x > 0.0 || (!positive && x >= 0.0)) => Ok(x),
                    _ => Err(Error::config(
                        key,
                        v,
                        if positive {
                            "expected a positive number"
                        } else {
                            "expected a number of at least 0"
                        },
                    )),
                },
            }
        };
        Ok(BackpressureSettings {
            enabled,
            initial_rate: num(INITIAL_RATE, d.initial_rate, true)?,
            proportional: num(PID_PROPORTIONAL, d.proportional, false)?,
            integral: num(PID_INTEGRAL, d.integral, false)?,
            derived: num(PID_DERIVED, d.derived, false)?,
            min_rate: num(PID_MIN_RATE, d.min_rate, true)?,
        })
    }
}

/// Spark's PID rate estimator.
///
/// ```
/// use std::time::Duration;
/// use sluice_streaming::backpressure::PidRateEstimator;
/// use sluice_streaming::Time;
/// let mut pid = PidRateEstimator::new(Duration::from_millis(1000), 1.0, 0.2, 0.0, 100.0);
/// let ms = Duration::from_millis;
/// // The first valid batch only measures: 1000 records in 500 ms = 2000 records/s.
/// assert_eq!(pid.compute(Time::from_millis(1000), 1000, ms(500), ms(0)), None);
/// // Then: 1000 records in 1000 ms (1000/s) with 500 ms of scheduling delay:
/// // error = 2000 − 1000 = 1000, historical = 0.5 s × 1000/s / 1 s = 500,
/// // rate = 2000 − 1000 − 0.2 × 500 = 900.
/// assert_eq!(pid.compute(Time::from_millis(2000), 1000, ms(1000), ms(500)), Some(900.0));
/// ```
#[derive(Debug, Clone)]
pub struct PidRateEstimator {
    batch_interval_ms: f64,
    proportional: f64,
    integral: f64,
    derivative: f64,
    min_rate: f64,
    first_run: bool,
    latest_time_ms: i64,
    latest_rate: f64,
    latest_error: f64,
}

impl PidRateEstimator {
    /// An estimator for batches of `batch_interval` with the given gains and floor.
    pub fn new(
        batch_interval: Duration,
        proportional: f64,
        integral: f64,
        derivative: f64,
        min_rate: f64,
    ) -> Self {
        PidRateEstimator {
            batch_interval_ms: batch_interval.as_secs_f64() * 1000.0,
            proportional,
            integral,
            derivative,
            min_rate,
            first_run: true,
            latest_time_ms: -1,
            latest_rate: -1.0,
            latest_error: -1.0,
        }
    }

    /// An estimator with the gains and floor of `settings`.
    pub fn from_settings(batch_interval: Duration, settings: &BackpressureSettings) -> Self {
        Self::new(
            batch_interval,
            settings.proportional,
            settings.integral,
            settings.derived,
            settings.min_rate,
        )
    }

    /// Feeds one completed batch; returns the new rate (records/s) when there is one.
    pub fn compute(
        &mut self,
        time: Time,
        num_elements: u64,
        processing_delay: Duration,
        scheduling_delay: Duration,
    ) -> Option<f64> {
        let t = time.millis();
        let processing_ms = processing_delay.as_secs_f64() * 1000.0;
        if !(t > self.latest_time_ms && num_elements > 0 && processing_ms > 0.0) {
            return None;
        }
        let delay_since_update = (t - self.latest_time_ms) as f64 / 1000.0;
        let processing_rate = num_elements as f64 / processing_ms * 1000.0;
        let error = self.latest_rate - processing_rate;
        let scheduling_ms = scheduling_delay.as_secs_f64() * 1000.0;
        let historical_error = scheduling_ms * processing_rate / self.batch_interval_ms;
        let d_error = (error - self.latest_error) / delay_since_update;
        let new_rate = (self.latest_rate
            - self.proportional * error
            - self.integral * historical_error
            - self.derivative * d_error)
            .max(self.min_rate);
        self.latest_time_ms = t;
        if self.first_run {
            self.latest_rate = processing_rate;
            self.latest_error = 0.0;
            self.first_run = false;
            None
        } else {
            self.latest_rate = new_rate;
            self.latest_error = error;
            Some(new_rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn pid() -> PidRateEstimator {
        PidRateEstimator::new(ms(1000), 1.0, 0.2, 0.0, 100.0)
    }

    #[test]
    fn first_valid_batch_only_initialises() {
        let mut p = pid();
        assert_eq!(p.compute(Time::from_millis(10), 10, ms(10), ms(0)), None);
        // Processing rate was 1000/s; with no error and no delay the rate stays there.
        assert_eq!(
            p.compute(Time::from_millis(20), 10, ms(10), ms(0)),
            Some(1000.0)
        );
    }

    #[test]
    fn skips_batches_without_information() {
        let mut p = pid();
        // No records, no processing time, not after the latest time: all skipped.
        assert_eq!(p.compute(Time::from_millis(10), 0, ms(10), ms(0)), None);
        assert_eq!(p.compute(Time::from_millis(10), 10, ms(0), ms(0)), None);
        assert_eq!(p.compute(Time::from_millis(10), 10, ms(10), ms(0)), None); // initialises
        assert_eq!(p.compute(Time::from_millis(10), 10, ms(10), ms(0)), None); // same time
        assert_eq!(p.compute(Time::from_millis(5), 10, ms(10), ms(0)), None); // older
    }

    #[test]
    fn slower_processing_lowers_the_rate() {
        let mut p = pid();
        // 2000/s at first; then processing slows to 500/s and the queue grows by a batch.
        p.compute(Time::from_millis(1000), 1000, ms(500), ms(0));
        let r = p
            .compute(Time::from_millis(2000), 1000, ms(2000), ms(1000))
            .unwrap();
        // error = 2000 − 500 = 1500; historical = 1000 × 500 / 1000 = 500;
        // rate = 2000 − 1500 − 0.2 × 500 = 400.
        assert!((r - 400.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn derivative_term_uses_seconds_since_the_last_update() {
        let mut p = PidRateEstimator::new(ms(1000), 1.0, 0.0, 1.0, 1.0);
        p.compute(Time::from_millis(1000), 1000, ms(1000), ms(0)); // 1000/s
        let r1 = p
            .compute(Time::from_millis(2000), 1000, ms(500), ms(0))
            .unwrap();
        // error = 1000 − 2000 = −1000; dError = (−1000 − 0) / 1 s;
        // rate = 1000 + 1000 + 1000 = 3000.
        assert!((r1 - 3000.0).abs() < 1e-9, "{r1}");
        let r2 = p
            .compute(Time::from_millis(4000), 1000, ms(500), ms(0))
            .unwrap();
        // error = 3000 − 2000 = 1000; dError = (1000 − (−1000)) / 2 s = 1000;
        // rate = 3000 − 1000 − 1000 = 1000.
        assert!((r2 - 1000.0).abs() < 1e-9, "{r2}");
    }

    #[test]
    fn never_below_the_floor() {
        let mut p = pid();
        p.compute(Time::from_millis(1000), 100_000, ms(10), ms(0)); // 10M/s
        let r = p
            .compute(Time::from_millis(2000), 10, ms(10_000), ms(100_000))
            .unwrap();
        assert_eq!(r, 100.0);
    }

    #[test]
    fn settings_reject_bad_values() {
        for (k, v) in [
            (ENABLED, "yes"),
            (INITIAL_RATE, "-5"),
            (INITIAL_RATE, "many"),
            (PID_INTEGRAL, "-0.1"),
            (PID_MIN_RATE, "0"),
        ] {
            let err = BackpressureSettings::from_conf(&Conf::new().set(k, v)).unwrap_err();
            assert!(err.to_string().contains(k), "{err}");
        }
        let s = BackpressureSettings::from_conf(
            &Conf::new()
                .set(ENABLED, "true")
                .set(INITIAL_RATE, "500")
                .set(PID_DERIVED, "0.5"),
        )
        .unwrap();
        assert_eq!(
            s,
            BackpressureSettings {
                enabled: true,
                initial_rate: 500.0,
                derived: 0.5,
                ..BackpressureSettings::default()
            }
        );
    }
}
