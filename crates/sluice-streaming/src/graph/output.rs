//! Output operations as the scheduler sees them, and the jobs they generate.

use std::sync::Arc;

use sluice_core::Result;

use super::DStreamBase;
use crate::time::Time;

/// The work of one output operation for one batch.
pub(crate) struct Job {
    /// The output operation's id (its position in definition order).
    pub output_id: usize,
    /// The output operation's name.
    pub name: String,
    /// Runs the operation.
    pub run: Box<dyn FnOnce() -> Result<()> + Send>,
    /// The lineage of the RDD the operation runs on (empty for internal jobs).
    pub lineage: Vec<sluice_core::LineageNode>,
}

/// An output operation as the scheduler sees it.
pub(crate) trait OutputStream: Send + Sync {
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
