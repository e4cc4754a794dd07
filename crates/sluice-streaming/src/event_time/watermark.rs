//! Watermarks: the protocol's decisions as pure functions, and the watermark an operator
//! keeps (checkpointed with its state).
//!
//! Structured Streaming's rule: at the end of each batch the watermark becomes the maximum
//! event time seen so far minus the allowed delay, never moving back; the next batch uses it.
//! Before any record the watermark is 0 (the epoch), as in Spark. A batch uses two values of
//! it, as Spark (3.4 and later) does: windows whose end is at or before the current watermark
//! are closed — emitted in append mode, and their state dropped — while a record is late, and
//! dropped, only if its window was closed already under the previous batch's watermark
//! ([`Watermarks`]). So a record that arrives in the very batch whose watermark closes its
//! window still counts in it.

use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sluice_core::{Error, Result};

use super::window::WindowRange;
use super::OutputMode;
use crate::graph::{CheckpointedOperator, DStreamBase, WatermarkReport};

/// The watermark after a batch whose records' latest event time is `batch_max` (`None`: no
/// record), given the watermark it ran with and the allowed delay.
///
/// ```
/// use sluice_streaming::event_time::next_watermark;
/// assert_eq!(next_watermark(0, Some(25_000), 10_000), 15_000);
/// assert_eq!(next_watermark(15_000, Some(20_000), 10_000), 15_000); // never moves back
/// assert_eq!(next_watermark(15_000, None, 10_000), 15_000); // an empty batch keeps it
/// ```
pub fn next_watermark(current: i64, batch_max: Option<i64>, delay_ms: i64) -> i64 {
    match batch_max {
        Some(m) => current.max(m.saturating_sub(delay_ms)),
        None => current,
    }
}

/// The two watermarks a batch runs with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermarks {
    /// Records whose window ends at or before this are late (the previous batch's
    /// watermark).
    pub for_late_records: i64,
    /// Windows that end at or before this are closed (the current watermark).
    pub for_eviction: i64,
}

/// The watermarks of the batch after one that ran with `w` and whose latest event time was
/// `batch_max`.
///
/// ```
/// use sluice_streaming::event_time::{advance, Watermarks};
/// let w = advance(Watermarks::default(), Some(22_000), 5_000);
/// assert_eq!(w, Watermarks { for_late_records: 0, for_eviction: 17_000 });
/// let w = advance(w, Some(9_000), 5_000);
/// assert_eq!(w, Watermarks { for_late_records: 17_000, for_eviction: 17_000 });
/// ```
pub fn advance(w: Watermarks, batch_max: Option<i64>, delay_ms: i64) -> Watermarks {
    Watermarks {
        for_late_records: w.for_eviction,
        for_eviction: next_watermark(w.for_eviction, batch_max, delay_ms),
    }
}

/// The watermarks of the batch after one that ran with `w`, for several inputs: each input's
/// watermark (`inputs`, 0 until it has a record, as in Spark) advances with its latest event
/// time in the batch (`batch_max`) minus its delay, never moving back, and the operator
/// follows the slowest of them (`Min`) or the fastest (`Max`), never moving back either. With
/// one input this is [`advance`].
///
/// ```
/// use sluice_streaming::event_time::{advance_inputs, WatermarkPolicy, Watermarks};
/// let mut inputs = vec![0, 0];
/// let w = advance_inputs(Watermarks::default(), &mut inputs, &[Some(30_000), None], &[5_000, 0], WatermarkPolicy::Min);
/// // The second input has had no record: at 0, it holds the watermark back.
/// assert_eq!((w.for_eviction, inputs.clone()), (0, vec![25_000, 0]));
/// let w = advance_inputs(w, &mut inputs, &[None, Some(10_000)], &[5_000, 0], WatermarkPolicy::Min);
/// assert_eq!(w.for_eviction, 10_000);
/// let mut inputs = vec![0, 0];
/// let w = advance_inputs(Watermarks::default(), &mut inputs, &[Some(30_000), None], &[5_000, 0], WatermarkPolicy::Max);
/// assert_eq!(w.for_eviction, 25_000, "the fastest input leads");
/// ```
pub fn advance_inputs(
    w: Watermarks,
    inputs: &mut [i64],
    batch_max: &[Option<i64>],
    delays_ms: &[i64],
    policy: crate::conf::WatermarkPolicy,
) -> Watermarks {
    for ((input, max), delay) in inputs.iter_mut().zip(batch_max).zip(delays_ms) {
        if let Some(m) = max {
            *input = (*input).max(m.saturating_sub(*delay));
        }
    }
    let all = inputs.iter().copied();
    let chosen = match policy {
        crate::conf::WatermarkPolicy::Min => all.min(),
        crate::conf::WatermarkPolicy::Max => all.max(),
    };
    Watermarks {
        for_late_records: w.for_eviction,
        for_eviction: chosen.map_or(w.for_eviction, |c| w.for_eviction.max(c)),
    }
}

/// Whether `window` is closed under `watermark`: its end is at or before it (Spark evicts
/// and drops by `window.end <= watermark`).
///
/// ```
/// use sluice_streaming::event_time::{is_closed, WindowRange};
/// let w = WindowRange { start: 0, end: 10_000 };
/// assert!(!is_closed(w, 9_999));
/// assert!(is_closed(w, 10_000));
/// ```
pub fn is_closed(window: WindowRange, watermark: i64) -> bool {
    window.end <= watermark
}

/// What a batch does with one window held in state, by output mode, given whether the batch
/// changed it and the batch's eviction watermark: whether it is emitted, and whether its state
/// is dropped.
///
/// ```
/// use sluice_streaming::event_time::{plan_window, OutputMode, WindowRange};
/// let w = WindowRange { start: 0, end: 10 };
/// // Append: emitted once, in the batch whose watermark closes it.
/// assert_eq!(plan_window(OutputMode::Append, w, true, 5), (false, false));
/// assert_eq!(plan_window(OutputMode::Append, w, false, 10), (true, true));
/// // Update: emitted when changed (even in the batch that closes it); then dropped.
/// assert_eq!(plan_window(OutputMode::Update, w, true, 5), (true, false));
/// assert_eq!(plan_window(OutputMode::Update, w, true, 10), (true, true));
/// assert_eq!(plan_window(OutputMode::Update, w, false, 10), (false, true));
/// // Complete: always emitted, never dropped.
/// assert_eq!(plan_window(OutputMode::Complete, w, false, 10), (true, false));
/// ```
pub fn plan_window(
    mode: OutputMode,
    window: WindowRange,
    changed: bool,
    watermark: i64,
) -> (bool, bool) {
    let closed = is_closed(window, watermark);
    match mode {
        OutputMode::Append => (closed, closed),
        OutputMode::Update => (changed, closed),
        OutputMode::Complete => (true, false),
    }
}

/// What an operator's watermark cell holds (and checkpoints): the two watermarks of the next
/// batch, and each input's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WatermarkState {
    pub watermarks: Watermarks,
    pub inputs: Vec<i64>,
}

/// An operator's watermark, shared by its batches and checkpointed as an operator of its own
/// (named after the aggregation, with `#watermark`).
pub(crate) struct WatermarkCell {
    pub stream: Arc<dyn DStreamBase>,
    pub state: Mutex<WatermarkState>,
    changed: std::sync::atomic::AtomicBool,
    /// Records the operator dropped as late.
    pub late: std::sync::atomic::AtomicU64,
    /// The operator's state size, once it is known.
    pub state_size: std::sync::OnceLock<Box<dyn Fn() -> usize + Send + Sync>>,
}

impl WatermarkCell {
    pub(crate) fn new(stream: Arc<dyn DStreamBase>) -> Arc<WatermarkCell> {
        Arc::new(WatermarkCell {
            stream,
            state: Mutex::new(WatermarkState::default()),
            changed: std::sync::atomic::AtomicBool::new(true),
            late: std::sync::atomic::AtomicU64::new(0),
            state_size: std::sync::OnceLock::new(),
        })
    }

    pub(crate) fn get(&self) -> Watermarks {
        self.state.lock().watermarks
    }

    fn set(&self, w: WatermarkState) {
        let mut st = self.state.lock();
        if *st != w {
            *st = w;
            self.changed
                .store(true, std::sync::atomic::Ordering::Release);
        }
    }
}

impl WatermarkCell {
    /// Records a batch that ran with `ran_with`: its late records, and the watermarks the
    /// next batch runs with, from each input's latest event time in the batch.
    pub(crate) fn after_batch(
        &self,
        ran_with: Watermarks,
        batch_max: &[Option<i64>],
        delays_ms: &[i64],
        policy: crate::conf::WatermarkPolicy,
        late: u64,
    ) {
        self.late
            .fetch_add(late, std::sync::atomic::Ordering::Relaxed);
        let mut inputs = self.state.lock().inputs.clone();
        inputs.resize(batch_max.len(), 0);
        let watermarks = advance_inputs(ran_with, &mut inputs, batch_max, delays_ms, policy);
        self.set(WatermarkState { watermarks, inputs });
    }

    /// Registers the watermark as a checkpointed operator and as a report, with the
    /// operator's state size.
    pub(crate) fn register(
        self: &Arc<Self>,
        env: &crate::graph::StreamEnv,
        state_size: Box<dyn Fn() -> usize + Send + Sync>,
    ) {
        let _ = self.state_size.set(state_size);
        env.register_operator(Arc::clone(self) as Arc<dyn CheckpointedOperator>);
        env.register_watermark(Arc::clone(self) as Arc<dyn WatermarkReport>);
    }
}

impl WatermarkReport for WatermarkCell {
    fn name(&self) -> String {
        self.stream.name()
    }
    fn watermark_ms(&self) -> i64 {
        self.get().for_eviction
    }
    fn late_records(&self) -> u64 {
        self.late.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn state_size(&self) -> usize {
        self.state_size.get().map_or(0, |f| f())
    }
}

impl CheckpointedOperator for WatermarkCell {
    fn stream(&self) -> &Arc<dyn DStreamBase> {
        &self.stream
    }
    fn name(&self) -> String {
        format!("{}#watermark", self.stream.name())
    }
    fn kind(&self) -> &'static str {
        "watermark"
    }
    fn is_state(&self) -> bool {
        false
    }
    fn key_type(&self) -> &'static str {
        "()"
    }
    fn state_type(&self) -> &'static str {
        "watermark"
    }
    fn num_groups(&self) -> usize {
        1
    }
    fn always_full(&self) -> bool {
        true
    }
    fn track_changes(&self) {}
    fn num_keys(&self) -> usize {
        1
    }
    fn changed_groups(&self) -> Vec<usize> {
        if self.changed.load(std::sync::atomic::Ordering::Acquire) {
            vec![0]
        } else {
            Vec::new()
        }
    }
    fn encode_group(&self, _group: usize, _full: bool) -> Result<Vec<u8>> {
        self.changed
            .store(false, std::sync::atomic::Ordering::Release);
        serde_json::to_vec(&*self.state.lock())
            .map_err(|e| Error::Serialization(format!("the watermark: {e}")))
    }
    fn restore_group(&self, _group: usize, files: &[Vec<u8>]) -> Result<()> {
        let last = files
            .last()
            .ok_or_else(|| Error::Serialization("no watermark file".into()))?;
        let st: WatermarkState = serde_json::from_slice(last)
            .map_err(|e| Error::Serialization(format!("the watermark: {e}")))?;
        *self.state.lock() = st;
        Ok(())
    }
}
