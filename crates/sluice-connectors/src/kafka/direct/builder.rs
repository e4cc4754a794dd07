//! Building a direct stream: brokers, group, topics or partitions, starting offsets, commits
//! and rates, checked before the stream is registered.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex};
use sluice_core::{Error, Result};
use sluice_streaming::backpressure::PidRateEstimator;
use sluice_streaming::source::BadRecords;
use sluice_streaming::StreamingContext;

use super::super::client::{ClientOptions, MetadataClient, PartitionReader};
use super::super::offsets::{OffsetReset, StartingOffsets, TopicPartition};
use super::super::record::{Deserializer, StringDeserializer};
use super::super::settings::KafkaSettings;
use super::source::{DirectSource, State};
use super::{ConsumerStrategy, DirectKafkaStream};

/// Builds a [`DirectKafkaStream`]; see [`direct_stream`].
pub struct DirectStreamBuilder {
    ssc: StreamingContext,
    options: ClientOptions,
    strategy: Option<ConsumerStrategy>,
    starting: StartingOffsets,
    commit_after_batch: bool,
    name: Option<String>,
    max_rate_per_partition: Option<f64>,
}

/// Starts building a direct stream on `ssc` (Spark's `KafkaUtils.createDirectStream`).
///
/// ```no_run
/// use sluice_connectors::kafka::{direct_stream, StringDeserializer};
/// use sluice_streaming::{seconds, StreamingContext};
/// # fn main() -> sluice_core::Result<()> {
/// let ssc = StreamingContext::new(&sluice_core::Context::local(2)?, seconds(1))?;
/// let kafka = direct_stream(&ssc)
///     .bootstrap_servers("127.0.0.1:9092")
///     .group_id("word-count")
///     .subscribe(["events"])
///     .commit_offsets_after_batch(true)
///     .build(StringDeserializer, StringDeserializer)?;
/// kafka.stream().map(|r| r.value.unwrap_or_default()).print(10)?;
/// # Ok(()) }
/// ```
pub fn direct_stream(ssc: &StreamingContext) -> DirectStreamBuilder {
    DirectStreamBuilder {
        ssc: ssc.clone(),
        options: ClientOptions::default(),
        strategy: None,
        starting: StartingOffsets::Committed {
            otherwise: OffsetReset::Latest,
        },
        commit_after_batch: false,
        name: None,
        max_rate_per_partition: None,
    }
}

impl DirectStreamBuilder {
    /// The brokers to bootstrap from (`host:port[,host:port...]`).
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.options
            .properties
            .insert("bootstrap.servers".into(), servers.into());
        self
    }

    /// The consumer group (for committed offsets).
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.options
            .properties
            .insert("group.id".into(), group.into());
        self
    }

    /// Any other librdkafka consumer property (e.g. `fetch.max.bytes`).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.properties.insert(key.into(), value.into());
        self
    }

    /// Reads every partition of `topics`, including partitions added later.
    pub fn subscribe<S: Into<String>>(mut self, topics: impl IntoIterator<Item = S>) -> Self {
        self.strategy = Some(ConsumerStrategy::Subscribe(
            topics.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Reads exactly `partitions`.
    pub fn assign(mut self, partitions: impl IntoIterator<Item = TopicPartition>) -> Self {
        self.strategy = Some(ConsumerStrategy::Assign(partitions.into_iter().collect()));
        self
    }

    /// Where a new stream starts (default: the group's committed offsets, else the end, as
    /// a Kafka consumer with `auto.offset.reset=latest`). A stream recovered from a
    /// checkpoint always resumes where the checkpoint says.
    pub fn starting_offsets(mut self, starting: StartingOffsets) -> Self {
        self.starting = starting;
        self
    }

    /// Commits each batch's offsets to the group after its outputs succeeded.
    pub fn commit_offsets_after_batch(mut self, on: bool) -> Self {
        self.commit_after_batch = on;
        self
    }

    /// Overrides `sluice.kafka.maxRatePerPartition` for this stream.
    pub fn max_rate_per_partition(mut self, records_per_second: f64) -> Self {
        self.max_rate_per_partition = Some(records_per_second);
        self
    }

    /// The name that keys the stream's offsets in checkpoints (default `kafka:` and the
    /// topics); it must stay the same across restarts.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Connects, checks the topics, and registers the stream; keys and values are decoded
    /// with `keys` and `values`.
    pub fn build<KD: Deserializer, VD: Deserializer>(
        self,
        keys: KD,
        values: VD,
    ) -> Result<DirectKafkaStream<KD::Output, VD::Output>> {
        let strategy = self.strategy.ok_or_else(|| {
            Error::InvalidArgument(
                "a Kafka stream needs topics (subscribe) or partitions (assign)".into(),
            )
        })?;
        if !self.options.properties.contains_key("bootstrap.servers") {
            return Err(Error::InvalidArgument(
                "a Kafka stream needs bootstrap_servers".into(),
            ));
        }
        if self
            .options
            .properties
            .get("enable.auto.commit")
            .map(String::as_str)
            == Some("true")
        {
            return Err(Error::config(
                "enable.auto.commit",
                "true",
                "the direct stream commits offsets itself (commit_offsets_after_batch); \
                 automatic commits would mark records as read before they are processed",
            ));
        }
        let mut settings = KafkaSettings::from_conf(self.ssc.context().conf())?;
        if let Some(r) = self.max_rate_per_partition {
            if !(r.is_finite() && r > 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "max_rate_per_partition must be positive, got {r}"
                )));
            }
            settings.rate.max_rate_per_partition = Some(r);
        }
        let backpressure = self.ssc.settings().backpressure.clone();
        let client = MetadataClient::connect(&self.options, settings.metadata_timeout)?;
        let topics: Vec<String> = match &strategy {
            ConsumerStrategy::Subscribe(t) => t.clone(),
            ConsumerStrategy::Assign(tps) => {
                let mut t: Vec<String> = tps.iter().map(|tp| tp.topic.clone()).collect();
                t.dedup();
                t
            }
        };
        if topics.is_empty() {
            return Err(Error::InvalidArgument(
                "a Kafka stream needs at least one topic".into(),
            ));
        }
        for t in &topics {
            let parts = client.partitions(t)?;
            if let ConsumerStrategy::Assign(tps) = &strategy {
                for tp in tps.iter().filter(|tp| &tp.topic == t) {
                    if !parts.contains(&tp.partition) {
                        return Err(Error::External {
                            system: "kafka",
                            message: format!("partition {tp} does not exist"),
                        });
                    }
                }
            }
        }
        let name = self
            .name
            .unwrap_or_else(|| format!("kafka:{}", topics.join(",")));
        let reader = Arc::new(PartitionReader::new(
            self.options.clone(),
            settings.poll_timeout,
            settings.consumer_cache_capacity,
        ));
        let decode = move |topic: &Arc<str>, partition: i32, r: super::super::client::RawRecord| {
            let key = keys
                .deserialize(r.key.as_deref())
                .map_err(|e| format!("key: {e}"))?;
            let value = values
                .deserialize(r.value.as_deref())
                .map_err(|e| format!("value: {e}"))?;
            Ok(r.into_record(topic, partition, key, value))
        };
        let pid = backpressure
            .enabled
            .then(|| PidRateEstimator::from_settings(self.ssc.batch_interval(), &backpressure));
        let source = Arc::new(DirectSource {
            binding: OnceLock::new(),
            name,
            ctx: self.ssc.context().clone(),
            batch_interval: self.ssc.batch_interval(),
            strategy,
            starting: self.starting,
            settings,
            backpressure,
            commit_after_batch: self.commit_after_batch,
            client,
            reader,
            decode: Arc::new(decode),
            bad: Arc::new(BadRecords::default()),
            state: Mutex::new(State {
                current: BTreeMap::new(),
                positioned: false,
                planned: BTreeMap::new(),
                latest_rate: -1.0,
                pid,
                last_error: None,
                planning_errors: 0,
                last_commit: None,
                commit_failures: 0,
                last_commit_error: None,
            }),
            stopped: AtomicBool::new(false),
            stop_signal: Condvar::new(),
        });
        let stream = self
            .ssc
            .input_stream("kafka_direct_stream", Arc::clone(&source))?;
        Ok(DirectKafkaStream { stream, source })
    }

    /// [`build`](Self::build) with UTF-8 keys and values (`None` for nulls).
    pub fn build_strings(self) -> Result<DirectKafkaStream<Option<String>, Option<String>>> {
        self.build(StringDeserializer, StringDeserializer)
    }
}
