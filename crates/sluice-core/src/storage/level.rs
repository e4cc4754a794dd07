//! Storage levels for persisted RDDs.

/// Where a persisted RDD's partitions are kept.
///
/// Partitions that do not fit (or were evicted) are recomputed from lineage when they live
/// only in memory, or read back from disk otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageLevel {
    /// Records kept in memory, as objects; evicted partitions are recomputed.
    MemoryOnly,
    /// Kept in memory while the budget allows; evicted partitions are written to disk.
    MemoryAndDisk,
    /// Serialized to a file on local disk.
    DiskOnly,
}

impl StorageLevel {
    /// Whether the level keeps data in memory.
    pub fn use_memory(self) -> bool {
        matches!(self, StorageLevel::MemoryOnly | StorageLevel::MemoryAndDisk)
    }

    /// Whether the level may put data on disk.
    pub fn use_disk(self) -> bool {
        matches!(self, StorageLevel::MemoryAndDisk | StorageLevel::DiskOnly)
    }
}
