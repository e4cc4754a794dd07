//! # Sluice
//!
//! A micro-batch stream processing engine with Apache Spark Streaming's model, as one fast,
//! small program. This crate is the facade users depend on: it re-exports the engine's layers
//! and a [`prelude`].
//!
//! ## A guided tour
//!
//! Streaming ([`streaming`]):
//!
//! - [`StreamingContext`] wraps a [`Context`] with a batch interval. Sources make input
//!   [`DStream`]s: `queue_stream`, `rate_stream` (the embedded generator), `text_file_stream`,
//!   `socket_text_stream`, `receiver_stream` (your own [`Receiver`]).
//! - A `DStream<T>` is one RDD per batch; its operations (`map`, `reduce_by_key`, `join`,
//!   `transform`, ...) apply per batch; output operations (`print`, `save_as_text_files`,
//!   `foreach_rdd`) turn every batch into jobs, run in definition order.
//! - The [`testing`] harness runs a stream on given input with a manual clock, for tests.
//!
//! The batch engine ([`core`]):
//!
//! - [`Context`] (Spark's `SparkContext`) is built from a [`Conf`] (`local[N]` worker threads,
//!   default parallelism, task retries, memory budget) and creates [`Rdd`]s.
//! - [`Rdd<T>`] is a partitioned, lazy collection with lineage. Transformations build the
//!   graph (`map`, `flat_map`, `filter`, `reduce_by_key`, `join`, `sort_by_key`, ...); actions
//!   run it (`collect`, `count`, `take`, `save_as_text_file`, ...).
//! - The DAG scheduler (`scheduler::dag` in `sluice-core`) cuts the graph into stages at shuffles;
//!   narrow operations are fused and run over chunks of records; map-side combine runs before
//!   every aggregating shuffle.
//! - Tasks run on a fixed pool of worker threads (`scheduler::executor`); a panicking
//!   task is caught and retried, and a job that keeps failing returns an error naming the RDD,
//!   stage and partition.
//! - [`Rdd::cache`] / [`Rdd::persist`] keep partitions in a memory-budgeted, LRU block store
//!   ([`core::storage`]); evicted partitions are recomputed or read back from disk.
//! - [`Broadcast`] values and [`Accumulator`]s are shared with tasks.
//!
//! ```
//! use sluice::prelude::*;
//!
//! let ctx = Context::new(Conf::new().set_master("local[2]")).unwrap();
//! let top = ctx
//!     .parallelize(vec!["to be or not to be".to_string()], 1)
//!     .flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>())
//!     .map(|w| (w, 1u64))
//!     .reduce_by_key(|a, b| a + b)
//!     .map(|(w, n)| (n, w))
//!     .sort_by_key(false)
//!     .take(2)
//!     .unwrap();
//! assert_eq!(top[0].0, 2);
//! ```
//!
//! ## Extension points
//!
//! - Your own key placement: implement [`Partitioner`] and pass it to `partition_by` or the
//!   `_with` forms of the key-value operations.
//! - Your own record text form for output files: implement [`ToText`].
//! - Your own shared aggregates: [`Context::accumulator`] with any merge function.

#![warn(unreachable_pub)]

/// Streaming analytics: the article's lag model fitted online, MLlib's streaming learners,
/// anomaly detectors and the four industry scenarios.
pub use sluice_analytics as analytics;
/// Kafka: the direct stream and the sink (feature `kafka`).
#[cfg(feature = "kafka")]
pub use sluice_connectors::kafka;
pub use sluice_core as core;
pub mod memory;
pub use sluice_core::{
    corpus, text, Accumulator, Broadcast, ChunkIter, Conf, Context, Data, Error, HashPartitioner,
    Key, MetricsSnapshot, Partitioner, RangePartitioner, Rdd, Result, SharedPartitioner,
    StorageLevel, TaskContext, ToText,
};
pub use sluice_streaming as streaming;
pub use sluice_streaming::testing;
pub use sluice_streaming::{
    milliseconds, minutes, seconds, BatchInfo, DStream, RddQueue, Receiver, ReceiverContext,
    StopMode, StreamingContext, StreamingListener, Time,
};
/// Tables: records as Arrow, Parquet files with Hive partitions committed in Spark's file-sink
/// log, on local disks and S3 (feature `tables`; S3 with feature `s3`).
#[cfg(feature = "tables")]
pub use sluice_tables as tables;
#[cfg(feature = "ui")]
pub use sluice_ui as ui;

/// The names most programs need: `use sluice::prelude::*;`.
pub mod prelude {
    pub use sluice_core::{
        Accumulator, Broadcast, Conf, Context, Data, Error, HashPartitioner, Key, Partitioner,
        RangePartitioner, Rdd, Result, StorageLevel, ToText,
    };
    pub use sluice_streaming::{
        milliseconds, minutes, seconds, DStream, RddQueue, Receiver, ReceiverContext, StopMode,
        StreamingContext, StreamingListener, Time,
    };
}

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The user guide's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide.md")]
pub struct GuideDoctests;
