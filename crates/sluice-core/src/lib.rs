//! # sluice-core
//!
//! The batch engine under Sluice's streaming layer, in Spark's vocabulary: a [`Context`]
//! creates [`Rdd`]s — partitioned, lazily computed collections with lineage — and actions on
//! them run jobs.
//!
//! The path of a job:
//!
//! 1. An action (`collect`, `count`, `save_as_text_file`, ...) calls the DAG scheduler
//!    (`scheduler::dag`) with the RDD and a function to run per partition.
//! 2. The scheduler walks the lineage and cuts it into stages at shuffle dependencies;
//!    narrow operations (`map`, `filter`, ...) in a stage are fused into one task per partition.
//! 3. Parent (map) stages run first, unless their shuffle output is already held in the
//!    `shuffle::store`; each map task combines by key where an aggregator exists and splits
//!    its output by reduce partition.
//! 4. The `scheduler::executor` runs each stage's tasks on a fixed pool of worker threads,
//!    catching panics and retrying failed tasks.
//! 5. Persisted RDDs keep computed partitions in the [`storage::block_store`] under a memory
//!    budget; an evicted partition is recomputed from lineage or read from disk.
//!
//! ```
//! use sluice_core::{Conf, Context};
//! let ctx = Context::new(Conf::new().set_master("local[2]")).unwrap();
//! let lines = ctx.parallelize(vec!["a b a".to_string(), "b a".to_string()], 2);
//! let mut counts = lines
//!     .flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>())
//!     .map(|w| (w, 1u64))
//!     .reduce_by_key(|a, b| a + b)
//!     .collect()
//!     .unwrap();
//! counts.sort();
//! assert_eq!(counts, vec![("a".to_string(), 3), ("b".to_string(), 2)]);
//! ```

#![warn(unreachable_pub)]

pub mod conf;
pub mod context;
pub mod corpus;
pub mod data;
pub mod error;
pub mod hash;
pub mod metrics;
pub mod partitioner;
pub mod rdd;
mod scheduler;
pub mod shared;
mod shuffle;
pub mod storage;
pub mod text;

pub use conf::Conf;
pub use context::Context;
pub use data::{Data, ToText};
pub use error::{Error, Result};
pub use metrics::MetricsSnapshot;
pub use partitioner::{HashPartitioner, Partitioner, RangePartitioner, SharedPartitioner};
pub use rdd::debug::LineageNode;
pub use rdd::pair::Key;
pub use rdd::{ChunkIter, Rdd};
pub use scheduler::task::TaskContext;
pub use shared::accumulator::Accumulator;
pub use shared::broadcast::Broadcast;
pub use storage::StorageLevel;

/// Engine internals the other Sluice crates use (the streaming layer's scheduler and outputs);
/// not part of the public API, and may change at any time.
#[doc(hidden)]
pub mod internals {
    pub use crate::rdd::save::remove_stale_temporaries;
    pub use crate::scheduler::executor::panic_message;
    pub use crate::shuffle::size_hints::in_scope as size_hint_scope;
}
