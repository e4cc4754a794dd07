//! What the event-time aggregations share: the handle a program gets
//! ([`WindowAggregation`]), the streams of emitted rows and of late records, the aggregation
//! functions, and the watermark and output registration.

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

/// A keyed aggregation of values `V` into aggregates `A` over event-time windows: its stream
/// of `((key, window), aggregate)` rows, the stream of the records it dropped as late, and
/// what it reports (watermark, late records, state size).
pub struct WindowAggregation<K: Key, V: Data, A: Data> {
    pub(crate) stream: DStream<((K, WindowRange), A)>,
    pub(crate) late: DStream<((K, WindowRange), V)>,
    pub(crate) watermark: Arc<WatermarkCell>,
}

impl<K: Key, V: Data, A: Data> Clone for WindowAggregation<K, V, A> {
    fn clone(&self) -> Self {
        WindowAggregation {
            stream: self.stream.clone(),
            late: self.late.clone(),
            watermark: Arc::clone(&self.watermark),
        }
    }
}

impl<K: Key, V: Data, A: Data> WindowAggregation<K, V, A> {
    /// The rows each batch emits (which ones: see [`OutputMode`](super::OutputMode)).
    pub fn stream(&self) -> DStream<((K, WindowRange), A)> {
        self.stream.clone()
    }

    /// The records each batch dropped as late, with the window they were too late for (a
    /// record of a sliding window appears once per such window): a side output for
    /// inspection. Its RDDs are read after the aggregation ran for the batch.
    pub fn late_records_stream(&self) -> DStream<((K, WindowRange), V)> {
        self.late.clone()
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

    /// Windows (or keys with sessions) held in state.
    pub fn state_size(&self) -> usize {
        self.watermark.state_size()
    }

    /// Names the aggregation (required when checkpointing: its state is matched by name).
    pub fn set_name(self, name: impl Into<String>) -> Self {
        self.stream.set_name(name);
        self
    }
}

/// A stream read from rows a hidden job materialized, `partitions(t)` partitions at batch `t`.
pub(crate) struct Emitted<T: Data> {
    pub ctx: Context,
    pub name: &'static str,
    pub out: Arc<Materialized<T>>,
    pub partitions: Arc<dyn Fn(Time) -> Result<usize> + Send + Sync>,
    pub fingerprint: Option<String>,
}

impl<T: Data> StreamCompute<T> for Emitted<T> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        Ok(Some(self.out.rdd(
            &self.ctx,
            self.name,
            (self.partitions)(time)?,
            self.fingerprint.clone(),
            time,
        )))
    }
    fn forget_before(&self, time: Time) {
        self.out.forget_before(time);
    }
}

/// The emitted stream of a new event-time aggregation of `parent` (in `partitions`
/// partitions laid out by `fingerprint`), its late-record stream (`late_partitions(t)`
/// partitions), and its watermark.
pub(crate) fn new_output<T: Data, K: Key, V: Data, A: Data>(
    parent: &DStream<T>,
    name: &'static str,
    partitions: usize,
    fingerprint: Option<String>,
    late_partitions: Arc<dyn Fn(Time) -> Result<usize> + Send + Sync>,
) -> OutputParts<K, V, A> {
    let ctx = parent.context().clone();
    let out = Materialized::new();
    let stream = parent.child(
        name,
        Emitted {
            ctx: ctx.clone(),
            name,
            out: Arc::clone(&out),
            partitions: Arc::new(move |_| Ok(partitions)),
            fingerprint,
        },
    );
    let late_out = Materialized::new();
    let late = parent.child(
        "late_records",
        Emitted {
            ctx,
            name: "late_records",
            out: Arc::clone(&late_out),
            partitions: late_partitions,
            fingerprint: None,
        },
    );
    let watermark = WatermarkCell::new(stream.base());
    OutputParts {
        stream,
        out,
        late,
        late_out,
        watermark,
    }
}

/// What [`new_output`] makes.
pub(crate) struct OutputParts<K: Key, V: Data, A: Data> {
    pub stream: DStream<((K, WindowRange), A)>,
    pub out: Arc<Materialized<((K, WindowRange), A)>>,
    pub late: DStream<((K, WindowRange), V)>,
    pub late_out: Arc<Materialized<((K, WindowRange), V)>>,
    pub watermark: Arc<WatermarkCell>,
}

impl<K: Key, V: Data, A: Data> OutputParts<K, V, A> {
    /// Registers the state (`store`, of kind `kind`) and the watermark as checkpointed
    /// operators, and returns the program's handle.
    pub(crate) fn finish<SK, S>(
        self,
        kind: &'static str,
        store: Arc<crate::state::StateStore<SK, S>>,
    ) -> WindowAggregation<K, V, A>
    where
        SK: Key + serde::Serialize + serde::de::DeserializeOwned,
        S: Data + serde::Serialize + serde::de::DeserializeOwned,
    {
        let env = &self.stream.node.meta.env;
        env.register_operator(Arc::new(crate::checkpoint::operator::StoreOperator {
            stream: self.stream.base(),
            kind,
            store: store.clone(),
        }));
        self.watermark.register(env, Box::new(move || store.len()));
        WindowAggregation {
            stream: self.stream,
            late: self.late,
            watermark: self.watermark,
        }
    }
}
