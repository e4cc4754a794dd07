#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Custom receivers (reference section E, Spark's receiver contract): `store`, `store_batch`,
//! `report_error` (visible to listeners and in `StreamingContext::receivers`), `restart`
//! (`on_stop`, then `on_start` again after the delay), and the receiver lifecycle.
//!
//! Most tests use a receiver that hands its `ReceiverContext` to the test, so records are
//! stored from the test thread before the clock is advanced: every record stored before
//! batch `t` is generated belongs to batch `t`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_core::{Conf, Data};
use sluice_streaming::listener::{ReceiverInfo, StreamingListener};
use sluice_streaming::{Receiver, ReceiverContext, StopMode};

mod common;
use common::{
    collect_into, hand_over_named, manual_context, manual_context_with, run_batch, wait_for,
    HandOver, Handle,
};

/// A [`HandOver`] receiver named `hand-over`, and its handle.
fn hand_over<T: Data>() -> (HandOver<T>, Handle<T>) {
    hand_over_named("hand-over")
}

/// Receiver events as (kind, info).
#[derive(Default)]
struct ReceiverEvents(Mutex<Vec<(&'static str, ReceiverInfo)>>);

impl StreamingListener for ReceiverEvents {
    fn on_receiver_started(&self, r: &ReceiverInfo) {
        self.0.lock().unwrap().push(("started", r.clone()));
    }
    fn on_receiver_error(&self, r: &ReceiverInfo) {
        self.0.lock().unwrap().push(("error", r.clone()));
    }
    fn on_receiver_stopped(&self, r: &ReceiverInfo) {
        self.0.lock().unwrap().push(("stopped", r.clone()));
    }
}

#[test]
fn stored_records_arrive_in_the_next_batch_in_order() {
    let (ssc, clock) = manual_context();
    let (rx, h) = hand_over::<i32>();
    let stream = ssc.receiver_stream(rx);
    assert_eq!(stream.name(), "hand-over");
    let out = collect_into(&stream);
    ssc.start().unwrap();
    assert_eq!(h.calls(), vec!["start"]);
    let ctx = h.ctx();

    ctx.store(1).unwrap();
    ctx.store(2).unwrap();
    ctx.store_batch(vec![3, 4, 5]).unwrap();
    assert_eq!(ctx.records_stored(), 5);
    run_batch(&ssc, &clock, 1);
    // Nothing stored: an empty batch.
    run_batch(&ssc, &clock, 2);
    ctx.store_batch(vec![]).unwrap();
    ctx.store(6).unwrap();
    run_batch(&ssc, &clock, 3);

    let info = ssc.receivers();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].name, "hand-over");
    assert!(info[0].active);
    assert_eq!(info[0].records_stored, 6);
    assert_eq!(info[0].bad_records, 0);
    assert_eq!(info[0].last_error, None);
    assert_eq!(info[0].stream_id, stream.id());

    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(h.calls(), vec!["start", "stop"]);
    assert!(!ssc.receivers()[0].active);
    // Storing after the stop fails.
    assert!(ctx.store(7).is_err());
    assert!(ctx.is_stopped());
    let out = out.lock().unwrap().clone();
    assert_eq!(out[&1000], vec![1, 2, 3, 4, 5]);
    assert_eq!(out[&2000], Vec::<i32>::new());
    assert_eq!(out[&3000], vec![6]);
}

#[test]
fn report_error_is_visible_to_listeners_and_in_receiver_info() {
    let (ssc, clock) = manual_context();
    let events = Arc::new(ReceiverEvents::default());
    ssc.add_listener(events.clone());
    let (rx, h) = hand_over::<String>();
    let out = collect_into(&ssc.receiver_stream(rx));
    ssc.start().unwrap();
    let ctx = h.ctx();
    ctx.store("before".to_string()).unwrap();
    ctx.report_error("upstream hiccup");
    // The receiver keeps running.
    ctx.store("after".to_string()).unwrap();
    let info = ssc.receivers();
    assert_eq!(info[0].last_error.as_deref(), Some("upstream hiccup"));
    assert!(info[0].active);
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();

    assert_eq!(
        out.lock().unwrap()[&1000],
        vec!["before".to_string(), "after".to_string()]
    );
    let events = events.0.lock().unwrap().clone();
    let kinds: Vec<&str> = events.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, vec!["started", "error", "stopped"]);
    let (_, err) = &events[1];
    assert_eq!(err.name, "hand-over");
    assert_eq!(err.last_error.as_deref(), Some("upstream hiccup"));
    assert_eq!(err.records_stored, 1);
    assert!(err.active);
    let (_, stopped) = &events[2];
    assert!(!stopped.active);
    assert_eq!(stopped.records_stored, 2);
}

#[test]
fn report_bad_records_counts_without_storing() {
    let (ssc, clock) = manual_context();
    let (rx, h) = hand_over::<i32>();
    let out = collect_into(&ssc.receiver_stream(rx));
    ssc.start().unwrap();
    let ctx = h.ctx();
    ctx.store(1).unwrap();
    ctx.report_bad_records(3, "three unreadable lines");
    run_batch(&ssc, &clock, 1);
    let info = &ssc.receivers()[0];
    assert_eq!(info.bad_records, 3);
    assert_eq!(info.records_stored, 1);
    let err = info.last_error.clone().unwrap();
    assert!(err.contains("three unreadable lines"), "{err}");
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(out.lock().unwrap()[&1000], vec![1]);
}

#[test]
fn restart_stops_then_starts_the_receiver_again() {
    let conf = Conf::new().set("sluice.streaming.receiver.restartDelay", "100ms");
    let (ssc, clock) = manual_context_with(conf);
    let events = Arc::new(ReceiverEvents::default());
    ssc.add_listener(events.clone());
    let (rx, h) = hand_over::<i32>();
    let out = collect_into(&ssc.receiver_stream(rx));
    ssc.start().unwrap();
    let first = h.ctx();
    assert_eq!(first.restart_delay(), Duration::from_millis(100));
    first.store(1).unwrap();
    *h.slot.lock().unwrap() = None;
    first.restart("connection lost", first.restart_delay());
    wait_for("the receiver to start again", || h.calls().len() == 3);
    assert_eq!(h.calls(), vec!["start", "stop", "start"]);
    let info = &ssc.receivers()[0];
    let err = info.last_error.clone().unwrap();
    assert!(err.contains("connection lost"), "{err}");
    // The new context stores into the same stream; records stored before the restart are kept.
    let second = h.ctx();
    second.store(2).unwrap();
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(h.calls(), vec!["start", "stop", "start", "stop"]);
    assert_eq!(out.lock().unwrap()[&1000], vec![1, 2]);
    // The restart is reported to listeners with its reason.
    let events = events.0.lock().unwrap().clone();
    assert!(
        events.iter().any(|(k, r)| *k == "error"
            && r.last_error
                .as_deref()
                .is_some_and(|e| e.contains("connection lost"))),
        "{events:?}"
    );
    assert_eq!(events.first().map(|(k, _)| *k), Some("started"));
    assert_eq!(events.last().map(|(k, _)| *k), Some("stopped"));
}

#[test]
fn restart_with_zero_delay() {
    let (ssc, _clock) = manual_context();
    let (rx, h) = hand_over::<i32>();
    collect_into(&ssc.receiver_stream(rx));
    ssc.start().unwrap();
    // Spark's default restart delay.
    assert_eq!(h.ctx().restart_delay(), Duration::from_secs(2));
    h.ctx().restart("again", Duration::ZERO);
    wait_for("the restart", || h.calls().len() == 3);
    h.ctx().restart("and again", Duration::ZERO);
    wait_for("the second restart", || h.calls().len() == 5);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(
        h.calls(),
        vec!["start", "stop", "start", "stop", "start", "stop"]
    );
}

/// A receiver storing `n` numbers from its own thread, as the receiver contract prescribes.
struct Counter {
    n: u64,
    stop: Arc<AtomicBool>,
}

impl Receiver<u64> for Counter {
    fn on_start(&self, ctx: ReceiverContext<u64>) {
        let (n, stop) = (self.n, Arc::clone(&self.stop));
        std::thread::spawn(move || {
            for i in 0..n {
                if stop.load(Ordering::Acquire) || ctx.store(i).is_err() {
                    return;
                }
            }
        });
    }
    fn on_stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
    fn name(&self) -> String {
        "counter".to_string()
    }
}

#[test]
fn a_receiver_thread_storing_records() {
    let (ssc, clock) = manual_context();
    let out = collect_into(&ssc.receiver_stream(Counter {
        n: 500,
        stop: Arc::default(),
    }));
    ssc.start().unwrap();
    wait_for("500 records", || ssc.receivers()[0].records_stored == 500);
    run_batch(&ssc, &clock, 1);
    run_batch(&ssc, &clock, 2);
    ssc.stop(StopMode::Immediate).unwrap();
    let out = out.lock().unwrap().clone();
    assert_eq!(out[&1000], (0..500).collect::<Vec<u64>>());
    assert!(out[&2000].is_empty());
}

/// A receiver whose `on_start` panics.
struct Broken;

impl Receiver<i32> for Broken {
    fn on_start(&self, _ctx: ReceiverContext<i32>) {
        panic!("cannot open the source");
    }
    fn on_stop(&self) {}
}

#[test]
fn a_panicking_on_start_is_reported_not_fatal() {
    let (ssc, clock) = manual_context();
    let events = Arc::new(ReceiverEvents::default());
    ssc.add_listener(events.clone());
    let out = collect_into(&ssc.receiver_stream(Broken));
    ssc.start().unwrap();
    let info = &ssc.receivers()[0];
    assert_eq!(info.name, "receiver");
    let err = info.last_error.clone().unwrap();
    assert!(err.contains("cannot open the source"), "{err}");
    run_batch(&ssc, &clock, 1);
    assert!(ssc.take_error().is_none());
    ssc.stop(StopMode::Immediate).unwrap();
    assert!(out.lock().unwrap()[&1000].is_empty());
    let kinds: Vec<&str> = events.0.lock().unwrap().iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, vec!["started", "error", "stopped"]);
}

#[test]
fn two_receivers_feed_their_own_streams() {
    let (ssc, clock) = manual_context();
    let (rx1, h1) = hand_over::<i32>();
    let (rx2, h2) = hand_over::<i32>();
    let a = ssc.receiver_stream(rx1);
    let b = ssc.receiver_stream(rx2);
    let out = collect_into(&a.union(&b.map(|x| x * 10)));
    ssc.start().unwrap();
    h1.ctx().store_batch(vec![1, 2]).unwrap();
    h2.ctx().store(3).unwrap();
    run_batch(&ssc, &clock, 1);
    h2.ctx().store(4).unwrap();
    run_batch(&ssc, &clock, 2);
    ssc.stop(StopMode::Immediate).unwrap();
    let out = out.lock().unwrap().clone();
    assert_eq!(out[&1000], vec![1, 2, 30]);
    assert_eq!(out[&2000], vec![40]);
    let infos = ssc.receivers();
    assert_eq!(infos.len(), 2);
    assert_eq!(
        infos.iter().map(|i| i.records_stored).collect::<Vec<_>>(),
        vec![2, 2]
    );
}

#[test]
fn a_batch_of_received_records_is_made_of_blocks() {
    // Records stored between two batches without a block boundary form one block, i.e. one
    // partition; a batch with nothing received has no partitions at all (Spark's empty
    // BlockRDD).
    let (ssc, clock) = manual_context();
    let (rx, h) = hand_over::<i32>();
    let out = collect_into(&ssc.receiver_stream(rx).glom());
    ssc.start().unwrap();
    h.ctx().store_batch(vec![1, 2, 3]).unwrap();
    h.ctx().store(4).unwrap();
    run_batch(&ssc, &clock, 1);
    run_batch(&ssc, &clock, 2);
    ssc.stop(StopMode::Immediate).unwrap();
    let out = out.lock().unwrap().clone();
    assert_eq!(out[&1000], vec![vec![1, 2, 3, 4]]);
    assert_eq!(out[&2000], Vec::<Vec<i32>>::new());
}

#[test]
fn received_records_through_pair_operations() {
    let (ssc, clock) = manual_context();
    let (rx, h) = hand_over::<String>();
    let counts = ssc
        .receiver_stream(rx)
        .flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>())
        .map(|w| (w, 1u32))
        .reduce_by_key(|a, b| a + b);
    let out = collect_into(&counts);
    ssc.start().unwrap();
    h.ctx().store("to be or".to_string()).unwrap();
    h.ctx().store("not to be".to_string()).unwrap();
    run_batch(&ssc, &clock, 1);
    h.ctx().store("be".to_string()).unwrap();
    run_batch(&ssc, &clock, 2);
    ssc.stop(StopMode::Immediate).unwrap();
    let out = out.lock().unwrap().clone();
    let mut b1 = out[&1000].clone();
    b1.sort();
    let s = |x: &str| x.to_string();
    assert_eq!(
        b1,
        vec![(s("be"), 2), (s("not"), 1), (s("or"), 1), (s("to"), 2)]
    );
    assert_eq!(out[&2000], vec![(s("be"), 1)]);
}
