//! Feeds a stream from a queue of RDDs and counts numbers by their last digit (Spark's
//! `QueueStream` example).
//!
//! `cargo run --example queue_stream -- [interval_ms] [batches]`

use std::time::Duration;

use sluice::prelude::*;

fn main() -> sluice::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let interval = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let batches: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);

    let ctx = Context::new(
        Conf::new()
            .set_master("local[2]")
            .set_app_name("QueueStream"),
    )?;
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(interval))?;
    let queue = RddQueue::new();
    let reduced = ssc
        .queue_stream(&queue, true, None)
        .map(|x: i64| (x % 10, 1u64))
        .reduce_by_key(|a, b| a + b)
        .transform(|rdd, _| Ok(rdd.sort_by_key(true)));
    reduced.print(10)?;
    // Queue one RDD of 1..=1000 per batch before starting, so every batch has data.
    for _ in 0..batches {
        queue.push(ctx.range(1, 1001, 1, 10));
    }
    ssc.start()?;
    while ssc.batches_completed() < batches {
        ssc.await_termination_timeout(Duration::from_millis(20))?;
    }
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(10),
    })
}
