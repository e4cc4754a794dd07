//! The in-memory [`StateStore`] as a [`KeyedStore`]: its locked groups are the groups' hash
//! maps themselves, read by reference.

use std::hash::Hash;

use parking_lot::MutexGuard;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::Result;

use super::keyed::{KeyedStore, LockedGroups};
use super::store::{Change, Group, StateStore};

/// A partition's groups of a [`StateStore`], locked.
struct MemoryGroups<'a, K, S> {
    store: &'a StateStore<K, S>,
    guards: Vec<MutexGuard<'a, Group<K, S>>>,
}

impl<K: Hash + Eq + Clone, S: Clone> LockedGroups<K, S> for MemoryGroups<'_, K, S> {
    fn get(&mut self, slot: usize, key: &K) -> Result<Option<S>> {
        Ok(self.guards[slot].map.get(key).map(|e| e.value.clone()))
    }

    fn for_each(&mut self, slot: usize, f: &mut dyn FnMut(&K, &S) -> Result<()>) -> Result<()> {
        for (k, e) in &self.guards[slot].map {
            f(k, &e.value)?;
        }
        Ok(())
    }

    fn with_entries(
        &mut self,
        slot: usize,
        f: &mut dyn FnMut(&[(&K, &S)]) -> Result<()>,
    ) -> Result<()> {
        let entries: Vec<(&K, &S)> = self.guards[slot]
            .map
            .iter()
            .map(|(k, e)| (k, &e.value))
            .collect();
        f(&entries)
    }

    fn expired(&mut self, slot: usize, threshold: i64) -> Result<Vec<(K, S)>> {
        let group = &self.guards[slot];
        Ok(StateStore::expired(group, threshold)
            .into_iter()
            .filter_map(|k| {
                let v = group.map.get(&k)?.value.clone();
                Some((k, v))
            })
            .collect())
    }

    fn commit(&mut self, slot: usize, changes: Vec<(K, Change<S>)>, now: i64) -> Result<()> {
        self.store.commit(&mut self.guards[slot], changes, now);
        Ok(())
    }

    fn drop_timers_before(&mut self, slot: usize, threshold: i64) -> Result<()> {
        StateStore::drop_timers_before(&mut self.guards[slot], threshold);
        Ok(())
    }
}

impl<K, S> KeyedStore<K, S> for StateStore<K, S>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + DeserializeOwned,
    S: Clone + Send + Sync + Serialize + DeserializeOwned,
{
    fn num_groups(&self) -> usize {
        StateStore::num_groups(self)
    }
    fn len(&self) -> usize {
        StateStore::len(self)
    }
    fn lock<'a>(&'a self, groups: &[usize]) -> Result<Box<dyn LockedGroups<K, S> + 'a>> {
        Ok(Box::new(MemoryGroups {
            store: self,
            guards: StateStore::lock(self, groups),
        }))
    }
    fn snapshot_partition(&self, p: usize, n: usize) -> Result<Vec<(K, S)>> {
        Ok(StateStore::snapshot_partition(self, p, n))
    }
    fn set_track_changes(&self, on: bool) {
        StateStore::set_track_changes(self, on);
    }
    fn changed_groups(&self) -> Vec<usize> {
        StateStore::changed_groups(self)
    }
    fn encode_group(&self, group: usize, full: bool) -> Result<Vec<u8>> {
        StateStore::encode_group(self, group, full)
    }
    fn restore_group(&self, group: usize, files: &[Vec<u8>]) -> Result<()> {
        StateStore::restore_group(self, group, files)
    }
}
