//! Keyed aggregation over session windows (Spark's `session_window`), with a watermark.
//!
//! Each batch, in a hidden job: the records are shuffled by key into the operator's key
//! groups; a reduce task groups each key's new events into sessions ([`sessions_of`]), drops
//! the sessions that end at or before the late-record watermark (their events are late:
//! counted — in complete mode too, unlike time windows, as Spark does), merges the rest with the key's held sessions ([`merge_sessions`]) and, in append
//! mode, emits and drops the sessions the eviction watermark closes; complete mode emits every
//! session each batch and drops none. Update mode is refused, as Spark refuses it for session
//! windows. A key's timer is its earliest session's end, so closing sessions reads only the
//! keys whose earliest session the watermark passed.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::hash::stable_hash;
use sluice_core::{Data, Error, Key, Result};

use super::output::{new_output, Combiner, WindowAggregation};
use super::session::{merge_sessions, sessions_of, Session};
use super::watermark::{is_closed, Watermarks};
use super::window::WindowRange;
use super::{OutputMode, Watermarked};
use crate::dstream::materialized::register_materializer;
use crate::dstream::stateful::records;
use crate::state::store::{Change, KeyGroupPartitioner};
use crate::state::{StateStore, DEFAULT_KEY_GROUPS};
use crate::time::duration_ms;

type Sessions<A> = Vec<Session<A>>;

impl<K, V> Watermarked<(K, V)>
where
    K: Key + Serialize + DeserializeOwned,
    V: Data,
{
    /// The general form: aggregates each key's values per session (events less than `gap`
    /// apart) with Spark's three `combineByKey` functions, emitting by `mode` (append or
    /// complete).
    pub fn combine_by_session<A>(
        &self,
        gap: std::time::Duration,
        create: impl Fn(V) -> A + Send + Sync + 'static,
        merge_value: impl Fn(A, V) -> A + Send + Sync + 'static,
        merge: impl Fn(A, A) -> A + Send + Sync + 'static,
        mode: OutputMode,
    ) -> Result<WindowAggregation<K, V, A>>
    where
        A: Data + Serialize + DeserializeOwned,
    {
        self.stream.check_can_add()?;
        let gap_ms = duration_ms(gap);
        if gap_ms <= 0 {
            return Err(Error::InvalidArgument(format!(
                "a session window needs a positive gap, got {gap:?}"
            )));
        }
        if mode == OutputMode::Update {
            return Err(Error::InvalidArgument(
                "session windows support the append and complete output modes, not update \
                 (as in Spark)"
                    .into(),
            ));
        }
        let combiner = Combiner {
            create: Arc::new(create),
            merge_value: Arc::new(merge_value),
            merge: Arc::new(merge),
        };
        Ok(build(self, gap_ms, combiner, mode))
    }

    /// Counts each key's records per session.
    pub fn count_by_session(
        &self,
        gap: std::time::Duration,
        mode: OutputMode,
    ) -> Result<WindowAggregation<K, V, u64>> {
        self.combine_by_session(gap, |_| 1u64, |a, _| a + 1, |a, b| a + b, mode)
    }

    /// Reduces each key's values per session with `f` (associative and commutative).
    pub fn reduce_by_session(
        &self,
        gap: std::time::Duration,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        mode: OutputMode,
    ) -> Result<WindowAggregation<K, V, V>>
    where
        V: Serialize + DeserializeOwned,
    {
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        self.combine_by_session(gap, |v| v, move |a, v| f(a, v), move |a, b| g(a, b), mode)
    }
}

fn build<K, V, A>(
    src: &Watermarked<(K, V)>,
    gap_ms: i64,
    combiner: Combiner<V, A>,
    mode: OutputMode,
) -> WindowAggregation<K, V, A>
where
    K: Key + Serialize + DeserializeOwned,
    V: Data,
    A: Data + Serialize + DeserializeOwned,
{
    let ctx = src.stream.context().clone();
    let n = ctx.default_parallelism().max(1);
    let store: Arc<StateStore<K, Sessions<A>>> =
        Arc::new(StateStore::new(DEFAULT_KEY_GROUPS, true));
    let partitioner = Arc::new(KeyGroupPartitioner {
        groups: store.num_groups(),
        partitions: n,
    });
    // Emitted rows are laid out by key group of the key alone, not of (key, session).
    let parts = new_output::<(i64, (K, V)), K, V, A>(
        &src.stream,
        "event_time_session",
        n,
        None,
        Arc::new(move |_| Ok(n)),
    );
    let (parent, inputs, policy) = (src.stream.clone(), Arc::clone(&src.inputs), src.policy());
    let (st, wm, out, late_out) = (
        Arc::clone(&store),
        Arc::clone(&parts.watermark),
        Arc::clone(&parts.out),
        Arc::clone(&parts.late_out),
    );
    register_materializer(&parts.stream, move |t| {
        let w = wm.get();
        let input = parent.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
        let timed = input
            .map(|(ts, (k, v)): (i64, (K, V))| (k, (ts, v)))
            .partition_by(partitioner.clone());
        let (st2, out2, late2, c) = (
            Arc::clone(&st),
            Arc::clone(&out),
            Arc::clone(&late_out),
            combiner.clone(),
        );
        let results = timed.run_job(move |it, tc| {
            let step = apply(&st2, tc.partition, n, records(it)?, w, gap_ms, mode, &c)?;
            let late = step.late.len() as u64;
            out2.put_partition(t, tc.partition, n, step.emitted);
            late2.put_partition(t, tc.partition, n, step.late);
            Ok(late)
        })?;
        super::after_batch(&wm, w, &inputs, t, policy, results.iter().sum());
        Ok(())
    });
    parts.finish("event_time_session", store)
}

/// What one reduce task did: the rows it emits, and the late records with their sessions.
struct Step<K, V, A> {
    emitted: Vec<((K, WindowRange), A)>,
    late: Vec<((K, WindowRange), V)>,
}

/// Merges a partition's new events into its keys' sessions and emits by `mode`; returns the
/// rows and the late records.
#[allow(clippy::too_many_arguments)]
fn apply<K, V, A>(
    store: &StateStore<K, Sessions<A>>,
    p: usize,
    n: usize,
    rows: Vec<(K, (i64, V))>,
    w: Watermarks,
    gap_ms: i64,
    mode: OutputMode,
    c: &Combiner<V, A>,
) -> Result<Step<K, V, A>>
where
    K: Key,
    V: Data,
    A: Data,
{
    let groups = store.groups_of_partition(p, n);
    let mut guards = store.lock(&groups);
    let mut late = Vec::new();
    // Phase 1: each key's new events, then its merged sessions.
    let mut events: Vec<FxHashMap<K, Vec<(i64, V)>>> =
        (0..groups.len()).map(|_| FxHashMap::default()).collect();
    for (k, e) in rows {
        events[store.slot_of(&k, p, n)?]
            .entry(k)
            .or_default()
            .push(e);
    }
    let mut changes: Vec<Vec<(K, Sessions<A>)>> = (0..groups.len()).map(|_| Vec::new()).collect();
    for (gi, by_key) in events.into_iter().enumerate() {
        for (k, evs) in by_key {
            // The events are kept for the side output only if a session of theirs can be
            // late (its end, at least the first event's time plus the gap, is behind).
            let first = evs.iter().map(|(ts, _)| *ts).min().unwrap_or(i64::MAX);
            let maybe_late =
                (first.saturating_add(gap_ms) <= w.for_late_records).then(|| evs.clone());
            let new = sessions_of(evs, gap_ms, &*c.create, &*c.merge_value);
            let mut kept = Vec::with_capacity(new.len());
            for s in new {
                // Late in every mode, complete included (unlike time windows), as in Spark.
                if is_closed(s.window, w.for_late_records) {
                    let win = s.window;
                    late.extend(
                        maybe_late
                            .iter()
                            .flatten()
                            .filter(|(ts, _)| win.start <= *ts && *ts < win.end)
                            .map(|(_, v)| ((k.clone(), win), v.clone())),
                    );
                } else {
                    kept.push(s);
                }
            }
            if kept.is_empty() {
                continue;
            }
            let held = guards[gi]
                .map
                .get(&k)
                .map(|e| e.value.clone())
                .unwrap_or_default();
            changes[gi].push((k, merge_sessions(held, kept, &*c.merge)));
        }
    }
    // Phase 2: commit (a key's timer is its earliest session's end), then emit and close.
    let mut emitted = Vec::new();
    let watermark = w.for_eviction;
    for (gi, changed) in changes.into_iter().enumerate() {
        let guard = &mut guards[gi];
        commit_by_earliest_end(store, guard, changed);
        if mode == OutputMode::Complete {
            for (k, e) in guard.map.iter() {
                emitted.extend(
                    e.value
                        .iter()
                        .map(|s| ((k.clone(), s.window), s.agg.clone())),
                );
            }
            continue;
        }
        let mut rest = Vec::new();
        for (k, sessions) in store.take_expired(guard, watermark.saturating_add(1)) {
            let (closed, open): (Vec<_>, Vec<_>) = sessions
                .into_iter()
                .partition(|s| is_closed(s.window, watermark));
            emitted.extend(closed.into_iter().map(|s| ((k.clone(), s.window), s.agg)));
            if !open.is_empty() {
                rest.push((k, open));
            }
        }
        commit_by_earliest_end(store, guard, rest);
    }
    // A checkpointed job rebuilds its maps in another order after a restore: the same order
    // every time makes a re-run batch emit the same lines.
    if store.tracks_changes() {
        emitted.sort_by_cached_key(|((k, w), _)| (w.start, w.end, stable_hash(k)));
    }
    Ok(Step { emitted, late })
}

/// Puts each key's sessions with its earliest session's end as its timer.
fn commit_by_earliest_end<K: Key, A: Data>(
    store: &StateStore<K, Sessions<A>>,
    guard: &mut crate::state::store::Group<K, Sessions<A>>,
    changed: Vec<(K, Sessions<A>)>,
) {
    let mut by_end: FxHashMap<i64, Vec<(K, Change<Sessions<A>>)>> = FxHashMap::default();
    for (k, sessions) in changed {
        let end = sessions
            .iter()
            .map(|s| s.window.end)
            .min()
            .unwrap_or(i64::MAX);
        by_end
            .entry(end)
            .or_default()
            .push((k, Change::Put(sessions)));
    }
    for (end, changes) in by_end {
        store.commit(guard, changes, end);
    }
}
