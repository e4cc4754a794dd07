//! Actions: operations that run a job and bring a result to the driver (or run side effects
//! on the workers).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use super::pair::Key;
use super::{drain, ChunkIter, Rdd};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::dag::run_job;
use crate::scheduler::task::TaskContext;

impl<T: Data> Rdd<T> {
    /// Runs `f` over every partition and returns the per-partition results, in order.
    pub fn run_job<R: Send>(
        &self,
        f: impl Fn(ChunkIter<T>, &TaskContext) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        let all: Vec<usize> = (0..self.num_partitions()).collect();
        run_job(self, &all, f)
    }

    /// Runs `f` over the given partitions only and returns their results in the order given
    /// (Spark's `SparkContext.runJob(rdd, func, partitions)`).
    ///
    /// ```
    /// use sluice_core::Context;
    /// let ctx = Context::local(2).unwrap();
    /// let rdd = ctx.parallelize((0..10).collect::<Vec<i32>>(), 5);
    /// let firsts = rdd
    ///     .run_job_on(&[3, 1], |it, _| Ok(it.flatten().flatten().next()))
    ///     .unwrap();
    /// assert_eq!(firsts, [Some(6), Some(2)]);
    /// ```
    pub fn run_job_on<R: Send>(
        &self,
        partitions: &[usize],
        f: impl Fn(ChunkIter<T>, &TaskContext) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        let n = self.num_partitions();
        if let Some(bad) = partitions.iter().find(|&&p| p >= n) {
            return Err(Error::InvalidArgument(format!(
                "partition {bad} of an RDD with {n} partitions"
            )));
        }
        run_job(self, partitions, f)
    }

    /// All records, in partition order.
    pub fn collect(&self) -> Result<Vec<T>> {
        Ok(self.collect_partitions()?.into_iter().flatten().collect())
    }

    /// All records, one vector per partition.
    pub fn collect_partitions(&self) -> Result<Vec<Vec<T>>> {
        self.run_job(|it, _| drain(it))
    }

    /// The number of records.
    pub fn count(&self) -> Result<u64> {
        Ok(self
            .run_job(|it, _| {
                let mut n = 0u64;
                for c in it {
                    n += c?.len() as u64;
                }
                Ok(n)
            })?
            .into_iter()
            .sum())
    }

    /// The first `n` records, in partition order. Like Spark, scans one partition first and
    /// then more at a time, so that a small `take` on a large RDD computes little.
    pub fn take(&self, n: usize) -> Result<Vec<T>> {
        let total = self.num_partitions();
        let mut out: Vec<T> = Vec::new();
        let mut scanned = 0;
        while out.len() < n && scanned < total {
            let mut to_try = 1;
            if scanned > 0 {
                to_try = if out.is_empty() {
                    scanned * 4
                } else {
                    let est = (1.5 * n as f64 * scanned as f64 / out.len() as f64).ceil() as usize;
                    est.saturating_sub(scanned).clamp(1, scanned * 4)
                };
            }
            let parts: Vec<usize> = (scanned..(scanned + to_try).min(total)).collect();
            let left = n - out.len();
            let res = run_job(self, &parts, |it, _| {
                let mut v = Vec::new();
                for c in it {
                    let c = c?;
                    let room = left - v.len();
                    v.extend(c.into_iter().take(room));
                    if v.len() >= left {
                        break;
                    }
                }
                Ok(v)
            })?;
            for v in res {
                let room = n - out.len();
                out.extend(v.into_iter().take(room));
            }
            scanned += parts.len();
        }
        Ok(out)
    }

    /// The first record, or `None` if the RDD is empty (Spark throws instead).
    pub fn first(&self) -> Result<Option<T>> {
        Ok(self.take(1)?.into_iter().next())
    }

    /// Whether the RDD has no records.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.num_partitions() == 0 || self.take(1)?.is_empty())
    }

    /// Reduces all records with an associative, commutative function; `None` if the RDD is
    /// empty (Spark throws instead).
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> Result<Option<T>> {
        let partials = self.run_job(|it, _| {
            let mut acc: Option<T> = None;
            for c in it {
                for x in c? {
                    acc = Some(match acc {
                        None => x,
                        Some(a) => f(a, x),
                    });
                }
            }
            Ok(acc)
        })?;
        Ok(partials.into_iter().flatten().reduce(&f))
    }

    /// Folds every partition starting from `zero`, then folds the partition results, again
    /// starting from `zero` (so `zero` must be neutral for `f`, as in Spark).
    pub fn fold(&self, zero: T, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> Result<T> {
        let partials = self.run_job(|it, _| {
            let mut acc = zero.clone();
            for c in it {
                for x in c? {
                    acc = f(acc, x);
                }
            }
            Ok(acc)
        })?;
        Ok(partials.into_iter().fold(zero.clone(), &f))
    }

    /// Aggregates with `seq` within partitions and `comb` across them, from `zero`.
    pub fn aggregate<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + Send + Sync,
        comb: impl Fn(U, U) -> U,
    ) -> Result<U> {
        let partials = self.run_job(|it, _| {
            let mut acc = zero.clone();
            for c in it {
                for x in c? {
                    acc = seq(acc, x);
                }
            }
            Ok(acc)
        })?;
        Ok(partials.into_iter().fold(zero.clone(), comb))
    }

    /// Runs `f` on every record, on the workers.
    pub fn foreach(&self, f: impl Fn(T) + Send + Sync) -> Result<()> {
        self.run_job(|it, _| {
            for c in it {
                c?.into_iter().for_each(&f);
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Runs `f` on every partition's records, on the workers.
    pub fn foreach_partition(
        &self,
        f: impl Fn(Box<dyn Iterator<Item = T> + Send>) + Send + Sync,
    ) -> Result<()> {
        self.run_job(|it, _| {
            let (recs, err) = super::records(it);
            f(Box::new(recs));
            let e = err.lock().take();
            match e {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })?;
        Ok(())
    }

    /// The `n` smallest records by `cmp`, in ascending order.
    pub fn take_ordered_by(
        &self,
        n: usize,
        cmp: impl Fn(&T, &T) -> Ordering + Send + Sync + 'static,
    ) -> Result<Vec<T>> {
        let cmp = Arc::new(cmp);
        let c2 = Arc::clone(&cmp);
        let partials = self.run_job(move |it, _| {
            let mut heap = BinaryHeap::new();
            for c in it {
                for x in c? {
                    heap.push(ByCmp(x, Arc::clone(&c2)));
                    if heap.len() > n {
                        heap.pop();
                    }
                }
            }
            Ok(heap.into_iter().map(|b| b.0).collect::<Vec<_>>())
        })?;
        let mut all: Vec<T> = partials.into_iter().flatten().collect();
        all.sort_by(|a, b| cmp(a, b));
        all.truncate(n);
        Ok(all)
    }

    /// Records sorted into Spark's `map`-of-counts form: `(record, count)` for every distinct
    /// record.
    pub fn count_by_value(&self) -> Result<HashMap<T, u64>>
    where
        T: Key,
    {
        let partials = self.run_job(|it, _| {
            let mut m: HashMap<T, u64> = HashMap::new();
            for c in it {
                for x in c? {
                    *m.entry(x).or_insert(0) += 1;
                }
            }
            Ok(m)
        })?;
        let mut total: HashMap<T, u64> = HashMap::new();
        for m in partials {
            for (k, v) in m {
                *total.entry(k).or_insert(0) += v;
            }
        }
        Ok(total)
    }
}

impl<T: Data + Ord> Rdd<T> {
    /// The `n` smallest records, ascending.
    pub fn take_ordered(&self, n: usize) -> Result<Vec<T>> {
        self.take_ordered_by(n, |a, b| a.cmp(b))
    }

    /// The `n` largest records, descending.
    pub fn top(&self, n: usize) -> Result<Vec<T>> {
        self.take_ordered_by(n, |a, b| b.cmp(a))
    }
}

impl<K: Key, V: Data> Rdd<(K, V)> {
    /// The number of records for each key.
    pub fn count_by_key(&self) -> Result<HashMap<K, u64>> {
        let counts = self
            .map_values(|_| 1u64)
            .reduce_by_key(|a, b| a + b)
            .collect()?;
        Ok(counts.into_iter().collect())
    }

    /// All values for `key`.
    pub fn lookup(&self, key: K) -> Result<Vec<V>> {
        self.filter(move |(k, _)| *k == key).values().collect()
    }

    /// The pairs as a map, one value per key (the last one seen, as in Spark's
    /// `collectAsMap`).
    pub fn collect_as_map(&self) -> Result<HashMap<K, V>> {
        Ok(self.collect()?.into_iter().collect())
    }
}

/// A record ordered by a shared comparison, for the bounded heaps of `take_ordered_by`.
struct ByCmp<T, F: ?Sized>(T, Arc<F>);

impl<T, F: Fn(&T, &T) -> Ordering + ?Sized> PartialEq for ByCmp<T, F> {
    fn eq(&self, o: &Self) -> bool {
        (self.1)(&self.0, &o.0) == Ordering::Equal
    }
}
impl<T, F: Fn(&T, &T) -> Ordering + ?Sized> Eq for ByCmp<T, F> {}
impl<T, F: Fn(&T, &T) -> Ordering + ?Sized> PartialOrd for ByCmp<T, F> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T, F: Fn(&T, &T) -> Ordering + ?Sized> Ord for ByCmp<T, F> {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.1)(&self.0, &o.0)
    }
}
