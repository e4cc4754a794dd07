//! Partitioners: which reduce partition a key goes to.
//!
//! [`HashPartitioner`] places a key by its [stable hash](crate::hash::stable_hash);
//! [`RangePartitioner`] places it by comparison with sampled boundaries (used by sorting);
//! any type implementing [`Partitioner`] can be passed to `partition_by` and the `_with_partitioner`
//! operations.

use std::hash::Hash;
use std::sync::{Arc, OnceLock};

use crate::error::Result;
use crate::hash::stable_hash;

/// Decides the partition of a key.
pub trait Partitioner<K>: Send + Sync {
    /// Number of partitions.
    fn num_partitions(&self) -> usize;
    /// The partition of `key`, in `0..num_partitions()`.
    fn partition(&self, key: &K) -> usize;
    /// Two partitioners with the same fingerprint place every key identically; an RDD already
    /// laid out by an equal partitioner needs no shuffle. `None` means "equal to no other".
    fn fingerprint(&self) -> Option<String> {
        None
    }
    /// Driver-side preparation before the shuffle's map tasks run (sampling for ranges).
    fn prepare(&self) -> Result<()> {
        Ok(())
    }
}

/// Places keys by their stable hash modulo the number of partitions (Spark's
/// `HashPartitioner`).
///
/// ```
/// use sluice_core::{HashPartitioner, Partitioner};
/// let p = HashPartitioner::new(4);
/// assert!(p.partition(&"word") < 4);
/// assert_eq!(Partitioner::<&str>::fingerprint(&p), Some("hash:4".to_string()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPartitioner {
    n: usize,
}

impl HashPartitioner {
    /// A hash partitioner over `n` partitions (at least 1).
    pub fn new(n: usize) -> Self {
        HashPartitioner { n: n.max(1) }
    }
}

impl<K: Hash> Partitioner<K> for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.n
    }
    #[inline]
    fn partition(&self, key: &K) -> usize {
        (stable_hash(key) % self.n as u64) as usize
    }
    fn fingerprint(&self) -> Option<String> {
        Some(format!("hash:{}", self.n))
    }
}

type Sampler<K> = Box<dyn Fn() -> Result<Vec<K>> + Send + Sync>;

/// Places keys into ranges whose boundaries are chosen from a sample of the data, so that
/// partitions hold similar numbers of keys and partition `i` holds smaller keys than `i + 1`
/// (larger, when descending). Spark's `RangePartitioner`.
pub struct RangePartitioner<K> {
    n: usize,
    ascending: bool,
    sampler: Sampler<K>,
    bounds: OnceLock<Vec<K>>,
}

impl<K: Ord + Clone + Send + Sync> RangePartitioner<K> {
    /// A range partitioner over `n` partitions whose boundaries come from the keys returned
    /// by `sampler` (called once, on the driver, before the shuffle runs).
    pub fn new(
        n: usize,
        ascending: bool,
        sampler: impl Fn() -> Result<Vec<K>> + Send + Sync + 'static,
    ) -> Self {
        RangePartitioner {
            n: n.max(1),
            ascending,
            sampler: Box::new(sampler),
            bounds: OnceLock::new(),
        }
    }

    /// A range partitioner with explicit upper bounds (`bounds.len() + 1` partitions).
    pub fn with_bounds(mut bounds: Vec<K>, ascending: bool) -> Self {
        bounds.sort();
        bounds.dedup();
        let p = RangePartitioner {
            n: bounds.len() + 1,
            ascending,
            sampler: Box::new(|| Ok(Vec::new())),
            bounds: OnceLock::new(),
        };
        let _ = p.bounds.set(bounds);
        p
    }

    /// Chooses `n - 1` boundaries splitting a sorted sample into `n` equal parts.
    pub fn bounds_from_sample(mut sample: Vec<K>, n: usize) -> Vec<K> {
        sample.sort();
        let mut bounds: Vec<K> = Vec::with_capacity(n.saturating_sub(1));
        if sample.is_empty() {
            return bounds;
        }
        for i in 1..n {
            let idx = i * sample.len() / n;
            if idx >= sample.len() {
                break;
            }
            let k = &sample[idx];
            if bounds.last().is_none_or(|last| last < k) {
                bounds.push(k.clone());
            }
        }
        bounds
    }
}

impl<K: Ord + Clone + Send + Sync> Partitioner<K> for RangePartitioner<K> {
    fn num_partitions(&self) -> usize {
        self.n
    }
    fn partition(&self, key: &K) -> usize {
        let bounds = self.bounds.get().map(Vec::as_slice).unwrap_or(&[]);
        // Partition i holds keys in (bounds[i-1], bounds[i]].
        let p = bounds.partition_point(|b| b < key);
        if self.ascending {
            p
        } else {
            self.n - 1 - p.min(self.n - 1)
        }
    }
    fn prepare(&self) -> Result<()> {
        if self.bounds.get().is_none() {
            let sample = (self.sampler)()?;
            let _ = self.bounds.set(Self::bounds_from_sample(sample, self.n));
        }
        Ok(())
    }
}

/// A shared, type-erased partitioner.
pub type SharedPartitioner<K> = Arc<dyn Partitioner<K>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_bounds_split_evenly_and_order() {
        let b = RangePartitioner::bounds_from_sample((0..100).collect(), 4);
        assert_eq!(b, vec![25, 50, 75]);
        let p = RangePartitioner::with_bounds(b, true);
        assert_eq!(p.partition(&0), 0);
        assert_eq!(p.partition(&25), 0);
        assert_eq!(p.partition(&26), 1);
        assert_eq!(p.partition(&1000), 3);
        let d = RangePartitioner::with_bounds(vec![25, 50, 75], false);
        assert_eq!(d.partition(&0), 3);
        assert_eq!(d.partition(&1000), 0);
    }

    #[test]
    fn duplicate_heavy_sample_gives_fewer_bounds() {
        let b = RangePartitioner::bounds_from_sample(vec![1; 50], 4);
        assert_eq!(b, vec![1]);
    }
}
