//! Running jobs: the [`dag`] scheduler cuts a lineage graph into stages at shuffle boundaries
//! and runs them in order; the [`executor`] runs a stage's tasks (one per partition) on the
//! worker pool, catching panics and retrying; [`task`] is what a running task can see.

pub(crate) mod dag;
pub(crate) mod executor;
pub(crate) mod task;
