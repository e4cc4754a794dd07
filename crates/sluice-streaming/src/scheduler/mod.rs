//! Job generation and scheduling: for every batch time the [`generator`] asks each output
//! operation for a [`job::Job`]; the [`runner`] runs a batch's jobs in order, reports them to
//! listeners and clears old RDDs.

pub mod generator;
pub mod job;
pub mod runner;
