//! Operations that change how records are arranged in partitions without a per-key shuffle:
//! `union`, `coalesce`, `repartition`, `zip_with_index`, `sample`, `cartesian`.

use std::sync::{Arc, OnceLock};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use super::{chunked, drain, ChunkIter, Compute, Rdd};
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::task::TaskContext;

/// Partitions of several parents, one after another.
struct UnionCompute<T: Data> {
    parents: Vec<Rdd<T>>,
}

impl<T: Data> Compute<T> for UnionCompute<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<ChunkIter<T>> {
        let mut s = split;
        for p in &self.parents {
            if s < p.num_partitions() {
                return p.iterator(s, tc);
            }
            s -= p.num_partitions();
        }
        Err(Error::Internal(format!("union has no partition {split}")))
    }
}

/// Each partition is a contiguous group of parent partitions.
struct CoalesceCompute<T: Data> {
    parent: Rdd<T>,
    groups: Vec<std::ops::Range<usize>>,
}

impl<T: Data> Compute<T> for CoalesceCompute<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<ChunkIter<T>> {
        let parent = self.parent.clone();
        let tc = *tc;
        let iters = self.groups[split]
            .clone()
            .map(move |p| parent.iterator(p, &tc));
        Ok(Box::new(iters.flat_map(|r| match r {
            Ok(it) => it,
            Err(e) => Box::new(std::iter::once(Err(e))) as ChunkIter<T>,
        })))
    }
}

/// Numbers records across partitions; needs the sizes of the partitions before it.
struct ZipWithIndexCompute<T: Data> {
    parent: Rdd<T>,
    offsets: OnceLock<Vec<u64>>,
}

impl<T: Data> Compute<(T, u64)> for ZipWithIndexCompute<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<ChunkIter<(T, u64)>> {
        let start = match self.offsets.get() {
            Some(o) => o[split],
            None if split == 0 => 0,
            None => return Err(Error::Internal("zip_with_index was not prepared".into())),
        };
        let mut i = start;
        Ok(Box::new(self.parent.iterator(split, tc)?.map(move |c| {
            c.map(|c| {
                c.into_iter()
                    .map(|x| {
                        i += 1;
                        (x, i - 1)
                    })
                    .collect()
            })
        })))
    }

    fn prepare(&self) -> Result<()> {
        if self.offsets.get().is_some() || self.parent.num_partitions() <= 1 {
            return Ok(());
        }
        let n = self.parent.num_partitions();
        let counts = crate::scheduler::dag::run_job(
            &self.parent,
            &(0..n - 1).collect::<Vec<_>>(),
            |it, _| {
                let mut c = 0u64;
                for ch in it {
                    c += ch?.len() as u64;
                }
                Ok(c)
            },
        )?;
        let mut offsets = Vec::with_capacity(n);
        let mut acc = 0;
        offsets.push(0);
        for c in counts {
            acc += c;
            offsets.push(acc);
        }
        let _ = self.offsets.set(offsets);
        Ok(())
    }
}

/// Every pair of a left and a right partition.
struct CartesianCompute<T: Data, U: Data> {
    left: Rdd<T>,
    right: Rdd<U>,
}

impl<T: Data, U: Data> Compute<(T, U)> for CartesianCompute<T, U> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<ChunkIter<(T, U)>> {
        let nr = self.right.num_partitions();
        let left = drain(self.left.iterator(split / nr, tc)?)?;
        let right = Arc::new(drain(self.right.iterator(split % nr, tc)?)?);
        Ok(chunked(left.into_iter().flat_map(move |a| {
            let right = Arc::clone(&right);
            (0..right.len()).map(move |j| (a.clone(), right[j].clone()))
        })))
    }
}

impl Context {
    /// The union of several RDDs of the same type: their partitions, in order.
    pub fn union<T: Data>(&self, rdds: &[Rdd<T>]) -> Rdd<T> {
        let n = rdds.iter().map(Rdd::num_partitions).sum();
        Rdd::from_compute(
            self,
            "UnionRDD",
            "union",
            n,
            rdds.iter().map(Rdd::narrow_dep).collect(),
            None,
            UnionCompute {
                parents: rdds.to_vec(),
            },
        )
    }
}

impl<T: Data> Rdd<T> {
    /// The records of both RDDs: this one's partitions, then `other`'s. Duplicates are kept.
    pub fn union(&self, other: &Rdd<T>) -> Rdd<T> {
        self.context().union(&[self.clone(), other.clone()])
    }

    /// Merges partitions into at most `n` without a shuffle (contiguous groups). Use
    /// [`repartition`](Rdd::repartition) to increase the number of partitions.
    pub fn coalesce(&self, n: usize) -> Rdd<T> {
        let parts = self.num_partitions();
        let n = n.max(1).min(parts.max(1));
        let groups: Vec<_> = super::source::slice_bounds(parts as u64, n)
            .into_iter()
            .map(|(a, b)| a as usize..b as usize)
            .collect();
        Rdd::from_compute(
            self.context(),
            "CoalescedRDD",
            "coalesce",
            groups.len(),
            vec![self.narrow_dep()],
            None,
            CoalesceCompute {
                parent: self.clone(),
                groups,
            },
        )
    }

    /// Redistributes records evenly over exactly `n` partitions with a shuffle: each parent
    /// partition deals its records round-robin, starting from a position derived from the
    /// partition index.
    pub fn repartition(&self, n: usize) -> Rdd<T> {
        let n = n.max(1);
        let keyed = self.map_partitions_with_index(move |split, it| {
            let start = crate::hash::stable_hash(&split) as usize % n;
            it.enumerate()
                .map(move |(i, x)| (((start + i) % n) as u64, x))
        });
        let shuffled = keyed.shuffle_plain("repartition", Arc::new(HashPartitionByValue(n)), None);
        shuffled.values()
    }

    /// Pairs each record with its index: partition by partition, in order. With more than one
    /// partition this runs a job to count the records of each partition first, as in Spark.
    pub fn zip_with_index(&self) -> Rdd<(T, u64)> {
        Rdd::from_compute(
            self.context(),
            "ZippedWithIndexRDD",
            "zip_with_index",
            self.num_partitions(),
            vec![self.narrow_dep()],
            None,
            ZipWithIndexCompute {
                parent: self.clone(),
                offsets: OnceLock::new(),
            },
        )
    }

    /// A random sample: each record is kept with probability `fraction` (without
    /// replacement), or appears a Poisson(`fraction`) number of times (with replacement).
    /// The same seed gives the same sample.
    pub fn sample(&self, with_replacement: bool, fraction: f64, seed: u64) -> Rdd<T> {
        let fraction = if fraction.is_finite() {
            fraction.max(0.0)
        } else {
            0.0
        };
        self.map_partitions_with_index(move |split, it| {
            let mut rng = Pcg64::seed_from_u64(seed ^ crate::hash::fmix64(split as u64 + 1));
            it.flat_map(move |x| {
                let copies = if with_replacement {
                    poisson(&mut rng, fraction)
                } else {
                    usize::from(rng.gen::<f64>() < fraction)
                };
                std::iter::repeat_n(x, copies)
            })
        })
    }

    /// Every pair `(a, b)` with `a` from this RDD and `b` from `other`.
    pub fn cartesian<U: Data>(&self, other: &Rdd<U>) -> Rdd<(T, U)> {
        Rdd::from_compute(
            self.context(),
            "CartesianRDD",
            "cartesian",
            self.num_partitions() * other.num_partitions(),
            vec![self.narrow_dep(), other.narrow_dep()],
            None,
            CartesianCompute {
                left: self.clone(),
                right: other.clone(),
            },
        )
    }
}

/// Places a `u64` key in partition `key % n` (the round-robin slot chosen by `repartition`).
struct HashPartitionByValue(usize);

impl crate::partitioner::Partitioner<u64> for HashPartitionByValue {
    fn num_partitions(&self) -> usize {
        self.0
    }
    fn partition(&self, key: &u64) -> usize {
        (*key % self.0 as u64) as usize
    }
}

/// A Poisson-distributed count (Knuth's method; for the small means sampling uses, and a
/// normal approximation above 30).
fn poisson(rng: &mut Pcg64, mean: f64) -> usize {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        // Box-Muller normal approximation.
        let u1: f64 = rng.gen::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.gen();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        return (mean + z * mean.sqrt()).round().max(0.0) as usize;
    }
    let l = (-mean).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// Partition `p` of every parent, combined by a function.
struct ZipPartitionsCompute<T: Data, U> {
    parents: Vec<Rdd<T>>,
    f: Arc<ZipFn<T, U>>,
}

type ZipFn<T, U> = dyn Fn(usize, Vec<Vec<T>>) -> Result<Vec<U>> + Send + Sync;

impl<T: Data, U: Data> Compute<U> for ZipPartitionsCompute<T, U> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<ChunkIter<U>> {
        let mut inputs = Vec::with_capacity(self.parents.len());
        for p in &self.parents {
            inputs.push(drain(p.iterator(split, tc)?)?);
        }
        let out = (self.f)(split, inputs)?;
        Ok(chunked(out.into_iter()))
    }
}

/// Partitions computed on demand by a function (for data produced outside the lineage graph).
struct PartitionFnCompute<T> {
    f: Arc<dyn Fn(usize) -> Result<Arc<Vec<T>>> + Send + Sync>,
}

impl<T: Data> Compute<T> for PartitionFnCompute<T> {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<ChunkIter<T>> {
        Ok(super::chunks_of_shared((self.f)(split)?))
    }
}

impl Context {
    /// Combines partition `p` of every RDD in `rdds` (which must have equal partition counts)
    /// with `f(p, [partition p of each rdd])`, without a shuffle: each parent is a narrow
    /// dependency. Used to merge co-partitioned data, such as a window's previous value with
    /// the batches entering and leaving it.
    pub fn zip_partitions<T: Data, U: Data>(
        &self,
        rdds: &[Rdd<T>],
        f: impl Fn(usize, Vec<Vec<T>>) -> Result<Vec<U>> + Send + Sync + 'static,
    ) -> Result<Rdd<U>> {
        let n = rdds.first().map_or(0, Rdd::num_partitions);
        if let Some(r) = rdds.iter().find(|r| r.num_partitions() != n) {
            return Err(Error::InvalidArgument(format!(
                "zip_partitions needs equal partition counts, got {n} and {}",
                r.num_partitions()
            )));
        }
        Ok(Rdd::from_compute(
            self,
            "ZippedPartitionsRDD",
            "zip_partitions",
            n,
            rdds.iter().map(Rdd::narrow_dep).collect(),
            rdds.first().and_then(|r| r.cell.meta.partitioner.clone()),
            ZipPartitionsCompute {
                parents: rdds.to_vec(),
                f: Arc::new(f),
            },
        ))
    }

    /// An RDD of `n` partitions whose partition `p` is `f(p)`, called when a task reads it.
    /// `partitioner` describes the key layout when the partitions are laid out by one.
    pub fn from_partition_fn<T: Data>(
        &self,
        name: &str,
        n: usize,
        partitioner: Option<String>,
        f: impl Fn(usize) -> Result<Arc<Vec<T>>> + Send + Sync + 'static,
    ) -> Rdd<T> {
        Rdd::from_compute(
            self,
            "MapPartitionsRDD",
            name,
            n,
            vec![],
            partitioner,
            PartitionFnCompute { f: Arc::new(f) },
        )
    }
}
