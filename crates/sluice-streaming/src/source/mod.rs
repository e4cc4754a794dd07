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
}
