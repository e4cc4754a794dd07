//! Keyed state over batches: `map_with_state` (with `state_snapshots`) and
//! `update_state_by_key`.
//!
//! Both keep their values in a [key-group store](crate::state::store) owned by the operator and
//! change it in place each batch (a [materialized](super::materialized) job runs first in every
//! batch, so the state is current before any output operation reads it).
//!
//! - `map_with_state` calls its function once per input record and once per key timing out,
//!   touching only those keys: a batch costs O(records + timeouts), whatever the size of the
//!   state. A key times out when idle strictly longer than the timeout (last update < batch
//!   time − timeout) — checked at every batch, unlike Spark, which checks only on checkpoint
//!   batches.
//! - `update_state_by_key` calls its function for every key every batch (Spark's semantics: a
//!   key with no new values gets an empty slice), and removes keys for which it returns
//!   `None`. The function receives the current state by reference and returns the new one, so
//!   a failed and retried task sees unchanged state and the engine never copies the state.
//!   A returned state equal to the current one is not a change (hence `S: PartialEq`): only
//!   keys whose state really changed go into the next incremental checkpoint.

use std::collections::hash_map::Entry as MapEntry;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Context, Data, Error, Key, Rdd, Result};

use crate::checkpoint::operator::StoreOperator;

use super::materialized::{register_materializer, Materialized};
use super::{DStream, StreamCompute};
use crate::state::spec::MappingFn;
use crate::state::store::{Change, KeyGroupPartitioner, DEFAULT_KEY_GROUPS};
use crate::state::{KeyedStore, State, StateSpec};
use crate::time::{duration_ms, Time};

/// The stream `map_with_state` returns: the mapped records (it dereferences to a
/// `DStream<E>`), and the state itself through [`state_snapshots`](Self::state_snapshots).
pub struct MapWithState<K: Data, S: Data, E: Data> {
    mapped: DStream<E>,
    store: Arc<dyn KeyedStore<K, S>>,
    partitions: usize,
}

impl<K: Data, S: Data, E: Data> Deref for MapWithState<K, S, E> {
    type Target = DStream<E>;
    fn deref(&self) -> &DStream<E> {
        &self.mapped
    }
}

impl<K: Key, S: Data, E: Data> MapWithState<K, S, E> {
    /// The mapped records as a plain stream.
    pub fn stream(&self) -> DStream<E> {
        self.mapped.clone()
    }

    /// Every `(key, state)` after each batch. Read within the batch's output operations: each
    /// partition is copied out of the state on its first read and the copy is kept, and
    /// shared by later reads, for as long as the batch's RDD is remembered.
    pub fn state_snapshots(&self) -> DStream<(K, S)> {
        let store = Arc::clone(&self.store);
        let n = self.partitions;
        let ctx = self.mapped.context().clone();
        self.mapped.child(
            "state_snapshots",
            Snapshots {
                ctx,
                store,
                partitions: n,
            },
        )
    }

    /// Number of keys currently held.
    pub fn state_size(&self) -> usize {
        self.store.len()
    }
}

/// The current contents of a store, as an RDD whose partitions are copied out of the store on
/// first read and then kept by the RDD itself. Not the block store: a cached block may be
/// evicted, and recomputing it after a later batch changed the state would give a later
/// snapshot. One copy per partition, made straight from the store, is all a batch costs.
struct Snapshots<K, S> {
    ctx: Context,
    store: Arc<dyn KeyedStore<K, S>>,
    partitions: usize,
}

impl<K: Key, S: Data> StreamCompute<(K, S)> for Snapshots<K, S> {
    fn compute(&self, _time: Time) -> Result<Option<Rdd<(K, S)>>> {
        let (store, n) = (Arc::clone(&self.store), self.partitions);
        let fp = KeyGroupPartitioner {
            groups: store.num_groups(),
            partitions: n,
        };
        let copies: Vec<OnceLock<Arc<Vec<(K, S)>>>> = (0..n).map(|_| OnceLock::new()).collect();
        let rdd = self.ctx.from_partition_fn(
            "state_snapshot",
            n,
            sluice_core::Partitioner::<K>::fingerprint(&fp),
            move |p| {
                let copy = copies
                    .get(p)
                    .ok_or_else(|| Error::Internal(format!("no snapshot partition {p} of {n}")))?;
                if let Some(c) = copy.get() {
                    return Ok(Arc::clone(c));
                }
                let snapshot = Arc::new(store.snapshot_partition(p, n)?);
                Ok(Arc::clone(copy.get_or_init(|| snapshot)))
            },
        );
        Ok(Some(rdd))
    }
}

/// The materialized RDDs of a stateful stream's outputs.
struct StoredOutputs<T: Data> {
    ctx: Context,
    store: Arc<Materialized<T>>,
    partitions: usize,
    name: &'static str,
}

impl<T: Data> StreamCompute<T> for StoredOutputs<T> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        Ok(Some(self.store.rdd(
            &self.ctx,
            self.name,
            self.partitions,
            None,
            time,
        )))
    }
    fn forget_before(&self, time: Time) {
        self.store.forget_before(time);
    }
}

/// Reads a partition's records.
pub(crate) fn records<T>(it: sluice_core::ChunkIter<T>) -> Result<Vec<T>> {
    let mut v = Vec::new();
    for c in it {
        v.extend(c?);
    }
    Ok(v)
}

/// Loads an initial state RDD into a store at time `now`.
///
/// One partition at a time, in order, a chunk at a time: each chunk's records are sorted by
/// key group and committed under the groups' locks on the worker that computed them. Nothing
/// but the store itself grows with the size of the initial state, and a key given twice
/// keeps its last value in partition order.
fn load_initial<K: Key, S: Data>(
    store: &dyn KeyedStore<K, S>,
    rdd: &Rdd<(K, S)>,
    now: i64,
) -> Result<()> {
    let groups = store.num_groups();
    for p in 0..rdd.num_partitions() {
        rdd.run_job_on(&[p], |it, _| {
            let mut by_group: Vec<Vec<(K, Change<S>)>> = (0..groups).map(|_| Vec::new()).collect();
            for chunk in it {
                for (k, s) in chunk? {
                    by_group[store.group_of(&k)].push((k, Change::Put(s)));
                }
                for (g, changes) in by_group.iter_mut().enumerate() {
                    if !changes.is_empty() {
                        store.lock(&[g])?.commit(0, std::mem::take(changes), now)?;
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Applies one batch's records of partition `p` to the store; returns the mapped records.
fn apply_map_with_state<K: Key, V: Data, S: Data, E>(
    store: &dyn KeyedStore<K, S>,
    p: usize,
    n: usize,
    records: Vec<(K, V)>,
    time: Time,
    timeout: Option<Duration>,
    f: &MappingFn<K, V, S, E>,
) -> Result<Vec<E>> {
    let groups = store.groups_of_partition(p, n);
    let mut locked = store.lock(&groups)?;
    let slot = |g: usize| -> Result<usize> {
        if g % n != p {
            return Err(Error::Internal(format!(
                "key group {g} reached partition {p} of {n}"
            )));
        }
        Ok((g - p) / n)
    };
    // Values as this batch changes them: None = removed. Read through to the store.
    let mut changed: FxHashMap<K, (usize, Option<S>, bool)> = FxHashMap::default();
    let mut out = Vec::new();
    for (k, v) in records {
        let entry = match changed.entry(k.clone()) {
            MapEntry::Occupied(e) => e.into_mut(),
            MapEntry::Vacant(e) => {
                let gi = slot(store.group_of(&k))?;
                let cur = locked.get(gi, &k)?;
                e.insert((gi, cur, false))
            }
        };
        let mut state = State::new(entry.1.take());
        let mapped = f(time, &k, Some(v), &mut state);
        let updated = state.is_updated() || state.is_removed();
        entry.1 = state.into_value();
        entry.2 |= updated;
        out.extend(mapped);
    }
    // Keys idle longer than the timeout: one last call each, then removal.
    let mut timed_out: Vec<(usize, K)> = Vec::new();
    let threshold = timeout.map(|d| time.millis() - duration_ms(d));
    if let Some(threshold) = threshold {
        for gi in 0..groups.len() {
            for (k, value) in locked.expired(gi, threshold)? {
                if changed.contains_key(&k) {
                    continue; // had data in this batch
                }
                let mut state = State::timing_out(value);
                out.extend(f(time, &k, None, &mut state));
                timed_out.push((gi, k));
            }
        }
    }
    // Commit: nothing above has changed the store.
    let mut per_group: Vec<Vec<(K, Change<S>)>> = (0..groups.len()).map(|_| Vec::new()).collect();
    for (k, (gi, value, updated)) in changed {
        let change = match (value, updated) {
            (Some(v), true) => Change::Put(v),
            (None, true) => Change::Remove,
            // Not changed: with a timeout, data still refreshes the key's idle time.
            (_, false) if threshold.is_some() => Change::Touch,
            (_, false) => continue,
        };
        per_group[gi].push((k, change));
    }
    for (gi, k) in timed_out {
        per_group[gi].push((k, Change::Remove));
    }
    for (gi, changes) in per_group.into_iter().enumerate() {
        locked.commit(gi, changes, time.millis())?;
        if let Some(threshold) = threshold {
            locked.drop_timers_before(gi, threshold)?;
        }
    }
    Ok(out)
}

/// Applies one batch to partition `p` with `update_state_by_key` semantics.
fn apply_update_state<K: Key, V: Data, S: Data + PartialEq>(
    store: &dyn KeyedStore<K, S>,
    p: usize,
    n: usize,
    records: Vec<(K, V)>,
    time: Time,
    f: &UpdateFn<K, V, S>,
) -> Result<()> {
    let groups = store.groups_of_partition(p, n);
    let mut locked = store.lock(&groups)?;
    // New values per key, in arrival order, by group.
    let mut new_values = values_by_group(store, records, p, n)?;
    let mut per_group: Vec<Vec<(K, Change<S>)>> = (0..groups.len()).map(|_| Vec::new()).collect();
    for (gi, changes) in per_group.iter_mut().enumerate() {
        let news = &mut new_values[gi];
        locked.for_each(gi, &mut |k, current| {
            let vals = news.remove(k).unwrap_or_default();
            match f(time, k, &vals, Some(current)) {
                // An unchanged value is not a change: nothing to write to the next checkpoint.
                Some(s) if s == *current => {}
                Some(s) => changes.push((k.clone(), Change::Put(s))),
                None => changes.push((k.clone(), Change::Remove)),
            }
            Ok(())
        })?;
        for (k, vals) in news.drain() {
            if let Some(s) = f(time, &k, &vals, None) {
                changes.push((k, Change::Put(s)));
            }
        }
    }
    for (gi, changes) in per_group.into_iter().enumerate() {
        locked.commit(gi, changes, time.millis())?;
    }
    Ok(())
}

/// A batch's records of partition `p` of `n` grouped by key — the values of each key in
/// arrival order — one map per group of the partition (indexed like
/// `groups_of_partition(p, n)`); an error for a record whose group belongs to another
/// partition.
pub(super) fn values_by_group<K: Key, V, S>(
    store: &dyn KeyedStore<K, S>,
    records: Vec<(K, V)>,
    p: usize,
    n: usize,
) -> Result<Vec<FxHashMap<K, Vec<V>>>> {
    let n = n.max(1);
    let slots = store.groups_of_partition(p, n).len();
    let mut out: Vec<FxHashMap<K, Vec<V>>> = (0..slots).map(|_| FxHashMap::default()).collect();
    for (k, v) in records {
        let g = store.group_of(&k);
        if g % n != p {
            return Err(Error::Internal(format!(
                "key group {g} reached partition {p} of {n}"
            )));
        }
        out[(g - p) / n].entry(k).or_default().push(v);
    }
    Ok(out)
}

/// The update function of `update_state_by_key` in its general form.
pub type UpdateFn<K, V, S> = dyn Fn(Time, &K, &[V], Option<&S>) -> Option<S> + Send + Sync;

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Maps every record with access to its key's state (Spark's `mapWithState`); see the
    /// module docs for the cost and the timeout rule.
    ///
    /// ```
    /// use sluice_streaming::state::{State, StateSpec};
    /// use sluice_streaming::testing::run_stream;
    /// use sluice_streaming::time::Time;
    /// let spec = StateSpec::function(|_t: Time, k: &char, v: Option<i32>, s: &mut State<i32>| {
    ///     let sum = s.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
    ///     s.update(sum).ok()?;
    ///     Some((*k, sum))
    /// });
    /// let out = run_stream(vec![vec![('a', 1), ('a', 2)], vec![('a', 3)]], 2, move |s| {
    ///     s.map_with_state(spec).stream()
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![('a', 1), ('a', 3)], vec![('a', 6)]]);
    /// ```
    pub fn map_with_state<S, E: Data>(&self, spec: StateSpec<K, V, S, E>) -> MapWithState<K, S, E>
    where
        K: Serialize + DeserializeOwned,
        S: Data + Serialize + DeserializeOwned,
    {
        let ctx = self.context().clone();
        let n = spec
            .num_partitions
            .unwrap_or_else(|| ctx.default_parallelism())
            .max(1);
        let kind = spec
            .store
            .clone()
            .unwrap_or_else(|| self.node.meta.env.settings.state_store.clone());
        let store: Arc<dyn KeyedStore<K, S>> =
            kind.open(DEFAULT_KEY_GROUPS, spec.timeout.is_some());
        let outputs = Materialized::new();
        let mapped = self.child(
            "map_with_state",
            StoredOutputs {
                ctx: ctx.clone(),
                store: Arc::clone(&outputs),
                partitions: n,
                name: "map_with_state",
            },
        );
        let parent = self.clone();
        let (st, initialized) = (Arc::clone(&store), AtomicBool::new(false));
        let partitioner = Arc::new(KeyGroupPartitioner {
            groups: store.num_groups(),
            partitions: n,
        });
        register_materializer(&mapped, move |t| {
            if !initialized.swap(true, Ordering::AcqRel) {
                if let Some(init) = &spec.initial_state {
                    load_initial(&*st, init, t.millis())?;
                }
            }
            let input = parent.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
            let shuffled = input.partition_by(partitioner.clone());
            let (st, f, timeout) = (Arc::clone(&st), Arc::clone(&spec.function), spec.timeout);
            let parts = shuffled.run_job(move |it, tc| {
                apply_map_with_state(&*st, tc.partition, n, records(it)?, t, timeout, &*f)
            })?;
            outputs.put(t, parts);
            Ok(())
        });
        self.node
            .meta
            .env
            .register_operator(Arc::new(StoreOperator {
                stream: mapped.base(),
                kind: "map_with_state",
                store: Arc::clone(&store),
            }));
        MapWithState {
            mapped,
            store,
            partitions: n,
        }
    }

    /// Keeps a state per key, updated every batch with `f(new values, current state)` for
    /// every key (Spark's `updateStateByKey`); `None` removes the key. The stream holds every
    /// `(key, state)` after each batch.
    ///
    /// ```
    /// use sluice_streaming::testing::run_stream;
    /// let out = run_stream(vec![vec![('a', 1), ('b', 1)], vec![('a', 1)]], 2, |s| {
    ///     s.update_state_by_key(|vals: &[i32], old: Option<&i32>| {
    ///         Some(old.copied().unwrap_or(0) + vals.iter().sum::<i32>())
    ///     })
    /// })
    /// .unwrap();
    /// let (mut first, mut second) = (out[0].clone(), out[1].clone());
    /// first.sort();
    /// second.sort();
    /// assert_eq!(first, vec![('a', 1), ('b', 1)]);
    /// assert_eq!(second, vec![('a', 2), ('b', 1)]); // b: no new values, state kept
    /// ```
    pub fn update_state_by_key<S>(
        &self,
        f: impl Fn(&[V], Option<&S>) -> Option<S> + Send + Sync + 'static,
    ) -> DStream<(K, S)>
    where
        K: Serialize + DeserializeOwned,
        S: Data + PartialEq + Serialize + DeserializeOwned,
    {
        self.update_state_by_key_with(move |_, _, vals, s| f(vals, s), None, None)
    }

    /// [`update_state_by_key`](DStream::update_state_by_key) whose function also receives the
    /// batch time and the key.
    pub fn update_state_by_key_with_time<S>(
        &self,
        f: impl Fn(Time, &K, &[V], Option<&S>) -> Option<S> + Send + Sync + 'static,
    ) -> DStream<(K, S)>
    where
        K: Serialize + DeserializeOwned,
        S: Data + PartialEq + Serialize + DeserializeOwned,
    {
        self.update_state_by_key_with(f, None, None)
    }

    /// The general form: the function with time and key, a number of partitions (default:
    /// the default parallelism) and an initial state.
    pub fn update_state_by_key_with<S>(
        &self,
        f: impl Fn(Time, &K, &[V], Option<&S>) -> Option<S> + Send + Sync + 'static,
        partitions: Option<usize>,
        initial: Option<Rdd<(K, S)>>,
    ) -> DStream<(K, S)>
    where
        K: Serialize + DeserializeOwned,
        S: Data + PartialEq + Serialize + DeserializeOwned,
    {
        let f: Arc<UpdateFn<K, V, S>> = Arc::new(f);
        self.keyed_state(partitions, initial, move |store, p, n, records, t| {
            apply_update_state(store, p, n, records, t, &*f)
        })
    }

    /// The stream of an `update_state_by_key`-like operator: a key-group store, checkpointed
    /// as `update_state_by_key`, to which `apply(store, partition, partitions, records, time)`
    /// applies each batch's records of each partition (the input partitioned by key group;
    /// every batch, even without an input RDD). The stream holds every `(key, state)`.
    pub(super) fn keyed_state<S>(
        &self,
        partitions: Option<usize>,
        initial: Option<Rdd<(K, S)>>,
        apply: impl Fn(&dyn KeyedStore<K, S>, usize, usize, Vec<(K, V)>, Time) -> Result<()>
            + Send
            + Sync
            + 'static,
    ) -> DStream<(K, S)>
    where
        K: Serialize + DeserializeOwned,
        S: Data + Serialize + DeserializeOwned,
    {
        let ctx = self.context().clone();
        let n = partitions
            .unwrap_or_else(|| ctx.default_parallelism())
            .max(1);
        let store: Arc<dyn KeyedStore<K, S>> = self
            .node
            .meta
            .env
            .settings
            .state_store
            .open(DEFAULT_KEY_GROUPS, false);
        let stream = self.child(
            "update_state_by_key",
            Snapshots {
                ctx: ctx.clone(),
                store: Arc::clone(&store),
                partitions: n,
            },
        );
        let parent = self.clone();
        let apply = Arc::new(apply);
        let initialized = AtomicBool::new(false);
        let partitioner = Arc::new(KeyGroupPartitioner {
            groups: store.num_groups(),
            partitions: n,
        });
        let st = Arc::clone(&store);
        register_materializer(&stream, move |t| {
            if !initialized.swap(true, Ordering::AcqRel) {
                if let Some(init) = &initial {
                    load_initial(&*st, init, t.millis())?;
                }
            }
            // No RDD from the parent: the function still runs for every key, with no values.
            let input = parent.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
            let shuffled = input.partition_by(partitioner.clone());
            let (st, apply) = (Arc::clone(&st), Arc::clone(&apply));
            shuffled.run_job(move |it, tc| apply(&*st, tc.partition, n, records(it)?, t))?;
            Ok(())
        });
        self.node
            .meta
            .env
            .register_operator(Arc::new(StoreOperator {
                stream: stream.base(),
                kind: "update_state_by_key",
                store,
            }));
        stream
    }
}
