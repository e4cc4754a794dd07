//! Sorting: `sort_by_key` and `sort_by`, with a range partitioner so that partition `i` holds
//! keys that sort before those of partition `i + 1`, and each partition sorted within.
//!
//! As in Spark, the range boundaries come from a sample of the keys, taken by a small job
//! before the shuffle runs (sort is stable within a partition for equal keys arriving from
//! the same map partition).

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use super::pair::Key;
use super::Rdd;
use crate::data::Data;
use crate::partitioner::RangePartitioner;

/// Keys sampled per output partition to choose range boundaries.
const SAMPLE_PER_PARTITION: usize = 60;

impl<K: Key + Ord, V: Data> Rdd<(K, V)> {
    /// Sorts by key into the same number of partitions.
    ///
    /// ```
    /// use sluice_core::Context;
    /// let ctx = Context::local(2).unwrap();
    /// let rdd = ctx.parallelize(vec![(3, 'c'), (1, 'a'), (2, 'b')], 2);
    /// assert_eq!(rdd.sort_by_key(true).collect().unwrap(), vec![(1, 'a'), (2, 'b'), (3, 'c')]);
    /// assert_eq!(rdd.sort_by_key(false).keys().collect().unwrap(), vec![3, 2, 1]);
    /// ```
    pub fn sort_by_key(&self, ascending: bool) -> Rdd<(K, V)> {
        self.sort_by_key_into(ascending, self.num_partitions().max(1))
    }

    /// Sorts by key into `n` partitions.
    pub fn sort_by_key_into(&self, ascending: bool, n: usize) -> Rdd<(K, V)> {
        let n = n.max(1);
        let source = self.clone();
        let parts = self.num_partitions().max(1);
        let per_part = (SAMPLE_PER_PARTITION * n).div_ceil(parts).max(1);
        let partitioner = RangePartitioner::new(n, ascending, move || {
            let all: Vec<usize> = (0..source.num_partitions()).collect();
            let samples = crate::scheduler::dag::run_job(&source, &all, |it, tc| {
                reservoir(it, per_part, tc.partition as u64)
            })?;
            Ok(samples.into_iter().flatten().collect())
        });
        let ordering: super::shuffled::KeyOrdering<K> = if ascending {
            Arc::new(|a: &K, b: &K| a.cmp(b))
        } else {
            Arc::new(|a: &K, b: &K| b.cmp(a))
        };
        self.shuffle_plain("sort_by_key", Arc::new(partitioner), Some(ordering))
    }
}

impl<T: Data> Rdd<T> {
    /// Sorts records by a key computed from each, into `n` partitions.
    pub fn sort_by<K: Key + Ord>(
        &self,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
        ascending: bool,
        n: usize,
    ) -> Rdd<T> {
        self.key_by(key)
            .sort_by_key_into(ascending, n)
            .values()
            .set_name("sort_by")
    }
}

/// Reservoir sample of up to `k` keys of a partition, seeded by the partition index.
fn reservoir<K: Data, V>(
    it: super::ChunkIter<(K, V)>,
    k: usize,
    seed: u64,
) -> crate::Result<Vec<K>> {
    let mut rng = Pcg64::seed_from_u64(seed.wrapping_mul(0x9E37_79B9) ^ 0x5EED);
    let mut sample = Vec::with_capacity(k);
    let mut seen = 0usize;
    for chunk in it {
        for (key, _) in chunk? {
            if sample.len() < k {
                sample.push(key);
            } else {
                let j = rng.gen_range(0..=seen);
                if j < k {
                    sample[j] = key;
                }
            }
            seen += 1;
        }
    }
    Ok(sample)
}
