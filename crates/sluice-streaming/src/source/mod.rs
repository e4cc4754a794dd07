//! Input sources. Each input stream is a [`DStream`](crate::DStream) whose RDD for a batch comes
//! from outside the graph:
//!
//! - [`queue`]: a queue of RDDs pushed by the program (tests, demos; not replayable);
//! - [`rate`]: a generator of records at a fixed rate (the embedded default source; replayable);
//! - [`file`]: new files in a directory, by Spark's modification-time rules;
//! - [`receiver`]: the custom-receiver contract, with blocks and bounded buffers;
//! - [`socket`]: lines from a TCP server, a receiver.

pub mod file;
pub mod queue;
pub mod rate;
pub mod receiver;
pub mod socket;

use crate::listener::{ReceiverInfo, StreamInputInfo};
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
    /// The receiver's state, for receiver-based streams.
    fn receiver_info(&self) -> Option<ReceiverInfo> {
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
}
