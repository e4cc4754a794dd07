//! [`StreamingContext`]: the entry point of a streaming program.
//!
//! It wraps an engine [`Context`], fixes the batch interval, owns the graph of streams and
//! output operations, and runs the scheduler threads between `start` and `stop`. Its state goes
//! Initialized → Active → Stopped, one way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use sluice_core::{Conf, Context, Data, Error, Result};

use crate::checkpoint::manifest::Manifest;
use crate::checkpoint::operator::CheckpointedOperator;
use crate::checkpoint::runtime::{self, Recovery};
use crate::checkpoint::store::CheckpointDir;
use crate::clock::{Clock, ManualClock, StepClock, SystemClock};
use crate::conf::StreamingSettings;
use crate::dstream::{DStream, DStreamBase};
use crate::listener::{ListenerBus, StreamingEvent, StreamingListener};
use crate::scheduler::generator;
use crate::scheduler::job::OutputStream;
use crate::source::InputStream;
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

/// How to stop a streaming context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Stop now: no new batches; the running output operation finishes, queued batches are
    /// dropped.
    Immediate,
    /// Stop sources, process everything already received (in a final batch if needed), then
    /// stop. If that takes longer than `timeout`, the remaining queued batches are dropped.
    Graceful {
        /// The longest to wait for the queued batches.
        timeout: Duration,
    },
}

/// The graph: every stream, the inputs and the output operations.
#[derive(Default)]
pub(crate) struct Graph {
    pub streams: Vec<Arc<dyn DStreamBase>>,
    pub inputs: Vec<Arc<dyn InputStream>>,
    pub outputs: Vec<Arc<dyn OutputStream>>,
    pub operators: Vec<Arc<dyn CheckpointedOperator>>,
}

/// Progress of the scheduler, shared with waiters.
#[derive(Default)]
pub(crate) struct Progress {
    pub last_completed: Option<Time>,
    pub batches_completed: u64,
    pub batches_failed: u64,
    /// Queued batches that never ran: dropped by an immediate stop, or by a graceful stop
    /// whose timeout ran out.
    pub batches_dropped: u64,
    pub error: Option<Error>,
}

/// State shared by the context handle, the streams and the scheduler threads.
pub(crate) struct Shared {
    pub ctx: Context,
    pub batch_interval: Duration,
    pub clock: Arc<dyn Clock>,
    pub manual_clock: Option<Arc<ManualClock>>,
    pub settings: StreamingSettings,
    pub state: Mutex<StreamingState>,
    pub graph: Mutex<Graph>,
    pub bus: ListenerBus,
    /// Tells the generator to stop.
    pub stop_generator: AtomicBool,
    /// Tells the runner to drop queued batches.
    pub abort_batches: AtomicBool,
    pub progress: Mutex<Progress>,
    pub progress_changed: Condvar,
    pub start_time: Mutex<Option<Time>>,
    pub remember: Mutex<Option<Duration>>,
    pub threads: Mutex<Option<generator::Threads>>,
    /// Threads of the engine that must not call `stop` (it would wait for themselves).
    pub engine_threads: Mutex<Vec<std::thread::ThreadId>>,
    /// Serialises `start` and `stop`: a second caller waits for the first to finish.
    pub lifecycle: Mutex<()>,
    /// Where checkpoints go, when checkpointing.
    pub checkpoint_dir: Mutex<Option<CheckpointDir>>,
    /// The shortest checkpoint interval asked for by a stream.
    pub checkpoint_interval: Mutex<Option<Duration>>,
    /// The last checkpoint written or restored.
    pub last_manifest: Mutex<Option<Manifest>>,
    /// Set when the job was restored from a checkpoint.
    pub recovery: Mutex<Option<Recovery>>,
    /// The most batches this run generates (`limit_batches`).
    pub batch_limit: Mutex<Option<u64>>,
    next_stream: AtomicUsize,
    next_output: AtomicUsize,
}

impl Shared {
    pub fn next_stream_id(&self) -> usize {
        self.next_stream.fetch_add(1, Ordering::Relaxed)
    }
    pub fn next_output_id(&self) -> usize {
        self.next_output.fetch_add(1, Ordering::Relaxed)
    }
    pub fn register_stream(&self, s: Arc<dyn DStreamBase>) {
        self.graph.lock().streams.push(s);
    }
    pub fn register_input(&self, s: Arc<dyn InputStream>) {
        self.graph.lock().inputs.push(s);
    }
    pub fn register_output(&self, o: Arc<dyn OutputStream>) {
        self.graph.lock().outputs.push(o);
    }
    pub fn register_operator(&self, o: Arc<dyn CheckpointedOperator>) {
        self.graph.lock().operators.push(o);
    }
    /// The time before the first batch (set by `start`).
    pub fn zero_time(&self) -> Option<Time> {
        self.start_time.lock().map(|s| s - self.batch_interval)
    }
    pub fn check_can_add(&self) -> Result<()> {
        match *self.state.lock() {
            StreamingState::Initialized => Ok(()),
            _ => Err(Error::IllegalState(
                "adding new inputs, transformations and output operations after starting a \
                 streaming context is not supported"
                    .into(),
            )),
        }
    }
    pub fn post(&self, e: StreamingEvent) {
        self.bus.post(e);
    }
    /// Records a failure for `await_termination` (the first one wins).
    pub fn report_error(&self, e: Error) {
        let mut p = self.progress.lock();
        if p.error.is_none() {
            p.error = Some(e);
        }
        self.progress_changed.notify_all();
    }
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
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = stop_shared(&self.shared, StopMode::Immediate);
        // Break the cycle streams → shared → graph → streams.
        *self.shared.graph.lock() = Graph::default();
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
            .field("batch_interval", &self.shared().batch_interval)
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
        let shared = Arc::new(Shared {
            ctx: ctx.clone(),
            batch_interval,
            clock,
            manual_clock,
            settings,
            state: Mutex::new(StreamingState::Initialized),
            graph: Mutex::new(Graph::default()),
            bus: ListenerBus::new(),
            stop_generator: AtomicBool::new(false),
            abort_batches: AtomicBool::new(false),
            progress: Mutex::new(Progress::default()),
            progress_changed: Condvar::new(),
            start_time: Mutex::new(None),
            remember: Mutex::new(None),
            threads: Mutex::new(None),
            engine_threads: Mutex::new(Vec::new()),
            lifecycle: Mutex::new(()),
            checkpoint_dir: Mutex::new(None),
            checkpoint_interval: Mutex::new(None),
            last_manifest: Mutex::new(None),
            recovery: Mutex::new(None),
            batch_limit: Mutex::new(None),
            next_stream: AtomicUsize::new(0),
            next_output: AtomicUsize::new(0),
        });
        Ok(StreamingContext {
            owner: Arc::new(Owner { shared }),
        })
    }

    /// The validated `sluice.streaming.*` settings.
    pub fn settings(&self) -> &crate::conf::StreamingSettings {
        &self.shared().settings
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.owner.shared
    }

    /// A handle that does not keep the context alive.
    pub fn downgrade(&self) -> WeakStreamingContext {
        WeakStreamingContext {
            owner: Arc::downgrade(&self.owner),
        }
    }

    /// The number of keys held by each stateful operator, by name.
    pub fn state_sizes(&self) -> Vec<(String, usize)> {
        self.shared()
            .graph
            .lock()
            .operators
            .iter()
            .map(|o| (o.name(), o.num_keys()))
            .collect()
    }

    /// The engine context.
    pub fn context(&self) -> &Context {
        &self.shared().ctx
    }

    /// The batch interval.
    pub fn batch_interval(&self) -> Duration {
        self.shared().batch_interval
    }

    /// The manual clock, when the context was configured with `sluice.streaming.clock=manual`.
    pub fn manual_clock(&self) -> Option<Arc<ManualClock>> {
        self.shared().manual_clock.clone()
    }

    /// The current state.
    pub fn state(&self) -> StreamingState {
        *self.shared().state.lock()
    }

    /// Keeps every stream's RDDs for at least `d` (for queries on past batches).
    pub fn remember(&self, d: Duration) -> Result<()> {
        self.shared().check_can_add()?;
        *self.shared().remember.lock() = Some(d);
        Ok(())
    }

    /// Checkpoints the job into `dir` (created if needed): the state of every stateful
    /// operator (which must then be named) and what each source read, so that
    /// [`get_or_create`](Self::get_or_create) can restart the job where it stopped.
    pub fn checkpoint(&self, dir: impl AsRef<std::path::Path>) -> Result<()> {
        self.shared().check_can_add()?;
        *self.shared().checkpoint_dir.lock() = Some(CheckpointDir::open(dir)?);
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
        if ssc.shared().checkpoint_dir.lock().is_none() {
            ssc.checkpoint(dir.as_ref())?;
        }
        if let Some(manifest) = latest {
            let recovery = runtime::restore(ssc.shared(), &cdir, manifest)?;
            let mut p = ssc.shared().progress.lock();
            p.last_completed = Some(recovery.checkpoint_time);
            drop(p);
            *ssc.shared().recovery.lock() = Some(recovery);
        }
        Ok(ssc)
    }

    /// The batch time of the checkpoint the context was restored from, if any.
    pub fn recovered_from(&self) -> Option<Time> {
        self.shared()
            .recovery
            .lock()
            .as_ref()
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
        self.shared().check_can_add()?;
        if n == 0 {
            return Err(Error::InvalidArgument(
                "limit_batches needs at least one batch".into(),
            ));
        }
        *self.shared().batch_limit.lock() = Some(n);
        Ok(())
    }

    /// What each direct source (a directory, Kafka) skipped because it could not be decoded or
    /// read, by source name; receivers report theirs in [`ReceiverInfo`](crate::ReceiverInfo).
    pub fn bad_records(&self) -> Vec<(String, crate::source::bad_records::BadRecordReport)> {
        self.shared()
            .graph
            .lock()
            .inputs
            .iter()
            .filter_map(|i| i.bad_records().map(|r| (i.name(), r)))
            .collect()
    }

    /// Registers a listener.
    pub fn add_listener(&self, l: Arc<dyn StreamingListener>) {
        self.shared().bus.add(l);
    }

    /// The union of several streams with the same slide.
    pub fn union<T: Data>(&self, streams: &[DStream<T>]) -> Result<DStream<T>> {
        self.shared().check_can_add()?;
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
        let shared = self.shared();
        // `start` and `stop` are serialised: a concurrent `stop` (or a second `start`) waits
        // until this one has finished and sees its outcome.
        let _serial = shared.lifecycle.lock();
        match *shared.state.lock() {
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
        let recovery = shared.recovery.lock().clone();
        if let Some(dir) = shared.checkpoint_dir.lock().as_ref() {
            if recovery.is_none() {
                dir.check_unreferenced(shared.settings.discard_unreferenced_state)?;
            }
            runtime::check_names(shared)?;
        }
        // From here on, a failure stops whatever was started and the context with it (as in
        // Spark: a context that failed to start is stopped).
        match self.launch(recovery) {
            Ok(()) => {
                *shared.state.lock() = StreamingState::Active;
                Ok(())
            }
            Err(e) => {
                for i in &shared.graph.lock().inputs.clone() {
                    i.stop();
                }
                shared.bus.stop();
                *shared.state.lock() = StreamingState::Stopped;
                shared.progress_changed.notify_all();
                Err(e)
            }
        }
    }

    /// Sets the graph's times, starts the listener bus, the sources and the scheduler.
    fn launch(&self, recovery: Option<Recovery>) -> Result<()> {
        let shared = self.shared();
        let interval = duration_ms(shared.batch_interval);
        let now = shared.clock.now_ms();
        let (start, first_batch) = match &recovery {
            // Resume on the original batch times, after the checkpointed batch.
            Some(r) => (
                r.zero_time + shared.batch_interval,
                r.checkpoint_time + shared.batch_interval,
            ),
            None => {
                let s = Time::from_millis((now.div_euclid(interval) + 1) * interval);
                (s, s)
            }
        };
        let zero = start - shared.batch_interval;
        {
            let graph = shared.graph.lock();
            if shared.checkpoint_dir.lock().is_some() {
                for op in &graph.operators {
                    op.track_changes();
                }
            }
            let remember = shared
                .remember
                .lock()
                .unwrap_or(Duration::ZERO)
                .max(shared.batch_interval);
            for s in &graph.streams {
                s.set_zero_time(zero);
            }
            for o in &graph.outputs {
                o.stream().require_remember(remember);
            }
        }
        *shared.start_time.lock() = Some(start);
        let bus_thread = shared
            .bus
            .start()
            .map_err(|e| Error::Internal(format!("starting the listener thread: {e}")))?;
        shared.engine_threads.lock().push(bus_thread);
        shared.post(StreamingEvent::StreamingStarted(now));
        let inputs = shared.graph.lock().inputs.clone();
        for i in &inputs {
            i.start()?;
        }
        runtime::prepare_write_ahead_logs(shared)?;
        *shared.threads.lock() = Some(generator::spawn(Arc::clone(shared), first_batch)?);
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        let shared = self.shared();
        let graph = shared.graph.lock();
        if graph.outputs.iter().all(|o| o.is_internal()) {
            return Err(Error::IllegalState(
                "no output operations registered, so nothing to execute".into(),
            ));
        }
        for s in &graph.streams {
            if !is_multiple(s.slide(), shared.batch_interval) {
                return Err(Error::InvalidArgument(format!(
                    "stream {} ({}) has slide {:?}, not a multiple of the batch interval {:?}",
                    s.id(),
                    s.name(),
                    s.slide(),
                    shared.batch_interval
                )));
            }
        }
        Ok(())
    }

    /// Stops the context (see [`StopMode`]). Stopping twice is fine.
    pub fn stop(&self, mode: StopMode) -> Result<()> {
        stop_shared(self.shared(), mode)
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
        let shared = self.shared();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut p = shared.progress.lock();
        loop {
            if let Some(e) = p.error.take() {
                return Err(e);
            }
            if *shared.state.lock() == StreamingState::Stopped {
                return Ok(true);
            }
            match deadline {
                Some(d) => {
                    if shared.progress_changed.wait_until(&mut p, d).timed_out() {
                        return Ok(false);
                    }
                }
                None => shared.progress_changed.wait(&mut p),
            }
        }
    }

    /// Blocks until batch `time` has completed (or a later one); `Ok(false)` on timeout.
    /// Meant for tests driving a manual clock.
    pub fn await_batch(&self, time: Time, timeout: Duration) -> Result<bool> {
        let shared = self.shared();
        let deadline = Instant::now() + timeout;
        let mut p = shared.progress.lock();
        loop {
            if p.last_completed.is_some_and(|t| t >= time) {
                return Ok(true);
            }
            if *shared.state.lock() == StreamingState::Stopped {
                return Ok(false);
            }
            if shared
                .progress_changed
                .wait_until(&mut p, deadline)
                .timed_out()
            {
                return Ok(false);
            }
        }
    }

    /// Takes the first recorded batch failure, if any.
    pub fn take_error(&self) -> Option<Error> {
        self.shared().progress.lock().error.take()
    }

    /// The last completed batch time.
    pub fn last_completed_batch(&self) -> Option<Time> {
        self.shared().progress.lock().last_completed
    }

    /// Number of batches completed (including failed ones).
    pub fn batches_completed(&self) -> u64 {
        self.shared().progress.lock().batches_completed
    }

    /// Queued batches that were dropped without running: by an immediate stop, or by a
    /// graceful stop whose timeout ran out. A program that stopped gracefully should treat a
    /// non-zero count as a failure (their input was received but not processed).
    pub fn batches_dropped(&self) -> u64 {
        self.shared().progress.lock().batches_dropped
    }

    /// The first batch time (set by `start`).
    pub fn start_time(&self) -> Option<Time> {
        *self.shared().start_time.lock()
    }
}

/// Stops the scheduler threads and sources.
fn stop_shared(shared: &Arc<Shared>, mode: StopMode) -> Result<()> {
    let me = std::thread::current().id();
    if shared.engine_threads.lock().contains(&me) {
        return Err(Error::IllegalState(
            "a streaming context cannot be stopped from a listener callback or an output \
             operation (it would wait for itself); stop it from another thread"
                .into(),
        ));
    }
    let _serial = shared.lifecycle.lock();
    {
        let mut state = shared.state.lock();
        match *state {
            StreamingState::Stopped => return Ok(()),
            StreamingState::Initialized => {
                *state = StreamingState::Stopped;
                drop(state);
                shared.progress_changed.notify_all();
                return Ok(());
            }
            StreamingState::Active => {}
        }
    }
    let threads = shared.threads.lock().take();
    if let Some(threads) = threads {
        generator::stop(shared, threads, mode);
    }
    shared.bus.stop();
    *shared.state.lock() = StreamingState::Stopped;
    let _guard = shared.progress.lock();
    shared.progress_changed.notify_all();
    Ok(())
}
