//! The streaming graph and what its nodes share, below the streams, the sources, the scheduler
//! and the checkpoint.
//!
//! The graph is the program's streams ([`DStreamBase`]s), its inputs ([`InputStream`]s), its
//! output operations ([`OutputStream`]s) and its checkpointed stateful operators
//! ([`CheckpointedOperator`]s). Each node holds an `Arc` of the [`StreamEnv`] it was created
//! in: the engine context, the batch interval, the clock, the settings, the listener bus and
//! the graph itself. Nodes register themselves there; the scheduler and the checkpoint read
//! the graph from there. Nothing in this module knows the streaming context, the scheduler or
//! the checkpoint: they all stand on it.
//!
//! - `stream`: a stream as the graph sees it (type-erased);
//! - `input`: the source contract — lifecycle, batches, reports — and replay after a crash
//!   through the optional [`Replay`] trait with typed positions;
//! - `output`: output operations and the jobs they generate;
//! - `operator`: stateful operators as the checkpoint sees them;
//! - `report`: what operators with a watermark report;
//! - `env`: what every node shares.

mod env;
mod input;
mod operator;
mod output;
mod report;
mod stream;

use std::sync::Arc;

pub(crate) use env::StreamEnv;
pub use input::{BatchOutcome, InputStream, Replay, ReplayHooks};
pub(crate) use operator::CheckpointedOperator;
pub(crate) use output::{Job, OutputStream};
pub(crate) use report::WatermarkReport;
pub use stream::DStreamBase;

/// Every node of one streaming program, in the order they were created.
#[derive(Default, Clone)]
pub(crate) struct Graph {
    pub streams: Vec<Arc<dyn DStreamBase>>,
    pub inputs: Vec<Arc<dyn InputStream>>,
    pub outputs: Vec<Arc<dyn OutputStream>>,
    pub operators: Vec<Arc<dyn CheckpointedOperator>>,
    pub watermarks: Vec<Arc<dyn WatermarkReport>>,
}
