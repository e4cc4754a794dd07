//! Kafka from Python (feature `kafka`): the connector's direct stream and sink, with records
//! as Python objects.
//!
//! The direct stream keeps everything of the Rust one — per-batch offset ranges recorded in
//! the checkpoint before the batch runs, exact replay after a restart, rate limits,
//! backpressure, offsets committed after the batch — and hands Python either `(key, value)`
//! strings decoded in Rust (PySpark's default `utf8_decoder`; invalid UTF-8 is a counted bad
//! record) or, for decoders and message handlers written in Python, the raw
//! `(topic, partition, offset, key, value)` with bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use sluice_connectors::kafka::{
    direct_stream, BytesDeserializer, ConsumerRecord, Delivery, KafkaSink, OffsetRange,
    OffsetReset, StartingOffsets, StringDeserializer, TopicPartition,
};
use sluice_core::{Error, Rdd};
use sluice_streaming::{DStream, Time};

use crate::chunk::{to_chunks, Chunk};
use crate::dstream::NativeDStream;
use crate::error::{from_py, IntoPyResult};
use crate::keys::key_of;
use crate::streaming::NativeStreamingContext;

/// Offset ranges as `(topic, partition, from, until)`.
type Ranges = Vec<(String, i32, i64, i64)>;

/// A direct Kafka stream: its records, and what it read and skipped per batch.
#[pyclass(name = "NativeKafkaStream", module = "sluice._native", frozen)]
pub(crate) struct NativeKafkaStream {
    stream: DStream<Chunk>,
    ranges: Arc<dyn Fn(Time) -> Option<Vec<OffsetRange>> + Send + Sync>,
    bad: Arc<dyn Fn() -> (u64, Vec<String>) + Send + Sync>,
    commit: Arc<dyn Fn(&[OffsetRange]) -> sluice_core::Result<()> + Send + Sync>,
}

#[pymethods]
impl NativeKafkaStream {
    /// The stream of records.
    fn stream(&self) -> NativeDStream {
        NativeDStream::new(self.stream.clone())
    }

    /// The offset ranges batch `time_ms` read, if it has been planned.
    fn offset_ranges(&self, time_ms: i64) -> Option<Ranges> {
        (self.ranges)(Time::from_millis(time_ms)).map(|rs| {
            rs.into_iter()
                .map(|r| (r.topic, r.partition, r.from_offset, r.until_offset))
                .collect()
        })
    }

    /// Records skipped because their key or value could not be decoded, and samples of why.
    fn bad_records(&self) -> (u64, Vec<String>) {
        (self.bad)()
    }

    /// Commits offset ranges to the consumer group (asynchronously).
    fn commit_async(&self, ranges: Ranges) -> PyResult<()> {
        let ranges: Vec<OffsetRange> = ranges
            .into_iter()
            .map(|(t, p, from, until)| OffsetRange::new(t, p, from, until))
            .collect();
        (self.commit)(&ranges).py_err()
    }
}

/// Splits PySpark's `kafkaParams` into the brokers, the group, where to start and the other
/// consumer properties.
fn read_params(
    params: Vec<(String, String)>,
) -> PyResult<(
    String,
    Option<String>,
    OffsetReset,
    BTreeMap<String, String>,
)> {
    let (mut servers, mut group, mut reset) = (None, None, OffsetReset::Latest);
    let mut rest = BTreeMap::new();
    for (k, v) in params {
        match k.as_str() {
            "bootstrap.servers" | "metadata.broker.list" => servers = Some(v),
            "group.id" => group = Some(v),
            "auto.offset.reset" => {
                reset = match v.as_str() {
                    "smallest" | "earliest" => OffsetReset::Earliest,
                    "largest" | "latest" => OffsetReset::Latest,
                    other => {
                        return Err(Error::config(
                            "auto.offset.reset",
                            other,
                            "one of earliest (smallest) or latest (largest)",
                        ))
                        .py_err()
                    }
                }
            }
            _ => {
                rest.insert(k, v);
            }
        }
    }
    let servers = servers.ok_or_else(|| {
        Error::InvalidArgument(
            "kafkaParams need the brokers: metadata.broker.list or bootstrap.servers".into(),
        )
    });
    Ok((servers.py_err()?, group, reset, rest))
}

/// `(key, value)` strings (or `None`s) as Python tuples, one chunk per partition.
fn string_pairs(rdd: &Rdd<ConsumerRecord<Option<String>, Option<String>>>) -> Rdd<Chunk> {
    to_chunks(rdd, |py, r| {
        let k = r.key.as_deref().map(|s| PyString::new(py, s));
        let v = r.value.as_deref().map(|s| PyString::new(py, s));
        Ok((k, v).into_pyobject(py)?.into_any())
    })
}

/// Raw records as `(topic, partition, offset, key, value)` tuples with bytes.
fn raw_records(rdd: &Rdd<ConsumerRecord<Option<Vec<u8>>, Option<Vec<u8>>>>) -> Rdd<Chunk> {
    to_chunks(rdd, |py, r| {
        let k = r.key.as_deref().map(|b| PyBytes::new(py, b));
        let v = r.value.as_deref().map(|b| PyBytes::new(py, b));
        Ok((&*r.topic, r.partition, r.offset, k, v)
            .into_pyobject(py)?
            .into_any())
    })
}

/// A direct stream of `topics` (Spark's `KafkaUtils.createDirectStream`): `params` are
/// PySpark's `kafkaParams`; `from_offsets` where a new job starts (else the group's committed
/// offsets, else `auto.offset.reset`); `raw` gives bytes and metadata instead of strings.
#[pyfunction]
#[pyo3(signature = (ssc, topics, params, from_offsets, raw, commit_after_batch, name))]
#[allow(clippy::too_many_arguments)] // one per keyword of the Python call
pub(crate) fn kafka_direct_stream(
    py: Python<'_>,
    ssc: &NativeStreamingContext,
    topics: Vec<String>,
    params: Vec<(String, String)>,
    from_offsets: Option<Vec<(String, i32, i64)>>,
    raw: bool,
    commit_after_batch: bool,
    name: Option<String>,
) -> PyResult<NativeKafkaStream> {
    let (servers, group, reset, rest) = read_params(params)?;
    let mut builder = direct_stream(ssc.inner())
        .bootstrap_servers(servers)
        .commit_offsets_after_batch(commit_after_batch)
        .starting_offsets(match from_offsets {
            Some(offsets) => StartingOffsets::Specific(
                offsets
                    .into_iter()
                    .map(|(t, p, o)| (TopicPartition::new(t, p), o))
                    .collect(),
            ),
            None => StartingOffsets::Committed { otherwise: reset },
        });
    builder = builder.subscribe(topics);
    if let Some(g) = group {
        builder = builder.group_id(g);
    }
    if let Some(n) = name {
        builder = builder.name(n);
    }
    for (k, v) in rest {
        builder = builder.option(k, v);
    }
    py.detach(move || {
        if raw {
            let kafka = Arc::new(builder.build(BytesDeserializer, BytesDeserializer)?);
            let (k1, k2, k3) = (Arc::clone(&kafka), Arc::clone(&kafka), Arc::clone(&kafka));
            Ok(NativeKafkaStream {
                stream: kafka.stream().transform(|rdd, _| Ok(raw_records(&rdd))),
                ranges: Arc::new(move |t| k1.offset_ranges(t)),
                bad: Arc::new(move || {
                    let b = k2.bad_records();
                    (b.total, b.samples)
                }),
                commit: Arc::new(move |r| k3.commit_async(r)),
            })
        } else {
            let kafka = Arc::new(builder.build(StringDeserializer, StringDeserializer)?);
            let (k1, k2, k3) = (Arc::clone(&kafka), Arc::clone(&kafka), Arc::clone(&kafka));
            Ok(NativeKafkaStream {
                stream: kafka.stream().transform(|rdd, _| Ok(string_pairs(&rdd))),
                ranges: Arc::new(move |t| k1.offset_ranges(t)),
                bad: Arc::new(move || {
                    let b = k2.bad_records();
                    (b.total, b.samples)
                }),
                commit: Arc::new(move |r| k3.commit_async(r)),
            })
        }
    })
    .py_err()
}

/// Bytes of a key or value: `str` as UTF-8, `bytes` as they are.
fn encode(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "a Kafka record's {what} must be str or bytes, got {} (encode it first)",
        obj.get_type().name()?
    )))
}

/// Writes every batch of `(key, value)` records to `topic` (keys may be `None`), at least
/// once, each task waiting for the broker's acknowledgements; `params` are producer
/// properties (`bootstrap.servers` or `metadata.broker.list` name the brokers).
#[pyfunction]
pub(crate) fn kafka_save(
    stream: &NativeDStream,
    topic: String,
    params: Vec<(String, String)>,
) -> PyResult<()> {
    let mut servers = None;
    let mut options = BTreeMap::new();
    for (k, v) in params {
        match k.as_str() {
            "bootstrap.servers" | "metadata.broker.list" => servers = Some(v),
            _ => {
                options.insert(k, v);
            }
        }
    }
    let servers = servers
        .ok_or_else(|| {
            Error::InvalidArgument(
                "producer params need the brokers: bootstrap.servers or metadata.broker.list"
                    .into(),
            )
        })
        .py_err()?;
    let sink = KafkaSink::with_options(&servers, &options).py_err()?;
    stream
        .stream
        .foreach_rdd(move |rdd, time| {
            // The tasks hand their records over; the batch waits once for the broker.
            let delivery = Delivery::new();
            rdd.run_job(|chunks, task| {
                let mut all = Vec::new();
                for c in chunks {
                    all.extend(c?);
                }
                let records = Python::attach(|py| {
                    let mut out = Vec::new();
                    let read = (|| {
                        for c in &all {
                            for rec in c.bind(py).iter() {
                                let key = key_of(&rec)?;
                                let value = rec.get_item(1)?;
                                if value.is_none() {
                                    return Err(pyo3::exceptions::PyTypeError::new_err(
                                        "a Kafka record's value must not be None",
                                    ));
                                }
                                let key = if key.is_none() {
                                    None
                                } else {
                                    Some(encode(&key, "key")?)
                                };
                                out.push((key, encode(&value, "value")?));
                            }
                        }
                        Ok::<_, PyErr>(())
                    })();
                    read.map(|_| out).map_err(|e| from_py(py, e))
                })?;
                sink.hand_over(&topic, time, task.partition, records, &delivery)
            })?;
            sink.await_delivery(&topic, &delivery).map(|_| ())
        })
        .py_err()
}
