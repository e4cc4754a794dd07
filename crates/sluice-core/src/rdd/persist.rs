//! Persistence: `cache`, `persist`, `unpersist`, and reading a partition through the block
//! store.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{chunks_of_shared, drain, ChunkIter, Rdd, RddCell};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::task::TaskContext;
use crate::storage::block_store::{BlockCodec, BlockData};
use crate::storage::level::StorageLevel;

/// How a persisted RDD stores its partitions.
pub(crate) struct Persistence {
    pub level: StorageLevel,
    pub codec: Option<Arc<dyn BlockCodec>>,
}

/// bincode encoding of a `Vec<T>` block.
struct SerdeCodec<T>(PhantomData<fn() -> T>);

impl<T: Data + Serialize + DeserializeOwned> BlockCodec for SerdeCodec<T> {
    fn encode(&self, data: &BlockData) -> Result<Vec<u8>> {
        let v = data
            .downcast_ref::<Vec<T>>()
            .ok_or_else(|| Error::Internal("cached block has an unexpected type".into()))?;
        bincode::serialize(v).map_err(|e| Error::Serialization(e.to_string()))
    }
    fn decode(&self, bytes: &[u8]) -> Result<BlockData> {
        let v: Vec<T> =
            bincode::deserialize(bytes).map_err(|e| Error::Serialization(e.to_string()))?;
        Ok(Arc::new(v))
    }
}

impl<T: Data> Rdd<T> {
    /// Keeps computed partitions in memory (Spark's `MEMORY_ONLY`), for any record type.
    /// Partitions that do not fit the memory budget are recomputed from lineage when needed.
    /// Returns the same RDD, so it can be chained; the setting also applies to other handles.
    pub fn cache(&self) -> Rdd<T> {
        *self.cell.persistence.write() = Some(Persistence {
            level: StorageLevel::MemoryOnly,
            codec: None,
        });
        self.clone()
    }

    /// Persists the RDD at a storage level. Disk levels serialize records with serde, hence
    /// the bound; [`cache`](Rdd::cache) has none.
    ///
    /// ```
    /// use sluice_core::{Conf, Context, StorageLevel};
    /// let ctx = Context::new(Conf::new().set_master("local[2]")).unwrap();
    /// let rdd = ctx.parallelize(vec![1, 2, 3], 2).persist(StorageLevel::DiskOnly);
    /// assert_eq!(rdd.count().unwrap(), 3);
    /// assert_eq!(rdd.collect().unwrap(), vec![1, 2, 3]); // read back from disk
    /// ```
    pub fn persist(&self, level: StorageLevel) -> Rdd<T>
    where
        T: Serialize + DeserializeOwned,
    {
        *self.cell.persistence.write() = Some(Persistence {
            level,
            codec: Some(Arc::new(SerdeCodec::<T>(PhantomData))),
        });
        self.clone()
    }

    /// Removes the RDD's cached partitions and stops caching it.
    pub fn unpersist(&self) -> Rdd<T> {
        *self.cell.persistence.write() = None;
        self.cell
            .meta
            .ctx
            .inner
            .blocks
            .remove_rdd(self.cell.meta.id);
        self.clone()
    }

    /// The storage level, if the RDD is persisted.
    pub fn storage_level(&self) -> Option<StorageLevel> {
        self.cell.persistence.read().as_ref().map(|p| p.level)
    }
}

/// Reads a partition: from the block store if the RDD is persisted and the block is held,
/// otherwise computed (and stored, if persisted).
pub(crate) fn iterator<T: Data>(
    cell: &Arc<RddCell<T>>,
    split: usize,
    tc: &TaskContext,
) -> Result<ChunkIter<T>> {
    let (level, codec) = match cell.persistence.read().as_ref() {
        None => return cell.compute.compute(split, tc),
        Some(p) => (p.level, p.codec.clone()),
    };
    let store = &cell.meta.ctx.inner.blocks;
    if let Some(block) = store.get(cell.meta.id, split)? {
        let data = block
            .downcast::<Vec<T>>()
            .map_err(|_| Error::Internal("cached block has an unexpected type".into()))?;
        return Ok(chunks_of_shared(data));
    }
    let data = Arc::new(drain(cell.compute.compute(split, tc)?)?);
    let size = estimate_size(&data, codec.as_deref());
    store.put(
        cell.meta.id,
        split,
        data.clone() as BlockData,
        size,
        level,
        codec,
    )?;
    Ok(chunks_of_shared(data))
}

/// Estimated bytes of a block: the records' inline size plus, when a codec is known, their
/// serialized size measured on a sample (a proxy for the heap data they own).
fn estimate_size<T: Data>(data: &Arc<Vec<T>>, codec: Option<&dyn BlockCodec>) -> u64 {
    let inline = std::mem::size_of::<T>() as u64 * data.len() as u64;
    let Some(codec) = codec else {
        return inline.max(1);
    };
    let sample_len = data.len().min(64);
    if sample_len == 0 {
        return 1;
    }
    let sample: BlockData = Arc::new(data[..sample_len].to_vec());
    let sampled = codec.encode(&sample).map(|b| b.len() as u64).unwrap_or(0);
    (inline + sampled * data.len() as u64 / sample_len as u64).max(1)
}
