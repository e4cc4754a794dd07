//! A partition's groups of a [`DiskStore`], locked for one task: reads go through the
//! groups' caches to the tree, changes go to the caches.

use std::hash::Hash;

use parking_lot::MutexGuard;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::Result;

use super::cache::Known;
use super::codec::{decode_key, key_bytes, timer_key, timer_time, GROUP_BYTES, TIMER_PREFIX_BYTES};
use super::{weigh, DiskGroup, DiskStore};
use crate::state::keyed::LockedGroups;
use crate::state::store::Change;

pub(super) struct DiskGroups<'a, K, S> {
    pub(super) store: &'a DiskStore<K, S>,
    pub(super) groups: Vec<usize>,
    pub(super) guards: Vec<MutexGuard<'a, DiskGroup<K, S>>>,
}

impl<K, S> DiskGroups<'_, K, S>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned,
    S: Clone + Serialize + DeserializeOwned,
{
    /// The timers of the group at `slot` before `threshold`: `(time, encoded key)`.
    fn timers_before(&self, slot: usize, threshold: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        let Some(timers) = &self.store.timers else {
            return Ok(Vec::new());
        };
        let g = self.groups[slot];
        let mut out = Vec::new();
        for item in timers.range(timer_key(g, i64::MIN, &[])..timer_key(g, threshold, &[])) {
            let tk = item
                .key()
                .map_err(|e| self.store.err("reading timers", e))?;
            let t = timer_time(&tk).ok_or_else(|| self.store.err("reading timers", "short key"))?;
            out.push((t, tk[TIMER_PREFIX_BYTES..].to_vec()));
        }
        Ok(out)
    }
}

impl<K, S> LockedGroups<K, S> for DiskGroups<'_, K, S>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned,
    S: Clone + Serialize + DeserializeOwned,
{
    fn get(&mut self, slot: usize, key: &K) -> Result<Option<S>> {
        let (store, group) = (self.store, self.groups[slot]);
        let g = &mut *self.guards[slot];
        let value = store.lookup(group, g, key)?.value().cloned();
        store.enforce_budget(group, g)?;
        Ok(value)
    }

    fn for_each(&mut self, slot: usize, f: &mut dyn FnMut(&K, &S) -> Result<()>) -> Result<()> {
        let (store, group) = (self.store, self.groups[slot]);
        store.scan(group, &mut self.guards[slot], &mut |k, s| f(&k, &s))
    }

    fn with_entries(
        &mut self,
        slot: usize,
        f: &mut dyn FnMut(&[(&K, &S)]) -> Result<()>,
    ) -> Result<()> {
        let (store, group) = (self.store, self.groups[slot]);
        let mut owned = Vec::new();
        store.scan(group, &mut self.guards[slot], &mut |k, s| {
            owned.push((k, s));
            Ok(())
        })?;
        let entries: Vec<(&K, &S)> = owned.iter().map(|(k, s)| (k, s)).collect();
        f(&entries)
    }

    fn expired(&mut self, slot: usize, threshold: i64) -> Result<Vec<(K, S)>> {
        let (store, group) = (self.store, self.groups[slot]);
        let timers = self.timers_before(slot, threshold)?;
        let g = &mut *self.guards[slot];
        let mut out = Vec::new();
        for (t, encoded) in timers {
            let mut kb = super::codec::group_prefix(group).to_vec();
            kb.extend_from_slice(&encoded);
            let key: K = decode_key(&kb)?;
            // A timer is stale unless the key's last update is its time.
            if let Known::Present(v, last) = store.lookup(group, g, &key)? {
                if *last == t {
                    out.push((key, v.clone()));
                }
            }
        }
        store.enforce_budget(group, g)?;
        Ok(out)
    }

    fn commit(&mut self, slot: usize, changes: Vec<(K, Change<S>)>, now: i64) -> Result<()> {
        let (store, group) = (self.store, self.groups[slot]);
        let g = &mut *self.guards[slot];
        let mut timer_batch = store.timers.as_ref().map(|t| (t, store.db.batch()));
        for (k, c) in changes {
            let prev = store.lookup(group, g, &k)?.last_update();
            let timed = match c {
                Change::Put(v) => {
                    if prev.is_none() {
                        g.len += 1;
                    }
                    let bytes = weigh(&k, Some(&v));
                    g.cache.write(k.clone(), Known::Present(v, now), bytes);
                    prev != Some(now)
                }
                Change::Remove => {
                    if prev.is_some() {
                        g.len = g.len.saturating_sub(1);
                        g.cache
                            .write(k.clone(), Known::Absent, weigh::<K, S>(&k, None));
                    }
                    false
                }
                Change::Touch => g.cache.touch(&k, now) && prev != Some(now),
            };
            if timed {
                if let Some((timers, batch)) = &mut timer_batch {
                    let kb = key_bytes(group, &k)?;
                    batch.insert(
                        timers,
                        timer_key(group, now, &kb[GROUP_BYTES..]),
                        Vec::new(),
                    );
                }
            }
            store.note_change(g, &k);
        }
        if let Some((_, batch)) = timer_batch {
            if !batch.is_empty() {
                batch.commit().map_err(|e| store.err("writing timers", e))?;
            }
        }
        store.enforce_budget(group, g)
    }

    fn drop_timers_before(&mut self, slot: usize, threshold: i64) -> Result<()> {
        let Some(timers) = &self.store.timers else {
            return Ok(());
        };
        let group = self.groups[slot];
        let mut batch = self.store.db.batch();
        for (t, encoded) in self.timers_before(slot, threshold)? {
            batch.remove(timers, timer_key(group, t, &encoded));
        }
        if batch.is_empty() {
            return Ok(());
        }
        batch
            .commit()
            .map_err(|e| self.store.err("dropping timers", e))
    }
}
