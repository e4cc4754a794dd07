//! The key-group state store.
//!
//! A stateful operator's values live in a fixed number of key groups (128 by default): a key
//! belongs to group `stable_hash(key) % groups`, and partition `p` of `n` owns the groups `g`
//! with `g % n == p`. Key groups are the unit of parallelism and, later, of checkpoint files
//! and of moving state between processes.
//!
//! A batch changes a partition's groups in two phases: the task computes the changes (reading
//! the current values, never writing them), and only when it has finished are the changes
//! applied, under the groups' locks. A task that fails midway changes nothing, so a retried
//! task sees exactly the state the first attempt saw.
//!
//! For idle timeouts, each group keeps its keys by last-update time (a `BTreeMap` of buckets,
//! entries made stale by later updates are skipped), so finding the keys that timed out costs
//! in proportion to them, not to the size of the state.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::hash::stable_hash;
use sluice_core::Partitioner;
use sluice_core::{Error, Result};

/// Key groups of a new stateful operator.
pub const DEFAULT_KEY_GROUPS: usize = 128;

/// A value and when it was last updated (batch time, ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<S> {
    /// The value.
    pub value: S,
    /// Batch time of the last update.
    pub last_update: i64,
}

/// One key group.
#[derive(Debug)]
pub struct Group<K, S> {
    /// The values.
    pub map: FxHashMap<K, Entry<S>>,
    /// Keys by last-update time (possibly stale), when timeouts are tracked.
    pub timers: BTreeMap<i64, Vec<K>>,
    /// Keys changed since the last checkpoint, when checkpointing.
    pub dirty: FxHashSet<K>,
}

impl<K, S> Default for Group<K, S> {
    fn default() -> Self {
        Group {
            map: FxHashMap::default(),
            timers: BTreeMap::new(),
            dirty: FxHashSet::default(),
        }
    }
}

/// A change to one key, computed by a task and applied on commit.
#[derive(Debug, Clone)]
pub enum Change<S> {
    /// Set the value (and the last-update time).
    Put(S),
    /// Remove the key.
    Remove,
    /// Keep the value but refresh the last-update time.
    Touch,
}

/// The state of one operator, in key groups.
#[derive(Debug)]
pub struct StateStore<K, S> {
    groups: Vec<Mutex<Group<K, S>>>,
    track_timers: bool,
    track_changes: AtomicBool,
}

impl<K: Hash + Eq + Clone, S> StateStore<K, S> {
    /// A store of `num_groups` key groups; `track_timers` keeps keys by update time.
    pub fn new(num_groups: usize, track_timers: bool) -> Self {
        StateStore {
            groups: (0..num_groups.max(1))
                .map(|_| Mutex::new(Group::default()))
                .collect(),
            track_timers,
            track_changes: AtomicBool::new(false),
        }
    }

    /// Starts or stops recording which keys change (for incremental checkpoints).
    pub fn set_track_changes(&self, on: bool) {
        self.track_changes.store(on, Ordering::Release);
    }

    /// The groups with changes since the last checkpoint.
    pub fn changed_groups(&self) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|&g| !self.groups[g].lock().dirty.is_empty())
            .collect()
    }

    /// Number of key groups.
    pub fn num_groups(&self) -> usize {
        self.groups.len()
    }

    /// The key group of a key.
    pub fn group_of(&self, key: &K) -> usize {
        (stable_hash(key) % self.groups.len() as u64) as usize
    }

    /// The groups partition `p` of `n` owns.
    pub fn groups_of_partition(&self, p: usize, n: usize) -> Vec<usize> {
        (p..self.groups.len()).step_by(n.max(1)).collect()
    }

    /// Where `key` is among the groups of partition `p` of `n` (an index into
    /// `groups_of_partition(p, n)`); an error if its group belongs to another partition.
    pub fn slot_of(&self, key: &K, p: usize, n: usize) -> Result<usize> {
        let g = self.group_of(key);
        if g % n.max(1) != p {
            return Err(Error::Internal(format!(
                "key group {g} reached partition {p} of {n}"
            )));
        }
        Ok((g - p) / n.max(1))
    }

    /// Locks the given groups (in increasing order, so concurrent lockers cannot deadlock).
    pub fn lock(&self, groups: &[usize]) -> Vec<MutexGuard<'_, Group<K, S>>> {
        groups.iter().map(|&g| self.groups[g].lock()).collect()
    }

    /// Total number of keys.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.lock().map.len()).sum()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies changes made at batch time `now` to a locked group.
    pub fn commit(&self, group: &mut Group<K, S>, changes: Vec<(K, Change<S>)>, now: i64) {
        let track = self.track_changes.load(Ordering::Acquire);
        for (k, c) in changes {
            if track {
                group.dirty.insert(k.clone());
            }
            match c {
                Change::Put(v) => {
                    // A key already timed at `now` keeps its one timer entry (event-time
                    // windows are updated many times, always at their end).
                    let timed = group.map.get(&k).is_some_and(|e| e.last_update == now);
                    if self.track_timers && !timed {
                        group.timers.entry(now).or_default().push(k.clone());
                    }
                    group.map.insert(
                        k,
                        Entry {
                            value: v,
                            last_update: now,
                        },
                    );
                }
                Change::Remove => {
                    group.map.remove(&k);
                }
                Change::Touch => {
                    if let Some(e) = group.map.get_mut(&k) {
                        e.last_update = now;
                        if self.track_timers {
                            group.timers.entry(now).or_default().push(k);
                        }
                    }
                }
            }
        }
    }

    /// Whether changes are recorded (the job checkpoints).
    pub fn tracks_changes(&self) -> bool {
        self.track_changes.load(Ordering::Acquire)
    }

    /// Sets one key's value at time `now` (one hash lookup; the key's timer is added only
    /// when its time changes).
    pub fn put_at(&self, group: &mut Group<K, S>, k: K, v: S, now: i64) {
        if self.track_changes.load(Ordering::Acquire) {
            group.dirty.insert(k.clone());
        }
        let Group { map, timers, .. } = group;
        let entry = Entry {
            value: v,
            last_update: now,
        };
        match map.entry(k) {
            MapEntry::Occupied(mut e) => {
                if self.track_timers && e.get().last_update != now {
                    timers.entry(now).or_default().push(e.key().clone());
                }
                *e.get_mut() = entry;
            }
            MapEntry::Vacant(e) => {
                if self.track_timers {
                    timers.entry(now).or_default().push(e.key().clone());
                }
                e.insert(entry);
            }
        }
    }

    /// Removes and returns the keys whose last update is before `threshold` (strictly), with
    /// their values, and drops those timer buckets.
    pub fn take_expired(&self, group: &mut Group<K, S>, threshold: i64) -> Vec<(K, S)> {
        let track = self.track_changes.load(Ordering::Acquire);
        let kept = group.timers.split_off(&threshold);
        let due = std::mem::replace(&mut group.timers, kept);
        let mut out = Vec::new();
        for (t, keys) in due {
            for k in keys {
                if let MapEntry::Occupied(e) = group.map.entry(k) {
                    if e.get().last_update == t {
                        let (k, v) = e.remove_entry();
                        if track {
                            group.dirty.insert(k.clone());
                        }
                        out.push((k, v.value));
                    }
                }
            }
        }
        out
    }

    /// The keys of a group whose last update is before `threshold` (strictly), oldest first.
    /// Reads only the timer buckets before the threshold.
    pub fn expired(group: &Group<K, S>, threshold: i64) -> Vec<K> {
        let mut out = Vec::new();
        for (&t, keys) in group.timers.range(..threshold) {
            for k in keys {
                if group.map.get(k).is_some_and(|e| e.last_update == t) {
                    out.push(k.clone());
                }
            }
        }
        out
    }

    /// Drops the timer buckets before `threshold` (after their keys were handled).
    pub fn drop_timers_before(group: &mut Group<K, S>, threshold: i64) {
        let kept = group.timers.split_off(&threshold);
        group.timers = kept;
    }
}

impl<K: Hash + Eq + Clone, S: Clone> StateStore<K, S> {
    /// A copy of the `(key, value)` pairs of partition `p` of `n`.
    pub fn snapshot_partition(&self, p: usize, n: usize) -> Vec<(K, S)> {
        let groups = self.groups_of_partition(p, n);
        let len = groups
            .iter()
            .map(|&g| self.groups[g].lock().map.len())
            .sum();
        let mut out = Vec::with_capacity(len);
        // A checkpointed job's hash maps are rebuilt in another order after a restore: its
        // output is put in an order of the keys alone, so that a recovered run writes the same
        // bytes as a run without failures.
        let ordered = self.track_changes.load(Ordering::Acquire);
        let mut keyed: Vec<(u64, K, S)> = Vec::new();
        for g in groups {
            let group = self.groups[g].lock();
            if ordered {
                keyed.clear();
                keyed.extend(
                    group
                        .map
                        .iter()
                        .map(|(k, e)| (stable_hash(k), k.clone(), e.value.clone())),
                );
                keyed.sort_unstable_by_key(|(h, _, _)| *h);
                out.extend(keyed.drain(..).map(|(_, k, s)| (k, s)));
            } else {
                out.extend(group.map.iter().map(|(k, e)| (k.clone(), e.value.clone())));
            }
        }
        out
    }
}

/// A key group's entries as written to a checkpoint: a full snapshot holds every key; a delta
/// holds the changed keys, `None` for removed ones.
type Snapshot<K, S> = Vec<(K, Option<(S, i64)>)>;

impl<K, S> StateStore<K, S>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned,
    S: Clone + Serialize + DeserializeOwned,
{
    /// Encodes a group: every key (`full`) or the keys changed since the last checkpoint.
    /// Forgets the group's changes.
    pub fn encode_group(&self, g: usize, full: bool) -> Result<Vec<u8>> {
        let mut group = self.groups[g].lock();
        let entries: Snapshot<K, S> = if full {
            group
                .map
                .iter()
                .map(|(k, e)| (k.clone(), Some((e.value.clone(), e.last_update))))
                .collect()
        } else {
            group
                .dirty
                .iter()
                .map(|k| {
                    let v = group.map.get(k).map(|e| (e.value.clone(), e.last_update));
                    (k.clone(), v)
                })
                .collect()
        };
        group.dirty.clear();
        bincode::serialize(&entries).map_err(|e| Error::Serialization(e.to_string()))
    }

    /// Restores a group from its checkpoint files: a full snapshot, then deltas in order.
    pub fn restore_group(&self, g: usize, files: &[Vec<u8>]) -> Result<()> {
        let mut group = self
            .groups
            .get(g)
            .map(|m| m.lock())
            .ok_or_else(|| Error::InvalidArgument(format!("key group {g} out of range")))?;
        group.map.clear();
        group.timers.clear();
        group.dirty.clear();
        for bytes in files {
            let entries: Snapshot<K, S> =
                bincode::deserialize(bytes).map_err(|e| Error::Serialization(e.to_string()))?;
            for (k, v) in entries {
                match v {
                    Some((value, last_update)) => {
                        group.map.insert(k, Entry { value, last_update });
                    }
                    None => {
                        group.map.remove(&k);
                    }
                }
            }
        }
        if self.track_timers {
            let Group { map, timers, .. } = &mut *group;
            for (k, e) in map.iter() {
                timers.entry(e.last_update).or_default().push(k.clone());
            }
        }
        Ok(())
    }
}

/// Places a key in the partition that owns its key group.
#[derive(Debug, Clone, Copy)]
pub struct KeyGroupPartitioner {
    /// Number of key groups.
    pub groups: usize,
    /// Number of partitions.
    pub partitions: usize,
}

impl<K: Hash> Partitioner<K> for KeyGroupPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn partition(&self, key: &K) -> usize {
        ((stable_hash(key) % self.groups as u64) as usize) % self.partitions
    }
    fn fingerprint(&self) -> Option<String> {
        Some(format!("keygroups:{}:{}", self.groups, self.partitions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_and_expire() {
        let s: StateStore<&str, i32> = StateStore::new(4, true);
        let g = s.group_of(&"a");
        let mut guard = s.lock(&[g]);
        s.commit(&mut guard[0], vec![("a", Change::Put(1))], 1000);
        assert!(StateStore::expired(&guard[0], 1000).is_empty()); // strict
        assert_eq!(StateStore::expired(&guard[0], 1001), vec!["a"]);
        s.commit(&mut guard[0], vec![("a", Change::Touch)], 2000);
        // The 1000 bucket is stale now.
        assert!(StateStore::expired(&guard[0], 1500).is_empty());
        s.commit(&mut guard[0], vec![("a", Change::Remove)], 3000);
        assert!(guard[0].map.is_empty());
    }

    #[test]
    fn a_key_put_twice_at_one_time_expires_once() {
        let s: StateStore<&str, i32> = StateStore::new(1, true);
        let mut guard = s.lock(&[0]);
        s.commit(&mut guard[0], vec![("a", Change::Put(1))], 1000);
        s.commit(&mut guard[0], vec![("a", Change::Put(2))], 1000);
        assert_eq!(StateStore::expired(&guard[0], 1001), vec!["a"]);
        assert_eq!(guard[0].timers[&1000].len(), 1);
    }

    #[test]
    fn put_at_and_take_expired() {
        let s: StateStore<&str, i32> = StateStore::new(1, true);
        s.set_track_changes(true);
        let mut guard = s.lock(&[0]);
        s.put_at(&mut guard[0], "a", 1, 10);
        s.put_at(&mut guard[0], "a", 2, 10);
        s.put_at(&mut guard[0], "b", 3, 20);
        assert_eq!(guard[0].timers[&10].len(), 1);
        assert_eq!(s.take_expired(&mut guard[0], 11), vec![("a", 2)]);
        assert_eq!(guard[0].map.len(), 1);
        assert!(guard[0].dirty.contains("a"), "a removal is a change");
        assert!(s.take_expired(&mut guard[0], 20).is_empty());
    }

    #[test]
    fn partitions_own_disjoint_groups() {
        let s: StateStore<u32, ()> = StateStore::new(10, false);
        let mut all: Vec<usize> = (0..3).flat_map(|p| s.groups_of_partition(p, 3)).collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        let p = KeyGroupPartitioner {
            groups: 10,
            partitions: 3,
        };
        for k in 0..100u32 {
            assert_eq!(Partitioner::<u32>::partition(&p, &k), s.group_of(&k) % 3);
        }
    }
}
