//! Helpers shared by the integration tests of `sluice-streaming`: contexts on a manual clock,
//! running batches, collecting a stream's output, harness configurations, and a receiver that
//! hands its context to the test, and files with a given modification time.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_core::{Conf, Context, Data};
use sluice_streaming::clock::ManualClock;
use sluice_streaming::testing::TestConfig;
use sluice_streaming::time::{seconds, Time};
use sluice_streaming::{DStream, Receiver, ReceiverContext, StopMode, StreamingContext};

/// The batch time `ms` milliseconds after the epoch.
pub fn t(ms: i64) -> Time {
    Time::from_millis(ms)
}

/// A new `local[2]` batch context.
pub fn local() -> Context {
    Context::new(Conf::new().set_master("local[2]")).unwrap()
}

/// A new `local[2]` batch context whose streaming contexts run on the stepping clock (each
/// batch as soon as the previous one completed).
pub fn step_ctx() -> Context {
    step_ctx_with_store("memory")
}

/// [`step_ctx`] whose stateful operators keep their state in `store`: `memory`, `disk`, or
/// `disk-small` (on disk, with caches far smaller than the state).
#[allow(dead_code)] // not every test uses it
pub fn step_ctx_with_store(store: &str) -> Context {
    let conf = Conf::new()
        .set_master("local[2]")
        .set("sluice.streaming.clock", "step");
    let conf = match store {
        "disk-small" => conf
            .set("sluice.streaming.stateStore.kind", "disk")
            .set("sluice.streaming.stateStore.cacheSize", "2k"),
        other => conf.set("sluice.streaming.stateStore.kind", other),
    };
    Context::new(conf).unwrap()
}

/// A context on a manual clock at 0 with 1-second batches.
pub fn manual_context() -> (StreamingContext, Arc<ManualClock>) {
    manual_context_with(Conf::new())
}

/// [`manual_context`] with the settings of `conf` (the master is set to `local[2]`).
pub fn manual_context_with(conf: Conf) -> (StreamingContext, Arc<ManualClock>) {
    context_at(0, conf)
}

/// A `local[2]` context with `conf`'s settings and 1 s batches on a manual clock at `start_ms`.
pub fn context_at(start_ms: i64, conf: Conf) -> (StreamingContext, Arc<ManualClock>) {
    let ctx = Context::new(conf.set_master("local[2]")).unwrap();
    let clock = ManualClock::shared(start_ms);
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    (ssc, clock)
}

/// Advances the clock by one batch and waits (at most 30 s) for the batch at `ms`.
fn advance_and_await(ssc: &StreamingContext, clock: &ManualClock, ms: i64) -> bool {
    clock.advance(seconds(1));
    ssc.await_batch(t(ms), Duration::from_secs(30)).unwrap()
}

/// Advances the clock by one batch and waits for batch `k` (1-based, at `k` seconds).
pub fn run_batch(ssc: &StreamingContext, clock: &ManualClock, k: i64) {
    assert!(
        advance_and_await(ssc, clock, k * 1000),
        "batch {k} did not complete"
    );
}

/// Advances the clock by one batch and waits for the batch at `ms`.
pub fn run_batch_at(ssc: &StreamingContext, clock: &ManualClock, ms: i64) {
    assert!(
        advance_and_await(ssc, clock, ms),
        "batch {ms} did not complete"
    );
}

/// Polls `cond` every few milliseconds until it holds; panics after 20 s.
pub fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A graceful stop that waits at most 30 s.
pub fn graceful() -> StopMode {
    StopMode::Graceful {
        timeout: Duration::from_secs(30),
    }
}

/// Gives `ssc` an output operation that ignores a one-record-per-batch rate stream.
pub fn idle_output(ssc: &StreamingContext) {
    ssc.rate_stream(1, None, |i| i)
        .foreach_rdd(|_, _| Ok(()))
        .unwrap();
}

/// Each batch's records, by batch time in milliseconds.
pub type Collected<T> = Arc<Mutex<BTreeMap<i64, Vec<T>>>>;

/// Registers an output operation on `s` that collects each batch into the returned map.
pub fn collect_into<T: Data>(s: &DStream<T>) -> Collected<T> {
    let out: Collected<T> = Arc::default();
    let sink = Arc::clone(&out);
    s.foreach_rdd(move |rdd, time| {
        let v = rdd.collect()?;
        sink.lock().unwrap().insert(time.millis(), v);
        Ok(())
    })
    .unwrap();
    out
}

/// The records collected for the batch at `ms`; panics if there was none.
pub fn batch<T: Clone>(c: &Collected<T>, ms: i64) -> Vec<T> {
    c.lock()
        .unwrap()
        .get(&ms)
        .cloned()
        .expect("batch collected")
}

/// The default harness configuration with `partitions` input partitions.
pub fn cfg(partitions: usize) -> TestConfig {
    TestConfig {
        input_partitions: partitions,
        ..TestConfig::default()
    }
}

/// [`cfg`], with no input RDD for the (1-based) batches in `no_rdd`.
pub fn cfg_no_rdd(partitions: usize, no_rdd: Vec<usize>) -> TestConfig {
    TestConfig {
        input_partitions: partitions,
        no_rdd_batches: no_rdd,
        ..TestConfig::default()
    }
}

/// `v`, sorted.
pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Every batch of `v`, sorted on its own.
pub fn sorted_batches<T: Ord + Clone>(v: &[Vec<T>]) -> Vec<Vec<T>> {
    v.iter().map(|b| sorted(b.clone())).collect()
}

/// Owned `String`s of `v`.
pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A receiver that gives its context to the test and logs its `on_start` / `on_stop` calls.
pub struct HandOver<T: Data> {
    slot: Arc<Mutex<Option<ReceiverContext<T>>>>,
    calls: Arc<Mutex<Vec<&'static str>>>,
    name: &'static str,
}

/// The test's side of a [`HandOver`] receiver.
pub struct Handle<T: Data> {
    /// The context of the receiver's latest start.
    pub slot: Arc<Mutex<Option<ReceiverContext<T>>>>,
    calls: Arc<Mutex<Vec<&'static str>>>,
}

impl<T: Data> Handle<T> {
    /// The receiver's context; panics if it has not started.
    pub fn ctx(&self) -> ReceiverContext<T> {
        self.slot.lock().unwrap().clone().expect("receiver started")
    }

    /// The lifecycle calls so far, `"start"` and `"stop"`, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    /// How many times `on_stop` has been called.
    pub fn stops(&self) -> usize {
        self.calls().iter().filter(|c| **c == "stop").count()
    }
}

/// A [`HandOver`] receiver named `name`, and its handle.
pub fn hand_over_named<T: Data>(name: &'static str) -> (HandOver<T>, Handle<T>) {
    let slot = Arc::new(Mutex::new(None));
    let calls = Arc::new(Mutex::new(Vec::new()));
    (
        HandOver {
            slot: Arc::clone(&slot),
            calls: Arc::clone(&calls),
            name,
        },
        Handle { slot, calls },
    )
}

/// A [`HandOver`] receiver with the default receiver name, and its handle.
pub fn hand_over<T: Data>() -> (HandOver<T>, Handle<T>) {
    hand_over_named("receiver")
}

impl<T: Data> Receiver<T> for HandOver<T> {
    fn on_start(&self, ctx: ReceiverContext<T>) {
        *self.slot.lock().unwrap() = Some(ctx);
        self.calls.lock().unwrap().push("start");
    }
    fn on_stop(&self) {
        self.calls.lock().unwrap().push("stop");
    }
    fn name(&self) -> String {
        self.name.to_string()
    }
}

/// Writes `content` to `path` and sets its modification time to `mtime_ms` (ms since the
/// Unix epoch, the manual clock's scale in the directory-stream tests).
pub fn write_file(path: &std::path::Path, content: impl AsRef<[u8]>, mtime_ms: u64) {
    std::fs::write(path, content).unwrap();
    set_mtime(path, mtime_ms);
}

/// Sets the modification time of `path` to `mtime_ms`.
pub fn set_mtime(path: &std::path::Path, mtime_ms: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + Duration::from_millis(mtime_ms))
        .unwrap();
}

/// A `(key, (event time ms, value))` record of the event-time tests.
pub type EventRecord = (String, (i64, i64));
/// An emitted window as a sortable tuple: key, window start, window end, count, sum.
pub type WindowRow = (String, i64, i64, u64, i64);

/// The (count, sum) aggregation of the event-time tests over `window`, with the record's
/// event time and an allowed `delay`.
pub fn count_and_sum(
    s: &DStream<EventRecord>,
    window: sluice_streaming::event_time::EventWindow,
    delay: Duration,
    mode: sluice_streaming::event_time::OutputMode,
) -> sluice_streaming::event_time::WindowAggregation<String, (i64, i64), (u64, i64)> {
    count_and_sum_of(
        &s.with_watermark(|r: &EventRecord| r.1 .0, delay),
        window,
        mode,
    )
}

/// The (count, sum) aggregation of a watermarked stream (one input or several) over `window`.
pub fn count_and_sum_of(
    w: &sluice_streaming::event_time::Watermarked<EventRecord>,
    window: sluice_streaming::event_time::EventWindow,
    mode: sluice_streaming::event_time::OutputMode,
) -> sluice_streaming::event_time::WindowAggregation<String, (i64, i64), (u64, i64)> {
    w.aggregate_by_window(
        window,
        || (0u64, 0i64),
        |(c, s), (_, v)| (c + 1, s + v),
        |(c1, s1), (c2, s2)| (c1 + c2, s1 + s2),
        mode,
    )
    .unwrap()
}

/// The (count, sum) aggregation of the event-time tests over sessions of `gap`.
pub fn count_and_sum_by_session(
    s: &DStream<EventRecord>,
    gap: Duration,
    delay: Duration,
    mode: sluice_streaming::event_time::OutputMode,
) -> sluice_streaming::event_time::WindowAggregation<String, (i64, i64), (u64, i64)> {
    s.with_watermark(|r: &EventRecord| r.1 .0, delay)
        .combine_by_session(
            gap,
            |(_, v)| (1u64, v),
            |(c, s), (_, v)| (c + 1, s + v),
            |(c1, s1), (c2, s2)| (c1 + c2, s1 + s2),
            mode,
        )
        .unwrap()
}

/// A batch of emitted windows, as sorted tuples.
pub fn window_rows(
    batch: Vec<(
        (String, sluice_streaming::event_time::WindowRange),
        (u64, i64),
    )>,
) -> Vec<WindowRow> {
    let mut v: Vec<WindowRow> = batch
        .into_iter()
        .map(|((k, w), (c, s))| (k, w.start, w.end, c, s))
        .collect();
    v.sort();
    v
}
