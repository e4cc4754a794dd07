//! Narrow, element-wise transformations: `map`, `flat_map`, `filter`, `map_partitions`,
//! `map_partitions_with_index` (and its fallible form), `glom`, `key_by`.
//!
//! Each is a `MapChunks` node: a function from the parent's chunk iterator to this node's,
//! applied inside the same task as the parent (operations are fused, no stage boundary).

use std::sync::Arc;

use super::{chunked, records, ChunkIter, Compute, Rdd};
use crate::data::Data;
use crate::error::Result;
use crate::scheduler::task::TaskContext;

type ChunkFn<T, U> = dyn Fn(usize, ChunkIter<T>) -> ChunkIter<U> + Send + Sync;

/// A node computed from its single parent's partition by a chunk-iterator function.
pub(crate) struct MapChunks<T: Data, U> {
    pub parent: Rdd<T>,
    pub f: Arc<ChunkFn<T, U>>,
}

impl<T: Data, U: Data> Compute<U> for MapChunks<T, U> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<ChunkIter<U>> {
        Ok((self.f)(split, self.parent.iterator(split, tc)?))
    }
}

impl<T: Data> Rdd<T> {
    /// A narrow node applying `f` to this RDD's chunk iterator, partition by partition.
    /// `keeps_partitioner` says whether keys stay where they are (so the partitioner is kept).
    pub(crate) fn map_chunks<U: Data>(
        &self,
        op: &str,
        keeps_partitioner: bool,
        f: impl Fn(usize, ChunkIter<T>) -> ChunkIter<U> + Send + Sync + 'static,
    ) -> Rdd<U> {
        let partitioner = if keeps_partitioner {
            self.cell.meta.partitioner.clone()
        } else {
            None
        };
        Rdd::from_compute(
            self.context(),
            "MapPartitionsRDD",
            op,
            self.num_partitions(),
            vec![self.narrow_dep()],
            partitioner,
            MapChunks {
                parent: self.clone(),
                f: Arc::new(f),
            },
        )
    }

    /// Applies a fallible `f` to each whole partition: `f(index, records)` returns the
    /// partition's new records or an error, which fails the task (retried like a panic) and,
    /// after the last attempt, the job, with the error as its cause. `keeps_partitioner` says
    /// whether `f` leaves every key in its partition.
    ///
    /// ```
    /// use sluice_core::{Context, Error};
    /// let ctx = Context::local(1).unwrap();
    /// let rdd = ctx.parallelize(vec![1, 2, 3, 4], 2);
    /// let sums = rdd.try_map_partitions_with_index(false, |i, xs: Vec<i32>| {
    ///     Ok(vec![(i, xs.iter().sum::<i32>())])
    /// });
    /// assert_eq!(sums.collect().unwrap(), vec![(0, 3), (1, 7)]);
    /// let failing = rdd.try_map_partitions_with_index(false, |_, _: Vec<i32>| {
    ///     Err::<Vec<i32>, _>(Error::User("bad record".into()))
    /// });
    /// assert!(failing.collect().unwrap_err().to_string().contains("bad record"));
    /// ```
    pub fn try_map_partitions_with_index<U: Data>(
        &self,
        keeps_partitioner: bool,
        f: impl Fn(usize, Vec<T>) -> Result<Vec<U>> + Send + Sync + 'static,
    ) -> Rdd<U> {
        let f = Arc::new(f);
        self.map_chunks("map_partitions", keeps_partitioner, move |split, it| {
            let out = super::drain(it).and_then(|records| f(split, records));
            Box::new(std::iter::once(out))
        })
    }

    /// Applies `f` to every record.
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Rdd<U> {
        let f = Arc::new(f);
        self.map_chunks("map", false, move |_, it| {
            let f = Arc::clone(&f);
            Box::new(it.map(move |c| c.map(|c| c.into_iter().map(&*f).collect())))
        })
    }

    /// Applies `f` to every record and flattens the results.
    ///
    /// Output chunks are cut at [`CHUNK_SIZE`](super::CHUNK_SIZE) records however many records
    /// each input expands to, so the records between operators stay in cache.
    ///
    /// ```
    /// use sluice_core::Context;
    /// let ctx = Context::local(1).unwrap();
    /// let words = ctx.parallelize(vec!["a b".to_string(), "c".to_string()], 1)
    ///     .flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>());
    /// assert_eq!(words.collect().unwrap(), vec!["a", "b", "c"]);
    /// ```
    pub fn flat_map<U: Data, I>(&self, f: impl Fn(T) -> I + Send + Sync + 'static) -> Rdd<U>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: Send + 'static,
    {
        let f = Arc::new(f);
        self.map_chunks("flat_map", false, move |_, it| {
            Box::new(FlatMapChunks {
                parent: it,
                f: Arc::clone(&f),
                current: None,
                pending: None,
                error: None,
            })
        })
    }

    /// Keeps the records for which `pred` is true.
    pub fn filter(&self, pred: impl Fn(&T) -> bool + Send + Sync + 'static) -> Rdd<T> {
        let pred = Arc::new(pred);
        self.map_chunks("filter", true, move |_, it| {
            let pred = Arc::clone(&pred);
            Box::new(it.map(move |c| {
                c.map(|mut c| {
                    c.retain(|x| pred(x));
                    c
                })
            }))
        })
    }

    /// Applies `f` to each partition's records as an iterator.
    pub fn map_partitions<U: Data, I>(
        &self,
        f: impl Fn(Box<dyn Iterator<Item = T> + Send>) -> I + Send + Sync + 'static,
    ) -> Rdd<U>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: Send + 'static,
    {
        self.map_partitions_with_index(move |_, it| f(it))
    }

    /// Applies `f` to each partition's index and records.
    pub fn map_partitions_with_index<U: Data, I>(
        &self,
        f: impl Fn(usize, Box<dyn Iterator<Item = T> + Send>) -> I + Send + Sync + 'static,
    ) -> Rdd<U>
    where
        I: IntoIterator<Item = U>,
        I::IntoIter: Send + 'static,
    {
        let f = Arc::new(f);
        self.map_chunks("map_partitions", false, move |split, it| {
            let (recs, err) = records(it);
            let out = f(split, Box::new(recs)).into_iter();
            // Chunks of the user's output, then the parent's error, if one stopped the input.
            let tail = std::iter::once(()).filter_map(move |_| err.lock().take().map(Err));
            Box::new(chunked(out).chain(tail))
        })
    }

    /// Turns each partition into a single record: the vector of its records.
    pub fn glom(&self) -> Rdd<Vec<T>> {
        self.map_chunks("glom", false, |_, it| {
            let mut it = Some(it);
            Box::new(std::iter::from_fn(move || {
                let it = it.take()?;
                Some(super::drain(it).map(|v| vec![v]))
            }))
        })
    }

    /// Pairs every record with a key computed from it.
    pub fn key_by<K: Data>(&self, f: impl Fn(&T) -> K + Send + Sync + 'static) -> Rdd<(K, T)> {
        let f = Arc::new(f);
        self.map_chunks("key_by", false, move |_, it| {
            let f = Arc::clone(&f);
            Box::new(it.map(move |c| c.map(|c| c.into_iter().map(|x| (f(&x), x)).collect())))
        })
    }
}

/// The chunk iterator of `flat_map`: expands input records one at a time and emits chunks of
/// at most `CHUNK_SIZE` outputs.
struct FlatMapChunks<T, F, J> {
    parent: ChunkIter<T>,
    f: Arc<F>,
    current: Option<std::vec::IntoIter<T>>,
    pending: Option<J>,
    error: Option<crate::Error>,
}

impl<T, U, F, I> Iterator for FlatMapChunks<T, F, I::IntoIter>
where
    F: Fn(T) -> I,
    I: IntoIterator<Item = U>,
{
    type Item = Result<Vec<U>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            return Some(Err(e));
        }
        let mut out = Vec::with_capacity(super::CHUNK_SIZE);
        loop {
            if let Some(p) = &mut self.pending {
                for u in p.by_ref() {
                    out.push(u);
                    if out.len() == super::CHUNK_SIZE {
                        return Some(Ok(out));
                    }
                }
                self.pending = None;
            }
            match self.current.as_mut().and_then(Iterator::next) {
                Some(x) => self.pending = Some((self.f)(x).into_iter()),
                None => match self.parent.next() {
                    Some(Ok(chunk)) => self.current = Some(chunk.into_iter()),
                    Some(Err(e)) => {
                        if out.is_empty() {
                            return Some(Err(e));
                        }
                        self.error = Some(e);
                        return Some(Ok(out));
                    }
                    None => return if out.is_empty() { None } else { Some(Ok(out)) },
                },
            }
        }
    }
}
