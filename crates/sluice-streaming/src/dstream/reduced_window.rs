//! Incremental window aggregations: `reduce_by_key_and_window` with an inverse function, and
//! what is built on it (`reduce_by_window` with an inverse, `count_by_window`,
//! `count_by_value_and_window`).
//!
//! Each slide, the new window's value per key is the previous window's value, minus (with the
//! inverse function) the batches that left the window, plus the batches that entered it — so
//! the work is proportional to the batches entering and leaving, not to the window length.
//! As in Spark, keys are never dropped (a count may reach 0) unless the filter function
//! removes them, and the per-batch reductions and the window share one hash partitioning, so
//! the merge needs no shuffle. The window values are [materialized](super::materialized).

use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Data, Error, Key, Result};

use crate::graph::{CheckpointedOperator, DStreamBase};

use super::materialized::{register_materializer, Materialized};
use super::window::check_window;
use super::{DStream, StreamCompute};
use crate::time::Time;

type ReduceFn<V> = dyn Fn(V, V) -> V + Send + Sync;
/// A filter applied to each window's `(key, value)` pairs; pairs it rejects are dropped from
/// the window (and so from the next window's starting point).
pub type WindowFilter<K, V> = Arc<dyn Fn(&(K, V)) -> bool + Send + Sync>;

/// Merges one partition: `inputs[0]` is the previous window, then `n_old` leaving batches,
/// then the entering batches.
fn merge_partition<K: Key, V: Data>(
    inputs: Vec<Vec<(K, V)>>,
    n_old: usize,
    f: &ReduceFn<V>,
    inv: &ReduceFn<V>,
    filter: Option<&WindowFilter<K, V>>,
) -> Vec<(K, V)> {
    let mut inputs = inputs.into_iter();
    let mut state: FxHashMap<K, V> = inputs.next().unwrap_or_default().into_iter().collect();
    let fold = |parts: Vec<Vec<(K, V)>>| {
        let mut m: FxHashMap<K, V> = FxHashMap::default();
        for (k, v) in parts.into_iter().flatten() {
            let merged = match m.remove(&k) {
                Some(a) => f(a, v),
                None => v,
            };
            m.insert(k, merged);
        }
        m
    };
    let old = fold(inputs.by_ref().take(n_old).collect());
    let new = fold(inputs.collect());
    for (k, o) in old {
        // A key leaving the window is in the previous window (keys hash consistently).
        if let Some(v) = state.remove(&k) {
            state.insert(k, inv(v, o));
        }
    }
    for (k, n) in new {
        let v = match state.remove(&k) {
            Some(v) => f(v, n),
            None => n,
        };
        state.insert(k, v);
    }
    match filter {
        Some(keep) => state.into_iter().filter(|kv| keep(kv)).collect(),
        None => state.into_iter().collect(),
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Values of each key over a window, maintained incrementally: each slide adds the
    /// batches entering the window with `f` and removes those leaving with `inv` (so `inv` must
    /// undo `f`: `inv(f(a, b), b) == a`). Keys stay, possibly with a "zero" value, unless
    /// `filter` removes them. `partitions` defaults to the default parallelism.
    ///
    /// ```
    /// use sluice_streaming::{testing::run_stream, time::seconds};
    /// let out = run_stream(vec![vec![('a', 1)], vec![('a', 1)], vec![]], 3, |s| {
    ///     s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, seconds(2), seconds(1))
    ///         .unwrap()
    /// })
    /// .unwrap();
    /// assert_eq!(out, vec![vec![('a', 1)], vec![('a', 2)], vec![('a', 1)]]);
    /// ```
    pub fn reduce_by_key_and_window_inv(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<(K, V)>>
    where
        K: Serialize + DeserializeOwned,
        V: Serialize + DeserializeOwned,
    {
        self.reduce_by_key_and_window_inv_with(f, inv, window, slide, None, None)
    }

    /// [`reduce_by_key_and_window_inv`](DStream::reduce_by_key_and_window_inv) with a number
    /// of partitions and a filter.
    pub fn reduce_by_key_and_window_inv_with(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
        partitions: Option<usize>,
        filter: Option<WindowFilter<K, V>>,
    ) -> Result<DStream<(K, V)>>
    where
        K: Serialize + DeserializeOwned,
        V: Serialize + DeserializeOwned,
    {
        self.check_can_add()?;
        check_window(self.slide_duration(), window, slide)?;
        let n = partitions
            .unwrap_or_else(|| self.context().default_parallelism())
            .max(1);
        let f: Arc<ReduceFn<V>> = Arc::new(f);
        let inv: Arc<ReduceFn<V>> = Arc::new(inv);
        let f1 = Arc::clone(&f);
        let reduced = self.reduce_by_key_into(n, move |a, b| f1(a, b));
        let store = Materialized::new();
        let ctx = self.context().clone();
        let stream = DStream::new_node(
            &self.node.meta.env,
            "reduce_by_key_and_window",
            slide,
            vec![reduced.base()],
            window + slide,
            WindowRdds {
                ctx: ctx.clone(),
                store: Arc::clone(&store),
                partitions: n,
            },
        );
        let me = stream.clone();
        let parent_slide = reduced.slide_duration();
        // Each batch's reduced values are kept until they leave the window (and checkpointed
        // with the window), so that a restored job can subtract them.
        let batches: Arc<Materialized<(K, V)>> = Materialized::new();
        let (store2, batches2) = (Arc::clone(&store), Arc::clone(&batches));
        register_materializer(&stream, move |t| {
            let zero = me.node.meta.zero_time.lock().unwrap_or(t);
            let prev_time = t - slide;
            let parts_rdd =
                |parts: super::materialized::Parts<(K, V)>| ctx.parallelize_shared(parts.to_vec());
            let empty = || ctx.parallelize_shared((0..n).map(|_| Arc::new(Vec::new())).collect());
            // The reduced values of the parent's batches in (from, to], computing those not
            // kept yet.
            let batch_rdds = |from: Time, to: Time| -> Result<Vec<sluice_core::Rdd<(K, V)>>> {
                let mut out = Vec::new();
                let mut b = from + parent_slide;
                while b <= to {
                    if b > zero {
                        if let Some(parts) = batches.get(b) {
                            out.push(parts_rdd(parts));
                        } else if let Some(r) = reduced.get_or_compute(b)? {
                            let parts = batches.put(b, r.collect_partitions()?);
                            out.push(parts_rdd(parts));
                        }
                    }
                    b = b + parent_slide;
                }
                Ok(out)
            };
            let (prev, old, new) = match store.get(prev_time) {
                Some(parts) if prev_time > zero => (
                    parts_rdd(parts),
                    batch_rdds(prev_time - window, t - window)?,
                    batch_rdds(prev_time, t)?,
                ),
                // The first window, or the previous one is unavailable (its batch failed):
                // start from the batches in the window.
                _ => (empty(), Vec::new(), batch_rdds(t - window, t)?),
            };
            let n_old = old.len();
            let mut rdds = vec![prev];
            rdds.extend(old);
            rdds.extend(new);
            let (f, inv, filter) = (Arc::clone(&f), Arc::clone(&inv), filter.clone());
            let merged = ctx.zip_partitions(&rdds, move |_, inputs| {
                Ok(merge_partition(inputs, n_old, &*f, &*inv, filter.as_ref()))
            })?;
            store.put(t, merged.collect_partitions()?);
            // Batches that have left the window are no longer needed.
            batches.forget_before(t - window + parent_slide);
            Ok(())
        });
        self.node
            .meta
            .env
            .register_operator(Arc::new(WindowOperator {
                stream: stream.base(),
                windows: store2,
                batches: batches2,
                partitions: n,
            }));
        Ok(stream)
    }
}

/// The RDDs of an incremental window: the stored partitions of each batch.
struct WindowRdds<K: Data, V: Data> {
    ctx: sluice_core::Context,
    store: Arc<Materialized<(K, V)>>,
    partitions: usize,
}

impl<K: Key, V: Data> StreamCompute<(K, V)> for WindowRdds<K, V> {
    fn compute(&self, time: Time) -> Result<Option<sluice_core::Rdd<(K, V)>>> {
        Ok(Some(self.store.rdd(
            &self.ctx,
            "reduce_by_key_and_window",
            self.partitions,
            Some(format!("hash:{}", self.partitions)),
            time,
        )))
    }
    fn forget_before(&self, time: Time) {
        self.store.forget_before(time);
    }
}

impl<T: Data> DStream<T> {
    /// All records of each window reduced with `f`, maintained incrementally with the inverse
    /// `inv` (see [`reduce_by_key_and_window_inv`](DStream::reduce_by_key_and_window_inv)).
    /// Once a window has had data, later empty windows yield the "zero" left after the
    /// inverse; a window that never had data yields nothing.
    pub fn reduce_by_window_inv(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        inv: impl Fn(T, T) -> T + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> Result<DStream<T>>
    where
        T: Serialize + DeserializeOwned,
    {
        Ok(self
            .map(|x| ((), x))
            .reduce_by_key_and_window_inv_with(f, inv, window, slide, Some(1), None)?
            .map(|(_, v)| v)
            .set_name("reduce_by_window"))
    }

    /// The number of records in each window (incremental, as Spark's `countByWindow`: `0` for
    /// an empty window once data has been seen).
    ///
    /// ```
    /// use sluice_streaming::{testing::run_stream, time::seconds};
    /// let input = vec![vec![1], vec![1], vec![1, 2], vec![0], vec![], vec![]];
    /// let out = run_stream(input, 6, |s| s.count_by_window(seconds(2), seconds(1)).unwrap())
    ///     .unwrap();
    /// assert_eq!(out, vec![vec![1], vec![2], vec![3], vec![3], vec![1], vec![0]]);
    /// ```
    pub fn count_by_window(&self, window: Duration, slide: Duration) -> Result<DStream<u64>> {
        Ok(self
            .map(|_| 1u64)
            .reduce_by_window_inv(|a, b| a + b, |a, b| a - b, window, slide)?
            .set_name("count_by_window"))
    }

    /// `(record, count)` over each window, maintained incrementally; records whose count drops
    /// to zero are removed. `partitions` defaults to the default parallelism.
    pub fn count_by_value_and_window(
        &self,
        window: Duration,
        slide: Duration,
        partitions: Option<usize>,
    ) -> Result<DStream<(T, u64)>>
    where
        T: Key + Serialize + DeserializeOwned,
    {
        let keep: WindowFilter<T, u64> = Arc::new(|(_, c): &(T, u64)| *c != 0);
        Ok(self
            .map(|x| (x, 1u64))
            .reduce_by_key_and_window_inv_with(
                |a, b| a + b,
                |a, b| a - b,
                window,
                slide,
                partitions,
                Some(keep),
            )?
            .set_name("count_by_value_and_window"))
    }
}

/// An incremental window as the checkpoint sees it: per partition, the latest window value and
/// the reduced values of the batches still inside the window. Always written in full.
struct WindowOperator<K: Data, V: Data> {
    stream: Arc<dyn DStreamBase>,
    windows: Arc<Materialized<(K, V)>>,
    batches: Arc<Materialized<(K, V)>>,
    partitions: usize,
}

/// One partition of a window's checkpoint: (time, window value) and (time, batch value)s.
type WindowSnapshot<K, V> = (Option<(i64, Vec<(K, V)>)>, Vec<(i64, Vec<(K, V)>)>);

impl<K, V> CheckpointedOperator for WindowOperator<K, V>
where
    K: Key + Serialize + DeserializeOwned,
    V: Data + Serialize + DeserializeOwned,
{
    fn stream(&self) -> &Arc<dyn DStreamBase> {
        &self.stream
    }
    fn kind(&self) -> &'static str {
        "reduce_by_key_and_window"
    }
    fn key_type(&self) -> &'static str {
        std::any::type_name::<K>()
    }
    fn state_type(&self) -> &'static str {
        std::any::type_name::<V>()
    }
    fn num_groups(&self) -> usize {
        self.partitions
    }
    fn always_full(&self) -> bool {
        true
    }
    fn track_changes(&self) {}
    fn num_keys(&self) -> usize {
        self.windows
            .latest()
            .map_or(0, |(_, parts)| parts.iter().map(|p| p.len()).sum())
    }
    fn changed_groups(&self) -> Vec<usize> {
        (0..self.partitions).collect()
    }
    fn encode_group(&self, p: usize, _full: bool) -> Result<Vec<u8>> {
        let part = |parts: &super::materialized::Parts<(K, V)>| {
            parts.get(p).map(|v| v.to_vec()).unwrap_or_default()
        };
        let window = self
            .windows
            .latest()
            .map(|(t, parts)| (t.millis(), part(&parts)));
        let batches = self
            .batches
            .all()
            .into_iter()
            .map(|(t, parts)| (t.millis(), part(&parts)))
            .collect();
        let snapshot: WindowSnapshot<K, V> = (window, batches);
        bincode::serialize(&snapshot).map_err(|e| Error::Serialization(e.to_string()))
    }
    fn restore_group(&self, p: usize, files: &[Vec<u8>]) -> Result<()> {
        let Some(last) = files.last() else {
            return Ok(());
        };
        let (window, batches): WindowSnapshot<K, V> =
            bincode::deserialize(last).map_err(|e| Error::Serialization(e.to_string()))?;
        if let Some((t, data)) = window {
            self.windows
                .put_partition(Time::from_millis(t), p, self.partitions, data);
        }
        for (t, data) in batches {
            self.batches
                .put_partition(Time::from_millis(t), p, self.partitions, data);
        }
        Ok(())
    }
}
