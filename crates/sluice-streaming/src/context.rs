//! [`StreamingContext`]: the entry point of a streaming program.
//!
//! It wraps an engine [`Context`], fixes the batch interval, owns the graph of streams and
//! output operations, and runs the scheduler threads between `start` and `stop`. Its state goes
//! Initialized → Active → Stopped, one way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice_core::{Conf, Context, Data, Error, Result};

use crate::checkpoint::checkpointer::Checkpointer;
use crate::checkpoint::store::CheckpointDir;
use crate::clock::{Clock, ManualClock, StepClock, SystemClock};
use crate::conf::StreamingSettings;
use crate::dstream::DStream;
use crate::graph::StreamEnv;
use crate::listener::{StreamingEvent, StreamingListener};
use crate::scheduler::generator::{self, Threads};
use crate::scheduler::progress::ProgressBoard;
use crate::scheduler::Run;
pub use crate::scheduler::StopMode;
use crate::time::{duration_ms, is_multiple, Time};

/// The lifecycle state of a streaming context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamingState {
    /// Created; streams and output operations may be added.
    Initialized,
    /// Started and running batches.
    Active,
    /// Stopped; cannot be restarted.
    Stopped,
}

/// What the context handle owns: the graph's environment, the lifecycle around it, and the
/// scheduler of the current run.
struct Inner {
    env: Arc<StreamEnv>,
    manual_clock: Option<Arc<ManualClock>>,
    state: Mutex<StreamingState>,
    progress: Arc<ProgressBoard>,
    /// Serialises `start` and `stop`: a second caller waits for the first to finish.
    lifecycle: Mutex<()>,
    remember: Mutex<Option<Duration>>,
    /// The most batches this run generates (`limit_batches`).
    batch_limit: Mutex<Option<u64>>,
    checkpointer: Mutex<Option<Arc<Checkpointer>>>,
    /// The scheduler of the running context.
    run: Mutex<Option<(Arc<Run>, Threads)>>,
    /// Threads of the engine that must not call `stop` (it would wait for themselves).
    engine_threads: Mutex<Vec<std::thread::ThreadId>>,
}

/// A handle that does not keep a streaming context alive (for servers and watchers).
#[derive(Clone)]
pub struct WeakStreamingContext {
    owner: std::sync::Weak<Owner>,
}

impl WeakStreamingContext {
    /// The context, if it still exists.
    pub fn upgrade(&self) -> Option<StreamingContext> {
        self.owner.upgrade().map(|owner| StreamingContext { owner })
    }
}

/// Stops the context when the last handle goes away, so threads never outlive it.
struct Owner {
    inner: Inner,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = stop_inner(&self.inner, StopMode::Immediate);
        // Break the cycle streams → env → graph → streams.
        self.inner.env.clear();
    }
}

/// The entry point of a streaming program: Spark's `StreamingContext`.
///
/// ```
/// use std::sync::Arc;
/// use sluice_core::Context;
/// use sluice_streaming::{clock::ManualClock, time::seconds, StopMode, StreamingContext};
///
/// let clock = ManualClock::shared(0);
/// let ssc = StreamingContext::with_clock(&Context::local(2).unwrap(), seconds(1), clock.clone())
///     .unwrap();
/// let queue = sluice_streaming::source::queue::RddQueue::new();
/// queue.push(ssc.context().parallelize(vec![1, 2, 3], 2));
/// let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
/// let s2 = seen.clone();
/// ssc.queue_stream(&queue, true, None)
///     .map(|x: i32| x * 2)
///     .foreach_rdd(move |rdd, _| { s2.lock().extend(rdd.collect()?); Ok(()) })
///     .unwrap();
/// ssc.start().unwrap();
/// clock.advance(seconds(1));
/// assert!(ssc.await_batch(sluice_streaming::time::Time::from_millis(1000), seconds(10)).unwrap());
/// ssc.stop(StopMode::Immediate).unwrap();
/// assert_eq!(*seen.lock(), vec![2, 4, 6]);
/// ```
#[derive(Clone)]
pub struct StreamingContext {
    owner: Arc<Owner>,
}

impl std::fmt::Debug for StreamingContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingContext")
            .field("batch_interval", &self.env().batch_interval)
            .field("state", &self.state())
            .finish()
    }
}

impl StreamingContext {
    /// A streaming context on `ctx` with a batch interval. The clock comes from the
    /// configuration key `sluice.streaming.clock` (`system`, the default, or `manual`).
    pub fn new(ctx: &Context, batch_interval: Duration) -> Result<StreamingContext> {
        Self::build(ctx, batch_interval, None)
    }

    /// A streaming context on a new engine context built from `conf`.
    pub fn from_conf(conf: Conf, batch_interval: Duration) -> Result<StreamingContext> {
        let ctx = Context::new(conf)?;
        Self::build(&ctx, batch_interval, None)
    }

    /// A streaming context driven by the given clock (a [`ManualClock`] in tests).
    pub fn with_clock(
        ctx: &Context,
        batch_interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<StreamingContext> {
        Self::build(ctx, batch_interval, Some(clock))
    }

    fn build(
        ctx: &Context,
        batch_interval: Duration,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<StreamingContext> {
        Self::build_with_conf(ctx, ctx.conf(), batch_interval, clock)
    }

    fn build_with_conf(
        ctx: &Context,
        conf: &Conf,
        batch_interval: Duration,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<StreamingContext> {
        if duration_ms(batch_interval) <= 0 {
            return Err(Error::InvalidArgument(format!(
                "the batch interval must be at least 1 ms, got {batch_interval:?}"
            )));
        }
        let settings = StreamingSettings::from_conf(conf, batch_interval)?;
        let (clock, manual_clock): (Arc<dyn Clock>, Option<Arc<ManualClock>>) = match clock {
            Some(c) => (c, None),
            None if settings.manual_clock => {
                let m = ManualClock::shared(0);
                (m.clone(), Some(m))
            }
            None if settings.step_clock => (Arc::new(StepClock::new(0)), None),
            None => (Arc::new(SystemClock), None),
        };
        let inner = Inner {
            env: Arc::new(StreamEnv::new(ctx.clone(), batch_interval, clock, settings)),
            manual_clock,
            state: Mutex::new(StreamingState::Initialized),
            progress: Arc::new(ProgressBoard::default()),
            lifecycle: Mutex::new(()),
            remember: Mutex::new(None),
            batch_limit: Mutex::new(None),
            checkpointer: Mutex::new(None),
            run: Mutex::new(None),
            engine_threads: Mutex::new(Vec::new()),
        };
        Ok(StreamingContext {
            owner: Arc::new(Owner { inner }),
        })
    }

    /// The validated `sluice.streaming.*` settings.
    pub fn settings(&self) -> &crate::conf::StreamingSettings {
        &self.env().settings
    }

    /// What the graph's nodes share (sources register themselves there).
    pub(crate) fn env(&self) -> &Arc<StreamEnv> {
        &self.owner.inner.env
    }

    fn inner(&self) -> &Inner {
        &self.owner.inner
    }

    /// A handle that does not keep the context alive.
    pub fn downgrade(&self) -> WeakStreamingContext {
        WeakStreamingContext {
            owner: Arc::downgrade(&self.owner),
        }
    }

    /// The number of keys held by each stateful operator, by name.
    pub fn state_sizes(&self) -> Vec<(String, usize)> {
        self.env()
            .graph()
            .operators
            .iter()
            .filter(|o| o.is_state())
            .map(|o| (o.name(), o.num_keys()))
            .collect()
    }

    /// Every operator with a watermark: its watermark, late records and state size.
    pub fn watermarks(&self) -> Vec<crate::listener::WatermarkInfo> {
        let reports = self.env().graph().watermarks.clone();
        reports
            .iter()
            .map(|w| crate::listener::WatermarkInfo {
                operator: w.name(),
                watermark_ms: w.watermark_ms(),
                late_records: w.late_records(),
                state_size: w.state_size(),
            })
            .collect()
    }

    /// The engine context.
    pub fn context(&self) -> &Context {
        &self.env().ctx
    }

    /// The batch interval.
    pub fn batch_interval(&self) -> Duration {
        self.env().batch_interval
    }

    /// The manual clock, when the context was configured with `sluice.streaming.clock=manual`.
    pub fn manual_clock(&self) -> Option<Arc<ManualClock>> {
        self.inner().manual_clock.clone()
    }

    /// The current state.
    pub fn state(&self) -> StreamingState {
        *self.inner().state.lock()
    }

    /// Keeps every stream's RDDs for at least `d` (for queries on past batches).
    pub fn remember(&self, d: Duration) -> Result<()> {
        self.env().check_can_add()?;
        *self.inner().remember.lock() = Some(d);
        Ok(())
    }

    /// Checkpoints the job into `dir` (created if needed): the state of every stateful
    /// operator (which must then be named) and what each source read, so that
    /// [`get_or_create`](Self::get_or_create) can restart the job where it stopped.
    pub fn checkpoint(&self, dir: impl AsRef<std::path::Path>) -> Result<()> {
        self.env().check_can_add()?;
        let dir = CheckpointDir::open(dir)?;
        *self.inner().checkpointer.lock() =
            Some(Arc::new(Checkpointer::new(Arc::clone(self.env()), dir)));
        Ok(())
    }

    /// Restarts a job from its checkpoint in `dir`, or creates it. `create` builds the whole
    /// graph (sources, transformations, output operations) either way — the graph is code,
    /// never read from the checkpoint — and the checkpointed state is then matched to the
    /// operators by name. Without a checkpoint in `dir`, the new context checkpoints there.
    ///
    /// ```
    /// use sluice_streaming::{StreamingContext, time::seconds};
    /// let dir = tempfile::tempdir().unwrap();
    /// let ctx = sluice_core::Context::local(1).unwrap();
    /// let ssc = StreamingContext::get_or_create(dir.path(), || {
    ///     let ssc = StreamingContext::new(&ctx, seconds(1))?;
    ///     ssc.rate_stream(10, None, |i| (i % 3, 1u64))
    ///         .update_state_by_key(|v: &[u64], s: Option<&u64>| Some(s.copied().unwrap_or(0) + v.len() as u64))
    ///         .set_name("counts")
    ///         .print(3)?;
    ///     Ok(ssc)
    /// })
    /// .unwrap();
    /// assert!(ssc.recovered_from().is_none()); // nothing to restore the first time
    /// ```
    pub fn get_or_create(
        dir: impl AsRef<std::path::Path>,
        create: impl FnOnce() -> Result<StreamingContext>,
    ) -> Result<StreamingContext> {
        let cdir = CheckpointDir::open(dir.as_ref())?;
        let latest = cdir.latest()?;
        let ssc = create()?;
        if ssc.inner().checkpointer.lock().is_none() {
            ssc.checkpoint(dir.as_ref())?;
        }
        drop(cdir);
        if let Some(manifest) = latest {
            let checkpointer = ssc.inner().checkpointer.lock().clone();
            if let Some(c) = checkpointer {
                let recovery = c.restore(manifest)?;
                ssc.inner()
                    .progress
                    .update(|p| p.last_completed = Some(recovery.checkpoint_time));
            }
        }
        Ok(ssc)
    }

    /// The batch time of the checkpoint the context was restored from, if any.
    pub fn recovered_from(&self) -> Option<Time> {
        self.inner()
            .checkpointer
            .lock()
            .as_ref()
            .and_then(|c| c.recovery())
            .map(|r| r.checkpoint_time)
    }

    /// Generates at most `n` batches in this run (counted from the first batch after `start`,
    /// which after a restart is the one after the checkpoint): the clock's later batch times
    /// are not generated. Combined with a graceful stop once `n` batches completed, a program
    /// runs exactly `n` batches however short the interval. Must be called before `start`.
    ///
    /// ```
    /// use sluice_streaming::{clock::ManualClock, time::{seconds, Time}, StopMode, StreamingContext};
    /// let clock = ManualClock::shared(0);
    /// let ssc = StreamingContext::with_clock(&sluice_core::Context::local(1).unwrap(), seconds(1), clock.clone()).unwrap();
    /// ssc.rate_stream(10, None, |i| i).count().print(1).unwrap();
    /// ssc.limit_batches(2).unwrap();
    /// ssc.start().unwrap();
    /// clock.advance(seconds(5));
    /// assert!(ssc.await_batch(Time::from_millis(2000), seconds(10)).unwrap());
    /// ssc.stop(StopMode::Graceful { timeout: seconds(10) }).unwrap();
    /// assert_eq!(ssc.batches_completed(), 2);
    /// ```
    pub fn limit_batches(&self, n: u64) -> Result<()> {
        self.env().check_can_add()?;
        if n == 0 {
            return Err(Error::InvalidArgument(
                "limit_batches needs at least one batch".into(),
            ));
        }
        *self.inner().batch_limit.lock() = Some(n);
        Ok(())
    }

    /// What each direct source (a directory, Kafka) skipped because it could not be decoded or
    /// read, by source name; receivers report theirs in [`ReceiverInfo`](crate::ReceiverInfo).
    pub fn bad_records(&self) -> Vec<(String, crate::bad_records::BadRecordReport)> {
        self.env()
            .graph()
            .inputs
            .iter()
            .filter_map(|i| i.bad_records().map(|r| (i.name(), r)))
            .collect()
    }

    /// Registers a listener.
    pub fn add_listener(&self, l: Arc<dyn StreamingListener>) {
        self.env().bus.add(l);
    }

    /// The union of several streams with the same slide.
    pub fn union<T: Data>(&self, streams: &[DStream<T>]) -> Result<DStream<T>> {
        self.env().check_can_add()?;
        let first = streams
            .first()
            .ok_or_else(|| Error::InvalidArgument("union of no streams".into()))?;
        if let Some(s) = streams
            .iter()
            .find(|s| s.slide_duration() != first.slide_duration())
        {
            return Err(Error::InvalidArgument(format!(
                "union of streams with different slides: {:?} and {:?}",
                first.slide_duration(),
                s.slide_duration()
            )));
        }
        Ok(crate::dstream::transform::union_of(streams))
    }

    /// Starts the scheduler: validates the graph, starts sources and the batch clock. The first
    /// batch time is the next multiple of the batch interval after now.
    pub fn start(&self) -> Result<()> {
        let inner = self.inner();
        // `start` and `stop` are serialised: a concurrent `stop` (or a second `start`) waits
        // until this one has finished and sees its outcome.
        let _serial = inner.lifecycle.lock();
        match *inner.state.lock() {
            StreamingState::Active => return Ok(()),
            StreamingState::Stopped => {
                return Err(Error::IllegalState(
                    "a stopped streaming context cannot be started again".into(),
                ))
            }
            StreamingState::Initialized => {}
        }
        // Checks that leave the context as it was, so the program can fix the graph.
        self.validate()?;
        let checkpointer = inner.checkpointer.lock().clone();
        if let Some(c) = &checkpointer {
            c.check_start()?;
        }
        // From here on, a failure stops whatever was started and the context with it (as in
        // Spark: a context that failed to start is stopped).
        inner.env.seal();
        match self.launch(checkpointer) {
            Ok(()) => {
                *inner.state.lock() = StreamingState::Active;
                Ok(())
            }
            Err(e) => {
                for i in &inner.env.graph().inputs.clone() {
                    i.stop();
                }
                inner.env.bus.stop();
                *inner.state.lock() = StreamingState::Stopped;
                inner.progress.update(|p| p.stopped = true);
                Err(e)
            }
        }
    }

    /// Sets the graph's times, starts the listener bus, the sources and the scheduler.
    fn launch(&self, checkpointer: Option<Arc<Checkpointer>>) -> Result<()> {
        let inner = self.inner();
        let env = &inner.env;
        let interval = duration_ms(env.batch_interval);
        let now = env.clock.now_ms();
        let recovery = checkpointer.as_ref().and_then(|c| c.recovery());
        let (start, first_batch) = match &recovery {
            // Resume on the original batch times, after the checkpointed batch.
            Some(r) => (
                r.zero_time + env.batch_interval,
                r.checkpoint_time + env.batch_interval,
            ),
            None => {
                let s = Time::from_millis((now.div_euclid(interval) + 1) * interval);
                (s, s)
            }
        };
        let zero = start - env.batch_interval;
        let graph = env.snapshot();
        let remember = inner
            .remember
            .lock()
            .unwrap_or(Duration::ZERO)
            .max(env.batch_interval);
        for s in &graph.streams {
            s.set_zero_time(zero);
        }
        for o in &graph.outputs {
            o.stream().require_remember(remember);
        }
        env.set_start_time(start);
        let bus_thread = env
            .bus
            .start()
            .map_err(|e| Error::Internal(format!("starting the listener thread: {e}")))?;
        inner.engine_threads.lock().push(bus_thread);
        env.post(StreamingEvent::StreamingStarted(now));
        for i in &graph.inputs {
            i.start()?;
        }
        let logs = graph
            .inputs
            .iter()
            .any(|i| i.replay().is_some_and(|r| r.writes_log()));
        match &checkpointer {
            Some(c) => c.on_start()?,
            None if logs => {
                return Err(Error::config(
                    crate::conf::RECEIVER_WAL,
                    "true",
                    "the receivers' write-ahead log needs a checkpoint directory: call \
                     StreamingContext::checkpoint or use get_or_create",
                ))
            }
            None => {}
        }
        let run = Arc::new(Run {
            env: Arc::clone(env),
            progress: Arc::clone(&inner.progress),
            checkpointer,
            first_batch,
            batch_limit: *inner.batch_limit.lock(),
            stop_generator: std::sync::atomic::AtomicBool::new(false),
            abort_batches: std::sync::atomic::AtomicBool::new(false),
        });
        let threads = generator::spawn(&run)?;
        inner.engine_threads.lock().extend(threads.ids());
        *inner.run.lock() = Some((run, threads));
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        let env = self.env();
        let graph = env.graph();
        if graph.outputs.iter().all(|o| o.is_internal()) {
            return Err(Error::IllegalState(
                "no output operations registered, so nothing to execute".into(),
            ));
        }
        for s in &graph.streams {
            if !is_multiple(s.slide(), env.batch_interval) {
                return Err(Error::InvalidArgument(format!(
                    "stream {} ({}) has slide {:?}, not a multiple of the batch interval {:?}",
                    s.id(),
                    s.name(),
                    s.slide(),
                    env.batch_interval
                )));
            }
        }
        Ok(())
    }

    /// Stops the context (see [`StopMode`]). Stopping twice is fine.
    pub fn stop(&self, mode: StopMode) -> Result<()> {
        stop_inner(self.inner(), mode)
    }

    /// Blocks until the context is stopped or a batch fails; returns the failure.
    pub fn await_termination(&self) -> Result<()> {
        self.await_inner(None).map(|_| ())
    }

    /// Like [`await_termination`](Self::await_termination) with a timeout; `Ok(true)` if the
    /// context stopped, `Ok(false)` on timeout.
    pub fn await_termination_timeout(&self, timeout: Duration) -> Result<bool> {
        self.await_inner(Some(timeout))
    }

    fn await_inner(&self, timeout: Option<Duration>) -> Result<bool> {
        let board = &self.inner().progress;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut p = board.state.lock();
        loop {
            if let Some(e) = p.error.take() {
                return Err(e);
            }
            if p.stopped {
                return Ok(true);
            }
            match deadline {
                Some(d) => {
                    if board.changed.wait_until(&mut p, d).timed_out() {
                        return Ok(false);
                    }
                }
                None => board.changed.wait(&mut p),
            }
        }
    }

    /// Blocks until batch `time` has completed (or a later one); `Ok(false)` on timeout.
    /// Meant for tests driving a manual clock.
    pub fn await_batch(&self, time: Time, timeout: Duration) -> Result<bool> {
        let board = &self.inner().progress;
        let deadline = Instant::now() + timeout;
        let mut p = board.state.lock();
        loop {
            if p.last_completed.is_some_and(|t| t >= time) {
                return Ok(true);
            }
            if p.stopped {
                return Ok(false);
            }
            if board.changed.wait_until(&mut p, deadline).timed_out() {
                return Ok(false);
            }
        }
    }

    /// Takes the first recorded batch failure, if any.
    pub fn take_error(&self) -> Option<Error> {
        self.inner().progress.state.lock().error.take()
    }

    /// The last completed batch time.
    pub fn last_completed_batch(&self) -> Option<Time> {
        self.inner().progress.state.lock().last_completed
    }

    /// Number of batches completed (including failed ones).
    pub fn batches_completed(&self) -> u64 {
        self.inner().progress.state.lock().batches_completed
    }

    /// Queued batches that were dropped without running: by an immediate stop, or by a
    /// graceful stop whose timeout ran out. A program that stopped gracefully should treat a
    /// non-zero count as a failure (their input was received but not processed).
    pub fn batches_dropped(&self) -> u64 {
        self.inner().progress.state.lock().batches_dropped
    }

    /// The first batch time: set by `start`; before it, for a context restored from a
    /// checkpoint, the first batch time of the run that wrote the checkpoint (the restored
    /// job keeps its batch times).
    pub fn start_time(&self) -> Option<Time> {
        self.env().start_time().or_else(|| {
            let recovery = self.inner().checkpointer.lock().as_ref()?.recovery()?;
            Some(recovery.zero_time + self.env().batch_interval)
        })
    }
}

/// Stops the scheduler threads and sources.
fn stop_inner(inner: &Inner, mode: StopMode) -> Result<()> {
    let me = std::thread::current().id();
    if inner.engine_threads.lock().contains(&me) {
        return Err(Error::IllegalState(
            "a streaming context cannot be stopped from a listener callback or an output \
             operation (it would wait for itself); stop it from another thread"
                .into(),
        ));
    }
    let _serial = inner.lifecycle.lock();
    inner.env.seal();
    {
        let mut state = inner.state.lock();
        match *state {
            StreamingState::Stopped => return Ok(()),
            StreamingState::Initialized => {
                *state = StreamingState::Stopped;
                drop(state);
                inner.progress.update(|p| p.stopped = true);
                return Ok(());
            }
            StreamingState::Active => {}
        }
    }
    let run = inner.run.lock().take();
    if let Some((run, threads)) = run {
        generator::stop(&run, threads, mode);
    }
    inner.env.bus.stop();
    *inner.state.lock() = StreamingState::Stopped;
    inner.progress.update(|p| p.stopped = true);
    Ok(())
}
