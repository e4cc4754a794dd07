//! Event time: windows over the records' own timestamps, with a watermark, late data and
//! Structured Streaming's output modes, on DStreams.
//!
//! [`DStream::with_watermark`] says where a record's event time is and how late it may
//! arrive; the [`Watermarked`] stream then aggregates by key over event-time windows
//! ([`EventWindow`]: tumbling or sliding, aligned to the epoch) with
//! [`count_by_window`](Watermarked::count_by_window),
//! [`reduce_by_window`](Watermarked::reduce_by_window),
//! [`aggregate_by_window`](Watermarked::aggregate_by_window) (an initial value) or
//! [`combine_by_window`](Watermarked::combine_by_window) (the general fold).
//!
//! The rules are Spark's:
//!
//! - the watermark is the latest event time seen minus the delay, computed at the end of a
//!   batch and used from the next one, never moving back; 0 before any record
//!   ([`next_watermark`]);
//! - a window is closed once its end is at or before the watermark ([`is_closed`]); a record
//!   is late — dropped and counted ([`WindowAggregation::late_records`]) — when its window
//!   was closed under the *previous* batch's watermark, as in Spark 3.4 and later
//!   ([`Watermarks`], [`advance`]), and never in complete mode, which keeps every window;
//! - [`OutputMode::Append`] emits a window once, in the batch whose watermark closes it;
//!   [`OutputMode::Update`] emits the windows a batch changed; [`OutputMode::Complete`] emits
//!   every window each batch and keeps them all. Append and update drop closed windows' state
//!   ([`plan_window`]).
//!
//! Every batch runs, with or without records, so an empty batch still closes the windows the
//! watermark passed. The state is in key groups and checkpointed with the watermark, so a job
//! restarted from a checkpoint emits what a run without the crash would have.
//!
//! ```
//! use sluice_streaming::event_time::{EventWindow, OutputMode, WindowRange};
//! use sluice_streaming::testing::run_stream;
//! use sluice_streaming::time::seconds;
//! // (sensor, event time in ms) per batch.
//! let batches = vec![
//!     vec![('a', 1_000), ('a', 4_000), ('b', 12_000)], // watermark after: 12 s - 5 s = 7 s
//!     vec![('a', 3_000), ('a', 11_000)],                // [0, 10 s) still open under 7 s
//!     vec![('a', 26_000)],                              // watermark after: 21 s
//!     vec![],                                           // 21 s closes [0, 10 s) and [10 s, 20 s)
//! ];
//! let out = run_stream(batches, 4, |s| {
//!     s.with_watermark(|r: &(char, i64)| r.1, seconds(5))
//!         .count_by_window(EventWindow::tumbling(10_000).unwrap(), OutputMode::Append)
//!         .unwrap()
//!         .stream()
//! })
//! .unwrap();
//! let w = |s| WindowRange { start: s, end: s + 10_000 };
//! assert!(out[0].is_empty() && out[1].is_empty() && out[2].is_empty());
//! let mut last = out[3].clone();
//! last.sort();
//! assert_eq!(last, vec![(('a', w(0)), 3), (('a', w(10_000)), 1), (('b', w(10_000)), 1)]);
//! ```

mod aggregate;
mod dedup;
mod output;
mod session;
mod session_aggregate;
mod tracker;
mod watermark;
mod window;

use std::sync::Arc;
use std::time::Duration;

use sluice_core::{Data, Result};

pub use crate::conf::WatermarkPolicy;
pub use dedup::Deduplicated;
pub use output::WindowAggregation;
pub use session::{merge_sessions, sessions_of, Session};
pub use watermark::{advance, advance_inputs, is_closed, next_watermark, plan_window, Watermarks};
pub use window::{EventWindow, WindowRange};

use crate::dstream::DStream;
use crate::time::{duration_ms, Time};
use tracker::{MaxGuard, MaxTracker};

/// Which rows an event-time aggregation emits each batch (Structured Streaming's output
/// modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Each window once, final, in the batch whose watermark closes it.
    Append,
    /// The windows the batch changed, with their current aggregates.
    Update,
    /// Every window held, each batch; no state is dropped.
    Complete,
}

/// A stream whose records carry an event time, with the delay they may arrive late by: one
/// input ([`DStream::with_watermark`]) or several ([`union`](Watermarked::union)).
pub struct Watermarked<T: Data> {
    /// The records with their event times.
    pub(crate) stream: DStream<(i64, T)>,
    /// Each input's delay and latest event times.
    pub(crate) inputs: Arc<Vec<InputClock>>,
}

/// After an operator's batch `time` that ran with `ran_with`: records its late records and
/// advances its watermarks from its inputs' latest event times.
pub(crate) fn after_batch(
    cell: &watermark::WatermarkCell,
    ran_with: Watermarks,
    inputs: &[InputClock],
    time: Time,
    policy: WatermarkPolicy,
    late: u64,
) {
    let maxes: Vec<Option<i64>> = inputs.iter().map(|i| i.tracker.batch_max(time)).collect();
    let delays: Vec<i64> = inputs.iter().map(|i| i.delay_ms).collect();
    cell.after_batch(ran_with, &maxes, &delays, policy, late);
}

/// One watermarked input: its allowed delay, and the latest event time of each batch.
pub(crate) struct InputClock {
    pub delay_ms: i64,
    pub tracker: Arc<MaxTracker>,
}

impl<T: Data> Clone for Watermarked<T> {
    fn clone(&self) -> Self {
        Watermarked {
            stream: self.stream.clone(),
            inputs: Arc::clone(&self.inputs),
        }
    }
}

impl<T: Data> Watermarked<T> {
    /// The records of both streams, each keeping its own watermark: operators follow the
    /// slowest input's watermark, or the fastest's, as `sluice.streaming.multipleWatermarkPolicy`
    /// says (`min`, the default, or `max`: Spark's `multipleWatermarkPolicy`). An input that
    /// has had no record yet counts as 0, as in Spark: under `min` it holds the watermark back.
    ///
    /// ```
    /// use sluice_streaming::event_time::{EventWindow, OutputMode};
    /// use sluice_streaming::testing::run_stream2;
    /// use sluice_streaming::time::seconds;
    /// // Two inputs of (key, event time ms): one 20 s ahead of the other.
    /// let fast = vec![vec![('a', 25_000)], vec![], vec![]];
    /// let slow = vec![vec![('a', 5_000)], vec![], vec![]];
    /// let out = run_stream2(fast, slow, 3, |f, s| {
    ///     let t = |r: &(char, i64)| r.1;
    ///     f.with_watermark(t, seconds(0))
    ///         .union(&s.with_watermark(t, seconds(0)))
    ///         .unwrap()
    ///         .count_by_window(EventWindow::tumbling(10_000).unwrap(), OutputMode::Append)
    ///         .unwrap()
    ///         .stream()
    /// })
    /// .unwrap();
    /// // The watermark is the slow input's, 5 s: no window closes, nothing is dropped.
    /// assert!(out.iter().all(Vec::is_empty));
    /// ```
    pub fn union(&self, other: &Watermarked<T>) -> Result<Watermarked<T>> {
        let inputs = self
            .inputs
            .iter()
            .chain(other.inputs.iter())
            .map(|i| InputClock {
                delay_ms: i.delay_ms,
                tracker: Arc::clone(&i.tracker),
            })
            .collect();
        if self.stream.slide_duration() != other.stream.slide_duration() {
            return Err(sluice_core::Error::InvalidArgument(format!(
                "union of watermarked streams with different slides: {:?} and {:?}",
                self.stream.slide_duration(),
                other.stream.slide_duration()
            )));
        }
        Ok(Watermarked {
            stream: self.stream.union(&other.stream),
            inputs: Arc::new(inputs),
        })
    }

    /// The delay of the first input (in the order of the unions): the delay Spark's operators
    /// see on a union's event-time column, whose metadata is its first child's.
    pub(crate) fn first_delay_ms(&self) -> i64 {
        self.inputs.first().map_or(0, |i| i.delay_ms)
    }

    /// How the inputs' watermarks combine (the context's setting).
    pub(crate) fn policy(&self) -> WatermarkPolicy {
        self.stream.node.meta.env.settings.watermark_policy
    }
}

impl<T: Data> DStream<T> {
    /// The stream with an event time per record (`event_time`, ms since the epoch) and an
    /// allowed delay: Spark's `withWatermark(column, delay)`. Aggregations over event-time
    /// windows of the returned stream keep a watermark — the latest event time seen minus
    /// `delay` — and drop what is older.
    pub fn with_watermark(
        &self,
        event_time: impl Fn(&T) -> i64 + Send + Sync + 'static,
        delay: Duration,
    ) -> Watermarked<T> {
        let tracker = Arc::new(MaxTracker::default());
        let (tr, f) = (Arc::clone(&tracker), Arc::new(event_time));
        let stream = self.transform(move |rdd, t| {
            let (tr, f) = (Arc::clone(&tr), Arc::clone(&f));
            Ok(rdd.map_partitions_with_index(move |split, it| {
                let f = Arc::clone(&f);
                let mut seen = MaxGuard::new(Arc::clone(&tr), t, split);
                it.map(move |r| {
                    let ts = f(&r);
                    seen.observe(ts);
                    (ts, r)
                })
            }))
        });
        Watermarked {
            stream,
            inputs: Arc::new(vec![InputClock {
                delay_ms: duration_ms(delay),
                tracker,
            }]),
        }
    }
}
