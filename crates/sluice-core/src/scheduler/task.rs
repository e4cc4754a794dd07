//! What a running task knows about itself.

/// Identity of a running task attempt, passed to every partition computation.
#[derive(Debug, Clone, Copy)]
pub struct TaskContext {
    /// The stage this task belongs to.
    pub stage_id: usize,
    /// The partition it computes.
    pub partition: usize,
    /// Attempt number, from 0.
    pub attempt: usize,
}
