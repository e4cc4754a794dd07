//! The jobs of one batch, and the messages in which the generator hands them to the runner.

use crate::graph::Job;
use crate::time::Time;

/// All jobs of one batch.
pub(crate) struct JobSet {
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

/// Messages from the generator to the runner.
pub(crate) enum ToRunner {
    /// A batch to run.
    Batch(JobSet),
    /// No more batches: the runner ends once it has run those queued before.
    End,
}
