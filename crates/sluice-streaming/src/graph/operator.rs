//! Stateful operators as the checkpoint sees them.

use std::sync::Arc;

use sluice_core::Result;

use super::DStreamBase;

/// A stateful operator whose state is checkpointed, type-erased.
pub(crate) trait CheckpointedOperator: Send + Sync {
    /// The operator's stream.
    fn stream(&self) -> &Arc<dyn DStreamBase>;
    /// The operator's name (its stream's name).
    fn name(&self) -> String {
        self.stream().name()
    }
    /// Whether the program named it (required when checkpointing).
    fn is_named(&self) -> bool {
        self.stream().is_named()
    }
    /// The stream's id.
    fn stream_id(&self) -> usize {
        self.stream().id()
    }
    /// The kind of operator.
    fn kind(&self) -> &'static str;
    /// Whether it holds the program's keyed state (false: the engine's own bookkeeping, such
    /// as an operator's watermark, which state sizes leave out).
    fn is_state(&self) -> bool {
        true
    }
    /// The key type's name.
    fn key_type(&self) -> &'static str;
    /// The state type's name.
    fn state_type(&self) -> &'static str;
    /// Number of key groups.
    fn num_groups(&self) -> usize;
    /// Whether every checkpoint writes each group in full (no deltas).
    fn always_full(&self) -> bool {
        false
    }
    /// Starts recording changes.
    fn track_changes(&self);
    /// Keys currently held.
    fn num_keys(&self) -> usize;
    /// Key groups changed since the last checkpoint.
    fn changed_groups(&self) -> Vec<usize>;
    /// Changed key groups the next checkpoint must write in full.
    fn full_groups(&self) -> Vec<usize> {
        Vec::new()
    }
    /// Encodes a group (full or delta).
    fn encode_group(&self, group: usize, full: bool) -> Result<Vec<u8>>;
    /// Restores a group from its files.
    fn restore_group(&self, group: usize, files: &[Vec<u8>]) -> Result<()>;
}
