//! The block store: cached RDD partitions under a memory budget, evicted least recently used
//! first, spilled to disk for levels that allow it.
//!
//! A block is one partition of one persisted RDD, held as a type-erased `Arc<Vec<T>>`.
//! Following Spark, blocks of an RDD are never evicted to make room for another block of the
//! same RDD (that would thrash on a scan); a block that cannot fit is not cached in memory
//! (recomputed next time) or goes to disk, depending on its level.

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::storage::level::StorageLevel;

/// A type-erased partition's records.
pub type BlockData = Arc<dyn Any + Send + Sync>;

/// Encodes and decodes a block for disk storage.
pub trait BlockCodec: Send + Sync {
    /// Serializes a block's records.
    fn encode(&self, data: &BlockData) -> Result<Vec<u8>>;
    /// Deserializes them.
    fn decode(&self, bytes: &[u8]) -> Result<BlockData>;
}

enum Place {
    Memory(BlockData),
    Disk(PathBuf),
}

struct Entry {
    place: Place,
    size: u64,
    last_used: u64,
    level: StorageLevel,
    codec: Option<Arc<dyn BlockCodec>>,
}

#[derive(Default)]
struct Inner {
    blocks: HashMap<(usize, usize), Entry>,
    memory_used: u64,
    tick: u64,
}

/// Counters kept by the block store.
#[derive(Debug, Default)]
pub struct BlockStoreStats {
    /// Blocks removed from memory to make room for others.
    pub evicted: AtomicU64,
    /// Blocks written to disk (directly or on eviction).
    pub written_to_disk: AtomicU64,
    /// Blocks that could not be cached at all.
    pub not_stored: AtomicU64,
    /// Reads served from the store.
    pub hits: AtomicU64,
}

/// Cached partitions of persisted RDDs.
pub struct BlockStore {
    inner: Mutex<Inner>,
    budget: u64,
    dir: PathBuf,
    /// Counters.
    pub stats: BlockStoreStats,
}

impl BlockStore {
    /// A store with a memory budget, writing disk blocks under `dir` (created lazily).
    pub fn new(budget: u64, dir: PathBuf) -> Self {
        BlockStore {
            inner: Mutex::new(Inner::default()),
            budget,
            dir,
            stats: BlockStoreStats::default(),
        }
    }

    /// Bytes of memory currently used by cached blocks.
    pub fn memory_used(&self) -> u64 {
        self.inner.lock().memory_used
    }

    /// Whether a block is held.
    pub fn contains(&self, rdd: usize, split: usize) -> bool {
        self.inner.lock().blocks.contains_key(&(rdd, split))
    }

    /// Looks a block up, reading it back from disk if needed.
    pub fn get(&self, rdd: usize, split: usize) -> Result<Option<BlockData>> {
        let (path, codec) = {
            let mut inner = self.inner.lock();
            inner.tick += 1;
            let tick = inner.tick;
            let Some(e) = inner.blocks.get_mut(&(rdd, split)) else {
                return Ok(None);
            };
            e.last_used = tick;
            match &e.place {
                Place::Memory(d) => {
                    self.stats.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(Some(Arc::clone(d)));
                }
                Place::Disk(p) => (p.clone(), e.codec.clone()),
            }
        };
        let codec = codec.ok_or_else(|| Error::Internal("disk block without codec".into()))?;
        let bytes =
            std::fs::read(&path).map_err(|e| Error::io("reading cached block", &path, e))?;
        self.stats.hits.fetch_add(1, Ordering::Relaxed);
        codec.decode(&bytes).map(Some)
    }

    /// Stores a block. Returns whether it was stored somewhere.
    pub fn put(
        &self,
        rdd: usize,
        split: usize,
        data: BlockData,
        size: u64,
        level: StorageLevel,
        codec: Option<Arc<dyn BlockCodec>>,
    ) -> Result<bool> {
        let mut inner = self.inner.lock();
        if inner.blocks.contains_key(&(rdd, split)) {
            return Ok(true);
        }
        inner.tick += 1;
        let tick = inner.tick;
        if level.use_memory() && self.make_room(&mut inner, rdd, size)? {
            inner.memory_used += size;
            inner.blocks.insert(
                (rdd, split),
                Entry {
                    place: Place::Memory(data),
                    size,
                    last_used: tick,
                    level,
                    codec,
                },
            );
            return Ok(true);
        }
        if level.use_disk() {
            let codec = codec
                .ok_or_else(|| Error::Internal("disk storage level without a codec".into()))?;
            let path = self.write_disk(rdd, split, &*codec, &data)?;
            inner.blocks.insert(
                (rdd, split),
                Entry {
                    place: Place::Disk(path),
                    size,
                    last_used: tick,
                    level,
                    codec: Some(codec),
                },
            );
            return Ok(true);
        }
        self.stats.not_stored.fetch_add(1, Ordering::Relaxed);
        Ok(false)
    }

    /// Evicts least-recently-used blocks of other RDDs until `size` more bytes fit. Evicts
    /// nothing when even evicting all of them would not make room (as Spark's memory store).
    fn make_room(&self, inner: &mut Inner, rdd: usize, size: u64) -> Result<bool> {
        if size > self.budget {
            return Ok(false);
        }
        let needed = (inner.memory_used + size).saturating_sub(self.budget);
        if needed == 0 {
            return Ok(true);
        }
        let mut candidates: Vec<((usize, usize), u64, u64)> = inner
            .blocks
            .iter()
            .filter(|(k, e)| k.0 != rdd && matches!(e.place, Place::Memory(_)))
            .map(|(k, e)| (*k, e.last_used, e.size))
            .collect();
        candidates.sort_by_key(|c| c.1);
        let mut freed = 0;
        let mut victims = Vec::new();
        for (key, _, sz) in candidates {
            if freed >= needed {
                break;
            }
            freed += sz;
            victims.push(key);
        }
        if freed < needed {
            return Ok(false);
        }
        for key in victims {
            let Some(entry) = inner.blocks.remove(&key) else {
                continue;
            };
            inner.memory_used -= entry.size;
            self.stats.evicted.fetch_add(1, Ordering::Relaxed);
            if let (Place::Memory(data), true, Some(codec)) =
                (&entry.place, entry.level.use_disk(), &entry.codec)
            {
                let path = self.write_disk(key.0, key.1, &**codec, data)?;
                inner.blocks.insert(
                    key,
                    Entry {
                        place: Place::Disk(path),
                        ..entry
                    },
                );
            }
        }
        Ok(true)
    }

    fn write_disk(
        &self,
        rdd: usize,
        split: usize,
        codec: &dyn BlockCodec,
        data: &BlockData,
    ) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io("creating block directory", &self.dir, e))?;
        let path = self.dir.join(format!("rdd_{rdd}_{split}"));
        let bytes = codec.encode(data)?;
        std::fs::write(&path, bytes).map_err(|e| Error::io("writing cached block", &path, e))?;
        self.stats.written_to_disk.fetch_add(1, Ordering::Relaxed);
        Ok(path)
    }

    /// Drops every block of an RDD (on `unpersist` or when the RDD is dropped).
    pub fn remove_rdd(&self, rdd: usize) {
        let mut inner = self.inner.lock();
        let keys: Vec<_> = inner
            .blocks
            .keys()
            .filter(|k| k.0 == rdd)
            .copied()
            .collect();
        for k in keys {
            if let Some(e) = inner.blocks.remove(&k) {
                match e.place {
                    Place::Memory(_) => inner.memory_used -= e.size,
                    Place::Disk(p) => {
                        let _ = std::fs::remove_file(p);
                    }
                }
            }
        }
    }

    /// The directory disk blocks go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for BlockStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: usize) -> BlockData {
        Arc::new(vec![0u8; n])
    }

    #[test]
    fn evicts_lru_of_other_rdds_only() {
        let dir = tempfile::tempdir().unwrap();
        let s = BlockStore::new(100, dir.path().join("b"));
        assert!(s
            .put(1, 0, block(40), 40, StorageLevel::MemoryOnly, None)
            .unwrap());
        assert!(s
            .put(1, 1, block(40), 40, StorageLevel::MemoryOnly, None)
            .unwrap());
        // Same RDD: no room, nothing evicted.
        assert!(!s
            .put(1, 2, block(40), 40, StorageLevel::MemoryOnly, None)
            .unwrap());
        assert_eq!(s.stats.evicted.load(Ordering::Relaxed), 0);
        s.get(1, 0).unwrap(); // 1/0 is now more recent than 1/1
        assert!(s
            .put(2, 0, block(40), 40, StorageLevel::MemoryOnly, None)
            .unwrap());
        assert_eq!(s.stats.evicted.load(Ordering::Relaxed), 1);
        assert!(s.contains(1, 0) && !s.contains(1, 1) && s.contains(2, 0));
        assert_eq!(s.memory_used(), 80);
        s.remove_rdd(1);
        assert_eq!(s.memory_used(), 40);
    }
}
