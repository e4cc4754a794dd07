//! Stateful operators as the checkpoint sees them.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Data, Key, Result};

use crate::dstream::DStreamBase;
use crate::state::StateStore;

/// A stateful operator whose state is checkpointed, type-erased.
pub trait CheckpointedOperator: Send + Sync {
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
    /// Encodes a group (full or delta).
    fn encode_group(&self, group: usize, full: bool) -> Result<Vec<u8>>;
    /// Restores a group from its files.
    fn restore_group(&self, group: usize, files: &[Vec<u8>]) -> Result<()>;
}

/// A key-group store behind a named stream.
pub(crate) struct StoreOperator<K, S> {
    pub stream: Arc<dyn DStreamBase>,
    pub kind: &'static str,
    pub store: Arc<StateStore<K, S>>,
}

impl<K, S> CheckpointedOperator for StoreOperator<K, S>
where
    K: Key + Serialize + DeserializeOwned,
    S: Data + Serialize + DeserializeOwned,
{
    fn stream(&self) -> &Arc<dyn DStreamBase> {
        &self.stream
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn key_type(&self) -> &'static str {
        std::any::type_name::<K>()
    }
    fn state_type(&self) -> &'static str {
        std::any::type_name::<S>()
    }
    fn num_groups(&self) -> usize {
        self.store.num_groups()
    }
    fn track_changes(&self) {
        self.store.set_track_changes(true);
    }
    fn num_keys(&self) -> usize {
        self.store.len()
    }
    fn changed_groups(&self) -> Vec<usize> {
        self.store.changed_groups()
    }
    fn encode_group(&self, group: usize, full: bool) -> Result<Vec<u8>> {
        self.store.encode_group(group, full)
    }
    fn restore_group(&self, group: usize, files: &[Vec<u8>]) -> Result<()> {
        self.store.restore_group(group, files)
    }
}
