//! The Kafka protocol client, on `rdkafka` (librdkafka, built from source).
//!
//! - [`MetadataClient`]: the driver's consumer, never subscribed: partitions of topics,
//!   earliest and latest offsets, the group's committed offsets, and commits.
//! - [`PartitionReader`]: reads one offset range in a task, with a cache of consumers, one
//!   per partition, that stay positioned where the last range ended so that consecutive
//!   batches continue the same fetch. Between ranges a consumer's partition is paused: an
//!   idle consumer then sends no fetch requests at all (some brokers spend a core answering
//!   long-polling fetches at the end of a partition).
//!
//! Every broker failure becomes an [`Error::External`] that says what was being done.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use sluice_core::{Error, Result};

use super::offsets::{OffsetRange, TopicPartition};

/// An error from Kafka while doing `what`.
pub(crate) fn kafka_error(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error::External {
        system: "kafka",
        message: format!("{what}: {e}"),
    }
}

/// Queues `record` on `producer`, serving delivery reports and retrying while the local
/// queue is full; other errors are returned as they are.
pub(crate) fn send_with_retry<'a, C, K, P, D>(
    producer: &rdkafka::producer::BaseProducer<C>,
    record: rdkafka::producer::BaseRecord<'a, K, P, D>,
) -> std::result::Result<(), KafkaError>
where
    C: rdkafka::producer::ProducerContext<DeliveryOpaque = D>,
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
    D: rdkafka::util::IntoOpaque,
{
    let mut attempt = record;
    loop {
        match producer.send(attempt) {
            Ok(()) => return Ok(()),
            Err((
                KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull),
                back,
            )) => {
                producer.poll(Duration::from_millis(10));
                attempt = back;
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// The client options given by the program (librdkafka's property names).
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientOptions {
    pub properties: BTreeMap<String, String>,
}

impl ClientOptions {
    /// Options naming only the brokers.
    pub(crate) fn for_servers(servers: &str) -> Self {
        let mut o = ClientOptions::default();
        o.properties
            .insert("bootstrap.servers".into(), servers.into());
        o
    }

    pub(crate) fn servers(&self) -> &str {
        self.properties
            .get("bootstrap.servers")
            .map_or("(no bootstrap.servers)", String::as_str)
    }

    pub(crate) fn group_id(&self) -> Option<&str> {
        self.properties.get("group.id").map(String::as_str)
    }

    fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }

    /// The driver's consumer: commits for the group, never reads.
    pub(crate) fn metadata_config(&self) -> ClientConfig {
        let mut c = self.base();
        c.set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("allow.auto.create.topics", "false");
        if self.group_id().is_none() {
            c.set("group.id", "sluice-driver");
        }
        c
    }

    /// A reading consumer: explicit offsets, no commits, no silent reset (an offset that the
    /// broker no longer has is an error, not a jump).
    pub(crate) fn reader_config(&self) -> ClientConfig {
        let mut c = self.base();
        let group = format!("{}-executor", self.group_id().unwrap_or("sluice"));
        c.set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "error")
            .set("allow.auto.create.topics", "false");
        c
    }
}

/// The driver's view of the cluster.
pub(crate) struct MetadataClient {
    consumer: BaseConsumer,
    timeout: Duration,
    servers: String,
}

impl MetadataClient {
    /// Connects and checks that a broker answers within `timeout`.
    pub(crate) fn connect(options: &ClientOptions, timeout: Duration) -> Result<Self> {
        let servers = options.servers().to_string();
        let consumer: BaseConsumer = options
            .metadata_config()
            .create()
            .map_err(|e| kafka_error(format!("creating a consumer for {servers}"), e))?;
        consumer.fetch_metadata(None, timeout).map_err(|e| {
            kafka_error(
                format!(
                    "cannot reach the Kafka broker(s) at {servers} within {} ms",
                    timeout.as_millis()
                ),
                e,
            )
        })?;
        Ok(MetadataClient {
            consumer,
            timeout,
            servers,
        })
    }

    /// The partitions of `topic`; an error naming the topic when it does not exist.
    pub(crate) fn partitions(&self, topic: &str) -> Result<Vec<i32>> {
        let md = self
            .consumer
            .fetch_metadata(Some(topic), self.timeout)
            .map_err(|e| {
                kafka_error(
                    format!("metadata of topic {topic:?} from {}", self.servers),
                    e,
                )
            })?;
        let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
            return Err(kafka_error(
                format!("topic {topic:?}"),
                "does not exist on the broker",
            ));
        };
        if let Some(e) = t.error() {
            let code = rdkafka::types::RDKafkaErrorCode::from(e);
            return Err(kafka_error(
                format!("topic {topic:?}"),
                if code == rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition {
                    "does not exist on the broker".to_string()
                } else {
                    code.to_string()
                },
            ));
        }
        if t.partitions().is_empty() {
            return Err(kafka_error(
                format!("topic {topic:?}"),
                "does not exist on the broker (no partitions)",
            ));
        }
        let mut ps: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
        ps.sort_unstable();
        Ok(ps)
    }

    /// The earliest and latest offsets of `tp`.
    pub(crate) fn watermarks(&self, tp: &TopicPartition) -> Result<(i64, i64)> {
        self.consumer
            .fetch_watermarks(&tp.topic, tp.partition, self.timeout)
            .map_err(|e| kafka_error(format!("offsets of {tp}"), e))
    }

    /// The group's committed offsets of `tps` (`None` where it has none).
    pub(crate) fn committed(
        &self,
        tps: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<i64>>> {
        let mut list = TopicPartitionList::new();
        for tp in tps {
            list.add_partition(&tp.topic, tp.partition);
        }
        let got = self
            .consumer
            .committed_offsets(list, self.timeout)
            .map_err(|e| kafka_error("the group's committed offsets", e))?;
        Ok(tps
            .iter()
            .map(|tp| {
                let off =
                    got.find_partition(&tp.topic, tp.partition)
                        .and_then(|e| match e.offset() {
                            Offset::Offset(n) if n >= 0 => Some(n),
                            _ => None,
                        });
                (tp.clone(), off)
            })
            .collect())
    }

    /// Commits `offsets` (the next offset to read, per partition) for the group.
    pub(crate) fn commit(&self, offsets: &BTreeMap<TopicPartition, i64>, sync: bool) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for (tp, off) in offsets {
            list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*off))
                .map_err(|e| kafka_error(format!("committing {tp}"), e))?;
        }
        let mode = if sync {
            CommitMode::Sync
        } else {
            CommitMode::Async
        };
        self.consumer
            .commit(&list, mode)
            .map_err(|e| kafka_error("committing offsets", e))?;
        // Serves the client's queue (commit results of earlier asynchronous commits).
        let _ = self.consumer.poll(Duration::ZERO);
        Ok(())
    }
}

/// A record as read, before decoding.
pub(crate) struct RawRecord {
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl RawRecord {
    /// The record of `topic`'s `partition` with its key and value decoded as given.
    pub(crate) fn into_record<K, V>(
        self,
        topic: &Arc<str>,
        partition: i32,
        key: K,
        value: V,
    ) -> super::record::ConsumerRecord<K, V> {
        super::record::ConsumerRecord {
            topic: Arc::clone(topic),
            partition,
            offset: self.offset,
            timestamp: self.timestamp,
            key,
            value,
            headers: self.headers,
        }
    }
}

struct Positioned {
    consumer: BaseConsumer,
    /// The offset the next poll returns, when known.
    next: Option<i64>,
}

/// Reads offset ranges, reusing one consumer per partition.
pub(crate) struct PartitionReader {
    options: ClientOptions,
    poll_timeout: Duration,
    capacity: usize,
    cache: Mutex<HashMap<TopicPartition, Arc<Mutex<Positioned>>>>,
}

impl PartitionReader {
    pub(crate) fn new(options: ClientOptions, poll_timeout: Duration, capacity: usize) -> Self {
        PartitionReader {
            options,
            poll_timeout,
            capacity,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn consumer_for(&self, tp: &TopicPartition) -> Result<Arc<Mutex<Positioned>>> {
        if let Some(c) = self.cache.lock().get(tp) {
            return Ok(Arc::clone(c));
        }
        let consumer: BaseConsumer = self
            .options
            .reader_config()
            .create()
            .map_err(|e| kafka_error(format!("creating a consumer for {tp}"), e))?;
        let c = Arc::new(Mutex::new(Positioned {
            consumer,
            next: None,
        }));
        let mut cache = self.cache.lock();
        if cache.len() < self.capacity {
            cache.insert(tp.clone(), Arc::clone(&c));
        }
        Ok(c)
    }

    fn forget(&self, tp: &TopicPartition) {
        self.cache.lock().remove(tp);
    }

    /// The records of `range`, in offset order.
    pub(crate) fn read(&self, range: &OffsetRange) -> Result<Vec<RawRecord>> {
        if range.count() == 0 {
            return Ok(Vec::new());
        }
        let tp = range.topic_partition();
        let cached = self.consumer_for(&tp)?;
        let mut c = cached.lock();
        let result = Self::read_with(&mut c, range, self.poll_timeout);
        if result.is_err() {
            drop(c);
            self.forget(&tp);
        }
        result
    }

    fn read_with(
        c: &mut Positioned,
        range: &OffsetRange,
        timeout: Duration,
    ) -> Result<Vec<RawRecord>> {
        let what = || format!("reading {range}");
        if c.next != Some(range.from_offset) {
            let mut list = TopicPartitionList::new();
            list.add_partition_offset(
                &range.topic,
                range.partition,
                Offset::Offset(range.from_offset),
            )
            .map_err(|e| kafka_error(what(), e))?;
            c.consumer
                .assign(&list)
                .map_err(|e| kafka_error(what(), e))?;
            c.next = None;
        }
        let mut out = Vec::with_capacity(range.count().min(1 << 20) as usize);
        let mut next = range.from_offset;
        let deadline = Instant::now() + timeout;
        while next < range.until_offset {
            match c.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    let off = m.offset();
                    if off < next {
                        continue;
                    }
                    if off >= range.until_offset {
                        // A gap at the end of the range (compaction, markers): the consumer
                        // is now past the record it returned.
                        c.next = None;
                        return Ok(out);
                    }
                    let headers = m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|x| (x.key.to_string(), x.value.map(<[u8]>::to_vec)))
                                .collect()
                        })
                        .unwrap_or_default();
                    out.push(RawRecord {
                        offset: off,
                        timestamp: m.timestamp().to_millis(),
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                        headers,
                    });
                    next = off + 1;
                }
                Some(Err(e)) => {
                    if let KafkaError::MessageConsumption(code) = &e {
                        if *code == rdkafka::types::RDKafkaErrorCode::AutoOffsetReset
                            || *code == rdkafka::types::RDKafkaErrorCode::OffsetOutOfRange
                        {
                            return Err(kafka_error(
                                what(),
                                format!(
                                    "offset {next} is no longer on the broker (deleted by \
                                     retention?): {e}"
                                ),
                            ));
                        }
                    }
                    if Instant::now() >= deadline {
                        return Err(kafka_error(what(), e));
                    }
                }
                None => {
                    if Instant::now() >= deadline {
                        return Err(kafka_error(
                            what(),
                            format!(
                                "got to offset {next} in {} ms (sluice.kafka.pollTimeout); is \
                                 the broker reachable?",
                                timeout.as_millis()
                            ),
                        ));
                    }
                    // The range may end in a gap that no record will fill.
                    if let Ok(pos) = c.consumer.position() {
                        if let Some(Offset::Offset(p)) = pos
                            .find_partition(&range.topic, range.partition)
                            .map(|e| e.offset())
                        {
                            if p >= range.until_offset {
                                c.next = Some(p);
                                return Ok(out);
                            }
                        }
                    }
                }
            }
        }
        c.next = Some(next);
        Ok(out)
    }
}
