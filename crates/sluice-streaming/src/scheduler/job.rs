//! Jobs: the unit of work of a batch, one per output operation.

use std::sync::Arc;

use sluice_core::Result;

use crate::dstream::DStreamBase;
use crate::time::Time;

/// The work of one output operation for one batch.
pub struct Job {
    /// The batch time.
    pub time: Time,
    /// The output operation's id (its position in definition order).
    pub output_id: usize,
    /// The output operation's name.
    pub name: String,
    /// Runs the operation.
    pub run: Box<dyn FnOnce() -> Result<()> + Send>,
    /// The lineage of the RDD the operation runs on (empty for internal jobs).
    pub lineage: Vec<sluice_core::LineageNode>,
}

/// All jobs of one batch.
pub struct JobSet {
    /// The batch time.
    pub time: Time,
    /// The jobs, in output-operation order.
    pub jobs: Vec<Job>,
    /// Set when generating the batch's jobs failed; the batch then reports this error.
    pub generation_error: Option<String>,
    /// When the batch was handed to the runner.
    pub submitted: std::time::Instant,
    /// Submission time on the streaming clock, in milliseconds.
    pub submission_time_ms: i64,
}

/// An output operation as the scheduler sees it.
pub trait OutputStream: Send + Sync {
    /// The operation's id: its position in definition order.
    fn id(&self) -> usize;
    /// A description such as `print at flat_map`.
    fn name(&self) -> String;
    /// The stream it outputs.
    fn stream(&self) -> Arc<dyn DStreamBase>;
    /// The job for batch `time`, if the stream has an RDD for it.
    fn generate_job(&self, time: Time) -> Result<Option<Job>>;
    /// Whether the engine registered this operation itself (to materialize a stream) rather
    /// than the program.
    fn is_internal(&self) -> bool {
        false
    }
}
