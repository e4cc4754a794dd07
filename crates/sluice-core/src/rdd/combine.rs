//! The hash table that combines values by key (map-side combine, the reduce side of an
//! aggregating shuffle, and `combine_by_key` within partitions).
//!
//! Combiners are stored as they are, not wrapped in an `Option` to be taken out and put back
//! for a by-value merge: `hashbrown`'s `replace_entry_with` moves the combiner out of its slot
//! and the merged one in. For word counts (`String` → `u64`) that is 32 bytes a slot instead
//! of 40, on tables of tens of thousands of keys that do not fit in cache.
//!
//! `replace_entry_with` takes the entry out of the table and puts it back (it updates the
//! control bytes twice), which costs more than the merge itself when the combiner is a number.
//! A combiner type without drop glue owns nothing (no heap, no handle), so cloning it is a copy
//! of its bytes: such combiners are merged in their slot, from a copy, and only the others go
//! through `replace_entry_with`.

use std::hash::Hash;

use hashbrown::hash_map::Entry;
use rustc_hash::FxBuildHasher;

/// Key → combiner.
pub(crate) type CombineMap<K, C> = hashbrown::HashMap<K, C, FxBuildHasher>;

/// An empty table with room for `capacity` keys.
pub(crate) fn combine_map<K, C>(capacity: usize) -> CombineMap<K, C> {
    CombineMap::with_capacity_and_hasher(capacity, FxBuildHasher)
}

/// Adds `x` to the combiner of `k`: `create(x)` for a new key, `merge(c, x)` otherwise.
///
/// One hash and one probe per record whether the key is new or not: `entry` takes the
/// record's own key, which a new key keeps and a known one drops.
#[inline]
pub(crate) fn combine_into<K: Hash + Eq, X, C: Clone>(
    map: &mut CombineMap<K, C>,
    k: K,
    x: X,
    create: impl FnOnce(X) -> C,
    merge: impl FnOnce(C, X) -> C,
) {
    match map.entry(k) {
        Entry::Occupied(mut slot) => {
            if std::mem::needs_drop::<C>() {
                slot.replace_entry_with(|_, c| Some(merge(c, x)));
            } else {
                let c = slot.get_mut();
                *c = merge(c.clone(), x);
            }
        }
        Entry::Vacant(slot) => {
            slot.insert(create(x));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_merges_in_order() {
        let mut m = combine_map(0);
        for (k, v) in [("a", 1), ("b", 2), ("a", 3)] {
            combine_into(
                &mut m,
                k,
                v,
                |v| vec![v],
                |mut c, v| {
                    c.push(v);
                    c
                },
            );
        }
        let mut got: Vec<_> = m.into_iter().collect();
        got.sort();
        assert_eq!(got, vec![("a", vec![1, 3]), ("b", vec![2])]);
    }
}
