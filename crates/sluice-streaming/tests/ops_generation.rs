#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Job generation runs user code (`transform` functions) on the generator thread: a panic
//! there fails its batch with the panic's message instead of stopping the scheduler.

use std::sync::Arc;

use parking_lot::Mutex;
use sluice_core::Context;
use sluice_streaming::clock::ManualClock;
use sluice_streaming::time::{seconds, Time};
use sluice_streaming::{RddQueue, StopMode, StreamingContext};

#[test]
fn a_panicking_transform_fails_its_batch_and_later_batches_run() {
    let ctx = Context::local(1).unwrap();
    let clock = ManualClock::shared(0);
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    let queue = RddQueue::new();
    for i in 1..=3 {
        queue.push(ctx.parallelize(vec![i], 1));
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    ssc.queue_stream(&queue, true, None)
        .transform(|rdd, t| {
            if t.millis() == 2000 {
                panic!("transform exploded");
            }
            Ok(rdd)
        })
        .foreach_rdd(move |rdd, t| {
            s2.lock().push((t.millis(), rdd.collect()?));
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    for k in 1..=3 {
        clock.advance(seconds(1));
        assert!(ssc
            .await_batch(Time::from_millis(k * 1000), seconds(30))
            .unwrap());
    }
    let e = ssc.take_error().unwrap().to_string();
    assert!(
        e.contains("transform exploded") && e.contains("2000"),
        "{e}"
    );
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(*seen.lock(), vec![(1000, vec![1]), (3000, vec![3])]);
}
