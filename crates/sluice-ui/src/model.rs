//! What the UI knows about a running job: a listener that keeps the active batches, the last
//! `retained_batches` completed ones, running totals and delay histograms — bounded, so a long
//! run's memory stays flat — and the JSON shapes of the REST API, after Spark's streaming
//! status API (`/api/v1/streaming/...`).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use sluice_streaming::listener::{InputErrorInfo, WatermarkInfo};
use sluice_streaming::{BatchInfo, ReceiverInfo, StreamingListener};

/// Upper bounds (seconds) of the delay histograms' buckets.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A cumulative histogram with fixed buckets (Prometheus style).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`].
    pub counts: [u64; BUCKETS.len()],
    /// Number of observations.
    pub count: u64,
    /// Sum of observations (seconds).
    pub sum: f64,
}

impl Histogram {
    /// Records an observation.
    pub fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += s;
    }
}

/// Running totals.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Batches completed.
    pub completed: u64,
    /// Batches with a failed output operation.
    pub failed: u64,
    /// Records read, all streams.
    pub records: u64,
    /// Records read per input stream.
    pub records_by_stream: BTreeMap<usize, u64>,
    /// Processing delays.
    pub processing: Histogram,
    /// Scheduling delays.
    pub scheduling: Histogram,
    /// Errors direct sources got past (failed commits, an unreachable broker), per input
    /// stream: the source's name and its count.
    pub input_errors: BTreeMap<usize, (String, u64)>,
}

#[derive(Default)]
struct Inner {
    /// Submitted or processing batches, by time; `true` once processing.
    active: BTreeMap<i64, (BatchInfo, bool)>,
    completed: VecDeque<BatchInfo>,
    totals: Totals,
}

/// The UI's model of a job, fed by listener events.
pub struct Model {
    retained: usize,
    batch_interval: Duration,
    started_ms: i64,
    inner: Mutex<Inner>,
}

impl Model {
    /// A model keeping `retained` completed batches.
    pub fn new(retained: usize, batch_interval: Duration, started_ms: i64) -> Self {
        Model {
            retained: retained.max(1),
            batch_interval,
            started_ms,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Running totals.
    pub fn totals(&self) -> Totals {
        self.inner.lock().totals.clone()
    }

    /// Completed batches retained (oldest first).
    pub fn completed(&self) -> Vec<BatchInfo> {
        self.inner.lock().completed.iter().cloned().collect()
    }

    /// Statistics over the retained batches.
    pub fn statistics(&self, receivers: &[ReceiverInfo], now_ms: i64) -> Statistics {
        let inner = self.inner.lock();
        let done: Vec<&BatchInfo> = inner.completed.iter().collect();
        let avg = |f: &dyn Fn(&BatchInfo) -> Option<Duration>| -> Option<f64> {
            let v: Vec<f64> = done
                .iter()
                .filter_map(|b| f(b))
                .map(|d| d.as_secs_f64() * 1e3)
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let interval_s = self.batch_interval.as_secs_f64().max(1e-9);
        let rates: Vec<f64> = done
            .iter()
            .map(|b| b.num_records() as f64 / interval_s)
            .collect();
        let active_receivers = receivers.iter().filter(|r| r.active).count();
        Statistics {
            start_time: self.started_ms,
            uptime_ms: (now_ms - self.started_ms).max(0),
            batch_duration: self.batch_interval.as_millis() as u64,
            num_receivers: receivers.len(),
            num_active_receivers: active_receivers,
            num_inactive_receivers: receivers.len() - active_receivers,
            num_total_completed_batches: inner.totals.completed,
            num_failed_batches: inner.totals.failed,
            num_retained_completed_batches: done.len(),
            num_active_batches: inner.active.len(),
            num_processed_records: inner.totals.records,
            num_received_records: receivers.iter().map(|r| r.records_stored).sum(),
            avg_input_rate: (!rates.is_empty())
                .then(|| rates.iter().sum::<f64>() / rates.len() as f64),
            avg_scheduling_delay: avg(&|b| b.scheduling_delay),
            avg_processing_time: avg(&|b| b.processing_delay),
            avg_total_delay: avg(&|b| b.total_delay()),
        }
    }

    /// Every retained batch, newest first: active ones, then completed ones.
    pub fn batches(&self) -> Vec<BatchSummary> {
        let inner = self.inner.lock();
        let mut out: Vec<BatchSummary> = inner
            .active
            .values()
            .rev()
            .map(|(b, processing)| {
                summary(
                    b,
                    if *processing { "PROCESSING" } else { "QUEUED" },
                    self.batch_interval,
                )
            })
            .collect();
        out.extend(
            inner
                .completed
                .iter()
                .rev()
                .map(|b| summary(b, "COMPLETED", self.batch_interval)),
        );
        out
    }

    /// One batch with its output operations and inputs.
    pub fn batch(&self, time_ms: i64) -> Option<BatchDetail> {
        let inner = self.inner.lock();
        let (b, status) = match inner.active.get(&time_ms) {
            Some((b, p)) => (b.clone(), if *p { "PROCESSING" } else { "QUEUED" }),
            None => (
                inner
                    .completed
                    .iter()
                    .find(|b| b.batch_time.millis() == time_ms)?
                    .clone(),
                "COMPLETED",
            ),
        };
        Some(BatchDetail {
            summary: summary(&b, status, self.batch_interval),
            output_operations: b
                .output_operation_infos
                .values()
                .map(|o| OutputOp {
                    output_op_id: o.id,
                    name: o.name.clone(),
                    duration: o.duration.map(ms),
                    status: match (&o.failure_reason, o.duration) {
                        (Some(_), _) => "FAILED",
                        (None, Some(_)) => "SUCCEEDED",
                        (None, None) => "RUNNING",
                    },
                    failure_reason: o.failure_reason.clone(),
                    lineage: o.lineage.iter().map(LineageJson::from).collect(),
                })
                .collect(),
            inputs: b
                .stream_id_to_input_info
                .values()
                .map(|i| InputSummary {
                    stream_id: i.input_stream_id,
                    num_records: i.num_records,
                    description: i.description.clone(),
                })
                .collect(),
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(b: &BatchInfo, status: &'static str, interval: Duration) -> BatchSummary {
    let failed = b.num_failed_output_ops();
    let finished = b
        .output_operation_infos
        .values()
        .filter(|o| o.duration.is_some())
        .count();
    BatchSummary {
        batch_id: b.batch_time.millis(),
        batch_time: b.batch_time.millis(),
        status,
        batch_duration: interval.as_millis() as u64,
        input_size: b.num_records(),
        scheduling_delay: b.scheduling_delay.map(ms),
        processing_time: b.processing_delay.map(ms),
        total_delay: b.total_delay().map(ms),
        num_completed_output_ops: finished - failed,
        num_failed_output_ops: failed,
        num_total_output_ops: b.output_operation_infos.len(),
        first_failure_reason: b
            .output_operation_infos
            .values()
            .find_map(|o| o.failure_reason.clone()),
    }
}

/// Feeds a [`Model`] from listener events.
pub struct ModelListener(pub std::sync::Arc<Model>);

impl StreamingListener for ModelListener {
    fn on_input_error(&self, e: &InputErrorInfo) {
        let mut inner = self.0.inner.lock();
        let entry = inner
            .totals
            .input_errors
            .entry(e.stream_id)
            .or_insert_with(|| (e.name.clone(), 0));
        entry.1 = entry.1.max(e.count);
    }
    fn on_batch_submitted(&self, b: &BatchInfo) {
        self.0
            .inner
            .lock()
            .active
            .insert(b.batch_time.millis(), (b.clone(), false));
    }
    fn on_batch_started(&self, b: &BatchInfo) {
        self.0
            .inner
            .lock()
            .active
            .insert(b.batch_time.millis(), (b.clone(), true));
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        let m = &self.0;
        let mut inner = m.inner.lock();
        inner.active.remove(&b.batch_time.millis());
        let t = &mut inner.totals;
        t.completed += 1;
        if b.num_failed_output_ops() > 0 {
            t.failed += 1;
        }
        t.records += b.num_records();
        for (id, i) in &b.stream_id_to_input_info {
            *t.records_by_stream.entry(*id).or_insert(0) += i.num_records;
        }
        if let Some(d) = b.processing_delay {
            t.processing.observe(d);
        }
        if let Some(d) = b.scheduling_delay {
            t.scheduling.observe(d);
        }
        inner.completed.push_back(b.clone());
        while inner.completed.len() > m.retained {
            inner.completed.pop_front();
        }
    }
}

/// `/api/v1/streaming/statistics`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    /// When the UI started watching (ms since the epoch).
    pub start_time: i64,
    /// Milliseconds since then.
    pub uptime_ms: i64,
    /// Batch interval (ms).
    pub batch_duration: u64,
    /// Receivers.
    pub num_receivers: usize,
    /// Active receivers.
    pub num_active_receivers: usize,
    /// Inactive receivers.
    pub num_inactive_receivers: usize,
    /// Batches completed since the start.
    pub num_total_completed_batches: u64,
    /// Batches with a failed output operation.
    pub num_failed_batches: u64,
    /// Completed batches retained.
    pub num_retained_completed_batches: usize,
    /// Queued or processing batches.
    pub num_active_batches: usize,
    /// Records processed since the start.
    pub num_processed_records: u64,
    /// Records stored by receivers.
    pub num_received_records: u64,
    /// Average records per second over the retained batches.
    pub avg_input_rate: Option<f64>,
    /// Average scheduling delay (ms).
    pub avg_scheduling_delay: Option<f64>,
    /// Average processing time (ms).
    pub avg_processing_time: Option<f64>,
    /// Average total delay (ms).
    pub avg_total_delay: Option<f64>,
}

/// One entry of `/api/v1/streaming/batches`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSummary {
    /// The batch's id (its time in ms).
    pub batch_id: i64,
    /// The batch time (ms).
    pub batch_time: i64,
    /// `QUEUED`, `PROCESSING` or `COMPLETED`.
    pub status: &'static str,
    /// Batch interval (ms).
    pub batch_duration: u64,
    /// Records read.
    pub input_size: u64,
    /// Scheduling delay (ms).
    pub scheduling_delay: Option<f64>,
    /// Processing time (ms).
    pub processing_time: Option<f64>,
    /// Total delay (ms).
    pub total_delay: Option<f64>,
    /// Output operations that succeeded.
    pub num_completed_output_ops: usize,
    /// Output operations that failed.
    pub num_failed_output_ops: usize,
    /// Output operations in all.
    pub num_total_output_ops: usize,
    /// The first failure, if any.
    pub first_failure_reason: Option<String>,
}

/// `/api/v1/streaming/batches/{time}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchDetail {
    /// The batch summary.
    #[serde(flatten)]
    pub summary: BatchSummary,
    /// Its output operations.
    pub output_operations: Vec<OutputOp>,
    /// What each input read.
    pub inputs: Vec<InputSummary>,
}

/// One output operation of a batch.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputOp {
    /// Its id (definition order).
    pub output_op_id: usize,
    /// Its name.
    pub name: String,
    /// How long it ran (ms).
    pub duration: Option<f64>,
    /// `RUNNING`, `SUCCEEDED` or `FAILED`.
    pub status: &'static str,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// The RDDs of its job, with their stages.
    pub lineage: Vec<LineageJson>,
}

/// One RDD of an output operation's job.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageJson {
    /// The RDD's id.
    pub id: usize,
    /// Its kind.
    pub kind: String,
    /// The operation that made it.
    pub name: String,
    /// Partitions.
    pub partitions: usize,
    /// Stage, from the result stage (0) towards the sources.
    pub stage: usize,
    /// Parent RDD ids.
    pub parents: Vec<usize>,
    /// For each parent, whether it is a shuffle dependency (a stage boundary).
    pub shuffle: Vec<bool>,
}

impl From<&sluice_core::LineageNode> for LineageJson {
    fn from(n: &sluice_core::LineageNode) -> Self {
        LineageJson {
            id: n.id,
            kind: n.kind.clone(),
            name: n.name.clone(),
            partitions: n.partitions,
            stage: n.stage,
            parents: n.parents.iter().map(|p| p.0).collect(),
            shuffle: n.parents.iter().map(|p| p.1).collect(),
        }
    }
}

/// What one input read for a batch.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputSummary {
    /// The input stream's id.
    pub stream_id: usize,
    /// Records read.
    pub num_records: u64,
    /// A description.
    pub description: String,
}

/// One entry of `/api/v1/streaming/watermarks`: an event-time operator.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatermarkSummary {
    /// The operator's name.
    pub operator: String,
    /// Its watermark, ms since the epoch.
    pub watermark_ms: i64,
    /// Records it dropped as late.
    pub late_records: u64,
    /// Entries it holds in state.
    pub state_size: usize,
}

impl From<&WatermarkInfo> for WatermarkSummary {
    fn from(w: &WatermarkInfo) -> Self {
        WatermarkSummary {
            operator: w.operator.clone(),
            watermark_ms: w.watermark_ms,
            late_records: w.late_records,
            state_size: w.state_size,
        }
    }
}

/// One entry of `/api/v1/streaming/receivers`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverSummary {
    /// The input stream's id.
    pub stream_id: usize,
    /// The receiver's name.
    pub stream_name: String,
    /// Whether it runs.
    pub is_active: bool,
    /// Its last error.
    pub last_error_message: Option<String>,
    /// Records stored.
    pub records_stored: u64,
    /// Bad records counted.
    pub bad_records: u64,
}

impl From<&ReceiverInfo> for ReceiverSummary {
    fn from(r: &ReceiverInfo) -> Self {
        ReceiverSummary {
            stream_id: r.stream_id,
            stream_name: r.name.clone(),
            is_active: r.active,
            last_error_message: r.last_error.clone(),
            records_stored: r.records_stored,
            bad_records: r.bad_records,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(stream_id: usize, count: u64) -> InputErrorInfo {
        InputErrorInfo {
            stream_id,
            name: format!("kafka:t{stream_id}"),
            message: "offset commit failed".into(),
            count,
        }
    }

    #[test]
    fn input_errors_are_counted_per_stream() {
        let model = std::sync::Arc::new(Model::new(10, Duration::from_secs(1), 0));
        let l = ModelListener(std::sync::Arc::clone(&model));
        l.on_input_error(&error(3, 1));
        l.on_input_error(&error(3, 2));
        l.on_input_error(&error(5, 1));
        // A stale event (delivered late) does not lower the count.
        l.on_input_error(&error(3, 1));
        let t = model.totals();
        assert_eq!(t.input_errors[&3], ("kafka:t3".to_string(), 2));
        assert_eq!(t.input_errors[&5], ("kafka:t5".to_string(), 1));
        let w = sluice_streaming::listener::WatermarkInfo {
            operator: "windows".into(),
            watermark_ms: 35_000,
            late_records: 4,
            state_size: 9,
        };
        let text = crate::metrics::render(&t, &[], &[], &[w]);
        assert!(text.contains("sluice_watermark_ms{operator=\"windows\"} 35000"));
        assert!(text.contains("sluice_late_records_total{operator=\"windows\"} 4"));
        assert!(text.contains("sluice_input_errors_total{stream=\"3\",source=\"kafka:t3\"} 2"));
    }
}
