//! Job generation and scheduling: for every batch time the [`generator`] asks each output
//! operation for a [`Job`](crate::graph::Job); the [`runner`] runs a batch's jobs in order,
//! reports them to listeners, tells the sources and the checkpoint, and clears old RDDs.
//!
//! One [`Run`] holds what the two threads of one run of the context share: the graph's
//! environment, the progress board that waiters watch, the checkpointer, and the stop flags.

pub(crate) mod generator;
pub(crate) mod job;
pub(crate) mod progress;
pub(crate) mod runner;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::checkpoint::checkpointer::Checkpointer;
use crate::graph::StreamEnv;
use crate::time::Time;
use progress::ProgressBoard;

/// How to stop a streaming context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Stop now: no new batches; the running output operation finishes, queued batches are
    /// dropped.
    Immediate,
    /// Stop sources, process everything already received (in a final batch if needed), then
    /// stop. If that takes longer than `timeout`, the remaining queued batches are dropped.
    Graceful {
        /// The longest to wait for the queued batches.
        timeout: Duration,
    },
}

/// What the scheduler threads of one run share.
pub(crate) struct Run {
    pub env: Arc<StreamEnv>,
    pub progress: Arc<ProgressBoard>,
    pub checkpointer: Option<Arc<Checkpointer>>,
    /// The first batch time of this run (after a restore: the one after the checkpoint).
    pub first_batch: Time,
    /// The most batches this run generates (`limit_batches`).
    pub batch_limit: Option<u64>,
    /// Tells the generator to stop.
    pub stop_generator: AtomicBool,
    /// Tells the runner to drop queued batches.
    pub abort_batches: AtomicBool,
}
