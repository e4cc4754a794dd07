//! Joins of key-value RDDs: `cogroup` and the inner and outer joins built on it.
//!
//! Both sides are tagged, unioned and grouped by key in one shuffle; each key's group is then
//! split back into the left and right values. Joins only meet records with equal keys; the
//! outer forms use `Option` for the missing side, as Spark does.

use std::sync::Arc;

use super::pair::Key;
use super::Rdd;
use crate::data::Data;
use crate::partitioner::{HashPartitioner, SharedPartitioner};

/// A value from the left or the right side of a cogroup.
#[derive(Clone)]
enum Side<V, W> {
    Left(V),
    Right(W),
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// Groups both RDDs by key: for every key in either, the values from this RDD and the
    /// values from `other`. Partitions: the larger of the two counts (or the configured default
    /// parallelism).
    pub fn cogroup<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Vec<V>, Vec<W>))> {
        let n = self.join_partitions(other);
        self.cogroup_with(other, Arc::new(HashPartitioner::new(n)))
    }

    /// [`cogroup`](Rdd::cogroup) with a partitioner.
    pub fn cogroup_with<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        partitioner: SharedPartitioner<K>,
    ) -> Rdd<(K, (Vec<V>, Vec<W>))> {
        let left = self.map_values(Side::<V, W>::Left);
        let right = other.map_values(Side::<V, W>::Right);
        let grouped = left.union(&right).group_by_key_with(partitioner);
        let r = grouped.map_values(|sides| {
            let mut vs = Vec::new();
            let mut ws = Vec::new();
            for s in sides {
                match s {
                    Side::Left(v) => vs.push(v),
                    Side::Right(w) => ws.push(w),
                }
            }
            (vs, ws)
        });
        r.set_name("cogroup")
    }

    fn join_partitions<W: Data>(&self, other: &Rdd<(K, W)>) -> usize {
        if self.context().settings().default_parallelism_explicit {
            self.context().default_parallelism()
        } else {
            self.num_partitions().max(other.num_partitions()).max(1)
        }
    }

    /// Inner join: `(k, (v, w))` for every pair of values with equal keys.
    ///
    /// ```
    /// use sluice_core::Context;
    /// let ctx = Context::local(2).unwrap();
    /// let a = ctx.parallelize(vec![(1, "a"), (2, "b")], 2);
    /// let b = ctx.parallelize(vec![(1, 'x'), (1, 'y'), (3, 'z')], 2);
    /// let mut j = a.join(&b).collect().unwrap();
    /// j.sort();
    /// assert_eq!(j, vec![(1, ("a", 'x')), (1, ("a", 'y'))]);
    /// ```
    pub fn join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, W))> {
        self.join_into(other, self.join_partitions(other))
    }

    /// [`join`](Rdd::join) into `n` partitions.
    pub fn join_into<W: Data>(&self, other: &Rdd<(K, W)>, n: usize) -> Rdd<(K, (V, W))> {
        self.cogroup_with(other, Arc::new(HashPartitioner::new(n)))
            .flat_map_values(|(vs, ws)| {
                let mut out = Vec::with_capacity(vs.len() * ws.len());
                for v in &vs {
                    for w in &ws {
                        out.push((v.clone(), w.clone()));
                    }
                }
                out
            })
            .set_name("join")
    }

    /// Left outer join: every left value, paired with each matching right value or `None`.
    pub fn left_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, Option<W>))> {
        self.cogroup(other)
            .flat_map_values(|(vs, ws)| {
                let mut out = Vec::new();
                for v in &vs {
                    if ws.is_empty() {
                        out.push((v.clone(), None));
                    }
                    for w in &ws {
                        out.push((v.clone(), Some(w.clone())));
                    }
                }
                out
            })
            .set_name("left_outer_join")
    }

    /// Right outer join: every right value, paired with each matching left value or `None`.
    pub fn right_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Option<V>, W))> {
        self.cogroup(other)
            .flat_map_values(|(vs, ws)| {
                let mut out = Vec::new();
                for w in &ws {
                    if vs.is_empty() {
                        out.push((None, w.clone()));
                    }
                    for v in &vs {
                        out.push((Some(v.clone()), w.clone()));
                    }
                }
                out
            })
            .set_name("right_outer_join")
    }

    /// Full outer join: every matching pair, and each unmatched value of either side with
    /// `None` on the other.
    pub fn full_outer_join<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
    ) -> Rdd<(K, (Option<V>, Option<W>))> {
        self.cogroup(other)
            .flat_map_values(|(vs, ws)| {
                let mut out = Vec::new();
                if ws.is_empty() {
                    out.extend(vs.iter().map(|v| (Some(v.clone()), None)));
                } else if vs.is_empty() {
                    out.extend(ws.iter().map(|w| (None, Some(w.clone()))));
                } else {
                    for v in &vs {
                        for w in &ws {
                            out.push((Some(v.clone()), Some(w.clone())));
                        }
                    }
                }
                out
            })
            .set_name("full_outer_join")
    }

    /// The pairs of this RDD whose key does not occur in `other` (Spark's `subtractByKey`).
    pub fn subtract_by_key<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, V)> {
        self.cogroup(other)
            .flat_map_values(|(vs, ws)| if ws.is_empty() { vs } else { Vec::new() })
            .set_name("subtract_by_key")
    }
}
