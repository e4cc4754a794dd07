//! Keyed aggregation over event-time windows, with a watermark and an output mode.
//!
//! Each batch `t`, in a hidden job ahead of the stream's own outputs:
//!
//! 1. the watermarks `w` this batch uses are those left by the batch before ([`Watermarks`]:
//!    the previous watermark for late records, the current one for closing windows);
//! 2. every record `(k, v)` goes to each window of its event time, combined on the map side by
//!    `(k, window)` with the latest event time and the number of records, and shuffled into
//!    the operator's key groups;
//! 3. a reduce task drops the rows of windows closed under the late-record watermark (late:
//!    counted; not in complete mode, which keeps every window), merges the rest into the state (two phases: changes are computed, then committed), and emits by output mode
//!    ([`plan_window`]) under the eviction watermark: append — the windows it closes, once,
//!    then their state goes; update — the windows this batch changed, then the closed ones
//!    go; complete — every window, none dropped;
//! 4. the watermarks [`advance`] with the latest event time of the batch, for the next batch.
//!    A batch without records keeps the watermark, and still closes windows.
//!
//! The windows' state is a key-group store keyed by `(key, window)` whose timers are the
//! windows' ends, so closing windows reads only the timer buckets the watermark passed. It and
//! the watermark are checkpointed (as two operators, `name` and `name#watermark`). A task's
//! output is sorted by window and key hash, so a re-run batch emits the same lines in the same
//! order.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::hash::stable_hash;
use sluice_core::{Data, Key, Result};

use super::output::{new_output, Combiner, MergeFn, WindowAggregation};
use super::watermark::{is_closed, plan_window, Watermarks};
use super::window::{EventWindow, WindowRange};
use super::{OutputMode, Watermarked};
use crate::dstream::materialized::{register_materializer, Materialized};
use crate::dstream::stateful::records;
use crate::state::store::KeyGroupPartitioner;
use crate::state::{StateStore, DEFAULT_KEY_GROUPS};
use crate::time::Time;

impl<K, V> Watermarked<(K, V)>
where
    K: Key + Serialize + DeserializeOwned,
    V: Data,
{
    /// The general form: aggregates each key's values per event-time window with Spark's
    /// three `combineByKey` functions, emitting by `mode`.
    pub fn combine_by_window<A>(
        &self,
        window: EventWindow,
        create: impl Fn(V) -> A + Send + Sync + 'static,
        merge_value: impl Fn(A, V) -> A + Send + Sync + 'static,
        merge: impl Fn(A, A) -> A + Send + Sync + 'static,
        mode: OutputMode,
    ) -> Result<WindowAggregation<K, V, A>>
    where
        A: Data + Serialize + DeserializeOwned,
    {
        self.stream.check_can_add()?;
        let combiner = Combiner {
            create: Arc::new(create),
            merge_value: Arc::new(merge_value),
            merge: Arc::new(merge),
        };
        Ok(build(self, window, combiner, mode))
    }

    /// Reduces each key's values per window with `f` (associative and commutative).
    pub fn reduce_by_window(
        &self,
        window: EventWindow,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        mode: OutputMode,
    ) -> Result<WindowAggregation<K, V, V>>
    where
        V: Serialize + DeserializeOwned,
    {
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        self.combine_by_window(
            window,
            |v| v,
            move |a, v| f(a, v),
            move |a, b| g(a, b),
            mode,
        )
    }

    /// Counts each key's records per window.
    pub fn count_by_window(
        &self,
        window: EventWindow,
        mode: OutputMode,
    ) -> Result<WindowAggregation<K, V, u64>> {
        self.combine_by_window(window, |_| 1u64, |a, _| a + 1, |a, b| a + b, mode)
    }

    /// Folds each key's values per window into an aggregate that starts at `zero()` (Spark's
    /// `aggregateByKey`: `seq` adds a value, `comb` merges two aggregates).
    pub fn aggregate_by_window<A>(
        &self,
        window: EventWindow,
        zero: impl Fn() -> A + Send + Sync + 'static,
        seq: impl Fn(A, V) -> A + Send + Sync + 'static,
        comb: impl Fn(A, A) -> A + Send + Sync + 'static,
        mode: OutputMode,
    ) -> Result<WindowAggregation<K, V, A>>
    where
        A: Data + Serialize + DeserializeOwned,
    {
        let seq = Arc::new(seq);
        let seq2 = Arc::clone(&seq);
        self.combine_by_window(
            window,
            move |v| seq(zero(), v),
            move |a, v| seq2(a, v),
            comb,
            mode,
        )
    }
}

fn build<K, V, A>(
    src: &Watermarked<(K, V)>,
    window: EventWindow,
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
    let store: Arc<StateStore<(K, WindowRange), A>> =
        Arc::new(StateStore::new(DEFAULT_KEY_GROUPS, true));
    let partitioner = KeyGroupPartitioner {
        groups: store.num_groups(),
        partitions: n,
    };
    // Late records are set aside on the map side, one partition per input partition.
    let (late_parent, late_ctx) = (src.stream.clone(), ctx.clone());
    let parts = new_output::<(i64, (K, V)), K, V, A>(
        &src.stream,
        "event_time_window",
        n,
        sluice_core::Partitioner::<(K, WindowRange)>::fingerprint(&partitioner),
        Arc::new(move |t| {
            Ok(late_parent
                .get_or_compute(t)?
                .unwrap_or_else(|| late_ctx.empty())
                .num_partitions())
        }),
    );
    let (out, late_out, stream) = (
        Arc::clone(&parts.out),
        Arc::clone(&parts.late_out),
        parts.stream.clone(),
    );
    let (parent, inputs, policy) = (src.stream.clone(), Arc::clone(&src.inputs), src.policy());
    let (st, wm) = (Arc::clone(&store), Arc::clone(&parts.watermark));
    let partitioner = Arc::new(partitioner);
    register_materializer(&stream, move |t| {
        let w = wm.get();
        let input = parent.get_or_compute(t)?.unwrap_or_else(|| ctx.empty());
        let (c1, c2, c3) = (combiner.clone(), combiner.clone(), combiner.clone());
        // Rows of windows closed under the late-record watermark are late: set aside here
        // (complete mode keeps every window, as in Spark).
        let late_wm = (mode != OutputMode::Complete).then_some(w.for_late_records);
        let (n_in, late_out2) = (input.num_partitions(), Arc::clone(&late_out));
        let windowed = input.map_partitions_with_index(move |split, it| {
            let mut late = LateRows::new(Arc::clone(&late_out2), t, split, n_in);
            it.flat_map(move |(ts, (k, v)): (i64, (K, V))| {
                let wins: Vec<WindowRange> = window.windows_of(ts).collect();
                let mut out = Vec::with_capacity(wins.len());
                let mut put = |k: K, v: V, win: WindowRange| {
                    if late_wm.is_some_and(|lw| is_closed(win, lw)) {
                        late.rows.push(((k, win), v));
                    } else {
                        out.push(((k, win), v));
                    }
                };
                if let Some((last, rest)) = wins.split_last() {
                    for win in rest {
                        put(k.clone(), v.clone(), *win);
                    }
                    put(k, v, *last);
                }
                out
            })
        });
        let combined = windowed.combine_by_key_with(
            partitioner.clone(),
            true,
            move |v| (c1.create)(v),
            move |a, v| (c2.merge_value)(a, v),
            move |a, b| (c3.merge)(a, b),
        );
        let (st2, out2, merge) = (
            Arc::clone(&st),
            Arc::clone(&out),
            Arc::clone(&combiner.merge),
        );
        combined.run_job(move |it, tc| {
            let emitted = apply(&st2, tc.partition, n, records(it)?, w, mode, &*merge)?;
            out2.put_partition(t, tc.partition, n, emitted);
            Ok(())
        })?;
        let late: u64 = late_out
            .get(t)
            .map_or(0, |parts| parts.iter().map(|p| p.len() as u64).sum());
        super::after_batch(&wm, w, &inputs, t, policy, late);
        Ok(())
    });
    parts.finish("event_time_window", store)
}

type Emitted<K, A> = Vec<((K, WindowRange), A)>;

/// Merges a partition's combined rows into its key groups and emits by `mode`.
fn apply<K, A>(
    store: &StateStore<(K, WindowRange), A>,
    p: usize,
    n: usize,
    rows: Vec<((K, WindowRange), A)>,
    w: Watermarks,
    mode: OutputMode,
    merge: &MergeFn<A>,
) -> Result<Emitted<K, A>>
where
    K: Key,
    A: Data,
{
    let groups = store.groups_of_partition(p, n);
    let mut guards = store.lock(&groups);
    // Phase 1: the changes, by group, computed from the current values. The combine left
    // one row per (key, window) in the partition.
    let mut changes: Vec<Vec<((K, WindowRange), A)>> =
        (0..groups.len()).map(|_| Vec::new()).collect();
    for (key, part) in rows {
        let gi = store.slot_of(&key, p, n)?;
        let merged = match guards[gi].map.get(&key) {
            Some(e) => merge(e.value.clone(), part),
            None => part,
        };
        changes[gi].push((key, merged));
    }
    // Phase 2: commit (timers at the windows' ends), emit and drop by mode.
    let watermark = w.for_eviction;
    let mut emitted = Vec::new();
    for (gi, changed) in changes.into_iter().enumerate() {
        let guard = &mut guards[gi];
        for (key, a) in changed {
            // Rows this batch changed (update mode emits them, closed or not).
            if mode == OutputMode::Update && plan_window(mode, key.1, true, watermark).0 {
                emitted.push((key.clone(), a.clone()));
            }
            let end = key.1.end;
            store.put_at(guard, key, a, end);
        }
        if mode == OutputMode::Complete {
            emitted.extend(guard.map.iter().map(|(k, e)| (k.clone(), e.value.clone())));
            continue;
        }
        // Append and update: the windows the watermark closed leave the state (append emits
        // them now, once).
        for (key, a) in store.take_expired(guard, watermark.saturating_add(1)) {
            if plan_window(mode, key.1, false, watermark).0 {
                emitted.push((key, a));
            }
        }
    }
    // A checkpointed job rebuilds its maps in another order after a restore: the same order
    // every time makes a re-run batch emit the same lines.
    if store.tracks_changes() {
        emitted.sort_by_cached_key(|((k, w), _)| (w.start, w.end, stable_hash(k)));
    }
    Ok(emitted)
}

/// The late rows of one input partition of one batch, stored when the partition's records
/// have all gone by (a retried task stores its own, replacing them).
struct LateRows<K: Key, V: Data> {
    rows: Vec<((K, WindowRange), V)>,
    out: Arc<Materialized<((K, WindowRange), V)>>,
    time: Time,
    split: usize,
    splits: usize,
}

impl<K: Key, V: Data> LateRows<K, V> {
    fn new(
        out: Arc<Materialized<((K, WindowRange), V)>>,
        time: Time,
        split: usize,
        splits: usize,
    ) -> Self {
        LateRows {
            rows: Vec::new(),
            out,
            time,
            split,
            splits,
        }
    }
}

impl<K: Key, V: Data> Drop for LateRows<K, V> {
    fn drop(&mut self) {
        let rows = std::mem::take(&mut self.rows);
        self.out
            .put_partition(self.time, self.split, self.splits, rows);
    }
}
