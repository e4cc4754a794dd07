//! `NativeStreamingContext`: the streaming context behind Python's `StreamingContext`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use sluice_core::{Error, Rdd};
use sluice_streaming::clock::ManualClock;
use sluice_streaming::{RddQueue, StopMode, StreamingContext, StreamingState, Time};

use crate::chunk::Chunk;
use crate::context::NativeContext;
use crate::dstream::NativeDStream;
use crate::error::{from_py, IntoPyResult};
use crate::listener::PyListener;
use crate::rdd::{lines_to_chunks, NativeRdd};

/// How often a wait wakes up to let Python handle signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// A streaming context: the stream graph, its sources and its scheduler.
#[pyclass(name = "NativeStreamingContext", module = "sluice._native", frozen)]
pub(crate) struct NativeStreamingContext {
    ssc: StreamingContext,
    clock: Option<Arc<ManualClock>>,
}

impl NativeStreamingContext {
    /// The engine's streaming context.
    #[cfg_attr(
        not(any(
            feature = "kafka",
            feature = "mqtt",
            feature = "zeromq",
            feature = "flume"
        )),
        allow(dead_code)
    )]
    pub(crate) fn inner(&self) -> &StreamingContext {
        &self.ssc
    }
}

#[pymethods]
impl NativeStreamingContext {
    /// A streaming context on `ctx` with a batch interval in milliseconds. With the setting
    /// `sluice.streaming.clock=manual` it runs on a manual clock that
    /// [`advance`](Self::advance) moves (tests).
    #[new]
    fn new(ctx: &NativeContext, interval_ms: u64) -> PyResult<Self> {
        let ssc = StreamingContext::new(&ctx.ctx, Duration::from_millis(interval_ms)).py_err()?;
        // The disk store finds a key by its encoding, and a pickled key is not canonical (equal
        // tuples may pickle differently): Python state stays in memory.
        if ssc.settings().state_store != sluice_streaming::state::StoreKind::Memory {
            return Err(Error::config(
                "sluice.streaming.stateStore.kind",
                "disk",
                "the disk-backed state store is not available from Python yet",
            ))
            .py_err();
        }
        let clock = ssc.manual_clock();
        Ok(NativeStreamingContext { ssc, clock })
    }

    /// The context `setup()` builds (a Python `StreamingContext`), restored from the checkpoint
    /// in `dir` when there is one — its state matched to the new graph's operators by name —
    /// and checkpointing into `dir` in any case. Returns the Python context.
    #[staticmethod]
    fn get_or_create(py: Python<'_>, dir: String, setup: Py<PyAny>) -> PyResult<Py<PyAny>> {
        let mut built: Option<Py<PyAny>> = None;
        let restored = py.detach(|| {
            StreamingContext::get_or_create(&dir, || {
                Python::attach(|py| {
                    let ctx = setup.bind(py).call0().map_err(|e| from_py(py, e))?;
                    let native = ctx
                        .getattr("_native")
                        .ok()
                        .and_then(|n| {
                            let n = n.cast::<NativeStreamingContext>().ok()?;
                            Some(n.get().ssc.clone())
                        })
                        .ok_or_else(|| {
                            Error::InvalidArgument(
                                "the setup function of getOrCreate must return a StreamingContext"
                                    .into(),
                            )
                        })?;
                    built = Some(ctx.unbind());
                    Ok(native)
                })
            })
        });
        restored.py_err()?;
        built
            .ok_or_else(|| Error::Internal("getOrCreate built no context".into()))
            .py_err()
    }

    /// The batch time (ms) of the checkpoint the context was restored from, if any.
    fn recovered_from(&self) -> Option<i64> {
        self.ssc.recovered_from().map(Time::millis)
    }

    /// The time (ms) of the first batch: of this run once started, of the original run after
    /// a restore.
    fn start_time(&self) -> Option<i64> {
        self.ssc.start_time().map(Time::millis)
    }

    /// Generates at most `n` batches in this run.
    fn limit_batches(&self, n: u64) -> PyResult<()> {
        self.ssc.limit_batches(n).py_err()
    }

    /// The batch interval in milliseconds.
    fn batch_interval_ms(&self) -> u64 {
        self.ssc.batch_interval().as_millis() as u64
    }

    /// A stream fed by the given RDDs: one per batch (`one_at_a_time`) or all at once, then
    /// `default` (or nothing) each batch.
    fn queue_stream(
        &self,
        rdds: Vec<PyRef<'_, NativeRdd>>,
        one_at_a_time: bool,
        default: Option<PyRef<'_, NativeRdd>>,
    ) -> NativeDStream {
        let queue: RddQueue<Chunk> = RddQueue::new();
        for r in &rdds {
            queue.push(r.rdd.clone());
        }
        let default: Option<Rdd<Chunk>> = default.map(|d| d.rdd.clone());
        NativeDStream::new(self.ssc.queue_stream(&queue, one_at_a_time, default))
    }

    /// The lines a TCP server sends, as strings.
    fn socket_text_stream(&self, host: &str, port: u16) -> NativeDStream {
        let lines = self.ssc.socket_text_stream(host, port);
        NativeDStream::new(lines.transform(|rdd, _| Ok(lines_to_chunks(&rdd))))
    }

    /// The lines of the files that appear in a directory, as strings.
    fn text_file_stream(&self, dir: String) -> PyResult<NativeDStream> {
        let lines = self.ssc.text_file_stream(dir).py_err()?;
        Ok(NativeDStream::new(
            lines.transform(|rdd, _| Ok(lines_to_chunks(&rdd))),
        ))
    }

    /// The union of streams of the same slide.
    fn union(&self, streams: Vec<PyRef<'_, NativeDStream>>) -> PyResult<NativeDStream> {
        let streams: Vec<_> = streams.iter().map(|s| s.stream.clone()).collect();
        self.ssc.union(&streams).map(NativeDStream::new).py_err()
    }

    /// Keeps every stream's RDDs for at least `ms`.
    fn remember(&self, ms: u64) -> PyResult<()> {
        self.ssc.remember(Duration::from_millis(ms)).py_err()
    }

    /// Checkpoints the job into `dir`.
    fn checkpoint(&self, dir: String) -> PyResult<()> {
        self.ssc.checkpoint(dir).py_err()
    }

    /// Delivers streaming events to `target._on_event(kind, info)`.
    fn add_listener(&self, target: Py<PyAny>) {
        self.ssc.add_listener(Arc::new(PyListener { target }));
    }

    /// Starts the sources and the scheduler.
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let ssc = self.ssc.clone();
        py.detach(move || ssc.start()).py_err()
    }

    /// Stops: gracefully (what was received is processed, up to `timeout_ms`) or now.
    fn stop(&self, py: Python<'_>, graceful: bool, timeout_ms: u64) -> PyResult<()> {
        let ssc = self.ssc.clone();
        let mode = if graceful {
            StopMode::Graceful {
                timeout: Duration::from_millis(timeout_ms),
            }
        } else {
            StopMode::Immediate
        };
        py.detach(move || ssc.stop(mode)).py_err()
    }

    /// Waits until the context stops (`True`) or `timeout_s` passes (`False`); a failed batch
    /// raises. Ctrl-C stops the context gracefully, then raises `KeyboardInterrupt`.
    fn await_termination(
        &self,
        py: Python<'_>,
        timeout_s: Option<f64>,
        stop_timeout_ms: u64,
    ) -> PyResult<bool> {
        let deadline = timeout_s.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
        loop {
            let wait = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(SIGNAL_POLL),
                None => SIGNAL_POLL,
            };
            let ssc = self.ssc.clone();
            if py
                .detach(move || ssc.await_termination_timeout(wait))
                .py_err()?
            {
                return Ok(true);
            }
            if let Err(interrupt) = py.check_signals() {
                self.stop(py, true, stop_timeout_ms)?;
                return Err(interrupt);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
        }
    }

    /// `initialized`, `active` or `stopped`.
    fn state(&self) -> &'static str {
        match self.ssc.state() {
            StreamingState::Initialized => "initialized",
            StreamingState::Active => "active",
            StreamingState::Stopped => "stopped",
        }
    }

    /// Moves a manual clock forward by `ms` (an error on the wall clock).
    fn advance(&self, ms: u64) -> PyResult<()> {
        match &self.clock {
            Some(c) => {
                c.advance(Duration::from_millis(ms));
                Ok(())
            }
            None => Err(pyo3::exceptions::PyValueError::new_err(
                "this streaming context runs on the wall clock, not a manual clock",
            )),
        }
    }

    /// Waits until batch `time_ms` has completed (`True`) or `timeout_s` passes.
    fn await_batch(&self, py: Python<'_>, time_ms: i64, timeout_s: f64) -> PyResult<bool> {
        let ssc = self.ssc.clone();
        let timeout = Duration::from_secs_f64(timeout_s.max(0.0));
        py.detach(move || ssc.await_batch(Time::from_millis(time_ms), timeout))
            .py_err()
    }

    /// The first batch failure, if any (and clears it).
    fn take_error(&self) -> Option<String> {
        self.ssc
            .take_error()
            .map(|e| crate::error::to_py(e).to_string())
    }

    /// The last completed batch's time in ms.
    fn last_completed_batch(&self) -> Option<i64> {
        self.ssc.last_completed_batch().map(Time::millis)
    }

    /// The last error each receiver reported (`None` for those without one).
    fn receivers_last_errors(&self) -> Vec<Option<String>> {
        self.ssc
            .receivers()
            .into_iter()
            .map(|r| r.last_error)
            .collect()
    }

    /// Records the receivers have stored, in all.
    fn receivers_records_stored(&self) -> u64 {
        self.ssc.receivers().iter().map(|r| r.records_stored).sum()
    }

    /// Records the receivers skipped as bad (undecodable, too long), in all.
    fn receivers_bad_records(&self) -> u64 {
        self.ssc.receivers().iter().map(|r| r.bad_records).sum()
    }

    /// Batches completed so far.
    fn batches_completed(&self) -> u64 {
        self.ssc.batches_completed()
    }
}
