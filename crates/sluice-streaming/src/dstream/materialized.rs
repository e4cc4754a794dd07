//! Materialized streams: streams whose RDD for a batch is computed once, completely, by a job
//! the stream schedules itself, and then held by the stream (not in the evictable block store).
//!
//! Incremental windows and keyed state build each batch's result from the previous one. If
//! that result were an ordinary lazy RDD, its lineage would grow by one link per batch and an
//! evicted partition would have to be recomputed from the beginning of time. Instead, a
//! materialized stream registers a hidden output operation, ahead of every output operation
//! defined on it, that computes all partitions of the batch's result and stores them; the RDD
//! the stream hands out for that batch reads the stored partitions and has no lineage at all.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use sluice_core::{Data, Error, Rdd, Result};

use super::{DStream, DStreamBase};
use crate::graph::{Job, OutputStream};
use crate::time::Time;

/// Partitions of one batch's result.
pub(crate) type Parts<T> = Arc<Vec<Arc<Vec<T>>>>;

/// The stored results of a materialized stream, by batch time.
pub(crate) struct Materialized<T> {
    parts: Mutex<BTreeMap<Time, Parts<T>>>,
}

impl<T: Data> Materialized<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Materialized {
            parts: Mutex::new(BTreeMap::new()),
        })
    }

    pub(crate) fn get(&self, time: Time) -> Option<Parts<T>> {
        self.parts.lock().get(&time).cloned()
    }

    pub(crate) fn put(&self, time: Time, parts: Vec<Vec<T>>) -> Parts<T> {
        let parts: Parts<T> = Arc::new(parts.into_iter().map(Arc::new).collect());
        self.parts.lock().insert(time, Arc::clone(&parts));
        parts
    }

    /// Sets partition `p` (of `n`) of batch `time`, creating the batch's other partitions empty.
    pub(crate) fn put_partition(&self, time: Time, p: usize, n: usize, data: Vec<T>) {
        let mut all = self.parts.lock();
        let mut parts: Vec<Arc<Vec<T>>> = match all.get(&time) {
            Some(existing) => existing.to_vec(),
            None => (0..n).map(|_| Arc::new(Vec::new())).collect(),
        };
        if p < parts.len() {
            parts[p] = Arc::new(data);
        }
        all.insert(time, Arc::new(parts));
    }

    /// The latest stored batch.
    pub(crate) fn latest(&self) -> Option<(Time, Parts<T>)> {
        self.parts
            .lock()
            .iter()
            .next_back()
            .map(|(t, p)| (*t, Arc::clone(p)))
    }

    /// Every stored batch, oldest first.
    pub(crate) fn all(&self) -> Vec<(Time, Parts<T>)> {
        self.parts
            .lock()
            .iter()
            .map(|(t, p)| (*t, Arc::clone(p)))
            .collect()
    }

    pub(crate) fn forget_before(&self, time: Time) {
        let mut p = self.parts.lock();
        let kept = p.split_off(&time);
        *p = kept;
    }

    /// The RDD of batch `time`: `n` partitions read from the store when a task runs (after the
    /// hidden job has stored them).
    pub(crate) fn rdd(
        self: &Arc<Self>,
        ctx: &sluice_core::Context,
        name: &str,
        n: usize,
        partitioner: Option<String>,
        time: Time,
    ) -> Rdd<T> {
        let store = Arc::clone(self);
        ctx.from_partition_fn(name, n, partitioner, move |p| {
            let parts = store.get(time).ok_or_else(|| {
                Error::Internal(format!("the result of batch {time} was not materialized"))
            })?;
            parts
                .get(p)
                .cloned()
                .ok_or_else(|| Error::Internal(format!("no partition {p} at {time}")))
        })
    }
}

type MaterializeFn = dyn Fn(Time) -> Result<()> + Send + Sync;

/// The hidden output operation of a materialized stream.
struct HiddenOutput<T: Data> {
    id: usize,
    name: String,
    stream: DStream<T>,
    run: Arc<MaterializeFn>,
}

impl<T: Data> OutputStream for HiddenOutput<T> {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn stream(&self) -> Arc<dyn DStreamBase> {
        self.stream.base()
    }
    fn generate_job(&self, time: Time) -> Result<Option<Job>> {
        if !self.stream.node.is_valid_time(time) {
            return Ok(None);
        }
        // The job computes its inputs when it runs; their sources must fix (and record) what
        // they read now, while the batch is generated, like those of every other job.
        for p in self.stream.base().parents() {
            p.prepare(time)?;
        }
        let run = Arc::clone(&self.run);
        Ok(Some(Job {
            output_id: self.id,
            name: self.name.clone(),
            run: Box::new(move || run(time)),
            lineage: Vec::new(),
        }))
    }
    fn is_internal(&self) -> bool {
        true
    }
}

/// Registers the hidden job that materializes `stream` at each of its batch times.
pub(crate) fn register_materializer<T: Data>(
    stream: &DStream<T>,
    run: impl Fn(Time) -> Result<()> + Send + Sync + 'static,
) {
    let env = &stream.node.meta.env;
    let id = env.next_output_id();
    env.register_output(Arc::new(HiddenOutput {
        id,
        name: format!("materialize {}", stream.name()),
        stream: stream.clone(),
        run: Arc::new(run),
    }));
}
