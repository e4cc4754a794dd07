//! The checkpointed operator behind a key-group store (`update_state_by_key`,
//! `map_with_state`).

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Data, Key, Result};

use crate::graph::{CheckpointedOperator, DStreamBase};
use crate::state::KeyedStore;

/// A key-group store behind a named stream.
pub(crate) struct StoreOperator<K, S> {
    pub stream: Arc<dyn DStreamBase>,
    pub kind: &'static str,
    pub store: Arc<dyn KeyedStore<K, S>>,
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
    fn full_groups(&self) -> Vec<usize> {
        self.store.full_groups()
    }
    fn encode_group(&self, group: usize, full: bool) -> Result<Vec<u8>> {
        self.store.encode_group(group, full)
    }
    fn restore_group(&self, group: usize, files: &[Vec<u8>]) -> Result<()> {
        self.store.restore_group(group, files)
    }
}
