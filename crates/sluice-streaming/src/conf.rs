//! Streaming settings, read from the engine configuration (`sluice.streaming.*` keys).
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `sluice.streaming.clock` | `system` | `system`, `manual` (tests advance it by hand) or `step` (batches back to back, see `StepClock`) |
//! | `sluice.streaming.blockInterval` | `200ms` | how often receivers cut their data into blocks (partitions) |
//! | `sluice.streaming.receiver.maxBufferedRecords` | `1000000` | records a receiver may hold that are not yet processed; `store` blocks beyond it |
//! | `sluice.streaming.fileStream.minRememberDuration` | `60s` | how far back a directory stream looks for new files |
//! | `sluice.streaming.receiver.restartDelay` | `2s` | delay before a receiver restarts after an error (Spark's default) |
//! | `sluice.checkpoint.discardUnreferencedState` | `false` | start over in a checkpoint directory that has state files but no manifest (deleting them) instead of refusing to |
//! | `sluice.streaming.receiver.maxLineBytes` | `8m` | longest line a line-reading receiver (the socket source) accepts; a longer one is counted as a bad record and skipped |
//! | `sluice.streaming.receiver.writeAheadLog.enable` | `false` | receivers log what they store under the checkpoint directory before `store` returns, so nothing stored is lost in a crash ([`wal`](crate::checkpoint::wal)); needs a checkpoint directory |
//! | `sluice.streaming.multipleWatermarkPolicy` | `min` | how the watermark of several watermarked inputs combined (`Watermarked::union`) follows theirs: the slowest (`min`, Spark's default) or the fastest (`max`) |
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
/// Key of the permission to start over in a checkpoint directory whose manifests are lost.
pub const DISCARD_UNREFERENCED_STATE: &str = "sluice.checkpoint.discardUnreferencedState";
/// Key of the longest line a line-reading receiver accepts.
pub const MAX_LINE_BYTES: &str = "sluice.streaming.receiver.maxLineBytes";
/// Key of the receivers' write-ahead log.
pub const RECEIVER_WAL: &str = "sluice.streaming.receiver.writeAheadLog.enable";

/// Key of the policy combining the watermarks of several inputs.
pub const WATERMARK_POLICY: &str = "sluice.streaming.multipleWatermarkPolicy";

/// Every `sluice.streaming.*` key besides backpressure's, and the checkpoint keys.
pub const KEYS: [&str; 13] = [
    CLOCK,
    BLOCK_INTERVAL,
    MAX_BUFFERED_RECORDS,
    FILE_MIN_REMEMBER,
    RECEIVER_RESTART_DELAY,
    MAX_LINE_BYTES,
    DISCARD_UNREFERENCED_STATE,
    RECEIVER_WAL,
    WATERMARK_POLICY,
    crate::state::keyed::STORE,
    crate::state::keyed::STORE_DIR,
    crate::state::keyed::STORE_CACHE,
    crate::state::keyed::STORE_WRITE_BUFFER,
];

/// How the watermark of several watermarked inputs follows theirs
/// (`sluice.streaming.multipleWatermarkPolicy`, Spark's `multipleWatermarkPolicy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WatermarkPolicy {
    /// The slowest input's (Spark's default): nothing an input may still send is dropped.
    #[default]
    Min,
    /// The fastest input's: results sooner, data of slower inputs may be dropped as late.
    Max,
}

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
    /// The longest line a line-reading receiver accepts, in bytes.
    pub max_line_bytes: usize,
    /// Whether a job may start over in a checkpoint directory holding state but no manifest
    /// (that state is then deleted).
    pub discard_unreferenced_state: bool,
    /// Whether receivers write what they store to a write-ahead log before `store` returns.
    pub receiver_wal: bool,
    /// Backpressure (`sluice.streaming.backpressure.*`).
    pub backpressure: crate::backpressure::BackpressureSettings,
    /// How several inputs' watermarks combine.
    pub watermark_policy: WatermarkPolicy,
    /// The store of stateful operators whose spec names none (`sluice.streaming.stateStore.*`).
    pub state_store: crate::state::StoreKind,
}

impl StreamingSettings {
    /// Parses the `sluice.streaming.*` keys of `conf`.
    pub fn from_conf(conf: &Conf, _batch_interval: Duration) -> Result<Self> {
        for (k, v) in conf.iter() {
            if k.starts_with("sluice.streaming.")
                && !KEYS.contains(&k)
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
        let max_line_bytes = match conf.get(MAX_LINE_BYTES) {
            None => 8 << 20,
            Some(v) => match sluice_core::conf::parse_bytes(MAX_LINE_BYTES, v)? {
                0 => return Err(Error::config(MAX_LINE_BYTES, v, "must be positive")),
                n => usize::try_from(n).unwrap_or(usize::MAX),
            },
        };
        let discard_unreferenced_state = conf
            .get(DISCARD_UNREFERENCED_STATE)
            .map_or(Ok(false), |v| {
                sluice_core::conf::parse_bool(DISCARD_UNREFERENCED_STATE, v)
            })?;
        let receiver_wal = conf.get(RECEIVER_WAL).map_or(Ok(false), |v| {
            sluice_core::conf::parse_bool(RECEIVER_WAL, v)
        })?;
        let watermark_policy = match conf.get(WATERMARK_POLICY).map(str::trim) {
            None | Some("min") => WatermarkPolicy::Min,
            Some("max") => WatermarkPolicy::Max,
            Some(other) => {
                return Err(Error::config(
                    WATERMARK_POLICY,
                    other,
                    "expected min or max",
                ))
            }
        };
        Ok(StreamingSettings {
            state_store: crate::state::StoreKind::from_conf(conf)?,
            watermark_policy,
            receiver_wal,
            max_line_bytes,
            discard_unreferenced_state,
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

pub use sluice_core::conf::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine checks every key when a context is built: it must know these.
    #[test]
    fn the_engine_knows_every_streaming_key() {
        for k in KEYS.iter().chain(crate::backpressure::KEYS.iter()) {
            assert!(sluice_core::conf::keys::spec(k).is_some(), "{k}");
        }
    }
}
