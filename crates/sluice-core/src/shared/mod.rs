//! Shared variables: [`broadcast`] values read by every task and [`accumulator`]s that tasks
//! add to and the driver reads.

pub mod accumulator;
pub mod broadcast;
