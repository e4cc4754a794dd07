//! Custom receivers, with Spark's receiver contract.
//!
//! A [`Receiver`] is started once when the context starts: `on_start` must not block (start a
//! thread that receives), `on_stop` must make that thread end. The thread hands data to the
//! engine through its [`ReceiverContext`]: `store` / `store_batch` buffer records, which are cut
//! into a block every block interval (`sluice.streaming.blockInterval`); every block becomes
//! one partition of the next batch's RDD. `restart` stops and starts the receiver again after a
//! delay; `report_error` makes an error visible to listeners.
//!
//! Buffers are bounded: a receiver may hold at most
//! `sluice.streaming.receiver.maxBufferedRecords` records that are stored but whose batch has
//! not completed. Beyond that, `store` blocks until batches complete — processing that falls
//! behind slows the source down (backpressure) instead of growing memory without limit.
//!
//! # The write-ahead log
//!
//! With `sluice.streaming.receiver.writeAheadLog.enable=true`, a receiver stream made by
//! [`StreamingContext::receiver_stream_with_log`] (and [`socket_text_stream`], which uses it)
//! writes every record it stores to a log under the checkpoint directory, fsynced before
//! `store` / `store_batch` returns (with group commit: see [`wal`]).
//! A receiver that acknowledges data to its source after `store` returns (a reliable
//! receiver) then loses nothing in a crash: batches generated but not checkpointed re-run on
//! the same records read back from the log, and records stored but not yet in a batch go into
//! the first batch after the restart. The context must checkpoint (`start` fails otherwise).
//!
//! Logging needs the records to be serialisable, so the bound is on the constructor that
//! logs: `receiver_stream_with_log` requires `T: Serialize + DeserializeOwned`, while
//! [`receiver_stream`](StreamingContext::receiver_stream) keeps taking any `T: Data` and
//! works as before with the log off. A `receiver_stream` whose records cannot be logged while
//! the setting is on makes `start` fail, naming the stream — never a receiver silently
//! unprotected while the user believes everything is logged.
//!
//! [`socket_text_stream`]: StreamingContext::socket_text_stream

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use sluice_core::{Data, Error, Rdd, Result};

use crate::checkpoint::names;
use crate::checkpoint::wal::{self, Decoder, Encoder, WriteAheadLog};
use crate::context::StreamingContext;
use crate::dstream::{DStream, StreamCompute};
use crate::graph::{BatchOutcome, InputStream, Replay, ReplayHooks, StreamEnv};
use crate::listener::{ReceiverInfo, StreamInputInfo, StreamingEvent};
use crate::time::{duration_ms, Time};

/// A source of data that runs for the life of the streaming context.
///
/// ```
/// use sluice_streaming::source::receiver::{Receiver, ReceiverContext};
/// /// Stores the numbers 1 to 3 and ends.
/// struct Numbers;
/// impl Receiver<u32> for Numbers {
///     fn on_start(&self, ctx: ReceiverContext<u32>) {
///         std::thread::spawn(move || {
///             for i in 1..=3 {
///                 if ctx.store(i).is_err() { return; }
///             }
///         });
///     }
///     fn on_stop(&self) {}
/// }
/// ```
pub trait Receiver<T: Data>: Send + Sync + 'static {
    /// Starts receiving. Must return promptly: receive on a thread of your own.
    fn on_start(&self, ctx: ReceiverContext<T>);
    /// Stops receiving: make the receiving thread end.
    fn on_stop(&self);
    /// A name for listeners and the UI.
    fn name(&self) -> String {
        "receiver".to_string()
    }
}

struct Buffers<T> {
    current: Vec<T>,
    ready: Vec<Arc<Vec<T>>>,
    allocated: BTreeMap<Time, Vec<Arc<Vec<T>>>>,
    /// Records stored whose batch has not completed.
    held: usize,
    /// Sequence number after the last record in the buffers (records are numbered in the
    /// order they are stored, across restarts when logging).
    buffered_end: u64,
    /// Sequence number of the first record not allocated to a batch.
    allocated_end: u64,
    /// The records of each allocated batch whose batch has not completed.
    ranges: BTreeMap<Time, Range<u64>>,
    /// The end of the records of the completed batches.
    completed_end: u64,
}

impl<T> Buffers<T> {
    fn new() -> Self {
        Buffers {
            current: Vec::new(),
            ready: Vec::new(),
            allocated: BTreeMap::new(),
            held: 0,
            buffered_end: 0,
            allocated_end: 0,
            ranges: BTreeMap::new(),
            completed_end: 0,
        }
    }
}

/// How a receiver logs its records.
enum Logging<T> {
    /// Not at all (the setting is off).
    Off,
    /// The setting is on but the stream's records cannot be logged (`receiver_stream`).
    Unsupported,
    /// To a write-ahead log, opened when the receiver starts.
    On(Box<LogState<T>>),
}

struct LogState<T> {
    encode: Encoder<T>,
    decode: Decoder<T>,
    wal: OnceLock<WriteAheadLog<T>>,
    /// What the checkpoint being restored says (the end of its batches' records), and the
    /// records of the batches generated after it.
    restore: Mutex<(Option<u64>, BTreeMap<i64, Range<u64>>)>,
}

/// A receiver's engine-side state.
struct ReceiverState<T: Data> {
    stream_id: OnceLock<usize>,
    env: Arc<StreamEnv>,
    receiver: Arc<dyn Receiver<T>>,
    buffers: Mutex<Buffers<T>>,
    space: Condvar,
    stopped: AtomicBool,
    active: AtomicBool,
    restarting: AtomicBool,
    records_stored: AtomicU64,
    bad_records: AtomicU64,
    last_error: Mutex<Option<String>>,
    timer_stop: AtomicBool,
    timer: Mutex<Option<JoinHandle<()>>>,
    logging: Logging<T>,
}

/// The handle a receiver uses to hand data to the engine. Cheap to clone.
pub struct ReceiverContext<T: Data> {
    state: Arc<ReceiverState<T>>,
}

impl<T: Data> Clone for ReceiverContext<T> {
    fn clone(&self) -> Self {
        ReceiverContext {
            state: Arc::clone(&self.state),
        }
    }
}

impl<T: Data> ReceiverContext<T> {
    /// Stores one record. Blocks while the receiver's buffer is full; fails once the receiver
    /// is stopped.
    pub fn store(&self, item: T) -> Result<()> {
        self.store_batch(vec![item])
    }

    /// Stores records together (they land in the same block). Blocks while the buffer is full
    /// (a batch larger than the whole buffer is accepted once the buffer is empty). With the
    /// write-ahead log on, returns once the records are durable in the log.
    pub fn store_batch(&self, items: Vec<T>) -> Result<()> {
        let s = &self.state;
        let max = s.env.settings.max_buffered_records;
        let n = items.len();
        if n == 0 {
            return Ok(());
        }
        let mut b = s.buffers.lock();
        loop {
            if s.stopped.load(Ordering::Acquire) {
                return Err(Error::IllegalState("the receiver has been stopped".into()));
            }
            if b.held == 0 || b.held + n <= max {
                break;
            }
            s.space.wait_for(&mut b, Duration::from_millis(50));
        }
        b.held += n;
        let log = match &s.logging {
            Logging::On(log) => log,
            Logging::Off | Logging::Unsupported => {
                b.buffered_end += n as u64;
                b.current.extend(items);
                s.records_stored.fetch_add(n as u64, Ordering::Relaxed);
                return Ok(());
            }
        };
        drop(b);
        let logged = match log.wal.get() {
            Some(wal) => wal.append(items, &|_first, items: Vec<T>| {
                let k = items.len();
                let mut b = s.buffers.lock();
                b.buffered_end += k as u64;
                b.current.extend(items);
                s.records_stored.fetch_add(k as u64, Ordering::Relaxed);
            }),
            None => Err(Error::IllegalState(
                "the receiver's write-ahead log is not open (store before start)".into(),
            )),
        };
        if let Err(e) = logged {
            let mut b = s.buffers.lock();
            b.held = b.held.saturating_sub(n);
            s.space.notify_all();
            return Err(e);
        }
        Ok(())
    }

    /// Counts records that could not be decoded; they are reported, not stored.
    pub fn report_bad_records(&self, count: u64, description: &str) {
        self.state.bad_records.fetch_add(count, Ordering::Relaxed);
        self.report_error(&format!("{count} bad record(s): {description}"));
    }

    /// Reports an error to listeners (the receiver keeps running).
    pub fn report_error(&self, message: &str) {
        *self.state.last_error.lock() = Some(message.to_string());
        self.state
            .env
            .post(StreamingEvent::ReceiverError(self.state.info()));
    }

    /// Stops the receiver and starts it again after `delay` (on another thread).
    pub fn restart(&self, message: &str, delay: Duration) {
        let s = Arc::clone(&self.state);
        if s.restarting.swap(true, Ordering::AcqRel) {
            return;
        }
        self.report_error(&format!("restarting receiver: {message}"));
        let ctx = self.clone();
        let spawned = std::thread::Builder::new()
            .name("sluice-receiver-restart".into())
            .spawn(move || {
                s.receiver.on_stop();
                let deadline = std::time::Instant::now() + delay;
                while std::time::Instant::now() < deadline && !s.stopped.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if !s.stopped.load(Ordering::Acquire) {
                    s.receiver.on_start(ctx);
                }
                s.restarting.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.state.restarting.store(false, Ordering::Release);
        }
    }

    /// Whether the receiver has been stopped (the receiving thread should end).
    pub fn is_stopped(&self) -> bool {
        self.state.stopped.load(Ordering::Acquire)
    }

    /// Records stored so far.
    pub fn records_stored(&self) -> u64 {
        self.state.records_stored.load(Ordering::Relaxed)
    }

    /// The longest line a line-reading receiver should accept
    /// (`sluice.streaming.receiver.maxLineBytes`).
    pub fn max_line_bytes(&self) -> usize {
        self.state.env.settings.max_line_bytes
    }

    /// The default restart delay (`sluice.streaming.receiver.restartDelay`).
    pub fn restart_delay(&self) -> Duration {
        self.state.env.settings.receiver_restart_delay
    }
}

impl<T: Data> ReceiverState<T> {
    fn id(&self) -> usize {
        self.stream_id.get().copied().unwrap_or(usize::MAX)
    }

    fn info(&self) -> ReceiverInfo {
        ReceiverInfo {
            stream_id: self.id(),
            name: self.receiver.name(),
            active: self.active.load(Ordering::Acquire),
            last_error: self.last_error.lock().clone(),
            records_stored: self.records_stored.load(Ordering::Relaxed),
            bad_records: self.bad_records.load(Ordering::Relaxed),
        }
    }

    /// Turns the records stored since the last cut into a block.
    fn cut_block(&self) {
        let mut b = self.buffers.lock();
        if !b.current.is_empty() {
            let block = std::mem::take(&mut b.current);
            b.ready.push(Arc::new(block));
        }
    }
}

struct ReceiverInput<T: Data>(Arc<ReceiverState<T>>);

impl<T: Data> InputStream for ReceiverInput<T> {
    fn id(&self) -> usize {
        self.0.id()
    }

    fn start(&self) -> Result<()> {
        let s = Arc::clone(&self.0);
        match &s.logging {
            Logging::Off => {}
            Logging::On(log) => self.open_log(log)?,
            Logging::Unsupported => {
                return Err(Error::config(
                    crate::conf::RECEIVER_WAL,
                    "true",
                    format!(
                        "the records of receiver stream {:?} cannot be written to the log: \
                         create it with receiver_stream_with_log (records must implement \
                         Serialize and DeserializeOwned)",
                        s.receiver.name()
                    ),
                ));
            }
        }
        // The block timer cuts blocks on the streaming clock.
        let timer_state = Arc::clone(&s);
        let interval = duration_ms(s.env.settings.block_interval).max(1);
        let handle = std::thread::Builder::new()
            .name("sluice-block-timer".into())
            .spawn(move || {
                let st = &timer_state;
                let mut next = (st.env.clock.now_ms().div_euclid(interval) + 1) * interval;
                while st.env.clock.wait_until(next, &st.timer_stop).is_some() {
                    st.cut_block();
                    next += interval;
                }
            })
            .map_err(|e| Error::Internal(format!("starting the block timer: {e}")))?;
        *s.timer.lock() = Some(handle);
        s.active.store(true, Ordering::Release);
        s.env.post(StreamingEvent::ReceiverStarted(s.info()));
        let ctx = ReceiverContext {
            state: Arc::clone(&s),
        };
        let receiver = Arc::clone(&s.receiver);
        if let Err(p) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| receiver.on_start(ctx)))
        {
            let msg = sluice_core::internals::panic_message(&*p);
            *s.last_error.lock() = Some(format!("on_start panicked: {msg}"));
            s.env.post(StreamingEvent::ReceiverError(s.info()));
        }
        Ok(())
    }

    fn stop(&self) {
        let s = &self.0;
        if s.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        s.space.notify_all();
        let receiver = Arc::clone(&s.receiver);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| receiver.on_stop()));
        s.timer_stop.store(true, Ordering::Release);
        if let Some(h) = s.timer.lock().take() {
            let _ = h.join();
        }
        s.cut_block();
        s.active.store(false, Ordering::Release);
        s.env.post(StreamingEvent::ReceiverStopped(s.info()));
    }

    fn allocate(&self, time: Time) {
        let mut b = self.0.buffers.lock();
        if b.allocated.contains_key(&time) {
            // Replayed from the log after a restart.
            return;
        }
        if !b.current.is_empty() {
            let block = std::mem::take(&mut b.current);
            b.ready.push(Arc::new(block));
        }
        let blocks = std::mem::take(&mut b.ready);
        let range = b.allocated_end..b.buffered_end;
        b.allocated_end = b.buffered_end;
        b.ranges.insert(time, range);
        b.allocated.insert(time, blocks);
    }

    fn has_unallocated_data(&self) -> bool {
        let b = self.0.buffers.lock();
        !b.current.is_empty() || !b.ready.is_empty()
    }

    fn input_info(&self, time: Time) -> Option<StreamInputInfo> {
        let b = self.0.buffers.lock();
        let blocks = b.allocated.get(&time)?;
        Some(StreamInputInfo {
            input_stream_id: self.id(),
            num_records: blocks.iter().map(|x| x.len() as u64).sum(),
            description: format!("{} block(s)", blocks.len()),
            rate_limit: None,
        })
    }

    fn batch_completed(&self, outcome: &BatchOutcome<'_>) {
        let time = outcome.time();
        let s = &self.0;
        let mut b = s.buffers.lock();
        let done: Vec<Time> = b.allocated.range(..=time).map(|(t, _)| *t).collect();
        for t in done {
            if let Some(blocks) = b.allocated.remove(&t) {
                let n: usize = blocks.iter().map(|x| x.len()).sum();
                b.held = b.held.saturating_sub(n);
            }
        }
        let done: Vec<Time> = b.ranges.range(..=time).map(|(t, _)| *t).collect();
        for t in done {
            if let Some(r) = b.ranges.remove(&t) {
                b.completed_end = b.completed_end.max(r.end);
            }
        }
        s.space.notify_all();
    }

    fn receiver_info(&self) -> Option<ReceiverInfo> {
        Some(self.0.info())
    }

    fn replay(&self) -> Option<&dyn ReplayHooks> {
        // Only a logged receiver can re-read what it stored.
        matches!(self.0.logging, Logging::On(_)).then_some(self as &dyn ReplayHooks)
    }
}

/// The records of the write-ahead log a batch read, by sequence number.
#[derive(Serialize, Deserialize)]
struct LoggedRange {
    from: u64,
    to: u64,
}

/// How far the log is covered by the checkpoint.
#[derive(Serialize, Deserialize)]
struct LogPosition {
    wal_end: u64,
}

impl<T: Data> Replay for ReceiverInput<T> {
    type Position = LoggedRange;
    type State = LogPosition;

    fn writes_log(&self) -> bool {
        matches!(self.0.logging, Logging::On(_))
    }

    fn position(&self, time: Time) -> Option<LoggedRange> {
        let b = self.0.buffers.lock();
        let r = b.ranges.get(&time)?;
        Some(LoggedRange {
            from: r.start,
            to: r.end,
        })
    }

    fn seek(&self, time: Time, range: LoggedRange) -> Result<()> {
        if let Logging::On(log) = &self.0.logging {
            log.restore
                .lock()
                .1
                .insert(time.millis(), range.from..range.to);
        }
        Ok(())
    }

    fn state(&self, _time: Time) -> Option<LogPosition> {
        let wal_end = self.0.buffers.lock().completed_end;
        Some(LogPosition { wal_end })
    }

    fn restore(&self, state: LogPosition) -> Result<()> {
        if let Logging::On(log) = &self.0.logging {
            log.restore.lock().0 = Some(state.wal_end);
        }
        Ok(())
    }

    fn checkpoint_written(&self, _time: Time) -> Result<()> {
        let Logging::On(log) = &self.0.logging else {
            return Ok(());
        };
        let end = self.0.buffers.lock().completed_end;
        match log.wal.get() {
            Some(wal) => wal.checkpoint_written(end),
            None => Ok(()),
        }
    }
}

impl<T: Data> ReceiverInput<T> {
    /// Opens the write-ahead log: reads back what the log holds, re-creates the batches
    /// generated after the checkpoint and the records not yet in a batch, and positions the
    /// log after its last record.
    fn open_log(&self, log: &LogState<T>) -> Result<()> {
        let s = &self.0;
        let dir = s.env.checkpoint_path().ok_or_else(|| {
            Error::config(
                crate::conf::RECEIVER_WAL,
                "true",
                "the receivers' write-ahead log needs a checkpoint directory on a file system \
                 (local or shared; an object-store checkpoint cannot take appends): call \
                 StreamingContext::checkpoint or use get_or_create with a path",
            )
        })?;
        let log_dir = dir.join(names::received_data_dir(&self.name()));
        let (checkpointed, batches) = std::mem::take(&mut *log.restore.lock());
        let checkpointed = checkpointed.unwrap_or(0);
        let opened = wal::open_log(&log_dir, checkpointed)?;
        if opened.torn_bytes > 0 {
            *s.last_error.lock() = Some(format!(
                "dropped the torn tail ({} bytes) of the write-ahead log in {}: a write cut \
                 short by the crash, never acknowledged",
                opened.torn_bytes,
                log_dir.display()
            ));
        }
        let plan =
            wal::plan_replay(checkpointed, &batches, opened.logged.clone()).map_err(|reason| {
                Error::Checkpoint {
                    path: log_dir.clone(),
                    reason,
                }
            })?;
        // Records by sequence number, from the first one replayed.
        let from = plan
            .batches
            .first()
            .map_or(plan.unallocated.start, |(_, r)| r.start);
        let mut records: Vec<T> = Vec::new();
        let mut records_start = None;
        for (first, count, bytes) in &opened.entries {
            let decoded = (log.decode)(bytes).map_err(|e| Error::Checkpoint {
                path: log_dir.clone(),
                reason: format!("the entry of records {first}.. cannot be decoded: {e}"),
            })?;
            if decoded.len() as u64 != *count {
                return Err(Error::Checkpoint {
                    path: log_dir.clone(),
                    reason: format!(
                        "the entry of records {first}.. holds {} records, its header says \
                         {count}",
                        decoded.len()
                    ),
                });
            }
            let skip = usize::try_from(from.saturating_sub(*first)).unwrap_or(usize::MAX);
            if records_start.is_none() && skip < decoded.len() {
                records_start = Some(first + skip as u64);
            }
            records.extend(decoded.into_iter().skip(skip));
        }
        let base = records_start.unwrap_or(from);
        let take = |r: &Range<u64>| -> Vec<T> {
            let lo = usize::try_from(r.start.saturating_sub(base)).unwrap_or(usize::MAX);
            let hi = usize::try_from(r.end.saturating_sub(base)).unwrap_or(usize::MAX);
            records
                .get(lo.min(records.len())..hi.min(records.len()))
                .map(<[T]>::to_vec)
                .unwrap_or_default()
        };
        {
            let mut b = s.buffers.lock();
            for (t, r) in &plan.batches {
                let block = take(r);
                b.held += block.len();
                let t = Time::from_millis(*t);
                b.ranges.insert(t, r.clone());
                b.allocated.insert(
                    t,
                    if block.is_empty() {
                        Vec::new()
                    } else {
                        vec![Arc::new(block)]
                    },
                );
            }
            let rest = take(&plan.unallocated);
            b.held += rest.len();
            if !rest.is_empty() {
                b.ready.push(Arc::new(rest));
            }
            b.completed_end = checkpointed;
            b.allocated_end = plan.unallocated.start;
            b.buffered_end = opened.logged.end;
        }
        let writer = WriteAheadLog::new(log_dir, opened.logged.end, opened.segments, log.encode);
        let _ = log.wal.set(writer);
        Ok(())
    }
}

struct ReceiverCompute<T: Data>(Arc<ReceiverState<T>>);

impl<T: Data> StreamCompute<T> for ReceiverCompute<T> {
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>> {
        let blocks = self
            .0
            .buffers
            .lock()
            .allocated
            .get(&time)
            .cloned()
            .unwrap_or_default();
        Ok(Some(self.0.env.ctx.parallelize_shared(blocks)))
    }
}

impl StreamingContext {
    /// A stream of the records a custom [`Receiver`] stores; each block of records is one
    /// partition of the batch's RDD. Its records are not written to the write-ahead log: with
    /// `sluice.streaming.receiver.writeAheadLog.enable` on, `start` fails (use
    /// [`receiver_stream_with_log`](Self::receiver_stream_with_log)).
    pub fn receiver_stream<T: Data>(&self, receiver: impl Receiver<T>) -> DStream<T> {
        let logging = if self.env().settings.receiver_wal {
            Logging::Unsupported
        } else {
            Logging::Off
        };
        self.make_receiver_stream(receiver, logging)
    }

    /// Like [`receiver_stream`](Self::receiver_stream), for records that can be serialised:
    /// with `sluice.streaming.receiver.writeAheadLog.enable` on, everything the receiver
    /// stores is written to a log under the checkpoint directory before `store` returns, and
    /// replayed after a crash (see the [module docs](self)).
    pub fn receiver_stream_with_log<T>(&self, receiver: impl Receiver<T>) -> DStream<T>
    where
        T: Data + serde::Serialize + serde::de::DeserializeOwned,
    {
        let logging = if self.env().settings.receiver_wal {
            Logging::On(Box::new(LogState {
                encode: wal::bincode_encode::<T>,
                decode: wal::bincode_decode::<T>,
                wal: OnceLock::new(),
                restore: Mutex::new((None, BTreeMap::new())),
            }))
        } else {
            Logging::Off
        };
        self.make_receiver_stream(receiver, logging)
    }

    fn make_receiver_stream<T: Data>(
        &self,
        receiver: impl Receiver<T>,
        logging: Logging<T>,
    ) -> DStream<T> {
        let state = Arc::new(ReceiverState {
            stream_id: OnceLock::new(),
            env: Arc::clone(self.env()),
            receiver: Arc::new(receiver),
            buffers: Mutex::new(Buffers::new()),
            space: Condvar::new(),
            stopped: AtomicBool::new(false),
            active: AtomicBool::new(false),
            restarting: AtomicBool::new(false),
            records_stored: AtomicU64::new(0),
            bad_records: AtomicU64::new(0),
            last_error: Mutex::new(None),
            timer_stop: AtomicBool::new(false),
            timer: Mutex::new(None),
            logging,
        });
        let name = state.receiver.name();
        let stream = DStream::new_node(
            self.env(),
            &name,
            self.batch_interval(),
            vec![],
            Duration::ZERO,
            ReceiverCompute(Arc::clone(&state)),
        );
        let _ = state.stream_id.set(stream.id());
        self.env().register_input(Arc::new(ReceiverInput(state)));
        stream
    }

    /// The state of every receiver.
    pub fn receivers(&self) -> Vec<ReceiverInfo> {
        self.env()
            .graph()
            .inputs
            .iter()
            .filter_map(|i| i.receiver_info())
            .collect()
    }
}
