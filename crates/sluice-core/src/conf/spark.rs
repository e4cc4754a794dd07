//! `spark.*` keys of a ported job: those with a Sluice equivalent are renamed (with a notice,
//! so the user can update the job); those that only place a JVM driver on the network or
//! choose its serializer — meaningless for one Sluice process, and without effect on any
//! result — are ignored with a notice; and the rest are rejected with a message naming the
//! key — never silently ignored, since a setting the user relies on would then have no
//! effect.

use crate::error::{Error, Result};

/// Spark keys and the Sluice keys that mean the same.
pub const SPARK_EQUIVALENTS: &[(&str, &str)] = &[
    ("spark.master", "sluice.master"),
    ("spark.app.name", "sluice.app.name"),
    ("spark.default.parallelism", "sluice.default.parallelism"),
    ("spark.task.maxFailures", "sluice.task.maxFailures"),
    ("spark.local.dir", "sluice.local.dir"),
    (
        "spark.streaming.blockInterval",
        "sluice.streaming.blockInterval",
    ),
    (
        "spark.streaming.fileStream.minRememberDuration",
        "sluice.streaming.fileStream.minRememberDuration",
    ),
    (
        "spark.streaming.receiver.writeAheadLog.enable",
        "sluice.streaming.receiver.writeAheadLog.enable",
    ),
    (
        "spark.sql.streaming.multipleWatermarkPolicy",
        "sluice.streaming.multipleWatermarkPolicy",
    ),
    (
        "spark.streaming.backpressure.enabled",
        "sluice.streaming.backpressure.enabled",
    ),
    (
        "spark.streaming.backpressure.initialRate",
        "sluice.streaming.backpressure.initialRate",
    ),
    (
        "spark.streaming.backpressure.pid.proportional",
        "sluice.streaming.backpressure.pid.proportional",
    ),
    (
        "spark.streaming.backpressure.pid.integral",
        "sluice.streaming.backpressure.pid.integral",
    ),
    (
        "spark.streaming.backpressure.pid.derived",
        "sluice.streaming.backpressure.pid.derived",
    ),
    (
        "spark.streaming.backpressure.pid.minRate",
        "sluice.streaming.backpressure.pid.minRate",
    ),
    (
        "spark.streaming.kafka.maxRatePerPartition",
        "sluice.kafka.maxRatePerPartition",
    ),
    (
        "spark.streaming.kafka.minRatePerPartition",
        "sluice.kafka.minRatePerPartition",
    ),
    (
        "spark.streaming.kafka.consumer.poll.ms",
        "sluice.kafka.pollTimeout",
    ),
    (
        "spark.streaming.kafka.consumer.cache.maxCapacity",
        "sluice.kafka.consumer.cache.maxCapacity",
    ),
    ("spark.ui.enabled", "sluice.ui.enabled"),
    ("spark.ui.port", "sluice.ui.port"),
    (
        "spark.streaming.ui.retainedBatches",
        "sluice.ui.retainedBatches",
    ),
];

/// Spark keys with no meaning for a Sluice process (where a JVM driver binds, which JVM
/// serializer it uses): ignored, with a notice. No result, resource bound or guarantee
/// depends on them.
pub const SPARK_MOOT: &[&str] = &[
    "spark.driver.host",
    "spark.driver.bindAddress",
    "spark.driver.port",
    "spark.blockManager.port",
    "spark.serializer",
    "spark.kryo.registrator",
    "spark.kryoserializer.buffer",
    "spark.kryoserializer.buffer.max",
    "spark.logConf",
    "spark.python.worker.reuse",
];

/// The Sluice key for a Spark key, if there is one.
///
/// ```
/// use sluice_core::conf::spark::sluice_key;
/// assert_eq!(
///     sluice_key("spark.streaming.backpressure.enabled"),
///     Some("sluice.streaming.backpressure.enabled")
/// );
/// assert_eq!(sluice_key("spark.executor.memory"), None);
/// ```
pub fn sluice_key(spark_key: &str) -> Option<&'static str> {
    SPARK_EQUIVALENTS
        .iter()
        .find(|(s, _)| *s == spark_key)
        .map(|(_, k)| *k)
}

/// What translating a configuration's `spark.*` keys decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Translation {
    /// `(sluice key, value)` to set.
    pub renamed: Vec<(String, String)>,
    /// One line per renamed key, telling the user the Sluice name.
    pub notices: Vec<String>,
}

/// Decides what to do with the `spark.*` keys among `entries`: rename those with a Sluice
/// equivalent, ignore (with a notice) those in [`SPARK_MOOT`], reject the first of the others.
/// A Sluice key given as well wins over its Spark name (the notice says so).
///
/// ```
/// use sluice_core::conf::spark::translate;
/// let t = translate([("spark.ui.port", "4041")]).unwrap();
/// assert_eq!(t.renamed, vec![("sluice.ui.port".to_string(), "4041".to_string())]);
/// assert!(translate([("spark.executor.memory", "4g")]).is_err());
/// let moot = translate([("spark.driver.host", "127.0.0.1")]).unwrap();
/// assert!(moot.renamed.is_empty() && moot.notices[0].contains("ignored"));
/// ```
pub fn translate<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Translation> {
    let entries: Vec<(&str, &str)> = entries.into_iter().collect();
    let mut t = Translation::default();
    for &(key, value) in &entries {
        if !key.starts_with("spark.") {
            continue;
        }
        if SPARK_MOOT.contains(&key) {
            t.notices.push(format!(
                "configuration: {key} has no meaning for a Sluice process and is ignored"
            ));
            continue;
        }
        let Some(ours) = sluice_key(key) else {
            return Err(Error::config(
                key,
                value,
                "a Spark setting Sluice has no equivalent for; remove it (Sluice's settings \
                 are the sluice.* keys listed in the README)",
            ));
        };
        if entries.iter().any(|(k, _)| *k == ours) {
            t.notices.push(format!(
                "configuration: {key} is ignored because {ours} is set too"
            ));
            continue;
        }
        t.notices.push(format!(
            "configuration: {key} is read as {ours}; use that name in Sluice jobs"
        ));
        t.renamed.push((ours.to_string(), value.to_string()));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_equivalent_is_a_known_key() {
        for (spark, ours) in SPARK_EQUIVALENTS {
            assert!(spark.starts_with("spark."), "{spark}");
            assert!(super::super::keys::spec(ours).is_some(), "{ours}");
        }
    }

    #[test]
    fn a_sluice_key_wins_over_its_spark_name() {
        let t = translate([("spark.ui.port", "1"), ("sluice.ui.port", "2")]).unwrap();
        assert!(t.renamed.is_empty());
        assert!(t.notices[0].contains("ignored"), "{:?}", t.notices);
    }

    #[test]
    fn unknown_spark_keys_are_named() {
        let e = translate([("spark.executor.cores", "4")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("spark.executor.cores"), "{e}");
    }
}
