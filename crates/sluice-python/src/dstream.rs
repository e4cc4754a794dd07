//! `NativeDStream`: the engine stream operations Python's `DStream` is built on.
//!
//! Python's `DStream` (in `python/sluice/streaming/dstream.py`) turns every per-batch
//! operation into a `transform` whose function runs on the driver each batch and builds that
//! batch's RDD; windows, unions, slices and output operations are the engine's own.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyList;
use sluice_core::Rdd;
use sluice_streaming::state::{KeyUpdate, StateUpdate};
use sluice_streaming::{DStream, Time};

use crate::chunk::Chunk;
use crate::error::{from_py, IntoPyResult};
use crate::rdd::{text_lines, NativeRdd};
use crate::state::{from_pairs, same_immutable, to_pairs, PyObj};

/// A stream of RDDs of Python records.
#[pyclass(name = "NativeDStream", module = "sluice._native", frozen)]
pub(crate) struct NativeDStream {
    pub(crate) stream: DStream<Chunk>,
}

impl NativeDStream {
    pub(crate) fn new(stream: DStream<Chunk>) -> NativeDStream {
        NativeDStream { stream }
    }
}

/// The RDD a Python batch function returned (`None` is an empty RDD).
fn rdd_of(out: &Bound<'_, PyAny>, empty: impl FnOnce() -> Rdd<Chunk>) -> PyResult<Rdd<Chunk>> {
    if out.is_none() {
        return Ok(empty());
    }
    Ok(out.cast::<NativeRdd>()?.get().rdd.clone())
}

#[pymethods]
impl NativeDStream {
    /// The stream's id.
    fn id(&self) -> usize {
        self.stream.id()
    }

    /// The stream's slide (its batch period), in milliseconds.
    fn slide_ms(&self) -> u64 {
        self.stream.slide_duration().as_millis() as u64
    }

    /// Names the stream (checkpointed state is matched by name).
    fn set_name(&self, name: String) {
        self.stream.set_name(name);
    }

    /// The stream's name.
    fn name(&self) -> String {
        self.stream.name()
    }

    /// A stream whose RDD at each batch is `f(time_ms, rdd)`.
    fn transform(&self, f: Py<PyAny>) -> NativeDStream {
        let f = Arc::new(f);
        NativeDStream::new(self.stream.transform(move |rdd, time: Time| {
            let ctx = rdd.context().clone();
            Python::attach(|py| {
                let out = f
                    .bind(py)
                    .call1((time.millis(), NativeRdd::new(rdd)))
                    .and_then(|out| rdd_of(&out, || ctx.empty()));
                out.map_err(|e| from_py(py, e))
            })
        }))
    }

    /// A stream whose RDD at each batch is `f(time_ms, this_rdd, other_rdd)`.
    fn transform_with(&self, other: &NativeDStream, f: Py<PyAny>) -> NativeDStream {
        let f = Arc::new(f);
        NativeDStream::new(
            self.stream
                .transform_with(&other.stream, move |a, b, time: Time| {
                    let ctx = a.context().clone();
                    Python::attach(|py| {
                        let out = f
                            .bind(py)
                            .call1((time.millis(), NativeRdd::new(a), NativeRdd::new(b)))
                            .and_then(|out| rdd_of(&out, || ctx.empty()));
                        out.map_err(|e| from_py(py, e))
                    })
                }),
        )
    }

    /// Both streams' records, batch by batch.
    fn union(&self, other: &NativeDStream) -> NativeDStream {
        NativeDStream::new(self.stream.union(&other.stream))
    }

    /// The union of the RDDs of the last `window_ms`, every `slide_ms`.
    fn window(&self, window_ms: u64, slide_ms: u64) -> PyResult<NativeDStream> {
        self.stream
            .window(
                Duration::from_millis(window_ms),
                Duration::from_millis(slide_ms),
            )
            .map(NativeDStream::new)
            .py_err()
    }

    /// Marks the stream for checkpointing every `interval_ms`.
    fn checkpoint(&self, interval_ms: u64) -> PyResult<()> {
        self.stream
            .checkpoint(Duration::from_millis(interval_ms))
            .map(|_| ())
            .py_err()
    }

    /// The RDDs of the batches in `[from_ms, to_ms]`.
    fn slice(&self, from_ms: i64, to_ms: i64) -> PyResult<Vec<NativeRdd>> {
        let rdds = self
            .stream
            .slice(Time::from_millis(from_ms), Time::from_millis(to_ms))
            .py_err()?;
        Ok(rdds.into_iter().map(NativeRdd::new).collect())
    }

    /// Registers `f(time_ms, rdd)` as an output operation.
    fn foreach_rdd(&self, f: Py<PyAny>) -> PyResult<()> {
        let f = Arc::new(f);
        self.stream
            .foreach_rdd(move |rdd, time: Time| {
                Python::attach(|py| {
                    f.bind(py)
                        .call1((time.millis(), NativeRdd::new(rdd)))
                        .map(|_| ())
                        .map_err(|e| from_py(py, e))
                })
            })
            .py_err()
    }

    /// Keeps a state per key of the stream's `(key, value)` records in the engine's keyed
    /// state: `f(new_values, state)` for every key with state or new values, once per key and
    /// batch (the interpreter lock taken once per key group); `None` removes the key. With
    /// `with_time_and_key` the call is `f(time_ms, key, new_values, state)`. The state is
    /// checkpointed under `name`; the stream holds every `(key, state)`.
    #[pyo3(signature = (f, name, partitions, initial, with_time_and_key = false))]
    fn update_state_by_key(
        &self,
        f: Py<PyAny>,
        name: String,
        partitions: Option<usize>,
        initial: Option<PyRef<'_, NativeRdd>>,
        with_time_and_key: bool,
    ) -> NativeDStream {
        let pairs = self.stream.transform(|rdd, _| Ok(to_pairs(&rdd)));
        let initial = initial.map(|r| to_pairs(&r.rdd));
        let f = Arc::new(f);
        let states = pairs.update_state_by_key_partitions(
            move |time: Time, keys: Vec<KeyUpdate<'_, _, PyObj, PyObj>>| {
                Python::attach(|py| {
                    let func = f.bind(py);
                    let mut answers = Vec::with_capacity(keys.len());
                    for u in &keys {
                        let values = PyList::new(py, u.values.iter().map(|v| v.bind(py)));
                        let state = u.state.map(|s| s.bind(py).clone());
                        let out = values.and_then(|vs| match with_time_and_key {
                            true => func.call1((time.millis(), u.key.bind(py), vs, state)),
                            false => func.call1((vs, state)),
                        });
                        match out {
                            Ok(s) if s.is_none() => answers.push(StateUpdate::Remove),
                            Ok(s) => answers.push(match u.state {
                                // An immutable value equal to the state is no change.
                                Some(old) if same_immutable(old.bind(py), &s) => StateUpdate::Keep,
                                // Otherwise a change (a mutable state may have been changed
                                // in place, even if it is the same object).
                                _ => StateUpdate::Set(PyObj::new(&s)),
                            }),
                            Err(e) => return Err(from_py(py, e)),
                        }
                    }
                    Ok(answers)
                })
            },
            partitions,
            initial,
        );
        states.set_name(name);
        NativeDStream::new(states.transform(|rdd, _| Ok(from_pairs(&rdd))))
    }

    /// Writes every batch as text files under `prefix-TIME_IN_MS[.suffix]`.
    fn save_as_text_files(&self, prefix: &str, suffix: &str) -> PyResult<()> {
        self.stream
            .transform(|rdd, _| Ok(text_lines(&rdd)))
            .save_as_text_files(prefix, suffix)
            .py_err()
    }
}
