//! RDDs made from data in the driver: `parallelize`, `parallelize_partitions`, `range`,
//! `empty`.

use std::sync::Arc;

use super::{chunked, chunks_of_shared, ChunkIter, Compute, Rdd};
use crate::context::Context;
use crate::data::Data;
use crate::error::Result;
use crate::scheduler::task::TaskContext;

/// Partitions held in memory, handed out by reference and cloned chunk by chunk.
struct InMemory<T> {
    partitions: Vec<Arc<Vec<T>>>,
}

impl<T: Data> Compute<T> for InMemory<T> {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<ChunkIter<T>> {
        Ok(chunks_of_shared(Arc::clone(&self.partitions[split])))
    }
}

struct RangeCompute {
    start: i64,
    step: i64,
    bounds: Vec<(u64, u64)>,
}

impl Compute<i64> for RangeCompute {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<ChunkIter<i64>> {
        let (a, b) = self.bounds[split];
        let (start, step) = (self.start, self.step);
        Ok(chunked((a..b).map(move |i| {
            start.wrapping_add((i as i64).wrapping_mul(step))
        })))
    }
}

/// Splits `n` items into `parts` contiguous ranges as evenly as possible (Spark's slicing).
pub(crate) fn slice_bounds(n: u64, parts: usize) -> Vec<(u64, u64)> {
    let parts = parts as u64;
    (0..parts)
        .map(|i| {
            let lo = (u128::from(i) * u128::from(n) / u128::from(parts)) as u64;
            let hi = (u128::from(i + 1) * u128::from(n) / u128::from(parts)) as u64;
            (lo, hi)
        })
        .collect()
}

impl Context {
    /// Distributes a vector over `num_partitions` contiguous slices (at least 1).
    ///
    /// ```
    /// use sluice_core::Context;
    /// let ctx = Context::local(2).unwrap();
    /// let rdd = ctx.parallelize(vec![1, 2, 3, 4, 5], 2);
    /// assert_eq!(rdd.glom().collect().unwrap(), vec![vec![1, 2], vec![3, 4, 5]]);
    /// ```
    pub fn parallelize<T: Data>(&self, data: Vec<T>, num_partitions: usize) -> Rdd<T> {
        let n = num_partitions.max(1);
        let mut data = data;
        let bounds = slice_bounds(data.len() as u64, n);
        let mut parts = Vec::with_capacity(n);
        for &(lo, _) in bounds.iter().rev() {
            parts.push(Arc::new(data.split_off(lo as usize)));
        }
        parts.reverse();
        self.rdd_of_partitions(parts, "parallelize")
    }

    /// An RDD whose partitions are exactly the given vectors.
    pub fn parallelize_partitions<T: Data>(&self, partitions: Vec<Vec<T>>) -> Rdd<T> {
        let parts = partitions.into_iter().map(Arc::new).collect();
        self.rdd_of_partitions(parts, "parallelize")
    }

    /// An RDD whose partitions are shared vectors (no copy is made until a task reads them).
    pub fn parallelize_shared<T: Data>(&self, partitions: Vec<Arc<Vec<T>>>) -> Rdd<T> {
        self.rdd_of_partitions(partitions, "parallelize")
    }

    pub(crate) fn rdd_of_partitions<T: Data>(
        &self,
        partitions: Vec<Arc<Vec<T>>>,
        op: &str,
    ) -> Rdd<T> {
        let n = partitions.len();
        Rdd::from_compute(
            self,
            "ParallelCollectionRDD",
            op,
            n,
            vec![],
            None,
            InMemory { partitions },
        )
    }

    /// The integers `start, start+step, ...` below `end` (above it for a negative step),
    /// in `num_partitions` partitions. A zero step yields an empty RDD.
    pub fn range(&self, start: i64, end: i64, step: i64, num_partitions: usize) -> Rdd<i64> {
        let count: u64 = if step > 0 && end > start {
            ((i128::from(end) - i128::from(start) + i128::from(step) - 1) / i128::from(step)) as u64
        } else if step < 0 && end < start {
            ((i128::from(start) - i128::from(end) - i128::from(step) - 1) / -i128::from(step))
                as u64
        } else {
            0
        };
        let n = num_partitions.max(1);
        Rdd::from_compute(
            self,
            "MapPartitionsRDD",
            "range",
            n,
            vec![],
            None,
            RangeCompute {
                start,
                step,
                bounds: slice_bounds(count, n),
            },
        )
    }

    /// An RDD with no partitions and no records.
    pub fn empty<T: Data>(&self) -> Rdd<T> {
        Rdd::from_compute(
            self,
            "EmptyRDD",
            "empty",
            0,
            vec![],
            None,
            InMemory::<T> { partitions: vec![] },
        )
    }
}
