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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use sluice_core::{Context, Error, Rdd, Result};
use sluice_streaming::backpressure::{BackpressureSettings, PidRateEstimator};
use sluice_streaming::listener::StreamInputInfo;
pub use sluice_streaming::source::bad_records::BadRecordReport;
use sluice_streaming::source::bad_records::BadRecords;
use sluice_streaming::source::{InputSource, InputStream};
use sluice_streaming::{BatchInfo, DStream, StreamingContext, Time};

use super::client::{ClientOptions, MetadataClient, PartitionReader};
use super::offsets::{
    max_messages_per_partition, plan_ranges, rate_of, OffsetRange, OffsetReset, StartingOffsets,
    TopicPartition,
};
use super::record::{ConsumerRecord, Deserializer, StringDeserializer};
use super::settings::KafkaSettings;

/// Which partitions a stream reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerStrategy {
    /// Every partition of these topics, including partitions added while the job runs.
    Subscribe(Vec<String>),
    /// Exactly these partitions.
    Assign(Vec<TopicPartition>),
}

/// One batch's plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Planned {
    ranges: Arc<Vec<OffsetRange>>,
    #[serde(default)]
    rate_limit: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Position {
    offsets: Vec<(TopicPartition, i64)>,
}

struct State {
    /// Where the next batch starts, per partition.
    current: BTreeMap<TopicPartition, i64>,
    /// Whether `current` is known (started, or restored).
    positioned: bool,
    planned: BTreeMap<Time, Planned>,
    /// The backpressure estimate, records/s (≤ 0: none yet).
    latest_rate: f64,
    pid: Option<PidRateEstimator>,
    /// The last error met while planning (shown until a plan succeeds).
    last_error: Option<String>,
    /// The offsets last committed after a batch (committed again, synchronously, at stop).
    last_commit: Option<BTreeMap<TopicPartition, i64>>,
    /// Offset commits that failed, and the last failure.
    commit_failures: u64,
    last_commit_error: Option<String>,
}

type DecodeFn<T> = dyn Fn(&Arc<str>, i32, super::client::RawRecord) -> std::result::Result<T, String>
    + Send
    + Sync;

/// The source behind a [`DirectKafkaStream`].
struct DirectSource<K, V> {
    id: OnceLock<usize>,
    name: String,
    ctx: Context,
    batch_interval: Duration,
    strategy: ConsumerStrategy,
    starting: StartingOffsets,
    settings: KafkaSettings,
    backpressure: BackpressureSettings,
    commit_after_batch: bool,
    client: MetadataClient,
    reader: Arc<PartitionReader>,
    decode: Arc<DecodeFn<ConsumerRecord<K, V>>>,
    bad: Arc<BadRecords>,
    state: Mutex<State>,
    stopped: AtomicBool,
    /// Wakes a planning backoff when the stream stops.
    stop_signal: Condvar,
}

impl<K, V> DirectSource<K, V> {
    fn partitions(&self, client: &MetadataClient) -> Result<Vec<TopicPartition>> {
        match &self.strategy {
            ConsumerStrategy::Assign(tps) => Ok(tps.clone()),
            ConsumerStrategy::Subscribe(topics) => {
                let mut v = Vec::new();
                for t in topics {
                    for p in client.partitions(t)? {
                        v.push(TopicPartition::new(t.clone(), p));
                    }
                }
                Ok(v)
            }
        }
    }

    /// Resolves where a new stream starts.
    fn starting_offsets(&self) -> Result<BTreeMap<TopicPartition, i64>> {
        let client = &self.client;
        let tps = self.partitions(client)?;
        let committed = match &self.starting {
            StartingOffsets::Committed { .. } => Some(client.committed(&tps)?),
            _ => None,
        };
        let mut out = BTreeMap::new();
        for tp in tps {
            let (lo, hi) = client.watermarks(&tp)?;
            let reset = |r: OffsetReset| match r {
                OffsetReset::Earliest => lo,
                OffsetReset::Latest => hi,
            };
            let off = match &self.starting {
                StartingOffsets::Earliest => lo,
                StartingOffsets::Latest => hi,
                StartingOffsets::Committed { otherwise } => committed
                    .as_ref()
                    .and_then(|c| c.get(&tp).copied().flatten())
                    .unwrap_or_else(|| reset(*otherwise)),
                StartingOffsets::Specific(m) => m.get(&tp).copied().unwrap_or(lo),
            };
            out.insert(tp, off);
        }
        Ok(out)
    }

    /// Plans batch `time` from the current position: a snapshot under the lock, the broker
    /// asked without it, the plan stored under it again (only this thread moves the position).
    fn plan(&self, time: Time) -> Result<()> {
        let (mut current, latest_rate) = {
            let st = self.state.lock();
            (st.current.clone(), st.latest_rate)
        };
        let client = &self.client;
        // Partitions added since the last batch start at their earliest offset.
        if matches!(self.strategy, ConsumerStrategy::Subscribe(_)) {
            for tp in self.partitions(client)? {
                if let std::collections::btree_map::Entry::Vacant(e) = current.entry(tp) {
                    let (lo, _) = client.watermarks(e.key())?;
                    e.insert(lo);
                }
            }
        }
        let mut latest = BTreeMap::new();
        for tp in current.keys() {
            latest.insert(tp.clone(), client.watermarks(tp)?.1);
        }
        let rate = self.backpressure.enabled.then_some(if latest_rate > 0.0 {
            latest_rate
        } else {
            self.backpressure.initial_rate
        });
        let lag: BTreeMap<_, _> = current
            .iter()
            .map(|(tp, c)| (tp.clone(), latest.get(tp).copied().unwrap_or(*c) - c))
            .collect();
        let max = max_messages_per_partition(&lag, rate, self.settings.rate, self.batch_interval);
        let ranges = plan_ranges(&current, &latest, max.as_ref());
        for r in &ranges {
            current.insert(r.topic_partition(), r.until_offset);
        }
        let rate_limit = max
            .as_ref()
            .map(|m| rate_of(m, self.batch_interval).round() as u64);
        let mut st = self.state.lock();
        st.current = current;
        st.planned.insert(
            time,
            Planned {
                ranges: Arc::new(ranges),
                rate_limit,
            },
        );
        st.last_error = None;
        Ok(())
    }

    /// Commits offsets to the group; a failure is counted and kept, not dropped.
    fn commit(&self, offsets: &BTreeMap<TopicPartition, i64>, sync: bool) -> Result<()> {
        let r = self.client.commit(offsets, sync);
        if let Err(e) = &r {
            let mut st = self.state.lock();
            st.commit_failures += 1;
            st.last_commit_error = Some(e.to_string());
        }
        r
    }

    fn until_offsets(ranges: &[OffsetRange]) -> BTreeMap<TopicPartition, i64> {
        ranges
            .iter()
            .map(|r| (r.topic_partition(), r.until_offset))
            .collect()
    }
}

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> InputStream for DirectSource<K, V> {
    fn id(&self) -> usize {
        self.id.get().copied().unwrap_or(usize::MAX)
    }

    fn bad_records(&self) -> Option<BadRecordReport> {
        Some(self.bad.report())
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn start(&self) -> Result<()> {
        let positioned = self.state.lock().positioned;
        if !positioned {
            let start = self.starting_offsets()?;
            let mut st = self.state.lock();
            st.current = start;
            st.positioned = true;
        }
        Ok(())
    }

    fn stop(&self) {
        {
            // Under the lock, so that a planning backoff between its check and its wait
            // cannot miss the signal.
            let _st = self.state.lock();
            self.stopped.store(true, Ordering::Release);
            self.stop_signal.notify_all();
        }
        // Make sure the last batch's commit reached the broker before the process may exit.
        let last = self.state.lock().last_commit.clone();
        if let Some(offsets) = last {
            // A failure is recorded by `commit`; the next run resumes from its checkpoint.
            let _ = self.commit(&offsets, true);
        }
    }

    fn allocate(&self, time: Time) {
        if self.state.lock().planned.contains_key(&time) {
            return; // restored from the checkpoint: re-read the same ranges
        }
        let mut backoff = Duration::from_millis(100);
        loop {
            if self.stopped.load(Ordering::Acquire) {
                // Stopping: the batch reads nothing; the records stay in Kafka.
                let mut st = self.state.lock();
                let empty: Vec<OffsetRange> = st
                    .current
                    .iter()
                    .map(|(tp, c)| OffsetRange::new(tp.topic.clone(), tp.partition, *c, *c))
                    .collect();
                st.planned.insert(
                    time,
                    Planned {
                        ranges: Arc::new(empty),
                        rate_limit: None,
                    },
                );
                return;
            }
            match self.plan(time) {
                Ok(()) => return,
                Err(e) => {
                    let mut st = self.state.lock();
                    st.last_error = Some(e.to_string());
                    // Wait for the backoff, or less if the stream is stopped meanwhile.
                    if !self.stopped.load(Ordering::Acquire) {
                        self.stop_signal.wait_for(&mut st, backoff);
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    fn input_info(&self, time: Time) -> Option<StreamInputInfo> {
        let st = self.state.lock();
        let p = st.planned.get(&time)?;
        let described: Vec<String> = p
            .ranges
            .iter()
            .filter(|r| r.count() > 0)
            .map(ToString::to_string)
            .collect();
        let mut description = if described.is_empty() {
            "no new records".to_string()
        } else {
            described.join(", ")
        };
        if let Some(e) = &st.last_commit_error {
            description.push_str(&format!(
                "; {} offset commit(s) failed, the last: {e}",
                st.commit_failures
            ));
        }
        Some(StreamInputInfo {
            input_stream_id: self.id(),
            num_records: p.ranges.iter().map(OffsetRange::count).sum(),
            description,
            rate_limit: p.rate_limit,
        })
    }

    fn on_batch_completed(&self, info: &BatchInfo, failed: bool) {
        let time = info.batch_time;
        let mut st = self.state.lock();
        if let (Some(pid), Some(processing)) = (st.pid.as_mut(), info.processing_delay) {
            let n = info
                .stream_id_to_input_info
                .get(&self.id())
                .map_or(0, |i| i.num_records);
            let scheduling = info.scheduling_delay.unwrap_or_default();
            if let Some(r) = pid.compute(time, n, processing, scheduling) {
                st.latest_rate = r;
            }
        }
        let commit = (self.commit_after_batch && !failed)
            .then(|| {
                st.planned
                    .get(&time)
                    .map(|p| Self::until_offsets(&p.ranges))
            })
            .flatten();
        // Plans of batches long completed are no longer needed (checkpoints and
        // `offset_ranges` look at recent ones).
        let keep_from = time - self.batch_interval * 20;
        while st
            .planned
            .first_key_value()
            .is_some_and(|(t, _)| *t < keep_from)
        {
            st.planned.pop_first();
        }
        if let Some(c) = &commit {
            st.last_commit = Some(c.clone());
        }
        drop(st);
        if let Some(offsets) = commit {
            // While stopping, commit synchronously: the process may exit right after.
            let sync = self.stopped.load(Ordering::Acquire);
            // A failure is recorded by `commit`; the next batch commits further offsets.
            let _ = self.commit(&offsets, sync);
        }
    }

    fn batch_record(&self, time: Time) -> Option<serde_json::Value> {
        let st = self.state.lock();
        st.planned
            .get(&time)
            .and_then(|p| serde_json::to_value(p).ok())
    }

    fn restore_batch(&self, time: Time, record: &serde_json::Value) -> Result<()> {
        let p: Planned = serde_json::from_value(record.clone()).map_err(|e| {
            Error::Serialization(format!(
                "the checkpoint's offset ranges of {} for batch {time}: {e}",
                self.name
            ))
        })?;
        let mut st = self.state.lock();
        for r in p.ranges.iter() {
            st.current.insert(r.topic_partition(), r.until_offset);
        }
        st.positioned = true;
        st.planned.insert(time, p);
        Ok(())
    }

    fn checkpoint_state(&self, time: Time) -> Option<serde_json::Value> {
        let st = self.state.lock();
        let p = st.planned.get(&time)?;
        serde_json::to_value(Position {
            offsets: Self::until_offsets(&p.ranges).into_iter().collect(),
        })
        .ok()
    }

    fn restore_state(&self, state: &serde_json::Value) -> Result<()> {
        let pos: Position = serde_json::from_value(state.clone()).map_err(|e| {
            Error::Serialization(format!(
                "the checkpoint's Kafka position of {}: {e}",
                self.name
            ))
        })?;
        let mut st = self.state.lock();
        st.current = pos.offsets.into_iter().collect();
        st.positioned = true;
        Ok(())
    }
}

impl<K, V> InputSource<ConsumerRecord<K, V>> for DirectSource<K, V>
where
    K: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn bind(&self, id: usize) {
        let _ = self.id.set(id);
    }

    fn compute(&self, time: Time) -> Result<Option<Rdd<ConsumerRecord<K, V>>>> {
        let Some(p) = self.state.lock().planned.get(&time).cloned() else {
            return Ok(Some(self.ctx.empty()));
        };
        let ranges = Arc::clone(&p.ranges);
        let reader = Arc::clone(&self.reader);
        let decode = Arc::clone(&self.decode);
        let bad = Arc::clone(&self.bad);
        Ok(Some(self.ctx.from_partition_fn(
            &format!("KafkaRDD[{}] at {time}", self.name),
            ranges.len(),
            None,
            move |i| {
                let range = &ranges[i];
                let topic: Arc<str> = Arc::from(range.topic.as_str());
                let raw = reader.read(range)?;
                let mut out = Vec::with_capacity(raw.len());
                let mut bad_count = 0u64;
                let mut sample = String::new();
                for r in raw {
                    let offset = r.offset;
                    match decode(&topic, range.partition, r) {
                        Ok(rec) => out.push(rec),
                        Err(why) => {
                            bad_count += 1;
                            if sample.is_empty() {
                                sample =
                                    format!("{}-{}@{offset}: {why}", range.topic, range.partition);
                            }
                        }
                    }
                }
                bad.set(time, i, bad_count, sample);
                Ok(Arc::new(out))
            },
        )))
    }
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
        let decode = move |topic: &Arc<str>, partition: i32, r: super::client::RawRecord| {
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
            id: OnceLock::new(),
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
