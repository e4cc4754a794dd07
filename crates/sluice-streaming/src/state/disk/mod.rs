//! [`DiskStore`]: keyed state in an embedded LSM tree on local disk (`fjall`), for state
//! larger than memory.
//!
//! - **The tree** holds every key, under its key group's prefix (layout in `codec.rs`), so a key
//!   group is one contiguous range: to snapshot, to restore or, later, to move to another
//!   process. With idle timeouts, a second keyspace holds a timer per update.
//! - **A cache per key group** (`cache.rs`) holds decoded values in front of the tree, within
//!   a memory budget. Changes are written to the cache and reach the tree when evicted, or
//!   before the group is scanned or written in full to a checkpoint. A state that fits the
//!   budget runs at hash-map speed; a larger one keeps its recently used keys in memory.
//! - **Checkpoints** are the in-memory store's files: a group's full snapshot (its range of the
//!   tree, copied without decoding a value) or the keys changed since the last checkpoint. So
//!   either store restores the other's checkpoints. The changed keys are remembered up to a
//!   bound; a group changed beyond it is written in full at the next checkpoint.
//! - **The store's directory** is a working copy, deleted when the store is dropped (and, for
//!   a killed process, by the next store opened under the same directory): what survives a
//!   crash is the checkpoint, from which a restarted job rebuilds the store.
//!
//! **Memory**: the block cache gets half of `cache_bytes` and the groups' caches the other half
//! (a block holds a key in fewer bytes than a decoded entry, so on a state far larger than the
//! budget half and half measured faster than a quarter for blocks);
//! the write buffers are bounded by `write_buffer_bytes`; the changed keys by
//! [`DIRTY_KEYS_LIMIT`]. The tree's bloom filters and block indexes stay in memory besides
//! (about 10 bits a key), so a lookup of a key a table does not hold reads nothing of it.
//!
//! Keys must encode equal when they are equal (true of strings, integers, tuples and derived
//! `Serialize` types without maps or floats).

mod cache;
mod codec;
mod locked;

use std::hash::Hash;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use fjall::config::PinningPolicy;
use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use parking_lot::Mutex;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::hash::stable_hash;
use sluice_core::{Error, Result};

use super::keyed::{DiskOptions, KeyedStore, LockedGroups};
use cache::{GroupCache, Known};
use codec::{
    decode_key, group_prefix, key_bytes, ser, split_value, timer_key, value_bytes, GROUP_BYTES,
};
use locked::DiskGroups;

/// Names the directories of this process's stores.
static NEXT_STORE: AtomicU64 = AtomicU64::new(0);
/// The prefix of a store's directory name (followed by `<pid>-<n>`).
const DIR_PREFIX: &str = "sluice-state-";
/// Entries per write batch when a group is restored.
const RESTORE_CHUNK: usize = 64 * 1024;
/// Changed keys the store remembers between checkpoints, over all its groups; beyond a
/// group's share, the group is only marked as changed and its next checkpoint is a full
/// snapshot (so the memory for changes stays bounded when, say, an initial state of 100 million
/// keys is loaded).
pub const DIRTY_KEYS_LIMIT: usize = 4 << 20;

/// One key group's bookkeeping and cache (its values are in the tree and the cache).
struct DiskGroup<K, S> {
    len: usize,
    /// Keys changed since the last checkpoint, when checkpointing.
    changed: FxHashSet<K>,
    /// Changed beyond what `changed` can hold: the next checkpoint writes the group in full.
    overflow: bool,
    cache: GroupCache<K, S>,
    /// The cache holds every key of the group (nothing was evicted or restored into the tree
    /// alone): scans read the cache and leave the tree alone.
    complete: bool,
}

impl<K, S> Default for DiskGroup<K, S> {
    fn default() -> Self {
        DiskGroup {
            len: 0,
            changed: FxHashSet::default(),
            overflow: false,
            cache: GroupCache::default(),
            complete: true,
        }
    }
}

/// A stateful operator's values on local disk (see the module docs).
pub struct DiskStore<K, S> {
    dir: PathBuf,
    db: Database,
    values: Keyspace,
    timers: Option<Keyspace>,
    groups: Vec<Mutex<DiskGroup<K, S>>>,
    track_changes: AtomicBool,
    /// Bytes of each group's cache.
    group_budget: usize,
    /// Changed keys remembered per group.
    changed_limit: usize,
    _types: PhantomData<fn() -> (K, S)>,
}

impl<K, S> std::fmt::Debug for DiskStore<K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskStore").field("dir", &self.dir).finish()
    }
}

fn storage(dir: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::External {
        system: "state store",
        message: format!("{what} in {}: {e}", dir.display()),
    }
}

/// The estimated bytes a cached key holds: the entry (with the hash table's slack) and what
/// the key and value own.
fn weigh<K: Serialize, S: Serialize>(key: &K, value: Option<&S>) -> usize {
    let inline = std::mem::size_of::<(K, Known<S>, [usize; 2])>() * 3 / 2;
    let owned = bincode::serialized_size(key).unwrap_or(0)
        + value.map_or(0, |v| bincode::serialized_size(v).unwrap_or(0));
    inline + owned as usize
}

impl<K, S> DiskStore<K, S>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned,
    S: Clone + Serialize + DeserializeOwned,
{
    /// Opens an empty store with `num_groups` key groups under `opts.dir`; `track_timers`
    /// keeps keys by update time.
    pub fn open(opts: &DiskOptions, num_groups: usize, track_timers: bool) -> Result<Self> {
        if num_groups == 0 || num_groups > 1 << 16 {
            return Err(Error::InvalidArgument(format!(
                "a disk-backed state store has 1 to 65536 key groups, not {num_groups}"
            )));
        }
        let base = opts.dir.clone().unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&base)
            .map_err(|e| Error::io("creating the state store directory", &base, e))?;
        remove_abandoned(&base);
        let dir = base.join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            NEXT_STORE.fetch_add(1, Ordering::Relaxed)
        ));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| Error::io("removing an old state store", &dir, e))?;
        }
        let db = Database::builder(&dir)
            .cache_size(opts.cache_bytes / 2)
            .temporary(true)
            .open()
            .map_err(|e| storage(&dir, "opening the state store", e))?;
        // The write budget is shared by the keyspaces' memtables.
        let keyspaces = if track_timers { 2 } else { 1 };
        let memtable = (opts.write_buffer_bytes / keyspaces).max(1 << 20);
        let options = move || {
            KeyspaceCreateOptions::default()
                .manual_journal_persist(true)
                .max_memtable_size(memtable)
                // Bloom filters and block indexes stay in memory (about 10 bits a key): a
                // lookup of a key that is not in a table then reads no block of it. Unpinned,
                // a state of 100 M keys read its filters from the page cache on every lookup.
                .filter_block_pinning_policy(PinningPolicy::all(true))
                .index_block_pinning_policy(PinningPolicy::all(true))
        };
        let values = db
            .keyspace("values", options)
            .map_err(|e| storage(&dir, "opening the state store", e))?;
        let timers = if track_timers {
            Some(
                db.keyspace("timers", options)
                    .map_err(|e| storage(&dir, "opening the state store", e))?,
            )
        } else {
            None
        };
        let cache_total = usize::try_from(opts.cache_bytes - opts.cache_bytes / 2).unwrap_or(0);
        Ok(DiskStore {
            dir,
            db,
            values,
            timers,
            groups: (0..num_groups).map(|_| Mutex::default()).collect(),
            track_changes: AtomicBool::new(false),
            group_budget: cache_total / num_groups,
            changed_limit: (DIRTY_KEYS_LIMIT / num_groups).max(1024),
            _types: PhantomData,
        })
    }

    /// The directory of the store's files.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> Error {
        storage(&self.dir, what, e)
    }

    /// A stored value: its encoded value and last update.
    fn split<'v>(&self, v: &'v [u8]) -> Result<(&'v [u8], i64)> {
        split_value(v).ok_or_else(|| self.err("reading a key", "a value of fewer than 8 bytes"))
    }

    fn decode_value(&self, v: &[u8]) -> Result<(S, i64)> {
        let (s, t) = self.split(v)?;
        Ok((bincode::deserialize(s).map_err(ser)?, t))
    }

    /// What the tree holds for `key` of `group`.
    fn read(&self, group: usize, key: &K) -> Result<Known<S>> {
        let kb = key_bytes(group, key)?;
        match self
            .values
            .get(&kb)
            .map_err(|e| self.err("reading a key", e))?
        {
            Some(v) => {
                let (s, t) = self.decode_value(&v)?;
                Ok(Known::Present(s, t))
            }
            None => Ok(Known::Absent),
        }
    }

    /// What the cache or else the tree holds for `key` (then cached).
    fn lookup<'g>(
        &self,
        group: usize,
        g: &'g mut DiskGroup<K, S>,
        key: &K,
    ) -> Result<&'g Known<S>> {
        if g.cache.get(key).is_none() {
            // A key missing from a cache that holds its whole group has no value.
            let known = if g.complete {
                Known::Absent
            } else {
                self.read(group, key)?
            };
            let bytes = weigh(key, known.value());
            g.cache.insert_read(key.clone(), known, bytes);
        }
        g.cache
            .get(key)
            .ok_or_else(|| Error::Internal("a key just cached is missing".into()))
    }

    /// Adds what the cache knows of a key to a write batch: its value, or its removal.
    fn stage(
        &self,
        batch: &mut fjall::OwnedWriteBatch,
        group: usize,
        key: &K,
        known: &Known<S>,
    ) -> Result<()> {
        let kb = key_bytes(group, key)?;
        match known {
            Known::Present(v, t) => batch.insert(&self.values, kb, value_bytes(v, *t)?),
            Known::Absent => batch.remove(&self.values, kb),
        }
        Ok(())
    }

    /// Writes a group's unflushed changes to the tree.
    fn flush(&self, group: usize, g: &mut DiskGroup<K, S>) -> Result<()> {
        let mut batch = self.db.batch();
        g.cache
            .for_unflushed(|k, known| self.stage(&mut batch, group, k, known))?;
        if !batch.is_empty() {
            batch.commit().map_err(|e| self.err("writing changes", e))?;
            g.cache.mark_flushed();
        }
        Ok(())
    }

    /// Evicts from a group's cache down to three quarters of its budget once it is over it,
    /// writing the evicted unflushed changes to the tree first.
    fn enforce_budget(&self, group: usize, g: &mut DiskGroup<K, S>) -> Result<()> {
        if g.cache.bytes() <= self.group_budget {
            return Ok(());
        }
        let victims = g.cache.victims(self.group_budget / 4 * 3);
        let mut batch = self.db.batch();
        for k in &victims {
            if let Some((known, true)) = g.cache.peek(k) {
                self.stage(&mut batch, group, k, known)?;
            }
        }
        if !batch.is_empty() {
            batch
                .commit()
                .map_err(|e| self.err("writing evicted changes", e))?;
        }
        g.cache.remove(&victims);
        g.complete = false;
        Ok(())
    }

    /// Notes a changed key for the next checkpoint.
    fn note_change(&self, g: &mut DiskGroup<K, S>, key: &K) {
        if !self.track_changes.load(Ordering::Acquire) || g.overflow {
            return;
        }
        if !g.changed.contains(key) {
            g.changed.insert(key.clone());
            if g.changed.len() > self.changed_limit {
                g.overflow = true;
                g.changed = FxHashSet::default();
            }
        }
    }

    /// Every `(key, value)` of a group: from its cache when that holds the whole group,
    /// else from the tree (after writing the cache's changes to it).
    fn scan(
        &self,
        group: usize,
        g: &mut DiskGroup<K, S>,
        f: &mut dyn FnMut(K, S) -> Result<()>,
    ) -> Result<()> {
        if g.complete {
            for (k, s) in g.cache.present() {
                f(k.clone(), s.clone())?;
            }
            return Ok(());
        }
        self.flush(group, g)?;
        self.scan_tree(group, f)
    }

    /// Every `(key, value)` of a group in the tree, in the tree's order.
    fn scan_tree(&self, group: usize, f: &mut dyn FnMut(K, S) -> Result<()>) -> Result<()> {
        for item in self.values.prefix(group_prefix(group)) {
            let (k, v) = item
                .into_inner()
                .map_err(|e| self.err("scanning a key group", e))?;
            f(decode_key(&k)?, self.decode_value(&v)?.0)?;
        }
        Ok(())
    }

    /// Deletes every key of a group from the tree (and its timers).
    fn clear_group(&self, group: usize) -> Result<()> {
        for ks in std::iter::once(&self.values).chain(self.timers.as_ref()) {
            let mut batch = self.db.batch();
            for item in ks.prefix(group_prefix(group)) {
                let k = item
                    .key()
                    .map_err(|e| self.err("clearing a key group", e))?;
                batch.remove(ks, k);
            }
            batch
                .commit()
                .map_err(|e| self.err("clearing a key group", e))?;
        }
        Ok(())
    }
}

/// Removes the directories of stores whose process is gone (a killed job cannot delete its
/// own). Best effort: a directory that cannot be removed is left.
fn remove_abandoned(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let gone = cfg!(target_os = "linux")
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists();
        if gone {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Appends the option part of a checkpoint entry: `1 ‖ value ‖ last update`, or `0` for a
/// removed key.
fn push_entry<S: Serialize>(out: &mut Vec<u8>, known: &Known<S>) -> Result<()> {
    match known {
        Known::Present(v, t) => {
            out.push(1);
            out.extend_from_slice(&value_bytes(v, *t)?);
        }
        Known::Absent => out.push(0),
    }
    Ok(())
}

/// A key group's entries as a checkpoint holds them (the in-memory store's encoding).
type Snapshot<K, S> = Vec<(K, Option<(S, i64)>)>;

impl<K, S> KeyedStore<K, S> for DiskStore<K, S>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + DeserializeOwned,
    S: Clone + Send + Sync + Serialize + DeserializeOwned,
{
    fn num_groups(&self) -> usize {
        self.groups.len()
    }

    fn len(&self) -> usize {
        self.groups.iter().map(|g| g.lock().len).sum()
    }

    fn lock<'a>(&'a self, groups: &[usize]) -> Result<Box<dyn LockedGroups<K, S> + 'a>> {
        if let Some(&g) = groups.iter().find(|&&g| g >= self.groups.len()) {
            return Err(Error::Internal(format!("key group {g} out of range")));
        }
        Ok(Box::new(DiskGroups {
            store: self,
            groups: groups.to_vec(),
            guards: groups.iter().map(|&g| self.groups[g].lock()).collect(),
        }))
    }

    fn snapshot_partition(&self, p: usize, n: usize) -> Result<Vec<(K, S)>> {
        let ordered = self.track_changes.load(Ordering::Acquire);
        let mut out = Vec::new();
        for g in self.groups_of_partition(p, n) {
            let mut guard = self.groups[g].lock();
            let start = out.len();
            self.scan(g, &mut guard, &mut |k, s| {
                out.push((k, s));
                Ok(())
            })?;
            if ordered {
                // The in-memory store's order, so either store writes the same output.
                out[start..].sort_by_cached_key(|(k, _)| stable_hash(k));
            }
        }
        Ok(out)
    }

    fn set_track_changes(&self, on: bool) {
        self.track_changes.store(on, Ordering::Release);
    }

    fn changed_groups(&self) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|&g| {
                let group = self.groups[g].lock();
                group.overflow || !group.changed.is_empty()
            })
            .collect()
    }

    fn full_groups(&self) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|&g| self.groups[g].lock().overflow)
            .collect()
    }

    fn encode_group(&self, group: usize, full: bool) -> Result<Vec<u8>> {
        let mut guard = self
            .groups
            .get(group)
            .ok_or_else(|| Error::Internal(format!("key group {group} out of range")))?
            .lock();
        if !full && guard.overflow {
            return Err(Error::Internal(format!(
                "a delta of key group {group}, whose changes were not recorded, was asked for"
            )));
        }
        // A bincode `Vec<(K, Option<(S, i64)>)>`: a length, then per entry the key, the
        // option's tag and the stored value.
        let mut out = 0u64.to_le_bytes().to_vec();
        let mut count = 0u64;
        if full && guard.complete {
            // The cache holds the group: encoded from it, the tree untouched.
            for (k, v) in guard.cache.present_with_time() {
                bincode::serialize_into(&mut out, k).map_err(ser)?;
                out.push(1);
                out.extend_from_slice(&value_bytes(v.0, v.1)?);
                count += 1;
            }
        } else if full {
            self.flush(group, &mut guard)?;
            for item in self.values.prefix(group_prefix(group)) {
                let (k, v) = item
                    .into_inner()
                    .map_err(|e| self.err("writing a checkpoint", e))?;
                out.extend_from_slice(&k[GROUP_BYTES..]);
                out.push(1);
                out.extend_from_slice(&v);
                count += 1;
            }
        } else {
            let changed = std::mem::take(&mut guard.changed);
            for k in &changed {
                bincode::serialize_into(&mut out, k).map_err(ser)?;
                match guard.cache.peek(k) {
                    Some((known, _)) => push_entry(&mut out, known)?,
                    None => push_entry(&mut out, &self.read(group, k)?)?,
                }
                count += 1;
            }
        }
        out[..8].copy_from_slice(&count.to_le_bytes());
        guard.changed.clear();
        guard.overflow = false;
        Ok(out)
    }

    fn restore_group(&self, group: usize, files: &[Vec<u8>]) -> Result<()> {
        let mut guard = self
            .groups
            .get(group)
            .ok_or_else(|| Error::InvalidArgument(format!("key group {group} out of range")))?
            .lock();
        self.clear_group(group)?;
        *guard = DiskGroup {
            complete: false,
            ..DiskGroup::default()
        };
        // The last entry of each key over the snapshot and its deltas.
        let mut latest: FxHashMap<K, Option<(S, i64)>> = FxHashMap::default();
        for bytes in files {
            let entries: Snapshot<K, S> = bincode::deserialize(bytes).map_err(ser)?;
            latest.extend(entries);
        }
        let (present, bytes) = latest
            .iter()
            .filter_map(|(k, v)| Some(weigh(k, Some(&v.as_ref()?.0))))
            .fold((0, 0), |(n, b), w| (n + 1, b + w));
        guard.len = present;
        if bytes <= self.group_budget {
            // The group fits its cache: it is restored there (written to the tree if evicted).
            for (k, v) in latest {
                if let Some((s, t)) = v {
                    let bytes = weigh(&k, Some(&s));
                    guard.cache.write(k, Known::Present(s, t), bytes);
                }
            }
            guard.complete = true;
            if let Some(timers) = &self.timers {
                let mut batch = self.db.batch();
                guard.cache.for_unflushed(|k, known| -> Result<()> {
                    if let Known::Present(_, t) = known {
                        let kb = key_bytes(group, k)?;
                        batch.insert(timers, timer_key(group, *t, &kb[GROUP_BYTES..]), Vec::new());
                    }
                    Ok(())
                })?;
                batch
                    .commit()
                    .map_err(|e| self.err("restoring a key group", e))?;
            }
            return Ok(());
        }
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(guard.len);
        for (k, v) in latest {
            if let Some((s, t)) = v {
                entries.push((key_bytes(group, &k)?, value_bytes(&s, t)?));
            }
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut it = entries.into_iter().peekable();
        while it.peek().is_some() {
            let mut batch = self.db.batch();
            for (k, v) in it.by_ref().take(RESTORE_CHUNK) {
                if let Some(timers) = &self.timers {
                    let (_, t) = self.split(&v)?;
                    batch.insert(timers, timer_key(group, t, &k[GROUP_BYTES..]), Vec::new());
                }
                batch.insert(&self.values, k, v);
            }
            batch
                .commit()
                .map_err(|e| self.err("restoring a key group", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::store::Change;
    use crate::state::StateStore;

    fn open(timers: bool) -> (tempfile::TempDir, DiskStore<String, u64>) {
        let dir = tempfile::tempdir().unwrap();
        let opts = DiskOptions {
            dir: Some(dir.path().to_path_buf()),
            cache_bytes: 1 << 20,
            write_buffer_bytes: 4 << 20,
        };
        let s = DiskStore::open(&opts, 8, timers).unwrap();
        (dir, s)
    }

    fn put(s: &dyn KeyedStore<String, u64>, k: &str, v: u64, now: i64) {
        let g = s.group_of(&k.to_string());
        let mut l = s.lock(&[g]).unwrap();
        l.commit(0, vec![(k.to_string(), Change::Put(v))], now)
            .unwrap();
    }

    #[test]
    fn values_commit_count_and_expire() {
        let (_d, s) = open(true);
        put(&s, "a", 1, 1000);
        put(&s, "b", 2, 1000);
        put(&s, "a", 3, 2000);
        assert_eq!(KeyedStore::len(&s), 2);
        let g = s.group_of(&"a".to_string());
        let mut l = s.lock(&[g]).unwrap();
        assert_eq!(l.get(0, &"a".to_string()).unwrap(), Some(3));
        assert_eq!(l.get(0, &"zz".to_string()).unwrap(), None);
        // a's timer at 1000 is stale: it was updated at 2000.
        assert!(l.expired(0, 1500).unwrap().iter().all(|(k, _)| k != "a"));
        assert_eq!(l.expired(0, 2001).unwrap(), vec![("a".to_string(), 3)]);
        l.commit(0, vec![("a".to_string(), Change::Touch)], 3000)
            .unwrap();
        assert!(l.expired(0, 2001).unwrap().is_empty());
        l.commit(0, vec![("a".to_string(), Change::Remove)], 4000)
            .unwrap();
        l.drop_timers_before(0, 5000).unwrap();
        assert!(l.expired(0, 5000).unwrap().is_empty());
        drop(l);
        assert_eq!(KeyedStore::len(&s), 1);
    }

    #[test]
    fn checkpoints_are_the_memory_stores_and_restore_on_either() {
        let (_d, disk) = open(false);
        let mem: StateStore<String, u64> = StateStore::new(8, false);
        for s in [&disk as &dyn KeyedStore<String, u64>, &mem] {
            s.set_track_changes(true);
            for i in 0..200u64 {
                put(s, &format!("k{i}"), i, 1000);
            }
        }
        let full: Vec<Vec<u8>> = (0..8)
            .map(|g| disk.encode_group(g, true).unwrap())
            .collect();
        let mem_full: Vec<Vec<u8>> = (0..8)
            .map(|g| StateStore::encode_group(&mem, g, true).unwrap())
            .collect();
        // A delta: one key changed, one removed.
        for s in [&disk as &dyn KeyedStore<String, u64>, &mem] {
            put(s, "k7", 70, 2000);
            let g = s.group_of(&"k9".to_string());
            let mut l = s.lock(&[g]).unwrap();
            l.commit(0, vec![("k9".to_string(), Change::Remove)], 2000)
                .unwrap();
        }
        assert_eq!(disk.changed_groups(), mem.changed_groups());
        let restored_mem: StateStore<String, u64> = StateStore::new(8, false);
        let (_d2, restored_disk) = open(false);
        for g in 0..8 {
            let delta = disk.encode_group(g, false).unwrap();
            let files = vec![full[g].clone(), delta];
            KeyedStore::restore_group(&restored_mem, g, &files).unwrap();
            restored_disk.restore_group(g, &files).unwrap();
            // The memory store's files restore on disk, too.
            let mem_delta = StateStore::encode_group(&mem, g, false).unwrap();
            let (_d3, other) = open(false);
            other
                .restore_group(g, &[mem_full[g].clone(), mem_delta])
                .unwrap();
            assert_eq!(
                other.snapshot_partition(g, 8).unwrap().len(),
                restored_mem.snapshot_partition(g, 8).len()
            );
        }
        let all = |s: &dyn KeyedStore<String, u64>| {
            let mut v = s.snapshot_partition(0, 1).unwrap();
            v.sort();
            v
        };
        assert_eq!(all(&restored_disk), all(&restored_mem));
        assert_eq!(KeyedStore::len(&restored_disk), 199);
        assert!(all(&restored_disk).contains(&("k7".to_string(), 70)));
    }

    #[test]
    fn too_many_changes_make_the_next_checkpoint_a_full_one() {
        // Many groups, so that a group's share of the limit is small.
        let dir = tempfile::tempdir().unwrap();
        let opts = DiskOptions {
            dir: Some(dir.path().to_path_buf()),
            cache_bytes: 1 << 20,
            write_buffer_bytes: 4 << 20,
        };
        let s: DiskStore<String, u64> = DiskStore::open(&opts, 4096, false).unwrap();
        s.set_track_changes(true);
        let limit = s.changed_limit;
        let mut l = s.lock(&[0]).unwrap();
        let keys: Vec<String> = (0..)
            .map(|i| format!("k{i}"))
            .filter(|k| s.group_of(k) == 0)
            .take(limit + 1)
            .collect();
        l.commit(
            0,
            keys.iter().map(|k| (k.clone(), Change::Put(1))).collect(),
            1,
        )
        .unwrap();
        drop(l);
        assert_eq!(s.changed_groups(), vec![0]);
        assert_eq!(s.full_groups(), vec![0]);
        assert!(s.encode_group(0, false).is_err());
        let full = s.encode_group(0, true).unwrap();
        assert!(s.changed_groups().is_empty() && s.full_groups().is_empty());
        let r: DiskStore<String, u64> = DiskStore::open(&opts, 4096, false).unwrap();
        r.restore_group(0, &[full]).unwrap();
        assert_eq!(KeyedStore::len(&r), limit + 1);
    }

    /// A cache far smaller than the state: values leave it for the tree and come back.
    #[test]
    fn a_state_larger_than_the_cache_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let opts = DiskOptions {
            dir: Some(dir.path().to_path_buf()),
            cache_bytes: 64 << 10,
            write_buffer_bytes: 1 << 20,
        };
        let s: DiskStore<String, u64> = DiskStore::open(&opts, 8, true).unwrap();
        let model: StateStore<String, u64> = StateStore::new(8, true);
        for st in [&s as &dyn KeyedStore<String, u64>, &model] {
            st.set_track_changes(true);
            for round in 0..3u64 {
                for i in 0..2000u64 {
                    if round == 2 && i % 3 == 0 {
                        let k = format!("key-{i}");
                        let mut l = st.lock(&[st.group_of(&k)]).unwrap();
                        l.commit(0, vec![(k, Change::Remove)], 10).unwrap();
                    } else {
                        put(st, &format!("key-{i}"), i * 10 + round, round as i64);
                    }
                }
            }
        }
        let total: usize = s.groups.iter().map(|g| g.lock().cache.bytes()).sum();
        assert!(total <= 48 << 10, "the caches hold {total} bytes");
        assert_eq!(KeyedStore::len(&s), KeyedStore::len(&model));
        let mut a = s.snapshot_partition(0, 1).unwrap();
        let mut b = model.snapshot_partition(0, 1);
        a.sort();
        b.sort();
        assert_eq!(a, b);
        // Old timers are stale; the last round's are not.
        let g = s.group_of(&"key-1".to_string());
        let mut l = s.lock(&[g]).unwrap();
        let expired = l.expired(0, 2).unwrap();
        assert!(expired.is_empty(), "{expired:?}");
        assert!(!l.expired(0, 3).unwrap().is_empty());
        drop(l);
        // A full checkpoint restores the same state, into the tree (the groups exceed their
        // caches).
        let r: DiskStore<String, u64> = DiskStore::open(&opts, 8, true).unwrap();
        for g in 0..8 {
            r.restore_group(g, &[s.encode_group(g, true).unwrap()])
                .unwrap();
        }
        assert!(r.groups.iter().all(|g| !g.lock().complete));
        let mut c = r.snapshot_partition(0, 1).unwrap();
        c.sort();
        assert_eq!(c, b);
    }

    #[test]
    fn a_corrupt_checkpoint_file_is_an_error() {
        let (_d, s) = open(false);
        let e = s.restore_group(0, &[vec![9, 0, 0]]).unwrap_err();
        assert!(matches!(e, Error::Serialization(_)), "{e}");
    }

    #[test]
    fn the_store_directory_is_removed_with_the_store() {
        let (_d, s) = open(false);
        let p = s.path().to_path_buf();
        assert!(p.exists());
        drop(s);
        assert!(!p.exists());
    }
}
