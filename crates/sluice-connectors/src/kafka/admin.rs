//! Topic administration and plain produce/read, for tests, benchmarks and tooling:
//! creating topics, adding partitions, writing records, reading a whole topic, and reading a
//! consumer group's committed offsets.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use sluice_core::{Error, Result};

use super::client::{kafka_error, send_with_retry, ClientOptions, MetadataClient, PartitionReader};
use super::offsets::{OffsetRange, TopicPartition};
use super::record::ConsumerRecord;

fn admin(servers: &str) -> Result<AdminClient<DefaultClientContext>> {
    ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .map_err(|e| kafka_error(format!("creating an admin client for {servers}"), e))
}

fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::Internal(format!("starting a runtime for an admin request: {e}")))?;
    Ok(rt.block_on(f))
}

fn options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)))
}

/// Creates `topic` with `partitions` partitions (replication 1).
pub fn create_topic(servers: &str, topic: &str, partitions: i32) -> Result<()> {
    let a = admin(servers)?;
    let results = block_on(a.create_topics(
        &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
        &options(),
    ))?
    .map_err(|e| kafka_error(format!("creating topic {topic:?}"), e))?;
    for r in results {
        r.map_err(|(t, e)| kafka_error(format!("creating topic {t:?}"), e))?;
    }
    Ok(())
}

/// Grows `topic` to `total` partitions.
pub fn add_partitions(servers: &str, topic: &str, total: usize) -> Result<()> {
    let a = admin(servers)?;
    let results = block_on(a.create_partitions(&[NewPartitions::new(topic, total)], &options()))?
        .map_err(|e| kafka_error(format!("adding partitions to {topic:?}"), e))?;
    for r in results {
        r.map_err(|(t, e)| kafka_error(format!("adding partitions to {t:?}"), e))?;
    }
    Ok(())
}

/// A record to produce: an explicit partition (or the key's), a key and a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Produce {
    /// The partition, or `None` for the producer's choice by key.
    pub partition: Option<i32>,
    /// The key.
    pub key: Option<Vec<u8>>,
    /// The value.
    pub value: Option<Vec<u8>>,
}

/// Writes `records` to `topic` and waits until the broker acknowledged them all.
pub fn produce(servers: &str, topic: &str, records: &[Produce]) -> Result<()> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .create()
        .map_err(|e| kafka_error(format!("creating a producer for {servers}"), e))?;
    for r in records {
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        if let Some(p) = r.partition {
            rec = rec.partition(p);
        }
        if let Some(k) = r.key.as_deref() {
            rec = rec.key(k);
        }
        if let Some(v) = r.value.as_deref() {
            rec = rec.payload(v);
        }
        send_with_retry(&producer, rec)
            .map_err(|e| kafka_error(format!("producing to {topic:?}"), e))?;
    }
    producer
        .flush(Duration::from_secs(60))
        .map_err(|e| kafka_error(format!("producing to {topic:?}"), e))
}

/// Every record of `topic` from the earliest offset to the current end, by partition.
pub fn read_topic(
    servers: &str,
    topic: &str,
) -> Result<BTreeMap<i32, Vec<ConsumerRecord<Option<Vec<u8>>, Option<Vec<u8>>>>>> {
    let options = ClientOptions::for_servers(servers);
    let client = MetadataClient::connect(&options, Duration::from_secs(10))?;
    let reader = PartitionReader::new(options, Duration::from_secs(30), 64);
    let topic_arc: std::sync::Arc<str> = std::sync::Arc::from(topic);
    let mut out = BTreeMap::new();
    for p in client.partitions(topic)? {
        let (lo, hi) = client.watermarks(&TopicPartition::new(topic, p))?;
        let raw = reader.read(&OffsetRange::new(topic, p, lo, hi))?;
        out.insert(
            p,
            raw.into_iter()
                .map(|mut r| {
                    let (key, value) = (r.key.take(), r.value.take());
                    r.into_record(&topic_arc, p, key, value)
                })
                .collect(),
        );
    }
    Ok(out)
}

/// The committed offsets of consumer group `group` for every partition of `topic`
/// (`None` where the group has none).
pub fn committed_offsets(
    servers: &str,
    group: &str,
    topic: &str,
) -> Result<BTreeMap<i32, Option<i64>>> {
    let mut options = ClientOptions::for_servers(servers);
    options.properties.insert("group.id".into(), group.into());
    let client = MetadataClient::connect(&options, Duration::from_secs(10))?;
    let tps: Vec<TopicPartition> = client
        .partitions(topic)?
        .into_iter()
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    Ok(client
        .committed(&tps)?
        .into_iter()
        .map(|(tp, o)| (tp.partition, o))
        .collect())
}
