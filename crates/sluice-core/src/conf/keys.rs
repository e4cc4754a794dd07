//! Every configuration key of every layer, with the kind of value it takes, so that a
//! [`Context`](crate::Context) rejects a bad value or an unknown key when it is built — not
//! when the layer that reads it first starts (a UI, a Kafka stream), minutes into a run.
//!
//! The layers above the core (streaming, connectors, UI) still parse their own keys into
//! typed settings; their tests check that each of their keys is listed here with the same
//! rule.

use std::net::IpAddr;

use crate::error::{Error, Result};

use super::parse::{parse_bool, parse_bytes, parse_duration, parse_master, parse_positive};

/// What values a key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `local`, `local[N]` or `local[*]`.
    Master,
    /// Any text.
    Text,
    /// An integer of at least 1.
    PositiveInt,
    /// An integer of at least 0.
    NonNegativeInt,
    /// A byte size (`512m`).
    Bytes,
    /// A duration (`200ms`, `1s`), possibly zero.
    Duration,
    /// A duration greater than zero.
    PositiveDuration,
    /// `true` or `false`.
    Bool,
    /// A finite number greater than zero.
    PositiveNumber,
    /// A finite number of at least zero.
    NonNegativeNumber,
    /// A TCP port.
    Port,
    /// An IP address.
    IpAddress,
    /// One of the listed words.
    OneOf(&'static [&'static str]),
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// The key.
    pub key: &'static str,
    /// Its values.
    pub kind: ValueKind,
}

const fn k(key: &'static str, kind: ValueKind) -> KeySpec {
    KeySpec { key, kind }
}

/// Every `sluice.*` key the project reads.
pub const KEYS: &[KeySpec] = &[
    // The engine.
    k("sluice.master", ValueKind::Master),
    k("sluice.app.name", ValueKind::Text),
    k("sluice.default.parallelism", ValueKind::PositiveInt),
    k("sluice.task.maxFailures", ValueKind::PositiveInt),
    k("sluice.storage.memoryBytes", ValueKind::Bytes),
    k("sluice.local.dir", ValueKind::Text),
    k("sluice.lineage.maxDepth", ValueKind::PositiveInt),
    // Streaming.
    k(
        "sluice.streaming.clock",
        ValueKind::OneOf(&["system", "manual", "step"]),
    ),
    k(
        "sluice.streaming.blockInterval",
        ValueKind::PositiveDuration,
    ),
    k(
        "sluice.streaming.receiver.maxBufferedRecords",
        ValueKind::PositiveInt,
    ),
    k("sluice.streaming.receiver.maxLineBytes", ValueKind::Bytes),
    k(
        "sluice.streaming.receiver.restartDelay",
        ValueKind::Duration,
    ),
    k(
        "sluice.streaming.receiver.writeAheadLog.enable",
        ValueKind::Bool,
    ),
    k(
        "sluice.streaming.fileStream.minRememberDuration",
        ValueKind::Duration,
    ),
    k(
        "sluice.streaming.multipleWatermarkPolicy",
        ValueKind::OneOf(&["min", "max"]),
    ),
    k("sluice.streaming.backpressure.enabled", ValueKind::Bool),
    k(
        "sluice.streaming.backpressure.initialRate",
        ValueKind::PositiveNumber,
    ),
    k(
        "sluice.streaming.backpressure.pid.proportional",
        ValueKind::NonNegativeNumber,
    ),
    k(
        "sluice.streaming.backpressure.pid.integral",
        ValueKind::NonNegativeNumber,
    ),
    k(
        "sluice.streaming.backpressure.pid.derived",
        ValueKind::NonNegativeNumber,
    ),
    k(
        "sluice.streaming.backpressure.pid.minRate",
        ValueKind::PositiveNumber,
    ),
    k(
        "sluice.streaming.stateStore.kind",
        ValueKind::OneOf(&["memory", "disk"]),
    ),
    k("sluice.streaming.stateStore.dir", ValueKind::Text),
    k("sluice.streaming.stateStore.cacheSize", ValueKind::Bytes),
    k(
        "sluice.streaming.stateStore.writeBufferSize",
        ValueKind::Bytes,
    ),
    // Checkpoints.
    k(
        "sluice.checkpoint.discardUnreferencedState",
        ValueKind::Bool,
    ),
    // Kafka.
    k(
        "sluice.kafka.maxRatePerPartition",
        ValueKind::PositiveNumber,
    ),
    k(
        "sluice.kafka.minRatePerPartition",
        ValueKind::NonNegativeInt,
    ),
    k("sluice.kafka.pollTimeout", ValueKind::PositiveDuration),
    k("sluice.kafka.metadataTimeout", ValueKind::PositiveDuration),
    k(
        "sluice.kafka.consumer.cache.maxCapacity",
        ValueKind::PositiveInt,
    ),
    // The web UI.
    k("sluice.ui.enabled", ValueKind::Bool),
    k("sluice.ui.port", ValueKind::Port),
    k("sluice.ui.bind", ValueKind::IpAddress),
    k("sluice.ui.retainedBatches", ValueKind::PositiveInt),
];

/// The spec of a key, if it is one of [`KEYS`].
pub fn spec(key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|s| s.key == key)
}

fn number(key: &str, value: &str, positive: bool) -> Result<()> {
    match value.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && (x > 0.0 || (!positive && x >= 0.0)) => Ok(()),
        _ => Err(Error::config(
            key,
            value,
            if positive {
                "expected a positive number"
            } else {
                "expected a number of at least 0"
            },
        )),
    }
}

impl ValueKind {
    /// Checks a value of `key`.
    ///
    /// ```
    /// use sluice_core::conf::keys::ValueKind;
    /// assert!(ValueKind::Port.check("k", "4040").is_ok());
    /// assert!(ValueKind::Port.check("k", "70000").is_err());
    /// assert!(ValueKind::OneOf(&["a", "b"]).check("k", "c").is_err());
    /// ```
    pub fn check(self, key: &str, value: &str) -> Result<()> {
        match self {
            ValueKind::Master => parse_master(value).map(drop),
            ValueKind::Text => Ok(()),
            ValueKind::PositiveInt => parse_positive(key, value).map(drop),
            ValueKind::NonNegativeInt => value
                .trim()
                .parse::<u64>()
                .map(drop)
                .map_err(|_| Error::config(key, value, "expected an integer of at least 0")),
            ValueKind::Bytes => parse_bytes(key, value).map(drop),
            ValueKind::Duration => parse_duration(key, value).map(drop),
            ValueKind::PositiveDuration => {
                if parse_duration(key, value)?.is_zero() {
                    Err(Error::config(key, value, "must be positive"))
                } else {
                    Ok(())
                }
            }
            ValueKind::Bool => parse_bool(key, value).map(drop),
            ValueKind::PositiveNumber => number(key, value, true),
            ValueKind::NonNegativeNumber => number(key, value, false),
            ValueKind::Port => value
                .trim()
                .parse::<u16>()
                .map(drop)
                .map_err(|_| Error::config(key, value, "expected a port number")),
            ValueKind::IpAddress => value
                .trim()
                .parse::<IpAddr>()
                .map(drop)
                .map_err(|_| Error::config(key, value, "expected an IP address")),
            ValueKind::OneOf(words) => {
                if words.contains(&value.trim()) {
                    Ok(())
                } else {
                    Err(Error::config(
                        key,
                        value,
                        format!("expected one of {}", words.join(", ")),
                    ))
                }
            }
        }
    }
}

/// Checks every `sluice.*` key of a configuration: known, with a valid value.
pub fn validate<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<()> {
    for (key, value) in entries {
        if !key.starts_with("sluice.") {
            continue;
        }
        match spec(key) {
            Some(s) => s.kind.check(key, value)?,
            None => return Err(Error::config(key, value, "unknown configuration key")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_prefixed() {
        let mut seen = std::collections::BTreeSet::new();
        for s in KEYS {
            assert!(s.key.starts_with("sluice."), "{}", s.key);
            assert!(seen.insert(s.key), "{} listed twice", s.key);
        }
    }

    #[test]
    fn every_layer_is_checked() {
        for (key, bad) in [
            ("sluice.streaming.clock", "sundial"),
            ("sluice.streaming.blockInterval", "0"),
            ("sluice.kafka.pollTimeout", "later"),
            ("sluice.ui.port", "-1"),
            ("sluice.ui.bind", "localhost:80"),
            ("sluice.streaming.backpressure.pid.minRate", "0"),
        ] {
            let e = validate([(key, bad)]).unwrap_err().to_string();
            assert!(e.contains(key) && e.contains(bad), "{e}");
        }
        assert!(validate([("sluice.ui.typo", "1")]).is_err());
        assert!(validate([("other.key", "anything")]).is_ok());
    }
}
