//! # sluice-streaming
//!
//! Spark Streaming's model on Sluice's engine: a [`StreamingContext`] with a batch interval,
//! [`DStream`]s — one RDD per batch — built from sources and transformations, and output
//! operations that turn each batch into jobs.
//!
//! The path of a batch:
//!
//! 1. The job generator (`scheduler::generator`) waits on the [clock] for the next batch
//!    time `t` (a multiple of the batch interval), assigns the data receivers stored since the
//!    last batch to `t`, and asks each output operation, in definition order, for its job: the
//!    operation asks its stream for the RDD of `t`, which asks its parents (memoised per `t`).
//! 2. The batch is queued for the runner (`scheduler::runner`), which runs its jobs one at a
//!    time on the engine's worker pool, posts listener events, records failures, and then lets
//!    every stream forget RDDs older than its remember duration.
//! 3. Receivers' buffers are released when their batch completes; a receiver whose records are
//!    not yet processed blocks in `store` (backpressure).
//!
//! Tests use the [`testing`] harness or a [`clock::ManualClock`]: nothing sleeps.

#![warn(unreachable_pub)]

pub mod backpressure;
mod bad_records;
pub mod checkpoint;
pub mod clock;
pub mod conf;
pub mod context;
pub mod dstream;
pub mod event_time;
mod graph;
pub mod listener;
mod scheduler;
pub mod source;
pub mod state;
pub mod testing;
pub mod time;

pub use context::{StopMode, StreamingContext, StreamingState, WeakStreamingContext};
pub use dstream::stateful::MapWithState;
pub use dstream::DStream;
pub use listener::{BatchInfo, OutputOperationInfo, ReceiverInfo, StreamingListener};
pub use source::queue::RddQueue;
pub use source::receiver::{Receiver, ReceiverContext};
pub use state::{State, StateSpec};
pub use time::{milliseconds, minutes, seconds, Time};
