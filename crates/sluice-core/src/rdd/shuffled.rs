//! Shuffle dependencies and the RDDs that read them.
//!
//! A `ShuffleDependency` belongs to the reduce side. Its map task computes one partition of
//! the parent, optionally combines values by key on the map side (an associative merge cuts the
//! data before it moves), and splits the result by reduce partition. The reading node merges
//! the buckets of every map output for its partition.

use std::any::Any;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::combine::{combine_into, combine_map, CombineMap};
use super::{chunked, ChunkIter, Compute, Rdd, RddBase};
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::partitioner::SharedPartitioner;
use crate::scheduler::task::TaskContext;
use crate::shuffle::size_hints::Site;
use crate::shuffle::store::MapOutput;

/// The type-erased view of a shuffle dependency that the scheduler works with.
pub trait ShuffleDepBase: Send + Sync {
    /// The shuffle's id within its context.
    fn shuffle_id(&self) -> usize;
    /// The map-side RDD.
    fn parent(&self) -> Arc<dyn RddBase>;
    /// Number of reduce partitions.
    fn num_reduce_partitions(&self) -> usize;
    /// Driver-side preparation before map tasks run.
    fn prepare(&self) -> Result<()>;
    /// Runs the map task for one parent partition.
    fn run_map_task(&self, map_partition: usize, tc: &TaskContext) -> Result<MapOutput>;
}

/// How values are combined by key: Spark's `Aggregator`, with in-place merges.
pub(crate) struct Aggregator<V, C> {
    pub create: Box<dyn Fn(V) -> C + Send + Sync>,
    pub merge_value: Box<dyn Fn(C, V) -> C + Send + Sync>,
    pub merge_combiners: Box<dyn Fn(C, C) -> C + Send + Sync>,
}

/// A shuffle of `(K, V)` records by a partitioner, optionally aggregating into `C`.
pub(crate) struct ShuffleDependency<K: Data, V: Data, C> {
    pub id: usize,
    pub ctx: Context,
    pub parent: Rdd<(K, V)>,
    pub partitioner: SharedPartitioner<K>,
    pub aggregator: Option<Arc<Aggregator<V, C>>>,
    pub map_side_combine: bool,
    /// Distinct keys seen by the last map task of a shuffle made at the same site, to size the
    /// next task's combine table and spare it the rehashing as it grows.
    pub size_hint: Arc<AtomicUsize>,
}

impl<K: Data, V: Data, C> Drop for ShuffleDependency<K, V, C> {
    fn drop(&mut self) {
        self.ctx.inner.shuffles.remove(self.id);
    }
}

impl<K, V, C> ShuffleDepBase for ShuffleDependency<K, V, C>
where
    K: Data + Hash + Eq,
    V: Data,
    C: Data,
{
    fn shuffle_id(&self) -> usize {
        self.id
    }
    fn parent(&self) -> Arc<dyn RddBase> {
        self.parent.base()
    }
    fn num_reduce_partitions(&self) -> usize {
        self.partitioner.num_partitions()
    }
    fn prepare(&self) -> Result<()> {
        self.partitioner.prepare()
    }

    fn run_map_task(&self, map_partition: usize, tc: &TaskContext) -> Result<MapOutput> {
        let n = self.partitioner.num_partitions();
        let input = self.parent.iterator(map_partition, tc)?;
        let buckets: Vec<Box<dyn Any + Send + Sync>> =
            match (&self.aggregator, self.map_side_combine) {
                (Some(agg), true) => {
                    let hint = self.size_hint.load(Ordering::Relaxed);
                    let mut map: CombineMap<K, C> = combine_map(hint);
                    for chunk in input {
                        for (k, v) in chunk? {
                            combine_into(&mut map, k, v, &agg.create, &agg.merge_value);
                        }
                    }
                    self.size_hint.store(map.len(), Ordering::Relaxed);
                    let mut buckets: Vec<Vec<(K, C)>> = (0..n).map(|_| Vec::new()).collect();
                    for (k, c) in map {
                        buckets[self.partitioner.partition(&k)].push((k, c));
                    }
                    buckets.into_iter().map(|b| Box::new(b) as _).collect()
                }
                _ => {
                    let mut buckets: Vec<Vec<(K, V)>> = (0..n).map(|_| Vec::new()).collect();
                    for chunk in input {
                        for (k, v) in chunk? {
                            buckets[self.partitioner.partition(&k)].push((k, v));
                        }
                    }
                    buckets.into_iter().map(|b| Box::new(b) as _).collect()
                }
            };
        Ok(Arc::new(buckets))
    }
}

impl<K: Data + Hash + Eq, V: Data, C: Data> ShuffleDependency<K, V, C> {
    /// The buckets for reduce partition `r` from every map output, in map order.
    fn fetch<X: Data>(&self, r: usize) -> Result<Vec<MapOutput>> {
        let outputs = self.ctx.inner.shuffles.outputs(self.id);
        let mut out = Vec::with_capacity(outputs.len());
        for (m, o) in outputs.into_iter().enumerate() {
            let o = o.ok_or_else(|| {
                Error::Internal(format!("shuffle {} is missing map output {m}", self.id))
            })?;
            if o.get(r).and_then(|b| b.downcast_ref::<Vec<X>>()).is_none() {
                return Err(Error::Internal(format!(
                    "shuffle {} map output {m} has no bucket {r} of the expected type",
                    self.id
                )));
            }
            out.push(o);
        }
        Ok(out)
    }
}

/// The reduce side of an aggregating shuffle: `(K, C)` per key.
pub(crate) struct ShuffledAggregate<K: Data, V: Data, C: Data> {
    pub dep: Arc<ShuffleDependency<K, V, C>>,
}

impl<K: Data + Hash + Eq, V: Data, C: Data> Compute<(K, C)> for ShuffledAggregate<K, V, C> {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<ChunkIter<(K, C)>> {
        let dep = &self.dep;
        let agg = dep
            .aggregator
            .as_ref()
            .ok_or_else(|| Error::Internal("aggregate shuffle without aggregator".into()))?;
        let mut map: CombineMap<K, C> = combine_map(0);
        if dep.map_side_combine {
            let outputs = dep.fetch::<(K, C)>(split)?;
            // Map-side combined buckets hold each key once: their total bounds the keys here.
            let bound = outputs
                .iter()
                .filter_map(|o| o[split].downcast_ref::<Vec<(K, C)>>())
                .map(Vec::len)
                .sum();
            map.reserve(bound);
            for o in outputs {
                if let Some(b) = o[split].downcast_ref::<Vec<(K, C)>>() {
                    for (k, c) in b {
                        combine_into(&mut map, k.clone(), c.clone(), |c| c, &agg.merge_combiners);
                    }
                }
            }
        } else {
            for o in dep.fetch::<(K, V)>(split)? {
                if let Some(b) = o[split].downcast_ref::<Vec<(K, V)>>() {
                    for (k, v) in b {
                        combine_into(
                            &mut map,
                            k.clone(),
                            v.clone(),
                            &agg.create,
                            &agg.merge_value,
                        );
                    }
                }
            }
        }
        Ok(chunked(map.into_iter()))
    }
}

/// Orders records within a partition after a shuffle.
pub(crate) type KeyOrdering<K> = Arc<dyn Fn(&K, &K) -> std::cmp::Ordering + Send + Sync>;

/// The reduce side of a plain shuffle: the `(K, V)` records that landed in the partition,
/// in map-partition order, optionally sorted by key.
pub(crate) struct ShuffledPlain<K: Data, V: Data> {
    pub dep: Arc<ShuffleDependency<K, V, V>>,
    pub ordering: Option<KeyOrdering<K>>,
}

impl<K: Data + Hash + Eq, V: Data> Compute<(K, V)> for ShuffledPlain<K, V> {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<ChunkIter<(K, V)>> {
        let mut out = Vec::new();
        for o in self.dep.fetch::<(K, V)>(split)? {
            if let Some(b) = o[split].downcast_ref::<Vec<(K, V)>>() {
                out.extend_from_slice(b);
            }
        }
        if let Some(ord) = &self.ordering {
            out.sort_by(|a, b| ord(&a.0, &b.0));
        }
        Ok(chunked(out.into_iter()))
    }
}

impl<K: Data + Hash + Eq, V: Data> Rdd<(K, V)> {
    /// A new shuffle dependency on this RDD; its combine tables are sized from what the last
    /// shuffle made at the caller's site saw (see [`size_hints`](crate::shuffle::size_hints)).
    #[track_caller]
    pub(crate) fn shuffle_dep<C: Data>(
        &self,
        partitioner: SharedPartitioner<K>,
        aggregator: Option<Aggregator<V, C>>,
        map_side_combine: bool,
    ) -> Arc<ShuffleDependency<K, V, C>> {
        let ctx = self.context().clone();
        let size_hint = ctx.inner.size_hints.slot(Site::here());
        Arc::new(ShuffleDependency {
            id: ctx.inner.next_shuffle_id(),
            ctx,
            parent: self.clone(),
            partitioner,
            aggregator: aggregator.map(Arc::new),
            map_side_combine,
            size_hint,
        })
    }

    /// Shuffles records by a partitioner, without combining; optionally sorts each partition.
    pub(crate) fn shuffle_plain(
        &self,
        op: &str,
        partitioner: SharedPartitioner<K>,
        ordering: Option<KeyOrdering<K>>,
    ) -> Rdd<(K, V)> {
        let fingerprint = partitioner.fingerprint();
        let n = partitioner.num_partitions();
        let dep = self.shuffle_dep::<V>(partitioner, None, false);
        Rdd::from_compute(
            self.context(),
            "ShuffledRDD",
            op,
            n,
            vec![super::Dependency::Shuffle(dep.clone())],
            fingerprint,
            ShuffledPlain { dep, ordering },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partitioner::HashPartitioner;
    use crate::shuffle::size_hints::in_scope;

    #[track_caller]
    fn dep_here(rdd: &Rdd<(i64, i64)>) -> Arc<ShuffleDependency<i64, i64, i64>> {
        rdd.shuffle_dep::<i64>(Arc::new(HashPartitioner::new(2)), None, true)
    }

    #[test]
    fn shuffles_made_at_one_site_share_their_size_hint() -> Result<()> {
        let ctx = Context::local(1)?;
        let rdd = ctx.parallelize(vec![(1i64, 1i64), (2, 1)], 1);
        let again: Vec<_> = (0..2).map(|_| dep_here(&rdd)).collect();
        assert!(Arc::ptr_eq(&again[0].size_hint, &again[1].size_hint));
        let elsewhere = dep_here(&rdd);
        assert!(!Arc::ptr_eq(&again[0].size_hint, &elsewhere.size_hint));
        let other_scope: Vec<_> = (0..2).map(|s| in_scope(s + 1, || dep_here(&rdd))).collect();
        assert!(!Arc::ptr_eq(
            &other_scope[0].size_hint,
            &other_scope[1].size_hint
        ));
        Ok(())
    }

    #[test]
    fn a_map_task_reports_its_distinct_keys_to_the_next_shuffle_at_its_site() -> Result<()> {
        let ctx = Context::local(1)?;
        let mut sizes = Vec::new();
        for n in [10i64, 20] {
            let counts = ctx
                .parallelize((0..n).map(|k| (k, 1i64)).collect::<Vec<_>>(), 1)
                .reduce_by_key_into(2, |a, b| a + b);
            sizes.push(counts.count()?);
        }
        assert_eq!(sizes, [10, 20]);
        // The second shuffle at the line above found the first one's size, and left its own.
        let slots = ctx.inner.size_hints.sites_for_tests();
        assert!(slots.contains(&20), "{slots:?}");
        Ok(())
    }
}
