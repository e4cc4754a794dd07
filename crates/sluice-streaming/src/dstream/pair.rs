//! Key-value operations on `DStream<(K, V)>`, applied batch by batch: `group_by_key`,
//! `reduce_by_key`, `combine_by_key`, `map_values`, `flat_map_values`, `cogroup` and joins.
//!
//! Shuffles use the context's default parallelism unless a partition count is given (the
//! `_into` forms), as Spark's `PairDStreamFunctions` does. Joins only meet records of the same
//! batch; window both streams to join across time.

use std::sync::Arc;

use sluice_core::{Data, Key};

use super::DStream;

impl<K: Data, V: Data> DStream<(K, V)> {
    /// Applies `f` to every value.
    pub fn map_values<U: Data>(
        &self,
        f: impl Fn(V) -> U + Send + Sync + 'static,
    ) -> DStream<(K, U)> {
        let f = Arc::new(f);
        self.map_rdd("map_values", move |r| {
            let f = Arc::clone(&f);
            r.map_values(move |v| f(v))
        })
    }

    /// Applies `f` to every value and pairs each output with the key.
    pub fn flat_map_values<U: Data, I>(
        &self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> DStream<(K, U)>
    where
        I: IntoIterator<Item = U>,
    {
        let f = Arc::new(f);
        self.map_rdd("flat_map_values", move |r| {
            let f = Arc::clone(&f);
            r.flat_map_values(move |v| f(v))
        })
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    fn default_partitions(&self) -> usize {
        self.context().default_parallelism()
    }

    /// Groups each batch's values by key.
    pub fn group_by_key(&self) -> DStream<(K, Vec<V>)> {
        self.group_by_key_into(self.default_partitions())
    }

    /// [`group_by_key`](DStream::group_by_key) into `n` partitions.
    pub fn group_by_key_into(&self, n: usize) -> DStream<(K, Vec<V>)> {
        self.map_rdd("group_by_key", move |r| r.group_by_key_into(n))
    }

    /// Merges each batch's values by key with an associative, commutative function.
    ///
    /// ```
    /// use sluice_streaming::testing::run_stream;
    /// let out = run_stream(vec![vec![("a", 1), ("b", 1), ("a", 1)]], 1, |s| {
    ///     s.reduce_by_key(|x, y| x + y)
    /// })
    /// .unwrap();
    /// let mut batch = out[0].clone();
    /// batch.sort();
    /// assert_eq!(batch, vec![("a", 2), ("b", 1)]);
    /// ```
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> DStream<(K, V)> {
        self.reduce_by_key_into(self.default_partitions(), f)
    }

    /// [`reduce_by_key`](DStream::reduce_by_key) into `n` partitions.
    pub fn reduce_by_key_into(
        &self,
        n: usize,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> DStream<(K, V)> {
        let f = Arc::new(f);
        self.map_rdd("reduce_by_key", move |r| {
            let f = Arc::clone(&f);
            r.reduce_by_key_into(n, move |a, b| f(a, b))
        })
    }

    /// Combines each batch's values by key with Spark's three functions (see
    /// `Rdd::combine_by_key`).
    pub fn combine_by_key<C: Data>(
        &self,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
    ) -> DStream<(K, C)> {
        let n = self.default_partitions();
        let (create, merge_value, merge_combiners) = (
            Arc::new(create),
            Arc::new(merge_value),
            Arc::new(merge_combiners),
        );
        self.map_rdd("combine_by_key", move |r| {
            let (c, mv, mc) = (
                Arc::clone(&create),
                Arc::clone(&merge_value),
                Arc::clone(&merge_combiners),
            );
            r.combine_by_key_into(n, move |v| c(v), move |a, v| mv(a, v), move |a, b| mc(a, b))
        })
    }

    /// Per batch: for every key in either stream, its values from this stream and from `other`.
    pub fn cogroup<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (Vec<V>, Vec<W>))> {
        let n = self.default_partitions();
        self.transform_with(other, move |a, b, _| {
            Ok(a.cogroup_with(&b, Arc::new(sluice_core::HashPartitioner::new(n))))
        })
        .set_name("cogroup")
    }

    /// Per batch inner join.
    pub fn join<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (V, W))> {
        let n = self.default_partitions();
        self.transform_with(other, move |a, b, _| Ok(a.join_into(&b, n)))
            .set_name("join")
    }

    /// Per batch left outer join.
    pub fn left_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (V, Option<W>))> {
        self.transform_with(other, |a, b, _| Ok(a.left_outer_join(&b)))
            .set_name("left_outer_join")
    }

    /// Per batch right outer join.
    pub fn right_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (Option<V>, W))> {
        self.transform_with(other, |a, b, _| Ok(a.right_outer_join(&b)))
            .set_name("right_outer_join")
    }

    /// Per batch full outer join.
    pub fn full_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (Option<V>, Option<W>))> {
        self.transform_with(other, |a, b, _| Ok(a.full_outer_join(&b)))
            .set_name("full_outer_join")
    }
}
