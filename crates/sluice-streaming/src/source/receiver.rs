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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use sluice_core::{Data, Error, Rdd, Result};

use crate::context::{Shared, StreamingContext};
use crate::dstream::{DStream, StreamCompute};
use crate::listener::{ReceiverInfo, StreamInputInfo, StreamingEvent};
use crate::source::InputStream;
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
}

/// A receiver's engine-side state.
struct ReceiverState<T: Data> {
    stream_id: OnceLock<usize>,
    shared: Arc<Shared>,
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
    /// (a batch larger than the whole buffer is accepted once the buffer is empty).
    pub fn store_batch(&self, items: Vec<T>) -> Result<()> {
        let s = &self.state;
        let max = s.shared.settings.max_buffered_records;
        let n = items.len();
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
        b.current.extend(items);
        s.records_stored.fetch_add(n as u64, Ordering::Relaxed);
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
            .shared
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
        self.state.shared.settings.max_line_bytes
    }

    /// The default restart delay (`sluice.streaming.receiver.restartDelay`).
    pub fn restart_delay(&self) -> Duration {
        self.state.shared.settings.receiver_restart_delay
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
        // The block timer cuts blocks on the streaming clock.
        let timer_state = Arc::clone(&s);
        let interval = duration_ms(s.shared.settings.block_interval).max(1);
        let handle = std::thread::Builder::new()
            .name("sluice-block-timer".into())
            .spawn(move || {
                let st = &timer_state;
                let mut next = (st.shared.clock.now_ms().div_euclid(interval) + 1) * interval;
                while st.shared.clock.wait_until(next, &st.timer_stop).is_some() {
                    st.cut_block();
                    next += interval;
                }
            })
            .map_err(|e| Error::Internal(format!("starting the block timer: {e}")))?;
        *s.timer.lock() = Some(handle);
        s.active.store(true, Ordering::Release);
        s.shared.post(StreamingEvent::ReceiverStarted(s.info()));
        let ctx = ReceiverContext {
            state: Arc::clone(&s),
        };
        let receiver = Arc::clone(&s.receiver);
        if let Err(p) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| receiver.on_start(ctx)))
        {
            let msg = sluice_core::scheduler::executor::panic_message(&*p);
            *s.last_error.lock() = Some(format!("on_start panicked: {msg}"));
            s.shared.post(StreamingEvent::ReceiverError(s.info()));
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
        s.shared.post(StreamingEvent::ReceiverStopped(s.info()));
    }

    fn allocate(&self, time: Time) {
        let s = &self.0;
        s.cut_block();
        let mut b = s.buffers.lock();
        let blocks = std::mem::take(&mut b.ready);
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

    fn batch_completed(&self, time: Time) {
        let s = &self.0;
        let mut b = s.buffers.lock();
        let done: Vec<Time> = b.allocated.range(..=time).map(|(t, _)| *t).collect();
        for t in done {
            if let Some(blocks) = b.allocated.remove(&t) {
                let n: usize = blocks.iter().map(|x| x.len()).sum();
                b.held = b.held.saturating_sub(n);
            }
        }
        s.space.notify_all();
    }

    fn receiver_info(&self) -> Option<ReceiverInfo> {
        Some(self.0.info())
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
        Ok(Some(self.0.shared.ctx.parallelize_shared(blocks)))
    }
}

impl StreamingContext {
    /// A stream of the records a custom [`Receiver`] stores; each block of records is one
    /// partition of the batch's RDD.
    pub fn receiver_stream<T: Data>(&self, receiver: impl Receiver<T>) -> DStream<T> {
        let state = Arc::new(ReceiverState {
            stream_id: OnceLock::new(),
            shared: Arc::clone(self.shared()),
            receiver: Arc::new(receiver),
            buffers: Mutex::new(Buffers {
                current: Vec::new(),
                ready: Vec::new(),
                allocated: BTreeMap::new(),
                held: 0,
            }),
            space: Condvar::new(),
            stopped: AtomicBool::new(false),
            active: AtomicBool::new(false),
            restarting: AtomicBool::new(false),
            records_stored: AtomicU64::new(0),
            bad_records: AtomicU64::new(0),
            last_error: Mutex::new(None),
            timer_stop: AtomicBool::new(false),
            timer: Mutex::new(None),
        });
        let name = state.receiver.name();
        let stream = DStream::new_node(
            self.shared(),
            &name,
            self.batch_interval(),
            vec![],
            Duration::ZERO,
            ReceiverCompute(Arc::clone(&state)),
        );
        let _ = state.stream_id.set(stream.id());
        self.shared().register_input(Arc::new(ReceiverInput(state)));
        stream
    }

    /// The state of every receiver.
    pub fn receivers(&self) -> Vec<ReceiverInfo> {
        self.shared()
            .graph
            .lock()
            .inputs
            .iter()
            .filter_map(|i| i.receiver_info())
            .collect()
    }
}
