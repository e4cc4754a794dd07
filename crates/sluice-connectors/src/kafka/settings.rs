//! The `sluice.kafka.*` settings of the engine configuration.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `sluice.kafka.maxRatePerPartition` | not set | records/s each partition may read at most (Spark's `spark.streaming.kafka.maxRatePerPartition`) |
//! | `sluice.kafka.minRatePerPartition` | `1` | records/s each partition with a lag reads at least, whatever backpressure says |
//! | `sluice.kafka.pollTimeout` | `60s` | how long a task waits for the records of its range before failing (it is then retried) |
//! | `sluice.kafka.metadataTimeout` | `10s` | how long one request for metadata or offsets may take |
//! | `sluice.kafka.consumer.cache.maxCapacity` | `64` | consumers kept open for reading partitions (Spark's default) |
//!
//! Backpressure itself is a streaming setting (`sluice.streaming.backpressure.*`).

use std::time::Duration;

use sluice_core::{Conf, Error, Result};
use sluice_streaming::conf::parse_duration;

use super::offsets::RateLimits;

/// Key: the per-partition rate cap.
pub const MAX_RATE_PER_PARTITION: &str = "sluice.kafka.maxRatePerPartition";
/// Key: the per-partition rate floor.
pub const MIN_RATE_PER_PARTITION: &str = "sluice.kafka.minRatePerPartition";
/// Key: how long a task waits for its records.
pub const POLL_TIMEOUT: &str = "sluice.kafka.pollTimeout";
/// Key: how long a metadata or offset request may take.
pub const METADATA_TIMEOUT: &str = "sluice.kafka.metadataTimeout";
/// Key: how many reading consumers are kept open.
pub const CONSUMER_CACHE_CAPACITY: &str = "sluice.kafka.consumer.cache.maxCapacity";

const KEYS: [&str; 5] = [
    MAX_RATE_PER_PARTITION,
    MIN_RATE_PER_PARTITION,
    POLL_TIMEOUT,
    METADATA_TIMEOUT,
    CONSUMER_CACHE_CAPACITY,
];

/// Validated Kafka settings.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSettings {
    /// Rate caps and floors.
    pub rate: RateLimits,
    /// How long a task waits for the records of its range.
    pub poll_timeout: Duration,
    /// How long one metadata or offset request may take.
    pub metadata_timeout: Duration,
    /// Reading consumers kept open.
    pub consumer_cache_capacity: usize,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            rate: RateLimits::default(),
            poll_timeout: Duration::from_secs(60),
            metadata_timeout: Duration::from_secs(10),
            consumer_cache_capacity: 64,
        }
    }
}

impl KafkaSettings {
    /// Parses the `sluice.kafka.*` keys of `conf`; an unknown key or a bad value is an error
    /// naming the key.
    ///
    /// ```
    /// use sluice_core::Conf;
    /// use sluice_connectors::kafka::KafkaSettings;
    /// let s = KafkaSettings::from_conf(&Conf::new().set("sluice.kafka.maxRatePerPartition", "500")).unwrap();
    /// assert_eq!(s.rate.max_rate_per_partition, Some(500.0));
    /// assert!(KafkaSettings::from_conf(&Conf::new().set("sluice.kafka.maxRate", "5")).is_err());
    /// ```
    pub fn from_conf(conf: &Conf) -> Result<Self> {
        for (k, v) in conf.iter() {
            if k.starts_with("sluice.kafka.") && !KEYS.contains(&k) {
                return Err(Error::config(k, v, "unknown configuration key"));
            }
        }
        let d = KafkaSettings::default();
        let max_rate = match conf.get(MAX_RATE_PER_PARTITION) {
            None => None,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Some(x),
                _ => {
                    return Err(Error::config(
                        MAX_RATE_PER_PARTITION,
                        v,
                        "expected a positive number of records per second",
                    ))
                }
            },
        };
        let int = |key: &str, default: u64, min: u64| -> Result<u64> {
            match conf.get(key) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n >= min => Ok(n),
                    _ => Err(Error::config(
                        key,
                        v,
                        format!("expected an integer of at least {min}"),
                    )),
                },
            }
        };
        let dur = |key: &str, default: Duration| -> Result<Duration> {
            let d = conf
                .get(key)
                .map_or(Ok(default), |v| parse_duration(key, v))?;
            if d.is_zero() {
                return Err(Error::config(key, "0", "must be positive"));
            }
            Ok(d)
        };
        Ok(KafkaSettings {
            rate: RateLimits {
                max_rate_per_partition: max_rate,
                min_rate_per_partition: int(MIN_RATE_PER_PARTITION, 1, 0)?,
            },
            poll_timeout: dur(POLL_TIMEOUT, d.poll_timeout)?,
            metadata_timeout: dur(METADATA_TIMEOUT, d.metadata_timeout)?,
            consumer_cache_capacity: int(CONSUMER_CACHE_CAPACITY, 64, 1)? as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine checks every key when a context is built: it must know these.
    #[test]
    fn the_engine_knows_every_kafka_key() {
        for k in KEYS {
            assert!(sluice_core::conf::keys::spec(k).is_some(), "{k}");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        for (k, v) in [
            (MAX_RATE_PER_PARTITION, "0"),
            (MAX_RATE_PER_PARTITION, "fast"),
            (MIN_RATE_PER_PARTITION, "-1"),
            (POLL_TIMEOUT, "0"),
            (METADATA_TIMEOUT, "later"),
            (CONSUMER_CACHE_CAPACITY, "0"),
            ("sluice.kafka.nope", "1"),
        ] {
            let e = KafkaSettings::from_conf(&Conf::new().set(k, v)).unwrap_err();
            assert!(e.to_string().contains(k), "{e}");
        }
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(
            KafkaSettings::from_conf(&Conf::new()).unwrap(),
            KafkaSettings::default()
        );
        let s = KafkaSettings::from_conf(
            &Conf::new()
                .set(MIN_RATE_PER_PARTITION, "0")
                .set(POLL_TIMEOUT, "5s")
                .set(CONSUMER_CACHE_CAPACITY, "2"),
        )
        .unwrap();
        assert_eq!(s.rate.min_rate_per_partition, 0);
        assert_eq!(s.poll_timeout, Duration::from_secs(5));
        assert_eq!(s.consumer_cache_capacity, 2);
    }
}
