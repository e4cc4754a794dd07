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
mod watermark;
mod window;

use std::sync::Arc;
use std::time::Duration;

use sluice_core::Data;

pub use dedup::Deduplicated;
pub use output::WindowAggregation;
pub use session::{merge_sessions, sessions_of, Session};
pub use watermark::{advance, is_closed, next_watermark, plan_window, Watermarks};
pub use window::{EventWindow, WindowRange};

use crate::dstream::DStream;
use crate::time::duration_ms;

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

/// A stream whose records carry an event time, with the delay they may arrive late by.
pub struct Watermarked<T: Data> {
    pub(crate) stream: DStream<T>,
    pub(crate) event_time: Arc<dyn Fn(&T) -> i64 + Send + Sync>,
    pub(crate) delay_ms: i64,
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
        Watermarked {
            stream: self.clone(),
            event_time: Arc::new(event_time),
            delay_ms: duration_ms(delay),
        }
    }
}
