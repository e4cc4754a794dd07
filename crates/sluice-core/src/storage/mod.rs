//! Storage of cached partitions: [`StorageLevel`] and the LRU [`block_store`].

pub mod block_store;
pub mod level;

pub use level::StorageLevel;
