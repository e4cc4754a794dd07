#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Bounded receiver buffers (`sluice.streaming.receiver.maxBufferedRecords`): a receiver may
//! hold at most that many stored records whose batch has not completed; beyond it `store`
//! blocks until batches complete. Nothing is lost and order is kept.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_core::{Conf, Context};
use sluice_streaming::clock::ManualClock;
use sluice_streaming::conf::MAX_BUFFERED_RECORDS;
use sluice_streaming::time::seconds;
use sluice_streaming::{Receiver, ReceiverContext, StopMode, StreamingContext};

mod common;
use common::{collect_into, hand_over, manual_context_with, run_batch, wait_for};

/// A context on a manual clock whose receivers buffer at most `max` records.
fn bounded_context(max: usize) -> (StreamingContext, Arc<ManualClock>) {
    manual_context_with(Conf::new().set(MAX_BUFFERED_RECORDS, max.to_string()))
}

/// Checks for a while that `cond` keeps holding (used to see that a blocked `store` stays
/// blocked; it can only miss a bug, never fail a correct engine).
fn stays(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..20 {
        assert!(cond(), "{what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Stores `0..n` one record at a time from its own thread, counting attempts.
struct Flood {
    n: u64,
    attempts: Arc<AtomicU64>,
    ctx: Arc<Mutex<Option<ReceiverContext<u64>>>>,
}

impl Receiver<u64> for Flood {
    fn on_start(&self, ctx: ReceiverContext<u64>) {
        *self.ctx.lock().unwrap() = Some(ctx.clone());
        let (n, attempts) = (self.n, Arc::clone(&self.attempts));
        std::thread::spawn(move || {
            for i in 0..n {
                attempts.fetch_add(1, Ordering::SeqCst);
                if ctx.store(i).is_err() {
                    return;
                }
            }
        });
    }
    fn on_stop(&self) {}
    fn name(&self) -> String {
        "flood".to_string()
    }
}

#[test]
fn store_blocks_at_the_bound_until_batches_complete() {
    const MAX: u64 = 100;
    const N: u64 = 1000;
    let (ssc, clock) = bounded_context(MAX as usize);
    let attempts = Arc::new(AtomicU64::new(0));
    let slot = Arc::new(Mutex::new(None));
    let out = collect_into(&ssc.receiver_stream(Flood {
        n: N,
        attempts: Arc::clone(&attempts),
        ctx: Arc::clone(&slot),
    }));
    ssc.start().unwrap();
    let ctx = slot.lock().unwrap().clone().unwrap();

    // No batch has completed: the receiver stores exactly MAX records, then blocks in the
    // next store.
    wait_for("the 101st store", || {
        attempts.load(Ordering::SeqCst) == MAX + 1
    });
    assert_eq!(ctx.records_stored(), MAX);
    stays("store stays blocked", || ctx.records_stored() == MAX);
    assert_eq!(attempts.load(Ordering::SeqCst), MAX + 1);

    // Each completed batch frees the buffer for the next MAX records.
    let batches = N / MAX;
    for k in 1..=batches {
        run_batch(&ssc, &clock, k as i64);
        let expect = (MAX * (k + 1)).min(N);
        wait_for("the next records", || ctx.records_stored() == expect);
        assert_eq!(ssc.receivers()[0].records_stored, expect);
        if expect < N {
            stays("store blocks again", || ctx.records_stored() == expect);
        }
    }
    run_batch(&ssc, &clock, batches as i64 + 1);
    ssc.stop(StopMode::Immediate).unwrap();

    let out = out.lock().unwrap().clone();
    for k in 1..=batches {
        let expected: Vec<u64> = (MAX * (k - 1)..MAX * k).collect();
        assert_eq!(out[&((k * 1000) as i64)], expected, "batch {k}");
    }
    assert!(out[&((batches as i64 + 1) * 1000)].is_empty());
    let all: Vec<u64> = out.values().flatten().copied().collect();
    assert_eq!(all, (0..N).collect::<Vec<u64>>());
}

#[test]
fn a_batch_larger_than_the_bound_is_accepted_into_an_empty_buffer() {
    let (ssc, clock) = bounded_context(10);
    let (rx, h) = hand_over::<u32>();
    let out = collect_into(&ssc.receiver_stream(rx));
    ssc.start().unwrap();
    let ctx = h.ctx();
    ctx.store_batch((0..25).collect()).unwrap();
    assert_eq!(ctx.records_stored(), 25);
    // Now the buffer is over the bound: the next store blocks until batch 1 completes.
    let c = ctx.clone();
    let blocked = std::thread::spawn(move || c.store(99));
    stays("store blocks", || ctx.records_stored() == 25);
    run_batch(&ssc, &clock, 1);
    blocked.join().unwrap().unwrap();
    assert_eq!(ctx.records_stored(), 26);
    run_batch(&ssc, &clock, 2);
    ssc.stop(StopMode::Immediate).unwrap();
    let out = out.lock().unwrap().clone();
    assert_eq!(out[&1000], (0..25).collect::<Vec<u32>>());
    assert_eq!(out[&2000], vec![99]);
}

#[test]
fn stopping_releases_a_blocked_store() {
    let (ssc, _clock) = bounded_context(5);
    let (rx, h) = hand_over::<u32>();
    collect_into(&ssc.receiver_stream(rx));
    ssc.start().unwrap();
    let ctx = h.ctx();
    ctx.store_batch(vec![1, 2, 3, 4, 5]).unwrap();
    let c = ctx.clone();
    let blocked = std::thread::spawn(move || c.store(6));
    stays("store blocks", || ctx.records_stored() == 5);
    ssc.stop(StopMode::Immediate).unwrap();
    assert!(blocked.join().unwrap().is_err());
    assert_eq!(ctx.records_stored(), 5);
}

#[test]
fn an_invalid_bound_is_rejected() {
    for bad in ["0", "-1", "many"] {
        let conf = Conf::new()
            .set_master("local[2]")
            .set(MAX_BUFFERED_RECORDS, bad);
        // Refused when the engine context is built.
        let r = Context::new(conf).and_then(|ctx| StreamingContext::new(&ctx, seconds(1)));
        assert!(r.is_err(), "{bad} accepted");
    }
}
