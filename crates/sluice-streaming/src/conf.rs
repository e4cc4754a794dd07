//! Streaming settings, read from the engine configuration (`sluice.streaming.*` keys).
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `sluice.streaming.clock` | `system` | `system`, `manual` (tests advance it by hand) or `step` (batches back to back, see `StepClock`) |
//! | `sluice.streaming.blockInterval` | `200ms` | how often receivers cut their data into blocks (partitions) |
//! | `sluice.streaming.receiver.maxBufferedRecords` | `1000000` | records a receiver may hold that are not yet processed; `store` blocks beyond it |
//! | `sluice.streaming.fileStream.minRememberDuration` | `60s` | how far back a directory stream looks for new files |
//! | `sluice.streaming.receiver.restartDelay` | `2s` | delay before a receiver restarts after an error (Spark's default) |
//! | `sluice.streaming.backpressure.enabled` | `false` | sources that support it adapt their rate to processing ([`backpressure`](crate::backpressure)) |
//! | `sluice.streaming.backpressure.initialRate` | `10000` | records/s of the first batch while backpressure has no measurement |
//! | `sluice.streaming.backpressure.pid.{proportional,integral,derived,minRate}` | `1.0`, `0.2`, `0.0`, `100` | the PID estimator's gains and floor (Spark's) |
//!
//! Durations accept `ms`, `s`, `m` and `h` suffixes.

use std::time::Duration;

use sluice_core::{Conf, Error, Result};

/// Key of the clock setting.
pub const CLOCK: &str = "sluice.streaming.clock";
/// Key of the block interval.
pub const BLOCK_INTERVAL: &str = "sluice.streaming.blockInterval";
/// Key of the receiver buffer bound.
pub const MAX_BUFFERED_RECORDS: &str = "sluice.streaming.receiver.maxBufferedRecords";
/// Key of the file stream's remember duration.
pub const FILE_MIN_REMEMBER: &str = "sluice.streaming.fileStream.minRememberDuration";
/// Key of the receiver restart delay.
pub const RECEIVER_RESTART_DELAY: &str = "sluice.streaming.receiver.restartDelay";

/// Validated streaming settings.
#[derive(Debug, Clone)]
pub struct StreamingSettings {
    /// Whether the context uses a manual clock.
    pub manual_clock: bool,
    /// Whether the context uses a step clock.
    pub step_clock: bool,
    /// Block interval of receivers.
    pub block_interval: Duration,
    /// Records a receiver may hold before `store` blocks.
    pub max_buffered_records: usize,
    /// How far back file streams look for new files.
    pub file_min_remember: Duration,
    /// Delay before a receiver restarts.
    pub receiver_restart_delay: Duration,
    /// Backpressure (`sluice.streaming.backpressure.*`).
    pub backpressure: crate::backpressure::BackpressureSettings,
}

impl StreamingSettings {
    /// Parses the `sluice.streaming.*` keys of `conf`.
    pub fn from_conf(conf: &Conf, _batch_interval: Duration) -> Result<Self> {
        let known = [
            CLOCK,
            BLOCK_INTERVAL,
            MAX_BUFFERED_RECORDS,
            FILE_MIN_REMEMBER,
            RECEIVER_RESTART_DELAY,
        ];
        for (k, v) in conf.iter() {
            if k.starts_with("sluice.streaming.")
                && !known.contains(&k)
                && !crate::backpressure::KEYS.contains(&k)
            {
                return Err(Error::config(k, v, "unknown configuration key"));
            }
        }
        let (manual_clock, step_clock) = match conf.get(CLOCK).unwrap_or("system") {
            "system" => (false, false),
            "manual" => (true, false),
            "step" => (false, true),
            other => {
                return Err(Error::config(
                    CLOCK,
                    other,
                    "expected system, manual or step",
                ))
            }
        };
        let dur = |key: &str, default: Duration| -> Result<Duration> {
            conf.get(key)
                .map_or(Ok(default), |v| parse_duration(key, v))
        };
        let block_interval = dur(BLOCK_INTERVAL, Duration::from_millis(200))?;
        if block_interval.is_zero() {
            return Err(Error::config(BLOCK_INTERVAL, "0", "must be positive"));
        }
        let max_buffered_records = match conf.get(MAX_BUFFERED_RECORDS) {
            None => 1_000_000,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(Error::config(
                        MAX_BUFFERED_RECORDS,
                        v,
                        "expected a positive integer",
                    ))
                }
            },
        };
        Ok(StreamingSettings {
            manual_clock,
            step_clock,
            block_interval,
            max_buffered_records,
            file_min_remember: dur(FILE_MIN_REMEMBER, Duration::from_secs(60))?,
            receiver_restart_delay: dur(RECEIVER_RESTART_DELAY, Duration::from_secs(2))?,
            backpressure: crate::backpressure::BackpressureSettings::from_conf(conf)?,
        })
    }
}

/// Parses a duration such as `200ms`, `1s`, `5m`, `1h` (a bare number is milliseconds).
///
/// ```
/// use sluice_streaming::conf::parse_duration;
/// assert_eq!(parse_duration("k", "1500ms").unwrap().as_millis(), 1500);
/// assert_eq!(parse_duration("k", "2s").unwrap().as_millis(), 2000);
/// assert!(parse_duration("k", "soon").is_err());
/// ```
pub fn parse_duration(key: &str, value: &str) -> Result<Duration> {
    let v = value.trim();
    let (num, mult) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = v.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (v, 1)
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .map(Duration::from_millis)
        .ok_or_else(|| Error::config(key, value, "expected a duration such as 200ms, 1s or 5m"))
}
