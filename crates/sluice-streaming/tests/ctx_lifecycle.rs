#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The streaming context's lifecycle (reference sections A and F): Initialized → Active →
//! Stopped, one way; what may be done in each state; graceful and immediate stop;
//! `await_termination`; dropping a context; construction errors and clocks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_core::{Conf, Context, Error};
use sluice_streaming::clock::ManualClock;
use sluice_streaming::listener::{BatchInfo, StreamingListener};
use sluice_streaming::time::{milliseconds, seconds};
use sluice_streaming::{DStream, RddQueue, StopMode, StreamingContext, StreamingState};

mod common;
use common::{
    collect_into, graceful, hand_over, idle_output, local, manual_context, run_batch, t, wait_for,
    Collected, Handle,
};

/// A started context on a manual clock whose one stream, a `HandOver` receiver's, is
/// collected: the context, its clock, the receiver's handle and the output.
fn started_with_receiver() -> (
    StreamingContext,
    Arc<ManualClock>,
    Handle<u32>,
    Collected<u32>,
) {
    let (ssc, clock) = manual_context();
    let (rx, h) = hand_over::<u32>();
    let out = collect_into(&ssc.receiver_stream(rx));
    ssc.start().unwrap();
    (ssc, clock, h, out)
}

// ---------------------------------------------------------------------------------------------
// states

#[test]
fn states_go_initialized_active_stopped() {
    let (ssc, clock) = manual_context();
    assert_eq!(ssc.state(), StreamingState::Initialized);
    assert_eq!(ssc.start_time(), None);
    idle_output(&ssc);
    ssc.start().unwrap();
    assert_eq!(ssc.state(), StreamingState::Active);
    assert_eq!(ssc.start_time(), Some(t(1000)));
    // Starting an active context again is fine and changes nothing.
    ssc.start().unwrap();
    assert_eq!(ssc.state(), StreamingState::Active);
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(ssc.state(), StreamingState::Stopped);
    // Stopping again is fine.
    ssc.stop(StopMode::Immediate).unwrap();
    ssc.stop(graceful()).unwrap();
    // A stopped context cannot be restarted.
    let r = ssc.start();
    assert!(matches!(r, Err(Error::IllegalState(_))), "{r:?}");
    assert_eq!(ssc.state(), StreamingState::Stopped);
    assert_eq!(ssc.batches_completed(), 1);
    assert_eq!(ssc.last_completed_batch(), Some(t(1000)));
}

#[test]
fn stopping_before_starting() {
    let (ssc, _clock) = manual_context();
    idle_output(&ssc);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(ssc.state(), StreamingState::Stopped);
    assert!(ssc.start().is_err());
    assert!(ssc
        .await_termination_timeout(Duration::from_secs(5))
        .unwrap());
}

#[test]
fn start_without_output_operations_is_an_error() {
    let (ssc, clock) = manual_context();
    let s = ssc.rate_stream(1, None, |i| i).map(|i| i + 1);
    let r = ssc.start();
    assert!(matches!(r, Err(Error::IllegalState(_))), "{r:?}");
    // The failed start leaves the context usable.
    assert_eq!(ssc.state(), StreamingState::Initialized);
    let out = collect_into(&s);
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(out.lock().unwrap()[&1000], vec![1]);
}

#[test]
fn adding_output_operations_after_start_is_an_error() {
    let (ssc, _clock) = manual_context();
    let s = ssc.rate_stream(1, None, |i| i);
    s.foreach_rdd(|_, _| Ok(())).unwrap();
    ssc.start().unwrap();
    let r = s.foreach_rdd(|_, _| Ok(()));
    assert!(matches!(r, Err(Error::IllegalState(_))), "{r:?}");
    assert!(s.print(1).is_err());
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("x").to_string_lossy().into_owned();
    assert!(s.save_as_text_files(&prefix, "").is_err());
    assert!(ssc.union(&[s.clone(), s.clone()]).is_err());
    assert!(ssc.remember(seconds(5)).is_err());
    ssc.stop(StopMode::Immediate).unwrap();
    // ... and after stop.
    assert!(matches!(
        s.foreach_rdd(|_, _| Ok(())),
        Err(Error::IllegalState(_))
    ));
    // Nothing was written by the rejected operation.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// graceful stop

#[test]
fn graceful_stop_processes_everything_received() {
    let (ssc, clock, h, out) = started_with_receiver();
    let ctx = h.ctx();
    ctx.store_batch((0..10).collect()).unwrap();
    run_batch(&ssc, &clock, 1);
    // Stored after the last batch, and the clock is not advanced again.
    ctx.store_batch((10..15).collect()).unwrap();
    ctx.store(15).unwrap();
    let stored = ctx.records_stored();
    assert_eq!(stored, 16);
    ssc.stop(graceful()).unwrap();
    assert_eq!(ssc.state(), StreamingState::Stopped);
    assert_eq!(h.stops(), 1);
    let out = out.lock().unwrap().clone();
    let total: usize = out.values().map(Vec::len).sum();
    assert_eq!(total as u64, stored);
    assert_eq!(out[&1000], (0..10).collect::<Vec<u32>>());
    // The rest in one final batch at the next batch time.
    assert_eq!(out[&2000], (10..16).collect::<Vec<u32>>());
    assert_eq!(out.len(), 2);
}

#[test]
fn graceful_stop_before_any_batch() {
    let (ssc, _clock, h, out) = started_with_receiver();
    h.ctx().store_batch(vec![7, 8, 9]).unwrap();
    ssc.stop(graceful()).unwrap();
    let out = out.lock().unwrap().clone();
    assert_eq!(out.len(), 1);
    assert_eq!(out[&1000], vec![7, 8, 9]);
}

#[test]
fn graceful_stop_with_nothing_pending_adds_no_batch() {
    let (ssc, clock, h, out) = started_with_receiver();
    h.ctx().store(1).unwrap();
    run_batch(&ssc, &clock, 1);
    ssc.stop(graceful()).unwrap();
    assert_eq!(
        out.lock().unwrap().keys().copied().collect::<Vec<_>>(),
        vec![1000]
    );
    assert_eq!(ssc.batches_completed(), 1);
}

#[test]
fn graceful_stop_sum_over_batches_with_a_writer_thread() {
    // A receiver thread stores while batches run; whatever it stored before the stop is
    // processed, in order.
    let (ssc, clock, h, out) = started_with_receiver();
    let ctx = h.ctx();
    let writer = std::thread::spawn(move || {
        let mut i = 0u32;
        while ctx.store(i).is_ok() {
            i += 1;
        }
        i
    });
    for k in 1..=3 {
        wait_for("more records", || h.ctx().records_stored() >= 50 * k as u64);
        run_batch(&ssc, &clock, k);
    }
    ssc.stop(graceful()).unwrap();
    let stored_by_writer = writer.join().unwrap();
    let out = out.lock().unwrap().clone();
    let all: Vec<u32> = out.values().flatten().copied().collect();
    assert_eq!(all.len() as u64, h.ctx().records_stored());
    assert_eq!(all, (0..stored_by_writer).collect::<Vec<u32>>());
}

/// Sends the batch time when an output operation starts, then waits for a release.
fn blocking_op(s: &DStream<u32>) -> (mpsc::Receiver<i64>, mpsc::Sender<()>, Arc<Mutex<Vec<i64>>>) {
    let (entered_tx, entered_rx) = mpsc::channel::<i64>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let entered_tx = Mutex::new(entered_tx);
    let release_rx = Mutex::new(release_rx);
    let ran: Arc<Mutex<Vec<i64>>> = Arc::default();
    let r = Arc::clone(&ran);
    s.foreach_rdd(move |_, time| {
        let _ = entered_tx.lock().unwrap().send(time.millis());
        if time.millis() == 1000 {
            release_rx.lock().unwrap().recv().unwrap();
        }
        r.lock().unwrap().push(time.millis());
        Ok(())
    })
    .unwrap();
    (entered_rx, release_tx, ran)
}

#[derive(Default)]
struct Submitted(AtomicUsize);

impl StreamingListener for Submitted {
    fn on_batch_submitted(&self, _b: &BatchInfo) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Starts a context whose batch 1 is running (blocked) while batches 2 and 3 are queued;
/// `setup` sees the context first (to add listeners before the start).
fn with_queued_batches(
    setup: impl FnOnce(&StreamingContext),
) -> (
    StreamingContext,
    Handle<u32>,
    mpsc::Sender<()>,
    Arc<Mutex<Vec<i64>>>,
) {
    let (ssc, clock) = manual_context();
    setup(&ssc);
    let submitted = Arc::new(Submitted::default());
    ssc.add_listener(submitted.clone());
    let (rx, h) = hand_over::<u32>();
    let (entered, release, ran) = blocking_op(&ssc.receiver_stream(rx));
    ssc.start().unwrap();
    clock.advance(seconds(1));
    assert_eq!(entered.recv_timeout(Duration::from_secs(30)).unwrap(), 1000);
    clock.advance(seconds(2));
    wait_for("batches 2 and 3 to be queued", || {
        submitted.0.load(Ordering::SeqCst) == 3
    });
    (ssc, h, release, ran)
}

#[test]
fn immediate_stop_drops_queued_batches() {
    let (ssc, h, release, ran) = with_queued_batches(|_| {});
    let stopper = {
        let ssc = ssc.clone();
        std::thread::spawn(move || ssc.stop(StopMode::Immediate))
    };
    // Once the receiver is being stopped, queued batches are already marked to be dropped.
    wait_for("the receiver to stop", || h.stops() == 1);
    release.send(()).unwrap();
    stopper.join().unwrap().unwrap();
    assert_eq!(ssc.state(), StreamingState::Stopped);
    // The running operation finished; the queued batches never ran.
    assert_eq!(*ran.lock().unwrap(), vec![1000]);
    assert_eq!(ssc.batches_completed(), 1);
}

#[test]
fn graceful_stop_runs_queued_batches() {
    let (ssc, h, release, ran) = with_queued_batches(|_| {});
    let stopper = {
        let ssc = ssc.clone();
        std::thread::spawn(move || ssc.stop(graceful()))
    };
    wait_for("the receiver to stop", || h.stops() == 1);
    release.send(()).unwrap();
    stopper.join().unwrap().unwrap();
    assert_eq!(*ran.lock().unwrap(), vec![1000, 2000, 3000]);
    assert_eq!(ssc.batches_completed(), 3);
}

#[test]
fn immediate_stop_stops_receivers_and_batches() {
    let (ssc, clock, h, out) = started_with_receiver();
    h.ctx().store(1).unwrap();
    run_batch(&ssc, &clock, 1);
    h.ctx().store(2).unwrap();
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(h.stops(), 1);
    assert!(h.ctx().store(3).is_err());
    // The clock moving on does nothing any more.
    clock.advance(seconds(5));
    assert!(!ssc.await_batch(t(2000), Duration::from_millis(50)).unwrap());
    assert_eq!(ssc.batches_completed(), 1);
    // Immediate stop does not wait for received data.
    assert_eq!(
        out.lock().unwrap().keys().copied().collect::<Vec<_>>(),
        vec![1000]
    );
}

// ---------------------------------------------------------------------------------------------
// await_termination

#[test]
fn await_termination_timeout_reports_stop() {
    let (ssc, _clock) = manual_context();
    idle_output(&ssc);
    ssc.start().unwrap();
    assert!(!ssc
        .await_termination_timeout(Duration::from_millis(20))
        .unwrap());
    let waiter = {
        let ssc = ssc.clone();
        std::thread::spawn(move || ssc.await_termination())
    };
    let timed = {
        let ssc = ssc.clone();
        std::thread::spawn(move || ssc.await_termination_timeout(Duration::from_secs(30)))
    };
    ssc.stop(StopMode::Immediate).unwrap();
    waiter.join().unwrap().unwrap();
    assert!(timed.join().unwrap().unwrap());
    assert!(ssc
        .await_termination_timeout(Duration::from_secs(1))
        .unwrap());
}

#[test]
fn await_termination_returns_a_batch_failure() {
    let (ssc, clock) = manual_context();
    ssc.rate_stream(1, None, |i| i)
        .foreach_rdd(|_, _| Err(Error::User("always fails".into())))
        .unwrap();
    ssc.start().unwrap();
    clock.advance(seconds(1));
    let e = ssc.await_termination().unwrap_err();
    assert!(e.to_string().contains("always fails"), "{e}");
    // A failing batch does not stop the context.
    assert_eq!(ssc.state(), StreamingState::Active);
    ssc.stop(StopMode::Immediate).unwrap();
}

// ---------------------------------------------------------------------------------------------
// dropping

#[test]
fn dropping_the_last_handle_stops_the_context() {
    let (ssc, clock, h, out) = started_with_receiver();
    h.ctx().store(1).unwrap();
    run_batch(&ssc, &clock, 1);
    let clone = ssc.clone();
    drop(ssc);
    // Another handle is alive: still running.
    assert_eq!(clone.state(), StreamingState::Active);
    assert_eq!(h.stops(), 0);
    h.ctx().store(2).unwrap();
    run_batch(&clone, &clock, 2);
    drop(clone);
    // The receiver was stopped; its context refuses records.
    assert_eq!(h.stops(), 1);
    assert!(h.ctx().store(3).is_err());
    clock.advance(seconds(5));
    let out = out.lock().unwrap().clone();
    assert_eq!(out.keys().copied().collect::<Vec<_>>(), vec![1000, 2000]);
}

#[test]
fn dropping_an_active_context_with_a_system_clock_does_not_hang() {
    let ssc = StreamingContext::new(&local(), milliseconds(20)).unwrap();
    let q = RddQueue::new();
    q.push(ssc.context().parallelize(vec![1, 2, 3], 2));
    let out = collect_into(&ssc.queue_stream(&q, true, None));
    ssc.start().unwrap();
    let first = ssc.start_time().unwrap();
    assert!(ssc.await_batch(first, Duration::from_secs(20)).unwrap());
    drop(ssc);
    assert_eq!(out.lock().unwrap()[&first.millis()], vec![1, 2, 3]);
}

#[test]
fn dropping_an_unstarted_context() {
    let (ssc, _clock) = manual_context();
    idle_output(&ssc);
    drop(ssc);
}

// ---------------------------------------------------------------------------------------------
// construction and clocks

#[test]
fn the_first_batch_is_the_next_multiple_of_the_interval() {
    let clock = ManualClock::shared(2500);
    let ssc = StreamingContext::with_clock(&local(), seconds(1), clock.clone()).unwrap();
    let out = collect_into(&ssc.rate_stream(1, Some(1), |i| i));
    ssc.start().unwrap();
    assert_eq!(ssc.start_time(), Some(t(3000)));
    clock.advance(milliseconds(500));
    assert!(ssc.await_batch(t(3000), Duration::from_secs(30)).unwrap());
    clock.advance(seconds(1));
    assert!(ssc.await_batch(t(4000), Duration::from_secs(30)).unwrap());
    ssc.stop(StopMode::Immediate).unwrap();
    let out = out.lock().unwrap().clone();
    assert_eq!(out.keys().copied().collect::<Vec<_>>(), vec![3000, 4000]);
    assert_eq!(out[&3000], vec![0]);
    assert_eq!(out[&4000], vec![1]);
}

#[test]
fn a_manual_clock_from_the_configuration() {
    let conf = Conf::new()
        .set_master("local[2]")
        .set("sluice.streaming.clock", "manual");
    let ssc = StreamingContext::from_conf(conf, seconds(1)).unwrap();
    let clock = ssc.manual_clock().expect("manual clock");
    let out = collect_into(&ssc.rate_stream(2, None, |i| i));
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(out.lock().unwrap()[&1000], vec![0, 1]);
    // The default is the system clock.
    let ssc = StreamingContext::new(&local(), seconds(1)).unwrap();
    assert!(ssc.manual_clock().is_none());
    assert_eq!(ssc.batch_interval(), seconds(1));
}

#[test]
fn a_system_clock_context_runs_batches() {
    let ssc = StreamingContext::new(&local(), milliseconds(20)).unwrap();
    let times: Arc<Mutex<Vec<i64>>> = Arc::default();
    let sink = Arc::clone(&times);
    ssc.rate_stream(100, Some(1), |i| i)
        .foreach_rdd(move |_, time| {
            sink.lock().unwrap().push(time.millis());
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    let first = ssc.start_time().unwrap();
    assert_eq!(first.millis() % 20, 0);
    assert!(ssc
        .await_batch(first + milliseconds(40), Duration::from_secs(20))
        .unwrap());
    ssc.stop(StopMode::Immediate).unwrap();
    let times = times.lock().unwrap().clone();
    assert!(times.len() >= 3);
    // Consecutive batch times, one interval apart.
    for w in times.windows(2) {
        assert_eq!(w[1] - w[0], 20);
    }
    assert_eq!(times[0], first.millis());
}

#[test]
fn invalid_configurations_are_rejected() {
    assert!(StreamingContext::new(&local(), Duration::ZERO).is_err());
    assert!(StreamingContext::new(&local(), Duration::from_micros(500)).is_err());
    // Bad streaming settings are refused when the engine context is built, before any
    // streaming context exists.
    let bad = |k: &str, v: &str| {
        Context::new(Conf::new().set_master("local[2]").set(k, v))
            .and_then(|ctx| StreamingContext::new(&ctx, seconds(1)))
    };
    assert!(matches!(
        bad("sluice.streaming.noSuchKey", "1"),
        Err(Error::Config { .. })
    ));
    assert!(bad("sluice.streaming.clock", "sundial").is_err());
    assert!(bad("sluice.streaming.blockInterval", "0ms").is_err());
    assert!(bad("sluice.streaming.blockInterval", "soon").is_err());
    assert!(bad("sluice.streaming.receiver.restartDelay", "x").is_err());
    assert!(bad("sluice.streaming.fileStream.minRememberDuration", "-1s").is_err());
    assert!(bad("sluice.streaming.blockInterval", "50ms").is_ok());
}

// ---------------------------------------------------------------------------------------------
// stopping from inside the engine's own threads, and concurrent stops

/// Calls `stop` once, from wherever it is invoked, and records the outcome.
#[derive(Default)]
struct StopOnce {
    ssc: Mutex<Option<StreamingContext>>,
    outcome: Mutex<Option<Result<(), String>>>,
}

impl StopOnce {
    fn fire(&self) {
        let ssc = self.ssc.lock().unwrap().take();
        if let Some(ssc) = ssc {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                ssc.stop(StopMode::Immediate).map_err(|e| e.to_string())
            }))
            .unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("PANIC: {msg}"))
            });
            *self.outcome.lock().unwrap() = Some(r);
        }
    }
}

impl StreamingListener for StopOnce {
    fn on_batch_completed(&self, _b: &BatchInfo) {
        self.fire();
    }
}

/// After `stop` was called from inside the engine: it must have returned (not panicked), and
/// either stopped the context or refused with `IllegalState` leaving it running and stoppable.
fn check_stop_from_inside(ssc: &StreamingContext, stopper: &StopOnce) {
    wait_for("the inner stop to return", || {
        stopper.outcome.lock().unwrap().is_some()
    });
    let outcome = stopper.outcome.lock().unwrap().clone().unwrap();
    if let Err(msg) = &outcome {
        assert!(!msg.starts_with("PANIC"), "stop panicked: {msg}");
    }
    match outcome {
        Ok(()) => {
            assert!(ssc
                .await_termination_timeout(Duration::from_secs(10))
                .unwrap());
            assert_eq!(ssc.state(), StreamingState::Stopped);
        }
        Err(msg) => {
            assert!(msg.contains("illegal state"), "{msg}");
            assert_eq!(ssc.state(), StreamingState::Active);
            ssc.stop(StopMode::Immediate).unwrap();
            assert!(ssc
                .await_termination_timeout(Duration::from_secs(10))
                .unwrap());
        }
    }
}

#[test]
fn stop_from_a_listener_callback_does_not_panic() {
    let (ssc, clock) = manual_context();
    let stopper = Arc::new(StopOnce::default());
    *stopper.ssc.lock().unwrap() = Some(ssc.clone());
    ssc.add_listener(stopper.clone());
    idle_output(&ssc);
    ssc.start().unwrap();
    clock.advance(seconds(1));
    check_stop_from_inside(&ssc, &stopper);
}

#[test]
fn stop_from_an_output_operation_does_not_panic() {
    let (ssc, clock) = manual_context();
    let stopper = Arc::new(StopOnce::default());
    *stopper.ssc.lock().unwrap() = Some(ssc.clone());
    let s = Arc::clone(&stopper);
    ssc.rate_stream(1, None, |i| i)
        .foreach_rdd(move |_, _| {
            s.fire();
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    clock.advance(seconds(1));
    check_stop_from_inside(&ssc, &stopper);
}

#[derive(Default)]
struct CompletedTimes(Mutex<Vec<i64>>);

impl StreamingListener for CompletedTimes {
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.0.lock().unwrap().push(b.batch_time.millis());
    }
}

#[test]
fn a_concurrent_stop_waits_for_the_stop_in_progress() {
    let completed = Arc::new(CompletedTimes::default());
    let (ssc, h, release, ran) = with_queued_batches(|ssc| ssc.add_listener(completed.clone()));
    // A: graceful stop, waiting for batch 1 (blocked) and the queued batches.
    let a = {
        let ssc = ssc.clone();
        std::thread::spawn(move || ssc.stop(graceful()))
    };
    wait_for("the graceful stop to begin", || h.stops() == 1);
    // B: another stop meanwhile. It must not report the context stopped before it is.
    let b = {
        let ssc = ssc.clone();
        let ran = Arc::clone(&ran);
        std::thread::spawn(move || {
            ssc.stop(StopMode::Immediate).unwrap();
            (ssc.state(), ran.lock().unwrap().len())
        })
    };
    // Give B the chance to return early (a correct engine keeps it waiting for A).
    let deadline = Instant::now() + Duration::from_secs(1);
    while !b.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    release.send(()).unwrap();
    a.join().unwrap().unwrap();
    let (state_seen_by_b, batches_run_when_b_returned) = b.join().unwrap();
    assert_eq!(state_seen_by_b, StreamingState::Stopped);
    assert_eq!(
        batches_run_when_b_returned, 3,
        "the second stop returned while the first was still draining"
    );
    assert_eq!(*ran.lock().unwrap(), vec![1000, 2000, 3000]);
    assert_eq!(*completed.0.lock().unwrap(), vec![1000, 2000, 3000]);
}

#[test]
fn creating_an_input_stream_after_start_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (ssc, _clock) = manual_context();
    idle_output(&ssc);
    ssc.start().unwrap();
    let r = ssc.text_file_stream(dir.path());
    assert!(matches!(r, Err(Error::IllegalState(_))), "{r:?}");
    ssc.stop(StopMode::Immediate).unwrap();
    let r = ssc.text_file_stream(dir.path());
    assert!(matches!(r, Err(Error::IllegalState(_))), "{r:?}");
}

/// A receiver whose start blocks until the test lets it go.
struct GatedReceiver {
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl sluice_streaming::Receiver<String> for GatedReceiver {
    fn on_start(&self, _ctx: sluice_streaming::ReceiverContext<String>) {
        self.entered.lock().unwrap().send(()).unwrap();
        let _ = self.release.lock().unwrap().recv();
    }
    fn on_stop(&self) {}
}

#[test]
fn a_stop_during_start_waits_for_it_and_stops_the_context() {
    let (ssc, _clock) = manual_context();
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let stream = ssc.receiver_stream(GatedReceiver {
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    });
    stream.foreach_rdd(|_, _| Ok(())).unwrap();
    let starter = {
        let ssc = ssc.clone();
        std::thread::spawn(move || ssc.start())
    };
    // `start` is in the middle of starting its sources.
    entered.recv_timeout(Duration::from_secs(30)).unwrap();
    let stopper = {
        let ssc = ssc.clone();
        std::thread::spawn(move || ssc.stop(StopMode::Immediate))
    };
    // The stop waits for the start instead of racing it.
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !stopper.is_finished(),
        "stop returned while start was running"
    );
    release.send(()).unwrap();
    starter.join().unwrap().unwrap();
    stopper.join().unwrap().unwrap();
    assert_eq!(ssc.state(), StreamingState::Stopped);
}
