//! Listener events and the information they carry, after Spark's `StreamingListener`.
//!
//! Events are delivered on a dedicated thread in the order they were posted; stopping the
//! streaming context delivers every pending event before it returns.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::time::Time;

/// What an input stream read for one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInputInfo {
    /// The input stream's id.
    pub input_stream_id: usize,
    /// Records read.
    pub num_records: u64,
    /// A description of what was read (files, offsets, ...).
    pub description: String,
    /// The rate limit in effect for this batch, records/s, for sources that limit their
    /// rate (a fixed maximum or backpressure).
    pub rate_limit: Option<u64>,
}

/// One output operation of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOperationInfo {
    /// The batch time.
    pub batch_time: Time,
    /// The operation's id (definition order).
    pub id: usize,
    /// The operation's name.
    pub name: String,
    /// How long it ran (set on completion).
    pub duration: Option<Duration>,
    /// Why it failed, if it did.
    pub failure_reason: Option<String>,
    /// The lineage of the RDD it ran on, with its stages (for drawing the job).
    pub lineage: Vec<sluice_core::LineageNode>,
}

/// One batch: what it read, when it ran, how its output operations went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch time.
    pub batch_time: Time,
    /// Input per input stream id.
    pub stream_id_to_input_info: BTreeMap<usize, StreamInputInfo>,
    /// When the batch's jobs were submitted, on the streaming clock (ms).
    pub submission_time_ms: i64,
    /// Time from submission to the start of processing (set once started).
    pub scheduling_delay: Option<Duration>,
    /// Time from the start to the end of processing (set once completed).
    pub processing_delay: Option<Duration>,
    /// Output operations by id.
    pub output_operation_infos: BTreeMap<usize, OutputOperationInfo>,
}

impl BatchInfo {
    /// Scheduling delay plus processing delay, once the batch has completed.
    pub fn total_delay(&self) -> Option<Duration> {
        Some(self.scheduling_delay? + self.processing_delay?)
    }

    /// Records read by all input streams.
    pub fn num_records(&self) -> u64 {
        self.stream_id_to_input_info
            .values()
            .map(|i| i.num_records)
            .sum()
    }

    /// Output operations that failed.
    pub fn num_failed_output_ops(&self) -> usize {
        self.output_operation_infos
            .values()
            .filter(|o| o.failure_reason.is_some())
            .count()
    }
}

/// The state of a receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverInfo {
    /// The input stream's id.
    pub stream_id: usize,
    /// The receiver's name.
    pub name: String,
    /// Whether it is running.
    pub active: bool,
    /// The last error it reported.
    pub last_error: Option<String>,
    /// Records it has stored.
    pub records_stored: u64,
    /// Bad records it has counted (for example invalid UTF-8).
    pub bad_records: u64,
}

/// An operator with a watermark (an event-time window, session or deduplication), as
/// [`StreamingContext::watermarks`](crate::StreamingContext::watermarks) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkInfo {
    /// The operator's name.
    pub operator: String,
    /// The watermark the next batch closes windows by, ms.
    pub watermark_ms: i64,
    /// Records dropped because they were late.
    pub late_records: u64,
    /// Entries held in state (windows, keys with sessions, remembered keys).
    pub state_size: usize,
}

/// An error a direct source (one without a receiver, such as Kafka's direct stream) met and
/// got past: a failed offset commit, a broker that could not be reached while planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputErrorInfo {
    /// The input stream's id.
    pub stream_id: usize,
    /// The source's name.
    pub name: String,
    /// What went wrong.
    pub message: String,
    /// How many errors of this kind the source has met so far.
    pub count: u64,
}

/// An event of the streaming scheduler.
#[derive(Debug, Clone)]
pub enum StreamingEvent {
    /// The context started; the time is the streaming clock's (ms).
    StreamingStarted(i64),
    /// A batch's jobs were generated and queued.
    BatchSubmitted(BatchInfo),
    /// A batch started processing.
    BatchStarted(BatchInfo),
    /// A batch finished (all output operations ran, successfully or not).
    BatchCompleted(BatchInfo),
    /// An output operation started.
    OutputOperationStarted(OutputOperationInfo),
    /// An output operation finished.
    OutputOperationCompleted(OutputOperationInfo),
    /// A receiver started.
    ReceiverStarted(ReceiverInfo),
    /// A receiver reported an error.
    ReceiverError(ReceiverInfo),
    /// A receiver stopped.
    ReceiverStopped(ReceiverInfo),
    /// A direct source met an error and kept going.
    InputError(InputErrorInfo),
}

/// Receives streaming events. Every method has an empty default.
pub trait StreamingListener: Send + Sync {
    /// The context started.
    fn on_streaming_started(&self, _time_ms: i64) {}
    /// A batch was submitted.
    fn on_batch_submitted(&self, _batch: &BatchInfo) {}
    /// A batch started.
    fn on_batch_started(&self, _batch: &BatchInfo) {}
    /// A batch completed.
    fn on_batch_completed(&self, _batch: &BatchInfo) {}
    /// An output operation started.
    fn on_output_operation_started(&self, _op: &OutputOperationInfo) {}
    /// An output operation completed.
    fn on_output_operation_completed(&self, _op: &OutputOperationInfo) {}
    /// A receiver started.
    fn on_receiver_started(&self, _r: &ReceiverInfo) {}
    /// A receiver reported an error.
    fn on_receiver_error(&self, _r: &ReceiverInfo) {}
    /// A receiver stopped.
    fn on_receiver_stopped(&self, _r: &ReceiverInfo) {}
    /// A direct source met an error and kept going.
    fn on_input_error(&self, _e: &InputErrorInfo) {}
}

fn deliver(l: &dyn StreamingListener, e: &StreamingEvent) {
    match e {
        StreamingEvent::StreamingStarted(t) => l.on_streaming_started(*t),
        StreamingEvent::BatchSubmitted(b) => l.on_batch_submitted(b),
        StreamingEvent::BatchStarted(b) => l.on_batch_started(b),
        StreamingEvent::BatchCompleted(b) => l.on_batch_completed(b),
        StreamingEvent::OutputOperationStarted(o) => l.on_output_operation_started(o),
        StreamingEvent::OutputOperationCompleted(o) => l.on_output_operation_completed(o),
        StreamingEvent::ReceiverStarted(r) => l.on_receiver_started(r),
        StreamingEvent::ReceiverError(r) => l.on_receiver_error(r),
        StreamingEvent::ReceiverStopped(r) => l.on_receiver_stopped(r),
        StreamingEvent::InputError(e) => l.on_input_error(e),
    }
}

enum Msg {
    Event(StreamingEvent),
    Stop,
}

/// Delivers events to listeners on its own thread.
pub(crate) struct ListenerBus {
    listeners: Arc<Mutex<Vec<Arc<dyn StreamingListener>>>>,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl ListenerBus {
    pub(crate) fn new() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        ListenerBus {
            listeners: Arc::new(Mutex::new(Vec::new())),
            tx,
            rx,
            thread: Mutex::new(None),
        }
    }

    pub(crate) fn add(&self, l: Arc<dyn StreamingListener>) {
        self.listeners.lock().push(l);
    }

    /// Starts delivering (events posted before are queued, not lost). Returns the delivery
    /// thread's id.
    pub(crate) fn start(&self) -> std::io::Result<std::thread::ThreadId> {
        let rx = self.rx.clone();
        let listeners = Arc::clone(&self.listeners);
        let h = std::thread::Builder::new()
            .name("sluice-listener-bus".into())
            .spawn(move || {
                while let Ok(Msg::Event(e)) = rx.recv() {
                    let ls = listeners.lock().clone();
                    for l in ls {
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            deliver(&*l, &e)
                        }));
                    }
                }
            })?;
        let id = h.thread().id();
        *self.thread.lock() = Some(h);
        Ok(id)
    }

    pub(crate) fn post(&self, e: StreamingEvent) {
        let _ = self.tx.send(Msg::Event(e));
    }

    /// Delivers every pending event, then stops the thread.
    pub(crate) fn stop(&self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(h) = self.thread.lock().take() {
            let _ = h.join();
        }
    }
}
