//! Counters of the engine's work, readable at any time.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters kept by a context.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Jobs run (one per action).
    pub jobs: AtomicU64,
    /// Stages run (skipped stages, whose shuffle output was already there, not counted).
    pub stages: AtomicU64,
    /// Stages skipped because their shuffle output was reused.
    pub stages_skipped: AtomicU64,
    /// Task attempts launched.
    pub tasks_launched: AtomicU64,
    /// Task attempts that failed (panicked or returned an error).
    pub tasks_failed: AtomicU64,
}

/// A point-in-time copy of [`Metrics`] and the block store's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Jobs run.
    pub jobs: u64,
    /// Stages run.
    pub stages: u64,
    /// Stages skipped.
    pub stages_skipped: u64,
    /// Task attempts launched.
    pub tasks_launched: u64,
    /// Task attempts failed.
    pub tasks_failed: u64,
    /// Cached blocks evicted from memory.
    pub blocks_evicted: u64,
    /// Blocks that could not be cached.
    pub blocks_not_stored: u64,
    /// Blocks written to disk.
    pub blocks_written_to_disk: u64,
    /// Reads served by the block store.
    pub block_hits: u64,
}

impl Metrics {
    pub(crate) fn snapshot(
        &self,
        blocks: &crate::storage::block_store::BlockStoreStats,
    ) -> MetricsSnapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            jobs: l(&self.jobs),
            stages: l(&self.stages),
            stages_skipped: l(&self.stages_skipped),
            tasks_launched: l(&self.tasks_launched),
            tasks_failed: l(&self.tasks_failed),
            blocks_evicted: l(&blocks.evicted),
            blocks_not_stored: l(&blocks.not_stored),
            blocks_written_to_disk: l(&blocks.written_to_disk),
            block_hits: l(&blocks.hits),
        }
    }
}
