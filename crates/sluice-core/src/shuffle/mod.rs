//! Shuffle: map tasks split their output by reduce partition; reduce tasks read their slice
//! of every map output. Outputs live in memory in the [`store`] until the shuffle is dropped.

pub(crate) mod size_hints;
pub(crate) mod store;
