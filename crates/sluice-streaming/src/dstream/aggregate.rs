//! Per-batch aggregates: `count`, `reduce`, `count_by_value`.
//!
//! As in Spark, `count` of an empty batch is one record `0`, while `reduce` of an empty batch
//! is an empty RDD.

use std::hash::Hash;
use std::sync::Arc;

use sluice_core::Data;

use super::DStream;

impl<T: Data> DStream<T> {
    /// One record per batch: the number of records in it (`0` for an empty batch).
    pub fn count(&self) -> DStream<u64> {
        self.map_rdd("count", |r| {
            let zero = r.context().parallelize(vec![((), 0u64)], 1);
            r.map(|_| ((), 1u64))
                .union(&zero)
                .reduce_by_key_into(1, |a, b| a + b)
                .values()
        })
    }

    /// One record per non-empty batch: all records reduced with `f` (associative and
    /// commutative). An empty batch yields an empty RDD.
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> DStream<T> {
        let f = Arc::new(f);
        self.map_rdd("reduce", move |r| {
            let f = Arc::clone(&f);
            r.map(|x| ((), x))
                .reduce_by_key_into(1, move |a, b| f(a, b))
                .values()
        })
    }

    /// `(record, count)` for every distinct record of each batch, in `num_partitions`
    /// partitions (the context's default parallelism when `None`).
    pub fn count_by_value(&self, num_partitions: Option<usize>) -> DStream<(T, u64)>
    where
        T: Hash + Eq,
    {
        let n = num_partitions.unwrap_or_else(|| self.context().default_parallelism());
        self.map_rdd("count_by_value", move |r| {
            r.map(|x| (x, 1u64)).reduce_by_key_into(n, |a, b| a + b)
        })
    }
}
