//! Key-value operations on `Rdd<(K, V)>`: value maps, `combine_by_key` and the aggregations
//! built on it (`reduce_by_key`, `group_by_key`, `aggregate_by_key`, `fold_by_key`),
//! `partition_by`, and the default partitioning rule.
//!
//! Default partitioning follows Spark's `defaultPartitioner`: keep the RDD's partitioner when
//! it has one (no shuffle is needed then), otherwise hash into `sluice.default.parallelism`
//! partitions when that is set, or into as many partitions as the RDD has.

use crate::rdd::combine::{combine_into, combine_map, CombineMap};
use std::hash::Hash;
use std::sync::Arc;

use super::shuffled::{Aggregator, ShuffledAggregate};
use super::{chunked, Dependency, Rdd};
use crate::data::Data;
use crate::partitioner::{HashPartitioner, SharedPartitioner};

/// Marker for key types: hashable, comparable, and data.
pub trait Key: Data + Hash + Eq {}
impl<T: Data + Hash + Eq> Key for T {}

impl<K: Data, V: Data> Rdd<(K, V)> {
    /// Applies `f` to every value, keeping keys (and the partitioner).
    pub fn map_values<U: Data>(&self, f: impl Fn(V) -> U + Send + Sync + 'static) -> Rdd<(K, U)> {
        let f = Arc::new(f);
        self.map_chunks("map_values", true, move |_, it| {
            let f = Arc::clone(&f);
            Box::new(it.map(move |c| c.map(|c| c.into_iter().map(|(k, v)| (k, f(v))).collect())))
        })
    }

    /// Applies `f` to every value and pairs each output with the key.
    pub fn flat_map_values<U: Data, I>(
        &self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> Rdd<(K, U)>
    where
        I: IntoIterator<Item = U>,
    {
        let f = Arc::new(f);
        self.map_chunks("flat_map_values", true, move |_, it| {
            let f = Arc::clone(&f);
            Box::new(it.map(move |c| {
                c.map(|c| {
                    let mut out = Vec::with_capacity(c.len());
                    for (k, v) in c {
                        out.extend(f(v).into_iter().map(|u| (k.clone(), u)));
                    }
                    out
                })
            }))
        })
    }

    /// The keys.
    pub fn keys(&self) -> Rdd<K> {
        self.map_chunks("keys", false, |_, it| {
            Box::new(it.map(|c| c.map(|c| c.into_iter().map(|(k, _)| k).collect())))
        })
    }

    /// The values.
    pub fn values(&self) -> Rdd<V> {
        self.map_chunks("values", false, |_, it| {
            Box::new(it.map(|c| c.map(|c| c.into_iter().map(|(_, v)| v).collect())))
        })
    }
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// The number of partitions a shuffle of this RDD uses when none is given.
    pub fn default_partitions(&self) -> usize {
        let explicit = self
            .context()
            .settings()
            .default_parallelism_explicit
            .then(|| self.context().default_parallelism());
        explicit.unwrap_or(self.num_partitions().max(1))
    }

    fn default_partitioner(&self) -> SharedPartitioner<K> {
        Arc::new(HashPartitioner::new(self.default_partitions()))
    }

    /// Combines values by key with Spark's three functions: `create` makes a combiner from a
    /// key's first value, `merge_value` adds a value to a combiner (used on the map side),
    /// `merge_combiners` merges two combiners (used on the reduce side). Hash-partitioned into
    /// the default number of partitions.
    #[track_caller]
    pub fn combine_by_key<C: Data>(
        &self,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
    ) -> Rdd<(K, C)> {
        self.combine_by_key_with(
            self.existing_or_default(),
            true,
            create,
            merge_value,
            merge_combiners,
        )
    }

    /// [`combine_by_key`](Rdd::combine_by_key) into `n` hash partitions.
    #[track_caller]
    pub fn combine_by_key_into<C: Data>(
        &self,
        n: usize,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
    ) -> Rdd<(K, C)> {
        self.combine_by_key_with(
            Arc::new(HashPartitioner::new(n)),
            true,
            create,
            merge_value,
            merge_combiners,
        )
    }

    /// The partitioner to use when none is given: a stand-in equal to the RDD's own when it
    /// already has one (so no shuffle happens), else the default hash partitioner.
    fn existing_or_default(&self) -> SharedPartitioner<K> {
        match self.partitioner() {
            Some(fp) => Arc::new(KeepLayout {
                fingerprint: fp.to_string(),
                n: self.num_partitions(),
            }),
            None => self.default_partitioner(),
        }
    }

    /// The general form: combine by key with any partitioner, choosing whether to combine on
    /// the map side. If this RDD is already laid out by an equal partitioner, the combine runs
    /// within partitions, without a shuffle.
    #[track_caller]
    pub fn combine_by_key_with<C: Data>(
        &self,
        partitioner: SharedPartitioner<K>,
        map_side_combine: bool,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
    ) -> Rdd<(K, C)> {
        let agg = Aggregator {
            create: Box::new(create),
            merge_value: Box::new(merge_value),
            merge_combiners: Box::new(merge_combiners),
        };
        let fingerprint = partitioner.fingerprint();
        if fingerprint.is_some() && fingerprint.as_deref() == self.partitioner() {
            let agg = Arc::new(agg);
            return self.map_chunks("combine_by_key", true, move |_, it| {
                let agg = Arc::clone(&agg);
                let mut it = Some(it);
                Box::new(
                    std::iter::from_fn(move || {
                        let it = it.take()?;
                        let mut map: CombineMap<K, C> = combine_map(0);
                        for chunk in it {
                            let chunk = match chunk {
                                Ok(c) => c,
                                Err(e) => return Some(Err(e)),
                            };
                            for (k, v) in chunk {
                                combine_into(&mut map, k, v, &agg.create, &agg.merge_value);
                            }
                        }
                        Some(Ok(map))
                    })
                    .flat_map(|r| match r {
                        Ok(map) => chunked(map.into_iter()),
                        Err(e) => Box::new(std::iter::once(Err(e))),
                    }),
                )
            });
        }
        let n = partitioner.num_partitions();
        let dep = self.shuffle_dep(partitioner, Some(agg), map_side_combine);
        Rdd::from_compute(
            self.context(),
            "ShuffledRDD",
            "combine_by_key",
            n,
            vec![Dependency::Shuffle(dep.clone())],
            fingerprint,
            ShuffledAggregate { dep },
        )
    }

    /// Merges the values of each key with an associative, commutative function, combining on
    /// the map side first.
    ///
    /// ```
    /// use sluice_core::Context;
    /// let ctx = Context::local(2).unwrap();
    /// let mut counts = ctx.parallelize(vec![("a", 1), ("b", 1), ("a", 1)], 2)
    ///     .reduce_by_key(|x, y| x + y)
    ///     .collect()
    ///     .unwrap();
    /// counts.sort();
    /// assert_eq!(counts, vec![("a", 2), ("b", 1)]);
    /// ```
    #[track_caller]
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Rdd<(K, V)> {
        self.reduce_by_key_with(self.existing_or_default(), f)
    }

    /// [`reduce_by_key`](Rdd::reduce_by_key) into `n` hash partitions.
    #[track_caller]
    pub fn reduce_by_key_into(
        &self,
        n: usize,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Rdd<(K, V)> {
        self.reduce_by_key_with(Arc::new(HashPartitioner::new(n)), f)
    }

    /// [`reduce_by_key`](Rdd::reduce_by_key) with a partitioner.
    #[track_caller]
    pub fn reduce_by_key_with(
        &self,
        partitioner: SharedPartitioner<K>,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Rdd<(K, V)> {
        let f = Arc::new(f);
        let f2 = Arc::clone(&f);
        let r = self.combine_by_key_with(
            partitioner,
            true,
            |v| v,
            move |a, b| f(a, b),
            move |a, b| f2(a, b),
        );
        r.cell.meta.op.write().replace_range(.., "reduce_by_key");
        r
    }

    /// Groups the values of each key (no map-side combine, as in Spark), into the default
    /// number of partitions. Values keep their arrival order: map partition, then position.
    #[track_caller]
    pub fn group_by_key(&self) -> Rdd<(K, Vec<V>)> {
        self.group_by_key_with(self.existing_or_default())
    }

    /// [`group_by_key`](Rdd::group_by_key) into `n` hash partitions.
    #[track_caller]
    pub fn group_by_key_into(&self, n: usize) -> Rdd<(K, Vec<V>)> {
        self.group_by_key_with(Arc::new(HashPartitioner::new(n)))
    }

    /// [`group_by_key`](Rdd::group_by_key) with a partitioner.
    #[track_caller]
    pub fn group_by_key_with(&self, partitioner: SharedPartitioner<K>) -> Rdd<(K, Vec<V>)> {
        let r = self.combine_by_key_with(
            partitioner,
            false,
            |v| vec![v],
            |mut c: Vec<V>, v| {
                c.push(v);
                c
            },
            |mut a, mut b| {
                a.append(&mut b);
                a
            },
        );
        r.cell.meta.op.write().replace_range(.., "group_by_key");
        r
    }

    /// Aggregates the values of each key starting from `zero`: `seq` folds a value into an
    /// accumulator within a partition, `comb` merges accumulators.
    #[track_caller]
    pub fn aggregate_by_key<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, V) -> U + Send + Sync + 'static,
        comb: impl Fn(U, U) -> U + Send + Sync + 'static,
    ) -> Rdd<(K, U)> {
        let seq = Arc::new(seq);
        let seq2 = Arc::clone(&seq);
        let r = self.combine_by_key_with(
            self.existing_or_default(),
            true,
            move |v| seq(zero.clone(), v),
            move |u, v| seq2(u, v),
            comb,
        );
        r.cell.meta.op.write().replace_range(.., "aggregate_by_key");
        r
    }

    /// Folds the values of each key with `f`, starting from `zero` in each partition.
    #[track_caller]
    pub fn fold_by_key(
        &self,
        zero: V,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Rdd<(K, V)> {
        let f = Arc::new(f);
        let (f2, f3) = (Arc::clone(&f), Arc::clone(&f));
        let r = self.combine_by_key_with(
            self.existing_or_default(),
            true,
            move |v| f(zero.clone(), v),
            move |a, b| f2(a, b),
            move |a, b| f3(a, b),
        );
        r.cell.meta.op.write().replace_range(.., "fold_by_key");
        r
    }

    /// Redistributes records by a partitioner. A no-op if the RDD is already laid out by an
    /// equal partitioner.
    pub fn partition_by(&self, partitioner: SharedPartitioner<K>) -> Rdd<(K, V)> {
        if partitioner.fingerprint().is_some()
            && partitioner.fingerprint().as_deref() == self.partitioner()
        {
            return self.clone();
        }
        self.shuffle_plain("partition_by", partitioner, None)
    }
}

/// Stands for "the layout this RDD already has": equal (by fingerprint) to its partitioner.
/// Only used where no shuffle happens, so `partition` is never called.
struct KeepLayout {
    fingerprint: String,
    n: usize,
}

impl<K> crate::partitioner::Partitioner<K> for KeepLayout {
    fn num_partitions(&self) -> usize {
        self.n
    }
    fn partition(&self, _: &K) -> usize {
        0
    }
    fn fingerprint(&self) -> Option<String> {
        Some(self.fingerprint.clone())
    }
}
