//! [`DiskStore`]: keyed state in an embedded LSM tree on local disk (`fjall`), for state
//! larger than memory.
//!
//! One database per store, in a directory of its own that is deleted when the store is dropped
//! (and, for a killed process, by the next store opened under the same directory). Its files
//! are a working copy: what survives a crash is the checkpoint, which this store writes in the
//! in-memory store's encoding (so either store restores the other's checkpoints).
//!
//! **Layout.** A key is stored under its key group's prefix, `group (u16, big endian) ‖
//! bincode(key)`, so a key group is one contiguous range (to snapshot, restore or, later, move
//! to another process); the value is `bincode(value) ‖ last update (i64, little endian)`, which
//! is exactly an entry of a checkpoint file once the key is put in front of it: full snapshots
//! and deltas are copied out of the tree without decoding a value. With idle timeouts, a
//! second keyspace holds `group ‖ time ‖ bincode(key)` for every update (older ones become
//! stale and are skipped), so the keys that timed out are a range scan.
//!
//! **Memory.** The tree's block cache and write buffers are bounded by
//! [`DiskOptions`](super::DiskOptions); besides them, the store keeps per group its number of
//! keys and, when checkpointing, the keys changed since the last checkpoint.
//!
//! Keys must encode equal when they are equal (true of strings, integers, tuples and derived
//! `Serialize` types without maps or floats).

use std::hash::Hash;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use parking_lot::{Mutex, MutexGuard};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::hash::stable_hash;
use sluice_core::{Error, Result};

use super::keyed::{DiskOptions, KeyedStore, LockedGroups};
use super::store::Change;

/// Names the directories of this process's stores.
static NEXT_STORE: AtomicU64 = AtomicU64::new(0);
/// The prefix of a store's directory name (followed by `<pid>-<n>`).
const DIR_PREFIX: &str = "sluice-state-";
/// Entries per write batch when a group is restored.
const RESTORE_CHUNK: usize = 64 * 1024;

/// One key group's bookkeeping (its values are in the tree).
#[derive(Default)]
struct DiskGroup {
    len: usize,
    /// Encoded keys changed since the last checkpoint, when checkpointing.
    dirty: FxHashSet<Vec<u8>>,
}

/// A stateful operator's values on local disk (see the module docs).
pub struct DiskStore<K, S> {
    dir: PathBuf,
    db: Database,
    values: Keyspace,
    timers: Option<Keyspace>,
    groups: Vec<Mutex<DiskGroup>>,
    track_changes: AtomicBool,
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

fn ser(e: bincode::Error) -> Error {
    Error::Serialization(e.to_string())
}

fn group_prefix(group: usize) -> [u8; 2] {
    (group as u16).to_be_bytes()
}

/// `group ‖ bincode(key)`.
fn key_bytes<K: Serialize>(group: usize, key: &K) -> Result<Vec<u8>> {
    let mut b = Vec::with_capacity(24);
    b.extend_from_slice(&group_prefix(group));
    bincode::serialize_into(&mut b, key).map_err(ser)?;
    Ok(b)
}

/// `bincode(value) ‖ last update`.
fn value_bytes<S: Serialize>(value: &S, last_update: i64) -> Result<Vec<u8>> {
    let mut b = bincode::serialize(value).map_err(ser)?;
    b.extend_from_slice(&last_update.to_le_bytes());
    Ok(b)
}

/// `group ‖ time (ordered as signed) ‖ bincode(key)`.
fn timer_key(group: usize, time: i64, key: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(10 + key.len());
    b.extend_from_slice(&group_prefix(group));
    b.extend_from_slice(&((time as u64) ^ (1 << 63)).to_be_bytes());
    b.extend_from_slice(key);
    b
}

fn timer_time(b: &[u8]) -> Option<i64> {
    let t: [u8; 8] = b.get(2..10)?.try_into().ok()?;
    Some((u64::from_be_bytes(t) ^ (1 << 63)) as i64)
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
            .cache_size(opts.cache_bytes)
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
        Ok(DiskStore {
            dir,
            db,
            values,
            timers,
            groups: (0..num_groups).map(|_| Mutex::default()).collect(),
            track_changes: AtomicBool::new(false),
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

    fn raw(&self, key: &[u8]) -> Result<Option<fjall::Slice>> {
        self.values
            .get(key)
            .map_err(|e| self.err("reading a key", e))
    }

    fn split<'v>(&self, v: &'v [u8]) -> Result<(&'v [u8], i64)> {
        let Some(at) = v.len().checked_sub(8) else {
            return Err(self.err("reading a key", "a value of fewer than 8 bytes"));
        };
        let t: [u8; 8] = v[at..].try_into().map_err(|e| self.err("reading", e))?;
        Ok((&v[..at], i64::from_le_bytes(t)))
    }

    fn decode_value(&self, v: &[u8]) -> Result<(S, i64)> {
        let (s, t) = self.split(v)?;
        Ok((bincode::deserialize(s).map_err(ser)?, t))
    }

    fn decode_key(&self, k: &[u8]) -> Result<K> {
        bincode::deserialize(k.get(2..).unwrap_or_default()).map_err(ser)
    }

    /// The last update of an encoded key, if present.
    fn last_update_of(&self, key: &[u8]) -> Result<Option<i64>> {
        match self.raw(key)? {
            Some(v) => Ok(Some(self.split(&v)?.1)),
            None => Ok(None),
        }
    }

    /// Every `(key, value)` of a group, in the tree's order.
    fn scan(&self, group: usize, f: &mut dyn FnMut(K, S) -> Result<()>) -> Result<()> {
        for item in self.values.prefix(group_prefix(group)) {
            let (k, v) = item
                .into_inner()
                .map_err(|e| self.err("scanning a key group", e))?;
            f(self.decode_key(&k)?, self.decode_value(&v)?.0)?;
        }
        Ok(())
    }

    /// Deletes every key of a group (and its timers).
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

/// A partition's groups of a [`DiskStore`], locked.
struct DiskGroups<'a, K, S> {
    store: &'a DiskStore<K, S>,
    groups: Vec<usize>,
    guards: Vec<MutexGuard<'a, DiskGroup>>,
    /// The last update of keys read under this lock (`None`: absent), by encoded key, so a
    /// commit knows without reading again whether a key is new.
    seen: FxHashMap<Vec<u8>, Option<i64>>,
}

impl<K, S> LockedGroups<K, S> for DiskGroups<'_, K, S>
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned,
    S: Clone + Serialize + DeserializeOwned,
{
    fn get(&mut self, slot: usize, key: &K) -> Result<Option<S>> {
        let kb = key_bytes(self.groups[slot], key)?;
        match self.store.raw(&kb)? {
            Some(v) => {
                let (s, t) = self.store.decode_value(&v)?;
                self.seen.insert(kb, Some(t));
                Ok(Some(s))
            }
            None => {
                self.seen.insert(kb, None);
                Ok(None)
            }
        }
    }

    fn for_each(&mut self, slot: usize, f: &mut dyn FnMut(&K, &S) -> Result<()>) -> Result<()> {
        self.store.scan(self.groups[slot], &mut |k, s| f(&k, &s))
    }

    fn with_entries(
        &mut self,
        slot: usize,
        f: &mut dyn FnMut(&[(&K, &S)]) -> Result<()>,
    ) -> Result<()> {
        let mut owned = Vec::new();
        self.store.scan(self.groups[slot], &mut |k, s| {
            owned.push((k, s));
            Ok(())
        })?;
        let entries: Vec<(&K, &S)> = owned.iter().map(|(k, s)| (k, s)).collect();
        f(&entries)
    }

    fn expired(&mut self, slot: usize, threshold: i64) -> Result<Vec<(K, S)>> {
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
            let mut kb = group_prefix(g).to_vec();
            kb.extend_from_slice(&tk[10..]);
            if let Some(v) = self.store.raw(&kb)? {
                let (s, last) = self.store.decode_value(&v)?;
                if last == t {
                    out.push((self.store.decode_key(&kb)?, s));
                    self.seen.insert(kb, Some(t));
                }
            }
        }
        Ok(out)
    }

    fn commit(&mut self, slot: usize, changes: Vec<(K, Change<S>)>, now: i64) -> Result<()> {
        let store = self.store;
        let g = self.groups[slot];
        let track = store.track_changes.load(Ordering::Acquire);
        let mut batch = store.db.batch();
        let mut len = self.guards[slot].len as i64;
        let mut changed: Vec<(Vec<u8>, Option<i64>)> = Vec::with_capacity(changes.len());
        for (k, c) in changes {
            let kb = key_bytes(g, &k)?;
            let prev = match self.seen.get(&kb) {
                Some(p) => *p,
                None => store.last_update_of(&kb)?,
            };
            let timer = |batch: &mut fjall::OwnedWriteBatch, kb: &[u8]| {
                if let Some(timers) = &store.timers {
                    batch.insert(timers, timer_key(g, now, &kb[2..]), Vec::new());
                }
            };
            let new = match c {
                Change::Put(v) => {
                    batch.insert(&store.values, kb.clone(), value_bytes(&v, now)?);
                    if prev.is_none() {
                        len += 1;
                    }
                    if prev != Some(now) {
                        timer(&mut batch, &kb);
                    }
                    Some(now)
                }
                Change::Remove => {
                    if prev.is_some() {
                        batch.remove(&store.values, kb.clone());
                        len -= 1;
                    }
                    None
                }
                Change::Touch => match (prev, store.raw(&kb)?) {
                    (Some(p), Some(v)) => {
                        let (s, _) = store.split(&v)?;
                        let mut nv = s.to_vec();
                        nv.extend_from_slice(&now.to_le_bytes());
                        batch.insert(&store.values, kb.clone(), nv);
                        if p != now {
                            timer(&mut batch, &kb);
                        }
                        Some(now)
                    }
                    _ => None,
                },
            };
            changed.push((kb, new));
        }
        batch
            .commit()
            .map_err(|e| store.err("writing a batch's changes", e))?;
        let guard = &mut self.guards[slot];
        guard.len = len.max(0) as usize;
        for (kb, new) in changed {
            if track {
                guard.dirty.insert(kb.clone());
            }
            self.seen.insert(kb, new);
        }
        Ok(())
    }

    fn drop_timers_before(&mut self, slot: usize, threshold: i64) -> Result<()> {
        let Some(timers) = &self.store.timers else {
            return Ok(());
        };
        let g = self.groups[slot];
        let mut batch = self.store.db.batch();
        for item in timers.range(timer_key(g, i64::MIN, &[])..timer_key(g, threshold, &[])) {
            let tk = item
                .key()
                .map_err(|e| self.store.err("reading timers", e))?;
            batch.remove(timers, tk);
        }
        batch
            .commit()
            .map_err(|e| self.store.err("dropping timers", e))
    }
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
            seen: FxHashMap::default(),
        }))
    }

    fn snapshot_partition(&self, p: usize, n: usize) -> Result<Vec<(K, S)>> {
        let ordered = self.track_changes.load(Ordering::Acquire);
        let mut out = Vec::new();
        for g in self.groups_of_partition(p, n) {
            let _guard = self.groups[g].lock();
            let start = out.len();
            self.scan(g, &mut |k, s| {
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
            .filter(|&g| !self.groups[g].lock().dirty.is_empty())
            .collect()
    }

    fn encode_group(&self, group: usize, full: bool) -> Result<Vec<u8>> {
        let mut guard = self
            .groups
            .get(group)
            .ok_or_else(|| Error::Internal(format!("key group {group} out of range")))?
            .lock();
        // A bincode `Vec<(K, Option<(S, i64)>)>`: a length, then per entry the key, the
        // option's tag and the stored value.
        let mut out = 0u64.to_le_bytes().to_vec();
        let mut count = 0u64;
        if full {
            for item in self.values.prefix(group_prefix(group)) {
                let (k, v) = item
                    .into_inner()
                    .map_err(|e| self.err("writing a checkpoint", e))?;
                out.extend_from_slice(&k[2..]);
                out.push(1);
                out.extend_from_slice(&v);
                count += 1;
            }
        } else {
            for kb in &guard.dirty {
                out.extend_from_slice(&kb[2..]);
                match self.raw(kb)? {
                    Some(v) => {
                        out.push(1);
                        out.extend_from_slice(&v);
                    }
                    None => out.push(0),
                }
                count += 1;
            }
        }
        out[..8].copy_from_slice(&count.to_le_bytes());
        guard.dirty.clear();
        Ok(out)
    }

    fn restore_group(&self, group: usize, files: &[Vec<u8>]) -> Result<()> {
        let mut guard = self
            .groups
            .get(group)
            .ok_or_else(|| Error::InvalidArgument(format!("key group {group} out of range")))?
            .lock();
        self.clear_group(group)?;
        guard.len = 0;
        guard.dirty.clear();
        // The last entry of each key over the snapshot and its deltas.
        let mut latest: FxHashMap<Vec<u8>, Option<Vec<u8>>> = FxHashMap::default();
        for bytes in files {
            let entries: Snapshot<K, S> = bincode::deserialize(bytes).map_err(ser)?;
            for (k, v) in entries {
                let value = match v {
                    Some((s, t)) => Some(value_bytes(&s, t)?),
                    None => None,
                };
                latest.insert(key_bytes(group, &k)?, value);
            }
        }
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = latest
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        guard.len = entries.len();
        let mut it = entries.into_iter().peekable();
        while it.peek().is_some() {
            let mut batch = self.db.batch();
            for (k, v) in it.by_ref().take(RESTORE_CHUNK) {
                if let Some(timers) = &self.timers {
                    let (_, t) = self.split(&v)?;
                    batch.insert(timers, timer_key(group, t, &k[2..]), Vec::new());
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
