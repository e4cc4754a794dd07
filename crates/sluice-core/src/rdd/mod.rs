//! [`Rdd<T>`]: a partitioned, lazily computed collection with lineage.
//!
//! An `Rdd<T>` is a cheap-to-clone handle to one node of a lineage graph. Each node knows its
//! number of partitions, its dependencies (narrow: partition `i` needs a few parent partitions;
//! shuffle: partition `i` needs a slice of every parent partition) and how to compute one
//! partition from its parents. Nothing runs until an action (`collect`, `count`, ...) asks the
//! DAG scheduler (`scheduler`) for a result.
//!
//! Partitions are computed as iterators of *chunks* (`Vec<T>` of up to [`CHUNK_SIZE`] records):
//! a chain of narrow operations is fused into one task, and each operator pays one dynamic call
//! per chunk rather than per record.
//!
//! The operations live in files by family: [`transform`] (narrow, element-wise), [`structure`]
//! (union, coalesce, zip, sample, cartesian), [`pair`] (key-value operations and shuffles),
//! [`join`], [`sort`], [`actions`], [`save`] and [`persist`].

pub mod actions;
mod combine;
pub mod debug;
pub mod join;
pub mod pair;
pub mod persist;
pub mod save;
#[cfg(feature = "object-store")]
mod save_object;
pub mod set_ops;
pub mod shuffled;
pub mod sort;
pub mod source;
pub mod structure;
mod teardown;
pub mod text_file;
#[cfg(feature = "object-store")]
mod text_object;
pub mod transform;

use std::any::Any;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::task::TaskContext;
use crate::storage::level::StorageLevel;

pub use shuffled::ShuffleDepBase;

/// Records per chunk produced by sources and re-chunking operators.
pub const CHUNK_SIZE: usize = 1024;

/// The computed contents of one partition: an iterator of record chunks, each of which may be
/// an error (a file that failed to read, a user function that reported an error).
pub type ChunkIter<T> = Box<dyn Iterator<Item = Result<Vec<T>>> + Send>;

/// How a node computes one of its partitions (the typed half of an RDD node).
pub(crate) trait Compute<T>: Send + Sync {
    /// Computes partition `split`.
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<ChunkIter<T>>;

    /// Driver-side preparation before a stage containing this node runs (for example
    /// counting partition sizes for `zip_with_index`). Must be idempotent.
    fn prepare(&self) -> Result<()> {
        Ok(())
    }
}

/// A dependency of an RDD node on a parent.
#[derive(Clone)]
pub enum Dependency {
    /// Each partition needs a bounded set of parent partitions: computed in the same task.
    Narrow(Arc<dyn RddBase>),
    /// Each partition needs data from every parent partition: a stage boundary.
    Shuffle(Arc<dyn ShuffleDepBase>),
}

/// The type-erased view of an RDD node that the scheduler works with.
pub trait RddBase: Send + Sync {
    /// The node's unique id within its context.
    fn id(&self) -> usize;
    /// The node's kind, as Spark names it (`MapPartitionsRDD`, `ShuffledRDD`, ...).
    fn kind(&self) -> &'static str;
    /// The operation that created it (`map`, `reduce_by_key`, ...), or a user-given name.
    fn op_name(&self) -> String;
    /// Number of partitions.
    fn num_partitions(&self) -> usize;
    /// The node's dependencies.
    fn dependencies(&self) -> &[Dependency];
    /// Driver-side preparation (see `Compute::prepare`).
    fn prepare(&self) -> Result<()>;
    /// The storage level, if persisted.
    fn storage_level(&self) -> Option<StorageLevel>;
    /// Whether partition `split` is currently held by the block store.
    fn is_cached(&self, split: usize) -> bool;
    /// The node as `Any`, to recover the typed node.
    fn as_any(&self) -> &dyn Any;
}

/// Identity and shape of a node, shared by all node kinds.
pub(crate) struct RddMeta {
    pub id: usize,
    pub ctx: Context,
    pub kind: &'static str,
    pub op: RwLock<String>,
    pub num_partitions: usize,
    pub deps: Vec<Dependency>,
    /// Describes the partitioner of a key-value RDD, if its layout is known ("hash:8").
    pub partitioner: Option<String>,
}

/// One node of the lineage graph: metadata, how to compute, and whether to cache.
pub(crate) struct RddCell<T: Data> {
    pub meta: RddMeta,
    pub compute: Box<dyn Compute<T>>,
    pub persistence: RwLock<Option<persist::Persistence>>,
}

impl<T: Data> RddBase for RddCell<T> {
    fn id(&self) -> usize {
        self.meta.id
    }
    fn kind(&self) -> &'static str {
        self.meta.kind
    }
    fn op_name(&self) -> String {
        self.meta.op.read().clone()
    }
    fn num_partitions(&self) -> usize {
        self.meta.num_partitions
    }
    fn dependencies(&self) -> &[Dependency] {
        &self.meta.deps
    }
    fn prepare(&self) -> Result<()> {
        self.compute.prepare()
    }
    fn storage_level(&self) -> Option<StorageLevel> {
        self.persistence.read().as_ref().map(|p| p.level)
    }
    fn is_cached(&self, split: usize) -> bool {
        self.meta.ctx.inner.blocks.contains(self.meta.id, split)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl<T: Data> Drop for RddCell<T> {
    fn drop(&mut self) {
        if self.persistence.get_mut().is_some() {
            self.meta.ctx.inner.blocks.remove_rdd(self.meta.id);
        }
        // The parents go through the iterative drop, so a long lineage does not nest one
        // stack frame per operation (see `teardown`).
        let deps = std::mem::take(&mut self.meta.deps);
        let compute = std::mem::replace(&mut self.compute, Box::new(Released));
        teardown::drop_iteratively((deps, compute));
    }
}

/// What a node computes with once it is being dropped: nothing.
struct Released;

impl<T> Compute<T> for Released {
    fn compute(&self, _: usize, _: &TaskContext) -> Result<ChunkIter<T>> {
        Err(Error::Internal("a dropped RDD was computed".into()))
    }
}

/// A resilient distributed dataset: a partitioned collection of `T`, computed lazily from its
/// lineage.
///
/// Cloning an `Rdd` clones the handle, not the data.
///
/// ```
/// use sluice_core::{Conf, Context};
/// let ctx = Context::new(Conf::new().set_master("local[2]")).unwrap();
/// let squares = ctx.parallelize((1..=4).collect(), 2).map(|x: i32| x * x);
/// assert_eq!(squares.collect().unwrap(), vec![1, 4, 9, 16]);
/// ```
pub struct Rdd<T: Data> {
    pub(crate) cell: Arc<RddCell<T>>,
}

impl<T: Data> Clone for Rdd<T> {
    fn clone(&self) -> Self {
        Rdd {
            cell: Arc::clone(&self.cell),
        }
    }
}

impl<T: Data> std::fmt::Debug for Rdd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}[{}] at {} ({} partitions)",
            self.cell.meta.kind,
            self.cell.meta.id,
            self.cell.meta.op.read(),
            self.cell.meta.num_partitions
        )
    }
}

impl<T: Data> Rdd<T> {
    /// Creates a node. Used by every operation.
    pub(crate) fn from_compute(
        ctx: &Context,
        kind: &'static str,
        op: &str,
        num_partitions: usize,
        deps: Vec<Dependency>,
        partitioner: Option<String>,
        compute: impl Compute<T> + 'static,
    ) -> Rdd<T> {
        Rdd {
            cell: Arc::new(RddCell {
                meta: RddMeta {
                    id: ctx.inner.next_rdd_id(),
                    ctx: ctx.clone(),
                    kind,
                    op: RwLock::new(op.to_string()),
                    num_partitions,
                    deps,
                    partitioner,
                },
                compute: Box::new(compute),
                persistence: RwLock::new(None),
            }),
        }
    }

    /// The RDD's id, unique within its context.
    pub fn id(&self) -> usize {
        self.cell.meta.id
    }

    /// Number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.cell.meta.num_partitions
    }

    /// The context this RDD belongs to.
    pub fn context(&self) -> &Context {
        &self.cell.meta.ctx
    }

    /// Gives the RDD a name, shown by [`to_debug_string`](Rdd::to_debug_string) and in errors.
    pub fn set_name(&self, name: impl Into<String>) -> Rdd<T> {
        *self.cell.meta.op.write() = name.into();
        self.clone()
    }

    /// The RDD's name (the operation that created it, unless set with `set_name`).
    pub fn name(&self) -> String {
        self.cell.meta.op.read().clone()
    }

    /// A description of the partitioner when the key layout is known (e.g. `hash:8`).
    pub fn partitioner(&self) -> Option<&str> {
        self.cell.meta.partitioner.as_deref()
    }

    /// The type-erased node, for the scheduler.
    pub(crate) fn base(&self) -> Arc<dyn RddBase> {
        self.cell.clone()
    }

    /// Computes (or reads from cache) one partition. Called inside tasks.
    pub(crate) fn iterator(&self, split: usize, tc: &TaskContext) -> Result<ChunkIter<T>> {
        persist::iterator(&self.cell, split, tc)
    }

    /// A narrow dependency on this RDD.
    pub(crate) fn narrow_dep(&self) -> Dependency {
        Dependency::Narrow(self.base())
    }
}

/// Groups an iterator of records into chunks of [`CHUNK_SIZE`].
pub(crate) fn chunked<U, I>(iter: I) -> ChunkIter<U>
where
    U: Send + 'static,
    I: Iterator<Item = U> + Send + 'static,
{
    let mut iter = iter;
    Box::new(std::iter::from_fn(move || {
        let mut chunk = Vec::with_capacity(CHUNK_SIZE);
        for x in iter.by_ref() {
            chunk.push(x);
            if chunk.len() == CHUNK_SIZE {
                break;
            }
        }
        if chunk.is_empty() {
            None
        } else {
            Some(Ok(chunk))
        }
    }))
}

/// Splits a shared vector into chunks of cloned records.
pub(crate) fn chunks_of_shared<T: Data>(data: Arc<Vec<T>>) -> ChunkIter<T> {
    let mut pos = 0;
    Box::new(std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        let end = (pos + CHUNK_SIZE).min(data.len());
        let chunk = data[pos..end].to_vec();
        pos = end;
        Some(Ok(chunk))
    }))
}

/// Reads every chunk of a partition into one vector.
pub(crate) fn drain<T>(iter: ChunkIter<T>) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for chunk in iter {
        let chunk = chunk?;
        if out.is_empty() {
            out = chunk;
        } else {
            out.extend(chunk);
        }
    }
    Ok(out)
}

/// Turns a chunk iterator into a record iterator. A failed chunk ends the records and leaves
/// its error in the returned slot, for the caller to report after consuming the records.
pub(crate) fn records<T: Send + 'static>(
    iter: ChunkIter<T>,
) -> (
    impl Iterator<Item = T> + Send + 'static,
    Arc<parking_lot::Mutex<Option<crate::Error>>>,
) {
    let slot = Arc::new(parking_lot::Mutex::new(None));
    let s2 = Arc::clone(&slot);
    let it = iter
        .map_while(move |c| match c {
            Ok(v) => Some(v),
            Err(e) => {
                *s2.lock() = Some(e);
                None
            }
        })
        .flatten();
    (it, slot)
}
