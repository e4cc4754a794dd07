//! A key group's cache of decoded values in front of the tree, bounded in bytes.
//!
//! Writes go to the cache only ("unflushed" entries); the tree receives them when they are
//! evicted, or before the group is scanned or written in full to a checkpoint. So a state that
//! fits the budget costs hash-map lookups, like the in-memory store, and a larger one keeps its
//! recently used keys in memory and the rest on disk. The cache also remembers keys known to be
//! absent, so a new key costs one tree lookup, not one per record.
//!
//! Eviction is second chance (CLOCK without a hand): a key read or written since the last
//! eviction round is kept once; eviction runs when the cache is over its budget and frees down
//! to three quarters of it, so its cost is spread over many writes.

use std::hash::Hash;

use rustc_hash::FxHashMap;

/// What the cache knows of a key.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Known<S> {
    /// The key has no value.
    Absent,
    /// The key's value and the batch time of its last update.
    Present(S, i64),
}

impl<S> Known<S> {
    /// The last update of a present key.
    pub(super) fn last_update(&self) -> Option<i64> {
        match self {
            Known::Absent => None,
            Known::Present(_, t) => Some(*t),
        }
    }

    /// The value of a present key.
    pub(super) fn value(&self) -> Option<&S> {
        match self {
            Known::Absent => None,
            Known::Present(v, _) => Some(v),
        }
    }
}

struct Slot<S> {
    known: Known<S>,
    /// Not yet written to the tree.
    unflushed: bool,
    /// Read or written since the last eviction round.
    referenced: bool,
    /// Estimated bytes held.
    bytes: usize,
}

/// One key group's cache (see the module docs).
pub(super) struct GroupCache<K, S> {
    map: FxHashMap<K, Slot<S>>,
    bytes: usize,
}

impl<K, S> Default for GroupCache<K, S> {
    fn default() -> Self {
        GroupCache {
            map: FxHashMap::default(),
            bytes: 0,
        }
    }
}

impl<K: Hash + Eq + Clone, S> GroupCache<K, S> {
    /// What the cache knows of `key`, marking it used.
    pub(super) fn get(&mut self, key: &K) -> Option<&Known<S>> {
        let slot = self.map.get_mut(key)?;
        slot.referenced = true;
        Some(&slot.known)
    }

    /// What the cache knows of `key` and whether it is unflushed, without marking it used.
    pub(super) fn peek(&self, key: &K) -> Option<(&Known<S>, bool)> {
        self.map.get(key).map(|s| (&s.known, s.unflushed))
    }

    fn put(&mut self, key: K, known: Known<S>, bytes: usize, unflushed: bool) {
        let slot = Slot {
            known,
            unflushed,
            referenced: true,
            bytes,
        };
        self.bytes += bytes;
        if let Some(old) = self.map.insert(key, slot) {
            self.bytes -= old.bytes;
        }
    }

    /// Remembers what was read from the tree (nothing to write back).
    pub(super) fn insert_read(&mut self, key: K, known: Known<S>, bytes: usize) {
        self.put(key, known, bytes, false);
    }

    /// Records a change, to be written to the tree later.
    pub(super) fn write(&mut self, key: K, known: Known<S>, bytes: usize) {
        self.put(key, known, bytes, true);
    }

    /// Sets the last update of a cached present key (an unflushed change); false if the key
    /// is not cached as present.
    pub(super) fn touch(&mut self, key: &K, now: i64) -> bool {
        match self.map.get_mut(key) {
            Some(Slot {
                known: Known::Present(_, t),
                unflushed,
                referenced,
                ..
            }) => {
                *t = now;
                *unflushed = true;
                *referenced = true;
                true
            }
            _ => false,
        }
    }

    /// Every present key and its value.
    pub(super) fn present(&self) -> impl Iterator<Item = (&K, &S)> {
        self.map
            .iter()
            .filter_map(|(k, s)| Some((k, s.known.value()?)))
    }

    /// Every present key with its value and last update.
    pub(super) fn present_with_time(&self) -> impl Iterator<Item = (&K, (&S, i64))> {
        self.map.iter().filter_map(|(k, s)| match &s.known {
            Known::Present(v, t) => Some((k, (v, *t))),
            Known::Absent => None,
        })
    }

    /// Estimated bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of keys held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Calls `f` with every unflushed entry.
    pub(super) fn for_unflushed<E>(
        &self,
        mut f: impl FnMut(&K, &Known<S>) -> Result<(), E>,
    ) -> Result<(), E> {
        for (k, s) in &self.map {
            if s.unflushed {
                f(k, &s.known)?;
            }
        }
        Ok(())
    }

    /// Marks every entry as written to the tree.
    pub(super) fn mark_flushed(&mut self) {
        for s in self.map.values_mut() {
            s.unflushed = false;
        }
    }

    /// Keys to evict to come down to `target` bytes: those not used since the last round
    /// (clearing the mark of the others), then, if that is not enough, any.
    pub(super) fn victims(&mut self, target: usize) -> Vec<K> {
        let mut freed = 0;
        let mut out = Vec::new();
        for pass in 0..2 {
            for (k, s) in self.map.iter_mut() {
                if self.bytes - freed <= target {
                    return out;
                }
                if s.bytes == usize::MAX {
                    continue; // chosen in the first pass
                }
                if s.referenced && pass == 0 {
                    s.referenced = false;
                    continue;
                }
                freed += s.bytes;
                out.push(k.clone());
            }
            // Mark the chosen so the second pass skips them: their bytes are counted.
            if pass == 0 {
                for k in &out {
                    if let Some(s) = self.map.get_mut(k) {
                        self.bytes -= s.bytes;
                        s.bytes = usize::MAX;
                    }
                }
                freed = 0;
            }
        }
        out
    }

    /// Forgets `keys` (chosen by [`victims`](Self::victims), their unflushed changes written).
    pub(super) fn remove(&mut self, keys: &[K]) {
        for k in keys {
            if let Some(s) = self.map.remove(k) {
                if s.bytes != usize::MAX {
                    self.bytes -= s.bytes;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unflushed_entries_are_listed_until_flushed() {
        let mut c: GroupCache<u32, u32> = GroupCache::default();
        c.insert_read(1, Known::Absent, 10);
        c.write(2, Known::Present(20, 5), 10);
        c.write(3, Known::Absent, 10);
        assert_eq!(c.bytes(), 30);
        let mut seen = Vec::new();
        c.for_unflushed::<()>(|k, v| {
            seen.push((*k, v.clone()));
            Ok(())
        })
        .unwrap();
        seen.sort_by_key(|(k, _)| *k);
        assert_eq!(seen, vec![(2, Known::Present(20, 5)), (3, Known::Absent)]);
        c.mark_flushed();
        assert!(c.touch(&2, 9));
        assert!(!c.touch(&3, 9), "an absent key is not touched");
        assert_eq!(c.peek(&2), Some((&Known::Present(20, 9), true)));
        // Rewriting a key replaces its bytes.
        c.write(2, Known::Present(21, 9), 4);
        assert_eq!(c.bytes(), 24);
    }

    #[test]
    fn eviction_gives_used_keys_a_second_chance_and_reaches_its_target() {
        let mut c: GroupCache<u32, u32> = GroupCache::default();
        for k in 0..100 {
            c.insert_read(k, Known::Present(k, 0), 10);
        }
        // A round clears every mark; then only key 7 is used again.
        let first = c.victims(500);
        assert_eq!(first.len(), 50);
        c.remove(&first);
        assert_eq!(c.bytes(), 500);
        let kept: Vec<u32> = (0..100).filter(|k| c.peek(k).is_some()).collect();
        let used = kept[0];
        c.get(&used);
        let second = c.victims(250);
        assert!(
            !second.contains(&used),
            "a key used since the last round is kept"
        );
        c.remove(&second);
        assert_eq!(c.bytes(), 250);
        assert_eq!(c.len(), 25);
        // Everything can go.
        let all = c.victims(0);
        c.remove(&all);
        assert_eq!((c.len(), c.bytes()), (0, 0));
    }
}
