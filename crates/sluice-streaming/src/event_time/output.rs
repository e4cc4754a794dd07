//! What the event-time aggregations share: the handle a program gets
//! ([`WindowAggregation`]), the stream of emitted rows, the aggregation functions, and the
//! watermark and output registration.

use std::sync::Arc;

use sluice_core::{Context, Data, Key, Rdd, Result};

use super::watermark::WatermarkCell;
use super::window::WindowRange;
use crate::dstream::materialized::Materialized;
use crate::dstream::{DStream, StreamCompute};
use crate::graph::WatermarkReport;
use crate::time::Time;

pub(crate) type CreateFn<V, A> = dyn Fn(V) -> A + Send + Sync;
pub(crate) type MergeValueFn<V, A> = dyn Fn(A, V) -> A + Send + Sync;
pub(crate) type MergeFn<A> = dyn Fn(A, A) -> A + Send + Sync;

/// The three functions of an aggregation (Spark's `combineByKey`).
pub(crate) struct Combiner<V, A> {
    pub create: Arc<CreateFn<V, A>>,
    pub merge_value: Arc<MergeValueFn<V, A>>,
    pub merge: Arc<MergeFn<A>>,
}

impl<V, A> Clone for Combiner<V, A> {
    fn clone(&self) -> Self {
        Combiner {
            create: Arc::clone(&self.create),
            merge_value: Arc::clone(&self.merge_value),
            merge: Arc::clone(&self.merge),
        }
    }
}

/// A keyed aggregation over event-time windows: its stream of `((key, window), aggregate)`
/// rows and what it reports (watermark, late records, state size).
pub struct WindowAggregation<K: Key, A: Data> {
    pub(crate) stream: DStream<((K, WindowRange), A)>,
    pub(crate) watermark: Arc<WatermarkCell>,
}

impl<K: Key, A: Data> Clone for WindowAggregation<K, A> {
    fn clone(&self) -> Self {
        WindowAggregation {
            stream: self.stream.clone(),
            watermark: Arc::clone(&self.watermark),
        }
    }
}

impl<K: Key, A: Data> WindowAggregation<K, A> {
    /// The rows each batch emits (which ones: see [`OutputMode`](super::OutputMode)).
    pub fn stream(&self) -> DStream<((K, WindowRange), A)> {
        self.stream.clone()
    }

    /// The watermark the next batch closes windows by, ms.
    pub fn watermark_ms(&self) -> i64 {
        self.watermark.get().for_eviction
    }

    /// Records dropped so far because their window had closed (a record of a sliding window
    /// counts once per window it was too late for).
    pub fn late_records(&self) -> u64 {
        self.watermark.late_records()
    }

    /// Windows (or sessions' keys) held in state.
    pub fn state_size(&self) -> usize {
        self.watermark.state_size()
    }

    /// Names the aggregation (required when checkpointing: its state is matched by name).
    pub fn set_name(self, name: impl Into<String>) -> Self {
        self.stream.set_name(name);
        self
    }
}

pub(crate) struct Emitted<K: Key, A: Data> {
    pub ctx: Context,
    pub out: Arc<Materialized<((K, WindowRange), A)>>,
    pub partitions: usize,
    pub fingerprint: Option<String>,
}

impl<K: Key, A: Data> StreamCompute<((K, WindowRange), A)> for Emitted<K, A> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<((K, WindowRange), A)>>> {
        Ok(Some(self.out.rdd(
            &self.ctx,
            "event_time_window",
            self.partitions,
            self.fingerprint.clone(),
            time,
        )))
    }
    fn forget_before(&self, time: Time) {
        self.out.forget_before(time);
    }
}

/// The emitted stream of a new event-time aggregation of `parent` (with its materialized
/// rows, its watermark and its progress), in `partitions` partitions laid out by
/// `fingerprint`.
pub(crate) fn new_output<T: Data, K: Key, A: Data>(
    parent: &DStream<T>,
    name: &str,
    partitions: usize,
    fingerprint: Option<String>,
) -> OutputParts<K, A> {
    let out = Materialized::new();
    let stream = parent.child(
        name,
        Emitted {
            ctx: parent.context().clone(),
            out: Arc::clone(&out),
            partitions,
            fingerprint,
        },
    );
    let watermark = WatermarkCell::new(stream.base());
    OutputParts {
        stream,
        out,
        watermark,
    }
}

/// What [`new_output`] makes.
pub(crate) struct OutputParts<K: Key, A: Data> {
    pub stream: DStream<((K, WindowRange), A)>,
    pub out: Arc<Materialized<((K, WindowRange), A)>>,
    pub watermark: Arc<WatermarkCell>,
}

impl<K: Key, A: Data> OutputParts<K, A> {
    /// Registers the state (`store`, of kind `kind`) and the watermark as checkpointed
    /// operators, and returns the program's handle.
    pub(crate) fn finish<SK, S>(
        self,
        kind: &'static str,
        store: Arc<crate::state::StateStore<SK, S>>,
    ) -> WindowAggregation<K, A>
    where
        SK: Key + serde::Serialize + serde::de::DeserializeOwned,
        S: Data + serde::Serialize + serde::de::DeserializeOwned,
    {
        let env = &self.stream.node.meta.env;
        env.register_operator(Arc::new(crate::checkpoint::operator::StoreOperator {
            stream: self.stream.base(),
            kind,
            store: Arc::clone(&store),
        }));
        self.watermark.register(env, Box::new(move || store.len()));
        WindowAggregation {
            stream: self.stream,
            watermark: self.watermark,
        }
    }

    /// Records what a batch did: its late records, and the watermarks for the next one.
    pub(crate) fn after_batch(
        watermark: &WatermarkCell,
        ran_with: super::Watermarks,
        results: &[(Option<i64>, u64)],
        delay_ms: i64,
    ) {
        let batch_max = results.iter().filter_map(|r| r.0).max();
        watermark.after_batch(
            ran_with,
            batch_max,
            results.iter().map(|r| r.1).sum(),
            delay_ms,
        );
    }
}
