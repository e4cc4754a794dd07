//! `update_state_by_key_partitions`: Spark's `updateStateByKey` with a function called once
//! per partition and batch, over all of the partition's keys (see [`crate::state::update`]).
//!
//! The semantics are `update_state_by_key`'s — every key with state or new values is updated
//! every batch, a removed key is gone — and so is the state: the same key-group store,
//! checkpointed and restored by the operator's name like any other. Only the calling
//! convention differs: one call receives every [`KeyUpdate`] of the partition and answers one
//! [`StateUpdate`] each, so a function with a fixed cost per call (a language runtime's lock,
//! a round trip) pays it once per partition. The function may fail; a failed call changes no
//! state, and the task is retried like any other.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Data, Error, Key, Rdd, Result};

use super::DStream;
use crate::state::store::{Change, StateStore};
use crate::state::{KeyUpdate, StateUpdate};
use crate::time::Time;

/// The update function of
/// [`update_state_by_key_partitions`](DStream::update_state_by_key_partitions): one call per
/// partition and batch, one answer per key, in the order of the keys given.
pub type PartitionUpdateFn<K, V, S> =
    dyn for<'a> Fn(Time, Vec<KeyUpdate<'a, K, V, S>>) -> Result<Vec<StateUpdate<S>>> + Send + Sync;

/// Applies one batch to partition `p` of `n`: groups the records by key, calls `f` once with
/// every key of the partition's groups, and commits the answers. Nothing is committed when `f`
/// fails or answers for the wrong number of keys.
fn apply_partition_update<K: Key, V: Data, S: Data>(
    store: &StateStore<K, S>,
    p: usize,
    n: usize,
    records: Vec<(K, V)>,
    time: Time,
    f: &PartitionUpdateFn<K, V, S>,
) -> Result<()> {
    let groups = store.groups_of_partition(p, n);
    let mut guards = store.lock(&groups);
    let mut new_values: Vec<FxHashMap<K, Vec<V>>> =
        (0..groups.len()).map(|_| FxHashMap::default()).collect();
    for (k, v) in records {
        new_values[store.slot_of(&k, p, n)?]
            .entry(k)
            .or_default()
            .push(v);
    }
    let mut per_group: Vec<Vec<(K, Change<S>)>> = (0..groups.len()).map(|_| Vec::new()).collect();
    {
        // Keys with state first (group by group), then the keys first seen in this batch.
        let mut existing: Vec<(usize, &K)> = Vec::new();
        let mut work: Vec<KeyUpdate<'_, K, V, S>> = Vec::new();
        for (gi, guard) in guards.iter().enumerate() {
            for (k, e) in guard.map.iter() {
                existing.push((gi, k));
                work.push(KeyUpdate {
                    key: k,
                    values: new_values[gi].remove(k).unwrap_or_default(),
                    state: Some(&e.value),
                });
            }
        }
        let mut fresh: Vec<(usize, K, Vec<V>)> = Vec::new();
        for (gi, news) in new_values.iter_mut().enumerate() {
            fresh.extend(news.drain().map(|(k, vals)| (gi, k, vals)));
        }
        work.extend(fresh.iter_mut().map(|(_, k, vals)| KeyUpdate {
            key: &*k,
            values: std::mem::take(vals),
            state: None,
        }));
        let asked = work.len();
        let answers = f(time, work)?;
        if answers.len() != asked {
            return Err(Error::InvalidArgument(format!(
                "a partition update function answered for {} keys, but was given {asked}",
                answers.len()
            )));
        }
        let mut answers = answers.into_iter();
        for ((gi, k), answer) in existing.into_iter().zip(answers.by_ref()) {
            match answer {
                StateUpdate::Keep => {}
                StateUpdate::Set(s) => per_group[gi].push((k.clone(), Change::Put(s))),
                StateUpdate::Remove => per_group[gi].push((k.clone(), Change::Remove)),
            }
        }
        for ((gi, k, _), answer) in fresh.into_iter().zip(answers) {
            if let StateUpdate::Set(s) = answer {
                per_group[gi].push((k, Change::Put(s)));
            }
        }
    }
    for (gi, changes) in per_group.into_iter().enumerate() {
        store.commit(&mut guards[gi], changes, time.millis());
    }
    Ok(())
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Keeps a state per key like
    /// [`update_state_by_key`](DStream::update_state_by_key), with a function called once per
    /// partition and batch with every key of the partition (see the module docs). `partitions`
    /// defaults to the default parallelism; `initial` is loaded before the first batch. The
    /// stream holds every `(key, state)` after each batch.
    ///
    /// ```
    /// use sluice_streaming::state::StateUpdate;
    /// use sluice_streaming::testing::run_stream;
    /// let out = run_stream(vec![vec![('a', 1), ('b', 1)], vec![('a', 1)]], 2, |s| {
    ///     s.update_state_by_key_partitions(
    ///         |_time, keys| {
    ///             // One call for all of a partition's keys.
    ///             Ok(keys
    ///                 .into_iter()
    ///                 .map(|u| {
    ///                     let total = u.state.copied().unwrap_or(0) + u.values.iter().sum::<i32>();
    ///                     if u.values.is_empty() { StateUpdate::Keep } else { StateUpdate::Set(total) }
    ///                 })
    ///                 .collect())
    ///         },
    ///         None,
    ///         None,
    ///     )
    /// })
    /// .unwrap();
    /// let (mut first, mut second) = (out[0].clone(), out[1].clone());
    /// first.sort();
    /// second.sort();
    /// assert_eq!(first, vec![('a', 1), ('b', 1)]);
    /// assert_eq!(second, vec![('a', 2), ('b', 1)]);
    /// ```
    pub fn update_state_by_key_partitions<S>(
        &self,
        f: impl for<'a> Fn(Time, Vec<KeyUpdate<'a, K, V, S>>) -> Result<Vec<StateUpdate<S>>>
            + Send
            + Sync
            + 'static,
        partitions: Option<usize>,
        initial: Option<Rdd<(K, S)>>,
    ) -> DStream<(K, S)>
    where
        K: Serialize + DeserializeOwned,
        S: Data + Serialize + DeserializeOwned,
    {
        let f: Arc<PartitionUpdateFn<K, V, S>> = Arc::new(f);
        self.keyed_state(partitions, initial, move |store, p, n, records, t| {
            apply_partition_update(store, p, n, records, t, &*f)
        })
    }
}
