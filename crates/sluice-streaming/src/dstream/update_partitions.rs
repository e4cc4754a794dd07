//! `update_state_by_key_partitions`: Spark's `updateStateByKey` with a function called with
//! many keys at once — once per key group of a partition and batch, so at most as many calls
//! per batch as there are key groups (128) — instead of once per key (see
//! [`crate::state::update`]).
//!
//! The semantics are `update_state_by_key`'s — every key with state or new values is updated
//! every batch, a removed key is gone — and so is the state: the same key-group store,
//! checkpointed and restored by the operator's name like any other. Only the calling
//! convention differs: one call receives every [`KeyUpdate`] of a key group and answers one
//! [`StateUpdate`] each, so a function with a fixed cost per call (a language runtime's lock,
//! a round trip) pays it once per group, not once per key. The function may fail; a failed
//! call changes no state, and the task is retried like any other.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Data, Error, Key, Rdd, Result};

use super::stateful::values_by_group;
use super::DStream;
use crate::state::store::Change;
use crate::state::KeyedStore;
use crate::state::{KeyUpdate, StateUpdate};
use crate::time::Time;

/// The update function of
/// [`update_state_by_key_partitions`](DStream::update_state_by_key_partitions): one call per
/// key group with keys, one answer per key, in the order of the keys given.
pub type PartitionUpdateFn<K, V, S> =
    dyn for<'a> Fn(Time, Vec<KeyUpdate<'a, K, V, S>>) -> Result<Vec<StateUpdate<S>>> + Send + Sync;

/// Applies one batch to partition `p` of `n`: groups the records by key, calls `f` once per
/// key group with every key of the group that has state or new values, and commits the
/// answers once every group is done. Nothing is committed when `f` fails or answers for the
/// wrong number of keys.
///
/// One call per group rather than per partition keeps the buffers of a call small (a few
/// thousand keys), so they are reused from call to call instead of being fresh memory every
/// batch.
fn apply_partition_update<K: Key, V: Data, S: Data>(
    store: &dyn KeyedStore<K, S>,
    p: usize,
    n: usize,
    records: Vec<(K, V)>,
    time: Time,
    f: &PartitionUpdateFn<K, V, S>,
) -> Result<()> {
    let groups = store.groups_of_partition(p, n);
    let mut locked = store.lock(&groups)?;
    let mut new_values = values_by_group(store, records, p, n)?;
    let mut per_group: Vec<Vec<(K, Change<S>)>> = (0..groups.len()).map(|_| Vec::new()).collect();
    for (gi, changes) in per_group.iter_mut().enumerate() {
        let news = &mut new_values[gi];
        locked.with_entries(gi, &mut |entries| {
            // Keys with state first, then the keys first seen in this batch.
            let mut work: Vec<KeyUpdate<'_, K, V, S>> = entries
                .iter()
                .map(|&(k, s)| KeyUpdate {
                    key: k,
                    values: news.remove(k).unwrap_or_default(),
                    state: Some(s),
                })
                .collect();
            let mut fresh: Vec<(K, Vec<V>)> = news.drain().collect();
            if work.is_empty() && fresh.is_empty() {
                return Ok(());
            }
            work.extend(fresh.iter_mut().map(|(k, vals)| KeyUpdate {
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
            for (&(k, _), answer) in entries.iter().zip(answers.by_ref()) {
                match answer {
                    StateUpdate::Keep => {}
                    StateUpdate::Set(s) => changes.push((k.clone(), Change::Put(s))),
                    StateUpdate::Remove => changes.push((k.clone(), Change::Remove)),
                }
            }
            for ((k, _), answer) in fresh.into_iter().zip(answers) {
                if let StateUpdate::Set(s) = answer {
                    changes.push((k, Change::Put(s)));
                }
            }
            Ok(())
        })?;
    }
    for (gi, changes) in per_group.into_iter().enumerate() {
        locked.commit(gi, changes, time.millis())?;
    }
    Ok(())
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Keeps a state per key like
    /// [`update_state_by_key`](DStream::update_state_by_key), with a function called with
    /// many keys at once: once per key group with keys, every batch (see the module docs). `partitions`
    /// defaults to the default parallelism; `initial` is loaded before the first batch. The
    /// stream holds every `(key, state)` after each batch.
    ///
    /// ```
    /// use sluice_streaming::state::StateUpdate;
    /// use sluice_streaming::testing::run_stream;
    /// let out = run_stream(vec![vec![('a', 1), ('b', 1)], vec![('a', 1)]], 2, |s| {
    ///     s.update_state_by_key_partitions(
    ///         |_time, keys| {
    ///             // One call for all the keys of a key group.
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
