//! The direct stream: Spark's "direct approach" to Kafka, without a receiver.
//!
//! For each batch the driver fixes an offset range per partition — from where the previous
//! batch ended to the partition's latest offset, or less when a rate limit or backpressure
//! says so — and the batch's RDD has one partition per Kafka partition, each reading exactly
//! its range. The ranges are recorded in the checkpoint directory *before* the batch runs, so
//! a job restarted with `get_or_create` re-reads the very same ranges for the batches it had
//! generated but not completed, and resumes after them: with idempotent outputs, every record
//! counts exactly once.
//!
//! When the broker cannot be reached while planning a batch, the driver retries with
//! backoff (100 ms doubling to 5 s, cut short by a stop) and the batch waits; nothing is
//! skipped. A task that cannot read its range within `sluice.kafka.pollTimeout` fails and is
//! retried.
//!
//! The broker is never called while the source's state is locked: planning takes a snapshot
//! of the position under the lock, asks the broker for the latest offsets without it, decides
//! the ranges with the pure functions of [`offsets`](super::offsets), and stores the plan
//! under the lock again. So `offset_ranges`, input reports and checkpoints never wait for the
//! network. A failed offset commit is counted and kept (`commit_failures`,
//! `last_commit_error`, and the next batch's input description), not dropped.
//!
//! Errors the stream gets past — a broker away while planning, a failed commit — are also
//! posted to the listeners ([`StreamingListener::on_input_error`](sluice_streaming::StreamingListener::on_input_error)).
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | the stream handle ([`DirectKafkaStream`]) and [`ConsumerStrategy`] |
//! | `builder` | [`DirectStreamBuilder`]: settings checked before the stream is registered |
//! | `source` | the source's state and the engine's contract (start, allocate, complete, compute) |
//! | `planning` | the broker calls around the pure planning: partitions, starting offsets, ranges, commits |
//! | `replay` | what goes into the checkpoint: each batch's ranges, the position to resume from |

mod builder;
mod planning;
mod replay;
mod source;

use std::sync::Arc;

use sluice_core::Result;
pub use sluice_streaming::source::BadRecordReport;
use sluice_streaming::{DStream, Time};

use super::offsets::{OffsetRange, TopicPartition};
use super::record::ConsumerRecord;
pub use builder::{direct_stream, DirectStreamBuilder};
use source::DirectSource;

/// Which partitions a stream reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerStrategy {
    /// Every partition of these topics, including partitions added while the job runs.
    Subscribe(Vec<String>),
    /// Exactly these partitions.
    Assign(Vec<TopicPartition>),
}

/// A direct Kafka stream: the [`DStream`] of its records, and what it read for each batch.
pub struct DirectKafkaStream<K, V>
where
    K: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    stream: DStream<ConsumerRecord<K, V>>,
    source: Arc<DirectSource<K, V>>,
}

impl<K, V> DirectKafkaStream<K, V>
where
    K: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The stream of records (one RDD partition per Kafka partition).
    pub fn stream(&self) -> DStream<ConsumerRecord<K, V>> {
        self.stream.clone()
    }

    /// The offset ranges batch `time` reads (Spark's `HasOffsetRanges`), available from the
    /// time the batch is generated until well after it completed.
    pub fn offset_ranges(&self, time: Time) -> Option<Vec<OffsetRange>> {
        self.source
            .state
            .lock()
            .planned
            .get(&time)
            .map(|p| p.ranges.to_vec())
    }

    /// The rate limit in effect for batch `time`, records/s (`None`: unlimited).
    pub fn rate_limit(&self, time: Time) -> Option<u64> {
        self.source
            .state
            .lock()
            .planned
            .get(&time)
            .and_then(|p| p.rate_limit)
    }

    /// Commits `ranges` to the consumer group, asynchronously (Spark's `commitAsync`): each
    /// partition's committed offset becomes its range's `until_offset`, so ordinary Kafka
    /// tooling sees the group's lag. Call it after the outputs that used the ranges.
    pub fn commit_async(&self, ranges: &[OffsetRange]) -> Result<()> {
        let offsets = DirectSource::<K, V>::until_offsets(ranges);
        self.source.commit(&offsets, false)
    }

    /// Commits `ranges` and waits for the broker to confirm.
    pub fn commit_sync(&self, ranges: &[OffsetRange]) -> Result<()> {
        let offsets = DirectSource::<K, V>::until_offsets(ranges);
        self.source.commit(&offsets, true)
    }

    /// Records dropped because their key or value did not decode.
    pub fn bad_records(&self) -> BadRecordReport {
        self.source.bad.report()
    }

    /// The backpressure estimate, records/s, once there is one.
    pub fn estimated_rate(&self) -> Option<f64> {
        let r = self.source.state.lock().latest_rate;
        (r > 0.0).then_some(r)
    }

    /// The last error met while planning a batch (the broker unreachable, ...), while the
    /// stream is retrying.
    pub fn planning_error(&self) -> Option<String> {
        self.source.state.lock().last_error.clone()
    }

    /// How many offset commits failed (after a batch, at stop, or asked for).
    pub fn commit_failures(&self) -> u64 {
        self.source.state.lock().commit_failures
    }

    /// The last offset commit failure, if any.
    pub fn last_commit_error(&self) -> Option<String> {
        self.source.state.lock().last_commit_error.clone()
    }
}
