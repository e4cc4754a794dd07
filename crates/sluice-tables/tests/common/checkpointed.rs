//! A checkpointed stateful job, run with stops and restarts from a checkpoint location and
//! compared with a run without stops.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sluice_core::{Conf, Context};
use sluice_streaming::time::{seconds, Time};
use sluice_streaming::{StopMode, StreamingContext};

/// The job's outputs, by batch time.
pub type Outputs = Arc<Mutex<BTreeMap<i64, Vec<(u64, u64)>>>>;

/// A `local[2]` context on the step clock (batches back to back).
pub fn step_ctx() -> Context {
    Context::new(
        Conf::new()
            .set_master("local[2]")
            .set("sluice.streaming.clock", "step"),
    )
    .unwrap()
}

/// Counts records by `i % 7` from a replayable generator, checkpointing every 2 batches.
pub fn build(ctx: &Context, outputs: &Outputs) -> sluice_core::Result<StreamingContext> {
    let ssc = StreamingContext::new(ctx, seconds(1))?;
    let counts = ssc
        .rate_stream(20, Some(2), |i| (i % 7, 1u64))
        .update_state_by_key(|v: &[u64], s: Option<&u64>| {
            Some(s.copied().unwrap_or(0) + v.iter().sum::<u64>())
        })
        .set_name("counts")
        .checkpoint(seconds(2))?;
    let out = Arc::clone(outputs);
    counts.foreach_rdd(move |rdd, t| {
        let mut v = rdd.collect()?;
        v.sort();
        out.lock().insert(t.millis(), v);
        Ok(())
    })?;
    Ok(ssc)
}

/// Starts the job, runs it until batch `until` (ms), stops it.
pub fn run_until(ssc: &StreamingContext, until: i64) {
    ssc.start().unwrap();
    assert!(ssc
        .await_batch(Time::from_millis(until), Duration::from_secs(60))
        .unwrap());
    ssc.stop(StopMode::Immediate).unwrap();
    assert!(ssc.take_error().is_none());
}

/// Runs the job checkpointing to `location`, stopped at 5 s and restarted twice from there,
/// and checks its outputs for 10 batches equal a run without stops.
pub fn restarts_continue_exactly(location: &str) {
    let ctx = step_ctx();
    let reference: Outputs = Arc::default();
    run_until(&build(&ctx, &reference).unwrap(), 10_000);
    let outputs: Outputs = Arc::default();
    let ssc = StreamingContext::get_or_create(location, || build(&ctx, &outputs)).unwrap();
    assert_eq!(ssc.recovered_from(), None);
    run_until(&ssc, 5_000);
    drop(ssc);
    for until in [7_000, 10_000] {
        let ctx = step_ctx();
        let ssc = StreamingContext::get_or_create(location, || build(&ctx, &outputs)).unwrap();
        let from = ssc
            .recovered_from()
            .unwrap_or_else(|| panic!("not restored from the checkpoint at {location}"));
        assert!(
            from.millis() >= 2_000 && from.millis() % 2_000 == 0,
            "{from}"
        );
        run_until(&ssc, until);
    }
    for t in (1..=10).map(|k| k * 1000) {
        assert_eq!(
            outputs.lock().get(&t),
            reference.lock().get(&t),
            "batch {t}"
        );
    }
}
