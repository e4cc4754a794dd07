//! Per-batch transformations: each applies an RDD transformation to every batch's RDD
//! (`map`, `flat_map`, `filter`, `glom`, `map_partitions`, `repartition`), or an arbitrary
//! RDD function (`transform`, `transform_with`); and `union` of streams.

use std::sync::Arc;

use sluice_core::{Data, Error, Rdd, Result};

use super::{DStream, DStreamBase, StreamCompute};
use crate::time::Time;

type RddFn<T, U> = dyn Fn(Rdd<T>, Time) -> Result<Rdd<U>> + Send + Sync;
type RddFn2<T, V, U> = dyn Fn(Rdd<T>, Rdd<V>, Time) -> Result<Rdd<U>> + Send + Sync;

/// A stream whose RDD is a function of its parent's RDD for the same time.
struct Transformed<T: Data, U: Data> {
    parent: DStream<T>,
    f: Arc<RddFn<T, U>>,
}

impl<T: Data, U: Data> StreamCompute<U> for Transformed<T, U> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<U>>> {
        match self.parent.get_or_compute(time)? {
            Some(rdd) => (self.f)(rdd, time).map(Some),
            None => Ok(None),
        }
    }
}

/// A stream whose RDD is a function of two parents' RDDs for the same time.
struct Transformed2<T: Data, V: Data, U: Data> {
    a: DStream<T>,
    b: DStream<V>,
    f: Arc<RddFn2<T, V, U>>,
}

pub(crate) fn missing_parent(time: Time) -> Error {
    Error::IllegalState(format!(
        "could not generate an RDD from a parent for unifying at time {time}"
    ))
}

impl<T: Data, V: Data, U: Data> StreamCompute<U> for Transformed2<T, V, U> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<U>>> {
        let a = self.a.get_or_compute(time)?;
        let b = self.b.get_or_compute(time)?;
        match (a, b) {
            (Some(a), Some(b)) => (self.f)(a, b, time).map(Some),
            _ => Err(missing_parent(time)),
        }
    }
}

/// The union of several streams' RDDs for the same time.
struct Union<T: Data> {
    parents: Vec<DStream<T>>,
}

impl<T: Data> StreamCompute<T> for Union<T> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        let mut rdds = Vec::with_capacity(self.parents.len());
        for p in &self.parents {
            rdds.push(
                p.get_or_compute(time)?
                    .ok_or_else(|| missing_parent(time))?,
            );
        }
        match rdds.first() {
            None => Ok(None),
            Some(first) => Ok(Some(first.context().union(&rdds))),
        }
    }
}

impl<T: Data> DStream<T> {
    /// A stream whose RDD for each batch is `f(rdd, time)` of this stream's RDD. `f` runs on
    /// the driver every batch and may return any RDD (Spark's `transform`); an error fails
    /// the batch.
    pub fn transform<U: Data>(
        &self,
        f: impl Fn(Rdd<T>, Time) -> Result<Rdd<U>> + Send + Sync + 'static,
    ) -> DStream<U> {
        self.child(
            "transform",
            Transformed {
                parent: self.clone(),
                f: Arc::new(f),
            },
        )
    }

    /// A per-batch, infallible RDD transformation named `name`.
    pub(crate) fn map_rdd<U: Data>(
        &self,
        name: &str,
        f: impl Fn(Rdd<T>) -> Rdd<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        self.child(
            name,
            Transformed {
                parent: self.clone(),
                f: Arc::new(move |r, _| Ok(f(r))),
            },
        )
    }

    /// Combines this stream with another per batch: `f(this_rdd, other_rdd, time)`. Both
    /// streams must have the same slide.
    pub fn transform_with<V: Data, U: Data>(
        &self,
        other: &DStream<V>,
        f: impl Fn(Rdd<T>, Rdd<V>, Time) -> Result<Rdd<U>> + Send + Sync + 'static,
    ) -> DStream<U> {
        DStream::new_node(
            &self.node.meta.env,
            "transform_with",
            self.slide_duration(),
            vec![self.base(), other.base()],
            std::time::Duration::ZERO,
            Transformed2 {
                a: self.clone(),
                b: other.clone(),
                f: Arc::new(f),
            },
        )
    }

    /// Applies `f` to every record.
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> DStream<U> {
        let f = Arc::new(f);
        self.map_rdd("map", move |r| {
            let f = Arc::clone(&f);
            r.map(move |x| f(x))
        })
    }

    /// Applies `f` to every record and flattens the results.
    pub fn flat_map<U: Data, I>(&self, f: impl Fn(T) -> I + Send + Sync + 'static) -> DStream<U>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: Send + 'static,
    {
        let f = Arc::new(f);
        self.map_rdd("flat_map", move |r| {
            let f = Arc::clone(&f);
            r.flat_map(move |x| f(x))
        })
    }

    /// Keeps the records for which `pred` is true.
    pub fn filter(&self, pred: impl Fn(&T) -> bool + Send + Sync + 'static) -> DStream<T> {
        let pred = Arc::new(pred);
        self.map_rdd("filter", move |r| {
            let pred = Arc::clone(&pred);
            r.filter(move |x| pred(x))
        })
    }

    /// Turns each partition of every batch into one record: the vector of its records.
    pub fn glom(&self) -> DStream<Vec<T>> {
        self.map_rdd("glom", |r| r.glom())
    }

    /// Applies `f` to each partition's records of every batch.
    pub fn map_partitions<U: Data, I>(
        &self,
        f: impl Fn(Box<dyn Iterator<Item = T> + Send>) -> I + Send + Sync + 'static,
    ) -> DStream<U>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: Send + 'static,
    {
        let f = Arc::new(f);
        self.map_rdd("map_partitions", move |r| {
            let f = Arc::clone(&f);
            r.map_partitions(move |it| f(it))
        })
    }

    /// Redistributes every batch's records over exactly `n` partitions.
    pub fn repartition(&self, n: usize) -> DStream<T> {
        self.map_rdd("repartition", move |r| r.repartition(n))
    }

    /// The records of both streams, batch by batch: this stream's, then `other`'s. The streams
    /// must have the same slide.
    pub fn union(&self, other: &DStream<T>) -> DStream<T> {
        union_of(&[self.clone(), other.clone()])
    }
}

/// The union of streams (used by `StreamingContext::union`).
pub(crate) fn union_of<T: Data>(streams: &[DStream<T>]) -> DStream<T> {
    let first = &streams[0];
    let parents: Vec<Arc<dyn DStreamBase>> = streams.iter().map(DStream::base).collect();
    DStream::new_node(
        &first.node.meta.env,
        "union",
        first.slide_duration(),
        parents,
        std::time::Duration::ZERO,
        Union {
            parents: streams.to_vec(),
        },
    )
}
