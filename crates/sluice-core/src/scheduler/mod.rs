//! Running jobs: the [`dag`] scheduler cuts a lineage graph into stages at shuffle boundaries
//! and runs them in order; the [`executor`] runs a stage's tasks (one per partition) on the
//! worker pool, catching panics and retrying; [`task`] is what a running task can see.

pub mod dag;
pub mod executor;
pub mod task;
