//! Input sources. Each input stream is a [`DStream`] whose RDD for a batch comes
//! from outside the graph:
//!
//! - [`queue`]: a queue of RDDs pushed by the program (tests, demos; not replayable);
//! - [`rate`]: a generator of records at a fixed rate (the embedded default source; replayable);
//! - [`file`](mod@file): new files in a directory, by Spark's modification-time rules;
//! - [`receiver`]: the custom-receiver contract, with blocks and bounded buffers;
//! - [`socket`]: lines from a TCP server, a receiver;
//! - [`lines`]: cutting bytes into lines of bounded length;
//! - [`bad_records`]: counting what a source skipped, once per task however often it runs.

pub mod bad_records;
pub mod file;
pub mod lines;
pub mod queue;
pub mod rate;
pub mod receiver;
pub mod socket;

use std::sync::Arc;

use sluice_core::{Data, Rdd};

use crate::context::StreamingContext;
use crate::dstream::{DStream, StreamCompute};
use crate::listener::{BatchInfo, ReceiverInfo, StreamInputInfo};
use crate::time::Time;

/// An input stream as the scheduler sees it.
pub trait InputStream: Send + Sync {
    /// The stream's id.
    fn id(&self) -> usize;
    /// Starts receiving (receivers); called by `StreamingContext::start`.
    fn start(&self) -> sluice_core::Result<()> {
        Ok(())
    }
    /// Stops receiving; returns when no more data will arrive.
    fn stop(&self) {}
    /// Assigns the data received so far to batch `time` (receivers).
    fn allocate(&self, _time: Time) {}
    /// Whether data was received that no batch has taken yet.
    fn has_unallocated_data(&self) -> bool {
        false
    }
    /// What the stream read for batch `time`.
    fn input_info(&self, _time: Time) -> Option<StreamInputInfo> {
        None
    }
    /// Batch `time` completed: release what it held.
    fn batch_completed(&self, _time: Time) {}
    /// Batch `info.batch_time` completed, with its delays and whether its outputs succeeded
    /// (`failed`); called on the runner thread before the next batch runs (rate control,
    /// committing offsets).
    fn on_batch_completed(&self, _info: &BatchInfo, _failed: bool) {}
    /// The receiver's state, for receiver-based streams.
    fn receiver_info(&self) -> Option<ReceiverInfo> {
        None
    }
    /// What the source skipped because it could not be decoded or read (direct sources;
    /// receivers count theirs in [`ReceiverInfo::bad_records`]).
    fn bad_records(&self) -> Option<bad_records::BadRecordReport> {
        None
    }
    /// A name that is the same each time the program builds its graph (checkpoints key the
    /// sources' records by it).
    fn name(&self) -> String {
        format!("input-{}", self.id())
    }
    /// What the source read for batch `time`, recorded before the batch runs so that the
    /// batch can re-run on the same input after a crash.
    fn batch_record(&self, _time: Time) -> Option<serde_json::Value> {
        None
    }
    /// Makes batch `time` read what `record` says it read before.
    fn restore_batch(&self, _time: Time, _record: &serde_json::Value) -> sluice_core::Result<()> {
        Ok(())
    }
    /// What the source must remember across a restart, as of batch `time`.
    fn checkpoint_state(&self, _time: Time) -> Option<serde_json::Value> {
        None
    }
    /// Restores what `checkpoint_state` returned.
    fn restore_state(&self, _state: &serde_json::Value) -> sluice_core::Result<()> {
        Ok(())
    }
    /// A checkpoint of the state after batch `time` was written (receivers delete the parts
    /// of their write-ahead log it covers).
    fn checkpoint_written(&self, _time: Time) -> sluice_core::Result<()> {
        Ok(())
    }
    /// Whether the source writes a write-ahead log (it then needs a checkpoint directory).
    fn uses_write_ahead_log(&self) -> bool {
        false
    }
}

/// A source defined outside this crate (connectors): the input bookkeeping of
/// [`InputStream`] plus the computation of each batch's RDD.
///
/// Register one with [`StreamingContext::input_stream`]; the engine then calls
/// [`InputSource::bind`] once with the stream's id, [`InputStream::allocate`] when a batch is
/// generated and [`InputSource::compute`] for the batch's RDD.
pub trait InputSource<T: Data>: InputStream {
    /// Tells the source its stream id (returned by [`InputStream::id`] from then on).
    fn bind(&self, id: usize);
    /// The RDD of batch `time` (`None`: the stream has no RDD for that time).
    fn compute(&self, time: Time) -> sluice_core::Result<Option<Rdd<T>>>;
}

struct SourceCompute<S>(Arc<S>);

impl<T: Data, S: InputSource<T> + 'static> StreamCompute<T> for SourceCompute<S> {
    fn compute(&self, time: Time) -> sluice_core::Result<Option<Rdd<T>>> {
        self.0.compute(time)
    }
}

impl StreamingContext {
    /// A stream whose batches come from `source` (see [`InputSource`]); `name` is the
    /// operation's name shown in the UI.
    pub fn input_stream<T: Data, S: InputSource<T> + 'static>(
        &self,
        name: &str,
        source: Arc<S>,
    ) -> sluice_core::Result<DStream<T>> {
        self.shared().check_can_add()?;
        let stream = DStream::new_node(
            self.shared(),
            name,
            self.batch_interval(),
            vec![],
            std::time::Duration::ZERO,
            SourceCompute(Arc::clone(&source)),
        );
        source.bind(stream.id());
        self.shared().register_input(source);
        Ok(stream)
    }
}
