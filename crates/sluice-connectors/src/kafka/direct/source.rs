//! The source behind a direct stream: its state, and the engine's contract — starting,
//! planning each batch (with a backoff while the broker is away), reporting what a batch
//! read, committing after it, and the batch's RDD of offset ranges.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use sluice_core::{Context, Rdd, Result};
use sluice_streaming::backpressure::{BackpressureSettings, PidRateEstimator};
use sluice_streaming::listener::StreamInputInfo;
use sluice_streaming::source::{
    BadRecordReport, BadRecords, BatchOutcome, InputBinding, InputSource, InputStream, ReplayHooks,
};
use sluice_streaming::Time;

use super::super::client::{MetadataClient, PartitionReader};
use super::super::offsets::{OffsetRange, StartingOffsets, TopicPartition};
use super::super::record::ConsumerRecord;
use super::super::settings::KafkaSettings;
use super::ConsumerStrategy;

/// One batch's plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Planned {
    pub(super) ranges: Arc<Vec<OffsetRange>>,
    #[serde(default)]
    pub(super) rate_limit: Option<u64>,
}

pub(super) struct State {
    /// Where the next batch starts, per partition.
    pub(super) current: BTreeMap<TopicPartition, i64>,
    /// Whether `current` is known (started, or restored).
    pub(super) positioned: bool,
    pub(super) planned: BTreeMap<Time, Planned>,
    /// The backpressure estimate, records/s (≤ 0: none yet).
    pub(super) latest_rate: f64,
    pub(super) pid: Option<PidRateEstimator>,
    /// The last error met while planning (shown until a plan succeeds), and how many there
    /// were.
    pub(super) last_error: Option<String>,
    pub(super) planning_errors: u64,
    /// The offsets last committed after a batch (committed again, synchronously, at stop).
    pub(super) last_commit: Option<BTreeMap<TopicPartition, i64>>,
    /// Offset commits that failed, and the last failure.
    pub(super) commit_failures: u64,
    pub(super) last_commit_error: Option<String>,
}

pub(super) type DecodeFn<T> = dyn Fn(&Arc<str>, i32, super::super::client::RawRecord) -> std::result::Result<T, String>
    + Send
    + Sync;

/// The source behind a [`DirectKafkaStream`].
pub(super) struct DirectSource<K, V> {
    /// The stream id and the listeners, once the stream is registered.
    pub(super) binding: OnceLock<InputBinding>,
    pub(super) name: String,
    pub(super) ctx: Context,
    pub(super) batch_interval: Duration,
    pub(super) strategy: ConsumerStrategy,
    pub(super) starting: StartingOffsets,
    pub(super) settings: KafkaSettings,
    pub(super) backpressure: BackpressureSettings,
    pub(super) commit_after_batch: bool,
    pub(super) client: MetadataClient,
    pub(super) reader: Arc<PartitionReader>,
    pub(super) decode: Arc<DecodeFn<ConsumerRecord<K, V>>>,
    pub(super) bad: Arc<BadRecords>,
    pub(super) state: Mutex<State>,
    pub(super) stopped: AtomicBool,
    /// Wakes a planning backoff when the stream stops.
    pub(super) stop_signal: Condvar,
}

impl<K: Send + Sync + 'static, V: Send + Sync + 'static> InputStream for DirectSource<K, V> {
    fn id(&self) -> usize {
        self.binding.get().map_or(usize::MAX, InputBinding::id)
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
                    st.planning_errors += 1;
                    if let Some(b) = self.binding.get() {
                        b.report_error(
                            format!("planning batch {time}, retrying: {e}"),
                            st.planning_errors,
                        );
                    }
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

    fn batch_completed(&self, outcome: &BatchOutcome<'_>) {
        let (info, failed) = (outcome.info, outcome.failed);
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

    fn replay(&self) -> Option<&dyn ReplayHooks> {
        Some(self)
    }
}

impl<K, V> InputSource<ConsumerRecord<K, V>> for DirectSource<K, V>
where
    K: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn bind(&self, binding: InputBinding) {
        let _ = self.binding.set(binding);
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
