//! The contract of a keyed state store, which `map_with_state` and the
//! `update_state_by_key` family run on, and the choice between its two implementations: the
//! in-memory [`StateStore`] (the default) and the disk-backed
//! [`DiskStore`](super::disk::DiskStore) (feature `disk-state`), for state larger than memory.
//!
//! Both keep a key's value in the key group `stable_hash(key) % groups`, change a partition's
//! groups in two phases (a task reads, then commits its changes under the groups' locks), and
//! write the same checkpoint files: a key group's full snapshot or its changes since the last
//! checkpoint, in one encoding. So a job checkpointed with one store restores on the other.

use std::hash::Hash;
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::conf::Conf;
use sluice_core::hash::stable_hash;
use sluice_core::{Error, Result};

use super::store::{Change, StateStore};

/// The groups a task locked: it reads their values, then commits its changes. Groups are
/// addressed by their slot, the index into the list of groups given to
/// [`KeyedStore::lock`].
pub trait LockedGroups<K, S> {
    /// The current value of `key`, which belongs to the group at `slot`.
    fn get(&mut self, slot: usize, key: &K) -> Result<Option<S>>;
    /// Calls `f` with every key and value of the group at `slot`, one at a time.
    fn for_each(&mut self, slot: usize, f: &mut dyn FnMut(&K, &S) -> Result<()>) -> Result<()>;
    /// Calls `f` once with every key and value of the group at `slot`.
    fn with_entries(
        &mut self,
        slot: usize,
        f: &mut dyn FnMut(&[(&K, &S)]) -> Result<()>,
    ) -> Result<()>;
    /// The keys of the group at `slot` whose last update is before `threshold` (strictly),
    /// with their values, oldest first (only when the store tracks update times).
    fn expired(&mut self, slot: usize, threshold: i64) -> Result<Vec<(K, S)>>;
    /// Applies changes made at batch time `now` to the group at `slot`.
    fn commit(&mut self, slot: usize, changes: Vec<(K, Change<S>)>, now: i64) -> Result<()>;
    /// Forgets the update times before `threshold` (after their keys were handled).
    fn drop_timers_before(&mut self, slot: usize, threshold: i64) -> Result<()>;
}

/// A stateful operator's values, in key groups (see the module docs).
pub trait KeyedStore<K: Hash, S>: Send + Sync {
    /// Number of key groups.
    fn num_groups(&self) -> usize;
    /// Total number of keys.
    fn len(&self) -> usize;
    /// Whether the store holds no key.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The key group of a key.
    fn group_of(&self, key: &K) -> usize {
        (stable_hash(key) % self.num_groups() as u64) as usize
    }
    /// The groups partition `p` of `n` owns.
    fn groups_of_partition(&self, p: usize, n: usize) -> Vec<usize> {
        (p..self.num_groups()).step_by(n.max(1)).collect()
    }
    /// Locks the given groups, in increasing order (so concurrent lockers cannot deadlock).
    fn lock<'a>(&'a self, groups: &[usize]) -> Result<Box<dyn LockedGroups<K, S> + 'a>>;
    /// A copy of the `(key, value)` pairs of partition `p` of `n`; in an order of the keys
    /// alone when changes are tracked (so a recovered run writes what a run without failures
    /// writes).
    fn snapshot_partition(&self, p: usize, n: usize) -> Result<Vec<(K, S)>>;
    /// Starts or stops recording which keys change (for incremental checkpoints).
    fn set_track_changes(&self, on: bool);
    /// The groups with changes since the last checkpoint.
    fn changed_groups(&self) -> Vec<usize>;
    /// Changed groups whose next checkpoint must be a full snapshot: the store stopped
    /// recording their changes key by key (too many to keep in memory).
    fn full_groups(&self) -> Vec<usize> {
        Vec::new()
    }
    /// Encodes a group for a checkpoint: every key (`full`) or the keys changed since the last
    /// checkpoint. Forgets the group's changes.
    fn encode_group(&self, group: usize, full: bool) -> Result<Vec<u8>>;
    /// Restores a group from its checkpoint files: a full snapshot, then deltas in order.
    fn restore_group(&self, group: usize, files: &[Vec<u8>]) -> Result<()>;
}

/// Which store a stateful operator keeps its values in.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum StoreKind {
    /// Hash maps in memory: the fastest, bounded by memory.
    #[default]
    Memory,
    /// An embedded LSM tree on local disk, with a memory budget for its caches (feature
    /// `disk-state`).
    Disk(DiskOptions),
}

/// Settings of the disk-backed store.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskOptions {
    /// The directory under which each store makes its own (default: the system's temporary
    /// directory). The store's files are a working copy: the checkpoint is what survives.
    pub dir: Option<PathBuf>,
    /// Bytes of the block cache (default 256 MiB).
    pub cache_bytes: u64,
    /// Bytes of the write buffers before they are flushed to disk (default 64 MiB).
    pub write_buffer_bytes: u64,
}

impl Default for DiskOptions {
    fn default() -> Self {
        DiskOptions {
            dir: None,
            cache_bytes: 256 << 20,
            write_buffer_bytes: 64 << 20,
        }
    }
}

/// `memory` (default) or `disk`: the store of every stateful operator whose spec names none.
pub const STORE: &str = "sluice.streaming.stateStore.kind";
/// The directory the disk-backed store works in (default: the system's temporary directory).
pub const STORE_DIR: &str = "sluice.streaming.stateStore.dir";
/// The disk-backed store's block cache, in bytes (`256m` by default).
pub const STORE_CACHE: &str = "sluice.streaming.stateStore.cacheSize";
/// The disk-backed store's write buffers, in bytes (`64m` by default).
pub const STORE_WRITE_BUFFER: &str = "sluice.streaming.stateStore.writeBufferSize";

impl StoreKind {
    /// Reads the `sluice.streaming.stateStore.*` settings.
    pub fn from_conf(conf: &Conf) -> Result<StoreKind> {
        let bytes = |key: &str, default: u64| -> Result<u64> {
            match conf.get(key) {
                None => Ok(default),
                Some(v) => match sluice_core::conf::parse_bytes(key, v)? {
                    0 => Err(Error::config(key, v, "must be positive")),
                    n => Ok(n),
                },
            }
        };
        let disk = DiskOptions {
            dir: conf.get(STORE_DIR).map(PathBuf::from),
            cache_bytes: bytes(STORE_CACHE, DiskOptions::default().cache_bytes)?,
            write_buffer_bytes: bytes(
                STORE_WRITE_BUFFER,
                DiskOptions::default().write_buffer_bytes,
            )?,
        };
        match conf.get(STORE).map(str::trim) {
            None | Some("memory") => Ok(StoreKind::Memory),
            Some("disk") if cfg!(feature = "disk-state") => Ok(StoreKind::Disk(disk)),
            Some("disk") => Err(Error::config(
                STORE,
                "disk",
                "this build has no disk-backed state store (the feature disk-state)",
            )),
            Some(other) => Err(Error::config(STORE, other, "expected memory or disk")),
        }
    }

    /// Opens a store of this kind with `groups` key groups; `track_timers` keeps keys by
    /// update time (for idle timeouts). A store that cannot be opened is returned as one that
    /// fails every batch with the reason, so the job's first batch reports it.
    pub(crate) fn open<K, S>(&self, groups: usize, track_timers: bool) -> Arc<dyn KeyedStore<K, S>>
    where
        K: Hash + Eq + Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
        S: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    {
        match self {
            StoreKind::Memory => Arc::new(StateStore::new(groups, track_timers)),
            #[cfg(feature = "disk-state")]
            StoreKind::Disk(opts) => match super::disk::DiskStore::open(opts, groups, track_timers)
            {
                Ok(s) => Arc::new(s),
                Err(e) => Arc::new(Unavailable {
                    groups,
                    reason: e.to_string(),
                }),
            },
            #[cfg(not(feature = "disk-state"))]
            StoreKind::Disk(_) => Arc::new(Unavailable {
                groups,
                reason: "this build has no disk-backed state store (the feature disk-state)".into(),
            }),
        }
    }
}

/// A store that could not be opened: every use fails with the reason.
struct Unavailable {
    groups: usize,
    reason: String,
}

impl Unavailable {
    fn err(&self) -> Error {
        Error::External {
            system: "state store",
            message: self.reason.clone(),
        }
    }
}

impl<K: Hash, S> KeyedStore<K, S> for Unavailable {
    fn num_groups(&self) -> usize {
        self.groups
    }
    fn len(&self) -> usize {
        0
    }
    fn lock<'a>(&'a self, _groups: &[usize]) -> Result<Box<dyn LockedGroups<K, S> + 'a>> {
        Err(self.err())
    }
    fn snapshot_partition(&self, _p: usize, _n: usize) -> Result<Vec<(K, S)>> {
        Err(self.err())
    }
    fn set_track_changes(&self, _on: bool) {}
    fn changed_groups(&self) -> Vec<usize> {
        Vec::new()
    }
    fn encode_group(&self, _group: usize, _full: bool) -> Result<Vec<u8>> {
        Err(self.err())
    }
    fn restore_group(&self, _group: usize, _files: &[Vec<u8>]) -> Result<()> {
        Err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_choose_the_store() {
        let conf = Conf::new();
        assert_eq!(StoreKind::from_conf(&conf).unwrap(), StoreKind::Memory);
        let conf = conf.set(STORE, "tape");
        let e = StoreKind::from_conf(&conf).unwrap_err().to_string();
        assert!(e.contains("expected memory or disk"), "{e}");
        let conf = Conf::new().set(STORE, "memory").set(STORE_CACHE, "0");
        let e = StoreKind::from_conf(&conf).unwrap_err().to_string();
        assert!(e.contains("must be positive"), "{e}");
    }

    #[cfg(feature = "disk-state")]
    #[test]
    fn disk_settings_are_read() {
        let conf = Conf::new()
            .set(STORE, "disk")
            .set(STORE_CACHE, "16m")
            .set(STORE_DIR, "/var/tmp/x");
        let StoreKind::Disk(o) = StoreKind::from_conf(&conf).unwrap() else {
            panic!("not disk")
        };
        assert_eq!(o.cache_bytes, 16 << 20);
        assert_eq!(o.dir, Some(PathBuf::from("/var/tmp/x")));
    }

    #[test]
    fn an_unavailable_store_fails_its_batches_with_the_reason() {
        let s = Unavailable {
            groups: 4,
            reason: "cannot open /nope: denied".into(),
        };
        let e = KeyedStore::<u32, u32>::lock(&s, &[0]).err().unwrap();
        assert!(e.to_string().contains("/nope"), "{e}");
    }
}
