//! Kafka throughput: consume → count → produce through a real broker, beside the raw consume
//! rate of the same client (librdkafka) on the same broker.
//!
//! The input topic holds `records` records of 100-byte values with keys from a set of
//! `keys`, over `partitions` partitions. Variants, run alternately, each reading the whole
//! topic from the beginning:
//!
//! - **raw consume**: one librdkafka consumer assigned every partition, polling until it has
//!   every record (the client's limit on this broker);
//! - **count**: Sluice's direct stream → `(key, 1)` → `reduce_by_key` per batch → the counts
//!   written to an output topic with the sink (one record per key per batch);
//! - **pass-through**: Sluice's direct stream → every record written to an output topic (the
//!   broker's produce path is then the limit).
//!
//! Sluice runs on the step clock (batches back to back), batches sized by
//! `maxRatePerPartition`; its time is from `start` to the end of the batch that read the last
//! record.
//!
//! With `--tansu <binary>` every measurement gets a fresh broker (started on a free port in a
//! new data directory, loaded with the topic, then killed): the test broker slows down as its
//! database fills, so measurements on one long-lived broker would depend on their order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use sluice::kafka::admin::{create_topic, produce, Produce};
use sluice::kafka::{
    direct_stream, I64Serializer, KafkaPairSinkExt, KafkaSink, StartingOffsets, StringSerializer,
};
use sluice::prelude::*;
use sluice::BatchInfo;

/// Options of the Kafka benchmark.
#[derive(clap::Args)]
pub struct KafkaArgs {
    /// The broker (default: `SLUICE_KAFKA_BROKERS`, else 127.0.0.1:19092).
    #[arg(long)]
    brokers: Option<String>,
    /// Records in the input topic.
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    /// Partitions of the input topic.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Distinct keys.
    #[arg(long, default_value_t = 1000)]
    keys: usize,
    /// Rounds; each runs every variant once.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Records per partition per batch (the batch size: batches of 100 ms with
    /// `maxRatePerPartition` = 10 × this).
    #[arg(long, default_value_t = 10_000)]
    per_partition_batch: u64,
    /// Extra producer properties of the sink (`key=value`, repeatable).
    #[arg(long = "sink-option")]
    sink_options: Vec<String>,
    /// Write the pass-through's records without the sink's origin headers.
    #[arg(long)]
    no_origin_headers: bool,
    /// Worker threads of the Sluice runs.
    #[arg(long, default_value = "local[2]")]
    master: String,
    /// A tansu binary: start a fresh broker for every measurement (see the module doc).
    #[arg(long)]
    tansu: Option<String>,
    /// Run only these variants (raw, count, pass).
    #[arg(long, value_delimiter = ',', default_values_t = vec!["raw".to_string(), "count".to_string(), "pass".to_string()])]
    variants: Vec<String>,
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("bench-{name}-{nanos}")
}

fn kafka_err(e: impl std::fmt::Display) -> Error {
    Error::External {
        system: "kafka",
        message: e.to_string(),
    }
}

/// Reads every record of `topic` with one consumer; returns the time taken.
fn raw_consume(brokers: &str, topic: &str, partitions: i32, records: usize) -> Result<Duration> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("raw"))
        .set("enable.auto.commit", "false")
        .create()
        .map_err(kafka_err)?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Offset(0))
            .map_err(kafka_err)?;
    }
    let start = Instant::now();
    consumer.assign(&tpl).map_err(kafka_err)?;
    let mut got = 0usize;
    let mut bytes = 0usize;
    let deadline = start + Duration::from_secs(300);
    while got < records {
        if Instant::now() > deadline {
            return Err(kafka_err(format!(
                "raw consume: only {got} of {records} records"
            )));
        }
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.map_err(kafka_err)?;
            bytes += m.payload().map_or(0, <[u8]>::len);
            got += 1;
        }
    }
    let took = start.elapsed();
    std::hint::black_box(bytes);
    Ok(took)
}

#[derive(Default)]
struct Progress {
    records: AtomicU64,
    done_at: Mutex<Option<Instant>>,
    target: u64,
}

impl StreamingListener for Progress {
    fn on_batch_completed(&self, b: &BatchInfo) {
        let n: u64 = b
            .stream_id_to_input_info
            .values()
            .map(|i| i.num_records)
            .sum();
        let total = self.records.fetch_add(n, Ordering::AcqRel) + n;
        if total >= self.target {
            let mut d = self.done_at.lock();
            if d.is_none() {
                *d = Some(Instant::now());
            }
        }
    }
}

/// Runs Sluice over the whole topic; `pass_through` writes every record, otherwise counts.
fn sluice_run(a: &KafkaArgs, brokers: &str, topic: &str, pass_through: bool) -> Result<Duration> {
    let conf = Conf::new()
        .set_master(&a.master)
        .set("sluice.streaming.clock", "step")
        .set(
            "sluice.kafka.maxRatePerPartition",
            (a.per_partition_batch * 10).to_string(),
        );
    let ctx = Context::new(conf)?;
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(100))?;
    let progress = Arc::new(Progress {
        target: a.records as u64,
        ..Progress::default()
    });
    ssc.add_listener(progress.clone());
    let kafka = direct_stream(&ssc)
        .bootstrap_servers(brokers)
        .group_id(unique("sluice"))
        .subscribe([topic])
        .starting_offsets(StartingOffsets::Earliest)
        .build_strings()?;
    let out = unique("out");
    create_topic(brokers, &out, a.partitions)?;
    let options: BTreeMap<String, String> = a
        .sink_options
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sink = KafkaSink::with_options(brokers, &options)?.origin_headers(!a.no_origin_headers);
    if pass_through {
        kafka
            .stream()
            .map(|r| (r.key.unwrap_or_default(), r.value.unwrap_or_default()))
            .save_pairs_to_kafka(&sink, &out, StringSerializer, StringSerializer)?;
    } else {
        kafka
            .stream()
            .map(|r| (r.key.unwrap_or_default(), 1i64))
            .reduce_by_key(|x, y| x + y)
            .save_pairs_to_kafka(&sink, &out, StringSerializer, I64Serializer)?;
    }
    let start = Instant::now();
    ssc.start()?;
    let deadline = start + Duration::from_secs(600);
    loop {
        if let Some(t) = *progress.done_at.lock() {
            ssc.stop(StopMode::Immediate)?;
            if let Some(e) = ssc.take_error() {
                return Err(e);
            }
            return Ok(t - start);
        }
        if let Some(e) = ssc.take_error() {
            let _ = ssc.stop(StopMode::Immediate);
            return Err(e);
        }
        if Instant::now() > deadline {
            let _ = ssc.stop(StopMode::Immediate);
            return Err(Error::Internal("the Sluice run did not finish".into()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A broker of our own, killed on drop.
struct Broker {
    child: std::process::Child,
    _data: std::path::PathBuf,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._data);
    }
}

fn start_broker(bin: &str) -> Result<(Broker, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Error::io("binding", "127.0.0.1", e))?
        .port();
    let data = std::env::temp_dir().join(unique("broker"));
    std::fs::create_dir_all(&data).map_err(|e| Error::io("creating", &data, e))?;
    let url = format!("tcp://127.0.0.1:{port}");
    let child = std::process::Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "sqlite://tansu.db"])
        .current_dir(&data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| Error::io("starting", bin, e))?;
    let broker = Broker { child, _data: data };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(Error::Internal("the broker did not start".into()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((broker, format!("127.0.0.1:{port}")))
}

/// Creates and loads the input topic; returns its name and the producer's rate.
fn load(a: &KafkaArgs, brokers: &str) -> Result<(String, f64)> {
    let topic = unique("input");
    create_topic(brokers, &topic, a.partitions)?;
    let records: Vec<Produce> = (0..a.records)
        .map(|i| {
            let key = format!("key-{:05}", i % a.keys.max(1));
            let mut value = format!("{key}|{i}|");
            while value.len() < 100 {
                value.push('x');
            }
            Produce {
                partition: Some((i % a.partitions as usize) as i32),
                key: Some(key.into_bytes()),
                value: Some(value.into_bytes()),
            }
        })
        .collect();
    let t0 = Instant::now();
    produce(brokers, &topic, &records)?;
    Ok((topic, a.records as f64 / t0.elapsed().as_secs_f64()))
}

/// Runs the benchmark and prints a Markdown table.
pub fn run(a: KafkaArgs) -> Result<()> {
    let shared_brokers = a
        .brokers
        .clone()
        .or_else(|| std::env::var("SLUICE_KAFKA_BROKERS").ok())
        .unwrap_or_else(|| "127.0.0.1:19092".into());
    let mut shared_topic = None;
    let mut produce_rates = Vec::new();
    let mut rates: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..a.rounds {
        let r = |d: Duration| a.records as f64 / d.as_secs_f64();
        for v in &a.variants {
            let (_broker, brokers) = match &a.tansu {
                Some(bin) => {
                    let (b, addr) = start_broker(bin)?;
                    (Some(b), addr)
                }
                None => (None, shared_brokers.clone()),
            };
            let topic = match (&a.tansu, &shared_topic) {
                (None, Some(t)) => String::clone(t),
                _ => {
                    let (t, rate) = load(&a, &brokers)?;
                    produce_rates.push(rate);
                    if a.tansu.is_none() {
                        shared_topic = Some(t.clone());
                    }
                    t
                }
            };
            let took = match v.as_str() {
                "raw" => raw_consume(&brokers, &topic, a.partitions, a.records)?,
                "count" => sluice_run(&a, &brokers, &topic, false)?,
                "pass" => sluice_run(&a, &brokers, &topic, true)?,
                other => return Err(Error::InvalidArgument(format!("unknown variant {other}"))),
            };
            eprintln!("round {round}: {v} {:.0} records/s", r(took));
            rates.entry(v.as_str()).or_default().push(r(took));
        }
    }
    let mut raw = f64::NAN;
    if let Some(v) = rates.get_mut("raw") {
        raw = median(v);
    }
    let produce_rate = median(&mut produce_rates);
    println!(
        "Kafka through {}: {} records of 100 bytes, {} keys, {} partitions, local[2], {} rounds \
         (medians)\n",
        if a.tansu.is_some() {
            "a fresh tansu broker per measurement".to_string()
        } else {
            format!("the broker at {shared_brokers}")
        },
        a.records,
        a.keys,
        a.partitions,
        a.rounds
    );
    println!("| variant | records/s | vs raw consume |");
    println!("|---|---:|---:|");
    println!("| broker produce (loading the topic, librdkafka producer) | {produce_rate:.0} | — |");
    println!("| raw consume (one librdkafka consumer, all partitions) | {raw:.0} | 1.00 |");
    for (name, label) in [
        ("count", "Sluice consume → count per key → produce counts"),
        (
            "pass",
            "Sluice consume → produce every record (pass-through)",
        ),
    ] {
        if let Some(v) = rates.get_mut(name) {
            let m = median(v);
            println!("| {label} | {m:.0} | {:.2} |", m / raw);
        }
    }
    Ok(())
}
