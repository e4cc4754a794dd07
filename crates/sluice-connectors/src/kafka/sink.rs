//! The Kafka sink: writes each batch of a DStream to a topic.
//!
//! Delivery is at-least-once per batch: the batch's tasks hand their records to the producer
//! without waiting, and the batch's output operation then waits once until the broker
//! acknowledged every record of the batch, and fails (the batch fails) otherwise; a batch that
//! runs again after a failure or a crash sends its records again. Records of one RDD
//! partition keep their order (the idempotent producer keeps the order of each Kafka
//! partition). Every record carries headers naming where it came from —
//! `sluice.batch.time` (the batch time, ms), `sluice.batch.partition` (the RDD partition) and
//! `sluice.batch.seq` (its index within the partition) — so a consumer can drop replays with
//! a [`ReplayFilter`]. The producer is idempotent (`enable.idempotence=true`), so the
//! broker itself drops duplicates of its own retries.
//!
//! End-to-end exactly-once with Kafka as the output would need Kafka transactions, which the
//! test broker does not implement; Sluice's exactly-once comes from its checkpoint plus
//! idempotent sinks (files replaced per batch, keyed upserts) or replay filtering by these
//! headers.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use sluice_core::{Data, Error, Rdd, Result};
use sluice_streaming::{DStream, Time};

use super::client::{kafka_error, send_with_retry};
use super::record::{ConsumerRecord, Serializer};

/// Header: the batch time (ms, decimal text).
pub const HEADER_BATCH_TIME: &str = "sluice.batch.time";
/// Header: the RDD partition the record was written from (decimal text).
pub const HEADER_PARTITION: &str = "sluice.batch.partition";
/// Header: the record's index within its partition (decimal text).
pub const HEADER_SEQ: &str = "sluice.batch.seq";

/// How the sink turns a record into a Kafka key (optional) and value.
pub type EncodeFn<T> = dyn Fn(&T) -> (Option<Vec<u8>>, Vec<u8>) + Send + Sync;

/// What was handed to the producer and what failed.
#[derive(Default)]
struct TaskDelivery {
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

/// The records of one batch (or one call) handed to a [`KafkaSink`] and not yet known to be
/// acknowledged: [`KafkaSink::hand_over`] adds to it, [`KafkaSink::await_delivery`] waits
/// for all of it.
#[derive(Clone, Default)]
pub struct Delivery {
    task: Arc<TaskDelivery>,
    sent: Arc<AtomicU64>,
}

impl Delivery {
    /// Nothing handed over yet.
    pub fn new() -> Delivery {
        Delivery::default()
    }
}

struct SinkContext;

impl ClientContext for SinkContext {}

impl ProducerContext for SinkContext {
    type DeliveryOpaque = Box<Arc<TaskDelivery>>;

    fn delivery(&self, result: &DeliveryResult<'_>, task: Self::DeliveryOpaque) {
        if let Err((e, _)) = result {
            task.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = task.first_error.lock();
            if first.is_none() {
                *first = Some(e.to_string());
            }
        }
    }
}

/// A producer writing to Kafka, shared by the tasks of every batch.
#[derive(Clone)]
pub struct KafkaSink {
    producer: Arc<BaseProducer<SinkContext>>,
    servers: String,
    flush_timeout: Duration,
    origin_headers: bool,
}

impl KafkaSink {
    /// A sink to the brokers at `servers`, with the idempotent producer.
    pub fn new(servers: &str) -> Result<KafkaSink> {
        Self::with_options(servers, &BTreeMap::new())
    }

    /// A sink with further librdkafka producer properties (they override the defaults:
    /// `enable.idempotence=true`, `linger.ms=5`).
    pub fn with_options(servers: &str, options: &BTreeMap<String, String>) -> Result<KafkaSink> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", servers)
            .set("enable.idempotence", "true")
            .set("linger.ms", "5");
        for (k, v) in options {
            c.set(k, v);
        }
        let producer: BaseProducer<SinkContext> = c
            .create_with_context(SinkContext)
            .map_err(|e| kafka_error(format!("creating a producer for {servers}"), e))?;
        Ok(KafkaSink {
            producer: Arc::new(producer),
            servers: servers.to_string(),
            flush_timeout: Duration::from_secs(60),
            origin_headers: true,
        })
    }

    /// Whether records carry the headers naming where they came from (default: they do; a
    /// [`ReplayFilter`] needs them). Without them records are smaller, and some brokers store
    /// them faster.
    pub fn origin_headers(mut self, on: bool) -> Self {
        self.origin_headers = on;
        self
    }

    /// How long a batch waits for the broker's acknowledgements (default 60 s).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Writes partition `partition` of batch `time`: `records` as (key, value) bytes.
    /// Returns when the broker acknowledged all of them; an error when any failed.
    pub fn send_partition(
        &self,
        topic: &str,
        time: Time,
        partition: usize,
        records: impl IntoIterator<Item = (Option<Vec<u8>>, Vec<u8>)>,
    ) -> Result<u64> {
        let delivery = Delivery::new();
        self.hand_over(topic, time, partition, records, &delivery)?;
        self.await_delivery(topic, &delivery)
    }

    /// Hands partition `partition` of batch `time` to the producer — `records` as (key,
    /// value) bytes, in order — without waiting for the broker; returns how many.
    /// [`await_delivery`](Self::await_delivery) on the same `delivery` waits for them.
    pub fn hand_over(
        &self,
        topic: &str,
        time: Time,
        partition: usize,
        records: impl IntoIterator<Item = (Option<Vec<u8>>, Vec<u8>)>,
        delivery: &Delivery,
    ) -> Result<u64> {
        let time_s = time.millis().to_string();
        let part_s = partition.to_string();
        let mut sent = 0u64;
        for (seq, (key, value)) in records.into_iter().enumerate() {
            let mut record =
                BaseRecord::with_opaque_to(topic, Box::new(Arc::clone(&delivery.task)))
                    .payload(&value);
            if self.origin_headers {
                let seq_s = seq.to_string();
                let headers = OwnedHeaders::new_with_capacity(3)
                    .insert(Header {
                        key: HEADER_BATCH_TIME,
                        value: Some(&time_s),
                    })
                    .insert(Header {
                        key: HEADER_PARTITION,
                        value: Some(&part_s),
                    })
                    .insert(Header {
                        key: HEADER_SEQ,
                        value: Some(&seq_s),
                    });
                record = record.headers(headers);
            }
            if let Some(k) = key.as_deref() {
                record = record.key(k);
            }
            send_with_retry(&self.producer, record).map_err(|e| {
                kafka_error(format!("writing to topic {topic:?} at {}", self.servers), e)
            })?;
            sent += 1;
        }
        // Once per partition: the counter is shared by the batch's tasks.
        delivery.sent.fetch_add(sent, Ordering::Relaxed);
        Ok(sent)
    }

    /// Waits until the broker acknowledged every record handed over with `delivery` (at
    /// most the flush timeout); returns how many; an error when any failed or the wait
    /// timed out.
    pub fn await_delivery(&self, topic: &str, delivery: &Delivery) -> Result<u64> {
        self.producer.flush(self.flush_timeout).map_err(|e| {
            kafka_error(
                format!(
                    "waiting for {} to acknowledge records of topic {topic:?}",
                    self.servers
                ),
                e,
            )
        })?;
        let sent = delivery.sent.load(Ordering::Relaxed);
        let failed = delivery.task.failed.load(Ordering::Relaxed);
        if failed > 0 {
            return Err(kafka_error(
                format!("writing to topic {topic:?}"),
                format!(
                    "{failed} of {sent} record(s) were not acknowledged: {}",
                    delivery.task.first_error.lock().clone().unwrap_or_default()
                ),
            ));
        }
        Ok(sent)
    }

    /// Writes every record of `rdd` (batch `time`) to `topic`: the partitions' tasks hand
    /// their records over in parallel, then this waits once for the broker's
    /// acknowledgements of all of them; returns how many were written.
    pub fn write_rdd<T: Data>(
        &self,
        rdd: &Rdd<T>,
        time: Time,
        topic: &str,
        encode: Arc<EncodeFn<T>>,
    ) -> Result<u64> {
        let delivery = Delivery::new();
        rdd.run_job(|chunks, task| {
            let mut records = Vec::new();
            for chunk in chunks {
                records.extend(chunk?.iter().map(|r| encode(r)));
            }
            self.hand_over(topic, time, task.partition, records, &delivery)
        })?;
        self.await_delivery(topic, &delivery)
    }
}

/// Writing a DStream to Kafka.
pub trait KafkaSinkExt<T> {
    /// Writes every batch to `topic`: each record becomes a Kafka record whose key and
    /// value `encode` gives.
    fn save_to_kafka(
        &self,
        sink: &KafkaSink,
        topic: &str,
        encode: impl Fn(&T) -> (Option<Vec<u8>>, Vec<u8>) + Send + Sync + 'static,
    ) -> Result<()>;
}

impl<T: Data> KafkaSinkExt<T> for DStream<T> {
    fn save_to_kafka(
        &self,
        sink: &KafkaSink,
        topic: &str,
        encode: impl Fn(&T) -> (Option<Vec<u8>>, Vec<u8>) + Send + Sync + 'static,
    ) -> Result<()> {
        let sink = sink.clone();
        let topic = topic.to_string();
        let encode: Arc<EncodeFn<T>> = Arc::new(encode);
        self.foreach_rdd(move |rdd, time| {
            sink.write_rdd(&rdd, time, &topic, Arc::clone(&encode))
                .map(|_| ())
        })
    }
}

/// Key-value streams with serializers for both (Spark's `key.serializer`/`value.serializer`).
pub trait KafkaPairSinkExt<K, V> {
    /// Writes every batch's `(key, value)` pairs to `topic`.
    fn save_pairs_to_kafka<KS: Serializer<K>, VS: Serializer<V>>(
        &self,
        sink: &KafkaSink,
        topic: &str,
        keys: KS,
        values: VS,
    ) -> Result<()>;
}

impl<K: Data, V: Data> KafkaPairSinkExt<K, V> for DStream<(K, V)> {
    fn save_pairs_to_kafka<KS: Serializer<K>, VS: Serializer<V>>(
        &self,
        sink: &KafkaSink,
        topic: &str,
        keys: KS,
        values: VS,
    ) -> Result<()> {
        self.save_to_kafka(sink, topic, move |(k, v)| {
            (Some(keys.serialize(k)), values.serialize(v))
        })
    }
}

/// Where a record written by the sink came from: (batch time, RDD partition, index).
pub fn origin_of<K, V>(record: &ConsumerRecord<K, V>) -> Option<(i64, u64, u64)> {
    let num = |name: &str| -> Option<i64> {
        std::str::from_utf8(record.header(name)?).ok()?.parse().ok()
    };
    Some((
        num(HEADER_BATCH_TIME)?,
        u64::try_from(num(HEADER_PARTITION)?).ok()?,
        u64::try_from(num(HEADER_SEQ)?).ok()?,
    ))
}

/// Drops records that a replayed batch wrote again, using the sink's headers.
///
/// ```
/// use sluice_connectors::kafka::ReplayFilter;
/// let mut f = ReplayFilter::default();
/// assert!(f.first_time((1000, 0, 0)));
/// assert!(!f.first_time((1000, 0, 0))); // the same record, written again by a replay
/// assert!(f.first_time((1000, 0, 1)));
/// ```
#[derive(Debug, Default)]
pub struct ReplayFilter {
    seen: HashSet<(i64, u64, u64)>,
}

impl ReplayFilter {
    /// Whether the record from `origin` is seen for the first time.
    pub fn first_time(&mut self, origin: (i64, u64, u64)) -> bool {
        self.seen.insert(origin)
    }

    /// Keeps the records of `records` seen for the first time; records without the sink's
    /// headers are an error (they were not written by a Sluice sink).
    pub fn filter<K, V>(
        &mut self,
        records: Vec<ConsumerRecord<K, V>>,
    ) -> Result<Vec<ConsumerRecord<K, V>>> {
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            let origin = origin_of(&r).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "record {}-{}@{} has no Sluice batch headers",
                    r.topic, r.partition, r.offset
                ))
            })?;
            if self.first_time(origin) {
                out.push(r);
            }
        }
        Ok(out)
    }
}
