//! Offsets and their planning: topic partitions, offset ranges, where a stream starts, and
//! the pure decision of which range each partition reads in a batch (rate limits included).
//!
//! Nothing here talks to a broker, so the planning rules are tested without one.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A partition of a Kafka topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// The partition `partition` of `topic`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// The records of one partition a batch reads: offsets `from_offset` (included) to
/// `until_offset` (excluded), as Spark's `OffsetRange`.
///
/// ```
/// use sluice_connectors::kafka::OffsetRange;
/// let r = OffsetRange::new("events", 2, 10, 25);
/// assert_eq!(r.count(), 15);
/// assert_eq!(r.to_string(), "events-2 [10, 25)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetRange {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The first offset read.
    pub from_offset: i64,
    /// The offset after the last one read.
    pub until_offset: i64,
}

impl OffsetRange {
    /// A range of `topic`'s partition `partition`.
    pub fn new(
        topic: impl Into<String>,
        partition: i32,
        from_offset: i64,
        until_offset: i64,
    ) -> Self {
        OffsetRange {
            topic: topic.into(),
            partition,
            from_offset,
            until_offset,
        }
    }

    /// The topic partition.
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.partition)
    }

    /// How many offsets the range spans (records, unless the log has gaps).
    pub fn count(&self) -> u64 {
        (self.until_offset - self.from_offset).max(0) as u64
    }
}

impl fmt::Display for OffsetRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{} [{}, {})",
            self.topic, self.partition, self.from_offset, self.until_offset
        )
    }
}

/// What to do for a partition that has no position to start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// Start at the earliest offset the broker still has.
    #[default]
    Earliest,
    /// Start at the end: only records produced from now on.
    Latest,
}

/// Where a new stream (one not recovered from a checkpoint) starts reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartingOffsets {
    /// The earliest offset of every partition.
    Earliest,
    /// The end of every partition.
    Latest,
    /// The consumer group's committed offsets; partitions without one use `otherwise`.
    Committed {
        /// For partitions the group has not committed.
        otherwise: OffsetReset,
    },
    /// These offsets; partitions not listed start at the earliest offset.
    Specific(BTreeMap<TopicPartition, i64>),
}

/// Rate limits of a direct stream, in records per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Cap per partition (`None`: no fixed cap).
    pub max_rate_per_partition: Option<f64>,
    /// Floor per partition, so that every partition with a lag makes progress (Spark: 1).
    pub min_rate_per_partition: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            max_rate_per_partition: None,
            min_rate_per_partition: 1,
        }
    }
}

/// The most records each partition may read in one batch, by Spark's rule
/// (`maxMessagesPerPartition`): with a total rate (from backpressure) the rate is shared
/// among partitions in proportion to their lag and capped by the per-partition maximum;
/// without one, the per-partition maximum applies. Each limit is
/// `max(rate × batch seconds, min_rate_per_partition)`. `None` when nothing limits the batch.
///
/// `lag` is each partition's `latest − current` offset (negative counts as 0).
///
/// ```
/// use std::collections::BTreeMap;
/// use std::time::Duration;
/// use sluice_connectors::kafka::{max_messages_per_partition, RateLimits, TopicPartition};
/// let lag = BTreeMap::from([(TopicPartition::new("t", 0), 300), (TopicPartition::new("t", 1), 100)]);
/// // 1000 records/s shared 3:1 over a 2-second batch.
/// let m = max_messages_per_partition(&lag, Some(1000.0), RateLimits::default(), Duration::from_secs(2)).unwrap();
/// assert_eq!(m[&TopicPartition::new("t", 0)], 1500);
/// assert_eq!(m[&TopicPartition::new("t", 1)], 500);
/// ```
pub fn max_messages_per_partition(
    lag: &BTreeMap<TopicPartition, i64>,
    total_rate: Option<f64>,
    limits: RateLimits,
    batch: Duration,
) -> Option<BTreeMap<TopicPartition, u64>> {
    let cap = limits.max_rate_per_partition.filter(|r| *r > 0.0);
    let per_partition: BTreeMap<&TopicPartition, f64> = match total_rate.filter(|r| *r > 0.0) {
        Some(rate) => {
            let total_lag: i64 = lag.values().map(|l| (*l).max(0)).sum();
            if total_lag == 0 {
                // Nothing to read anywhere: no limit is needed (and Spark's shares are 0/0).
                return None;
            }
            lag.iter()
                .map(|(tp, l)| {
                    let share = (*l).max(0) as f64 / total_lag as f64 * rate;
                    (tp, cap.map_or(share, |c| share.min(c)))
                })
                .collect()
        }
        None => lag.keys().map(|tp| (tp, cap.unwrap_or(0.0))).collect(),
    };
    if per_partition.values().sum::<f64>() <= 0.0 {
        return None;
    }
    let secs = batch.as_secs_f64();
    Some(
        per_partition
            .into_iter()
            .map(|(tp, r)| {
                let n = (secs * r) as u64;
                (tp.clone(), n.max(limits.min_rate_per_partition))
            })
            .collect(),
    )
}

/// The ranges of one batch: each partition reads from its current offset to its latest,
/// or fewer when `max_messages` limits it. Partitions missing from `latest` read nothing.
///
/// ```
/// use std::collections::BTreeMap;
/// use sluice_connectors::kafka::{plan_ranges, OffsetRange, TopicPartition};
/// let tp = TopicPartition::new("t", 0);
/// let current = BTreeMap::from([(tp.clone(), 10)]);
/// let latest = BTreeMap::from([(tp.clone(), 50)]);
/// let limit = BTreeMap::from([(tp.clone(), 15)]);
/// assert_eq!(plan_ranges(&current, &latest, Some(&limit)), vec![OffsetRange::new("t", 0, 10, 25)]);
/// assert_eq!(plan_ranges(&current, &latest, None), vec![OffsetRange::new("t", 0, 10, 50)]);
/// ```
pub fn plan_ranges(
    current: &BTreeMap<TopicPartition, i64>,
    latest: &BTreeMap<TopicPartition, i64>,
    max_messages: Option<&BTreeMap<TopicPartition, u64>>,
) -> Vec<OffsetRange> {
    current
        .iter()
        .map(|(tp, &from)| {
            let end = latest.get(tp).copied().unwrap_or(from).max(from);
            let until = match max_messages.and_then(|m| m.get(tp)) {
                Some(&n) => end.min(from.saturating_add(i64::try_from(n).unwrap_or(i64::MAX))),
                None => end,
            };
            OffsetRange::new(tp.topic.clone(), tp.partition, from, until)
        })
        .collect()
}

/// The total rate (records/s) that `max_messages` allows over a batch of `batch`.
pub fn rate_of(max_messages: &BTreeMap<TopicPartition, u64>, batch: Duration) -> f64 {
    let secs = batch.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    max_messages.values().sum::<u64>() as f64 / secs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    #[test]
    fn fixed_cap_without_backpressure() {
        let lag = BTreeMap::from([(tp(0), 1000), (tp(1), 0)]);
        let limits = RateLimits {
            max_rate_per_partition: Some(100.0),
            min_rate_per_partition: 1,
        };
        let m = max_messages_per_partition(&lag, None, limits, Duration::from_millis(500)).unwrap();
        // 100/s × 0.5 s each, whatever the lag.
        assert_eq!(m, BTreeMap::from([(tp(0), 50), (tp(1), 50)]));
    }

    #[test]
    fn no_limit_at_all() {
        let lag = BTreeMap::from([(tp(0), 1000)]);
        assert_eq!(
            max_messages_per_partition(&lag, None, RateLimits::default(), Duration::from_secs(1)),
            None
        );
        // Backpressure with no lag: nothing to limit.
        assert_eq!(
            max_messages_per_partition(
                &BTreeMap::from([(tp(0), 0)]),
                Some(500.0),
                RateLimits::default(),
                Duration::from_secs(1)
            ),
            None
        );
    }

    #[test]
    fn backpressure_is_capped_and_floored() {
        let lag = BTreeMap::from([(tp(0), 900), (tp(1), 100), (tp(2), 0)]);
        let limits = RateLimits {
            max_rate_per_partition: Some(500.0),
            min_rate_per_partition: 3,
        };
        let m =
            max_messages_per_partition(&lag, Some(1000.0), limits, Duration::from_secs(1)).unwrap();
        // Shares 900, 100, 0; the first capped at 500; the last floored at 3.
        assert_eq!(m, BTreeMap::from([(tp(0), 500), (tp(1), 100), (tp(2), 3)]));
    }

    #[test]
    fn ranges_never_go_backwards() {
        let current = BTreeMap::from([(tp(0), 100)]);
        // The broker reports an end before our position (a truncated log): read nothing.
        let latest = BTreeMap::from([(tp(0), 40)]);
        assert_eq!(
            plan_ranges(&current, &latest, None),
            vec![OffsetRange::new("t", 0, 100, 100)]
        );
    }

    proptest! {
        /// Planned ranges start at the current offsets, never pass the latest, respect the
        /// per-partition limit, and read everything when nothing limits them.
        #[test]
        fn plan_respects_limits(
            parts in proptest::collection::vec((0i64..1000, 0i64..1000, proptest::option::of(0u64..500)), 1..8)
        ) {
            let mut current = BTreeMap::new();
            let mut latest = BTreeMap::new();
            let mut limit = BTreeMap::new();
            for (i, (c, extra, l)) in parts.iter().enumerate() {
                current.insert(tp(i as i32), *c);
                latest.insert(tp(i as i32), c + extra);
                if let Some(l) = l {
                    limit.insert(tp(i as i32), *l);
                }
            }
            let ranges = plan_ranges(&current, &latest, Some(&limit));
            prop_assert_eq!(ranges.len(), parts.len());
            for (i, r) in ranges.iter().enumerate() {
                let (c, extra, l) = parts[i];
                prop_assert_eq!(r.from_offset, c);
                prop_assert!(r.until_offset <= c + extra);
                let expected = match l { Some(l) => (extra as u64).min(l), None => extra as u64 };
                prop_assert_eq!(r.count(), expected);
            }
        }

        /// Backpressure shares never exceed the cap, and add up to about the rate.
        #[test]
        fn shares_follow_lag(
            lags in proptest::collection::vec(0i64..100_000, 1..8),
            rate in 1.0f64..1e6,
        ) {
            let lag: BTreeMap<_, _> = lags.iter().enumerate().map(|(i, l)| (tp(i as i32), *l)).collect();
            let limits = RateLimits { max_rate_per_partition: None, min_rate_per_partition: 0 };
            match max_messages_per_partition(&lag, Some(rate), limits, Duration::from_secs(1)) {
                None => prop_assert_eq!(lags.iter().sum::<i64>(), 0),
                Some(m) => {
                    let total: u64 = m.values().sum();
                    prop_assert!(total as f64 <= rate + 1e-6);
                    prop_assert!(total as f64 >= rate - lags.len() as f64);
                    for (tp, n) in &m {
                        if lag[tp] == 0 { prop_assert_eq!(*n, 0); }
                    }
                }
            }
        }
    }
}
