//! A recoverable job: counts words in new files appearing in a directory, keeps the totals
//! with `update_state_by_key`, and writes them every batch with `save_as_text_files`. Killed at
//! any moment and restarted with the same arguments, it continues from its checkpoint, and its
//! output ends up the same as if it had never stopped.
//!
//! `cargo run --example recoverable_count -- <input-dir> <checkpoint-dir> <output-prefix>
//! <batches> [--step]`
//!
//! `--step` runs the batches back to back on a step clock that starts at 0 (batch `k` at
//! `k` seconds, selecting files modified up to then), instead of on the wall clock.
//!
//! The job's batches are counted from its first batch, across restarts (a restarted job
//! resumes on the original batch times): it stops once batch `<batches>` is done. A first run
//! generates exactly `<batches>` batches.

use std::time::Duration;

use sluice::prelude::*;
use sluice::streaming::StreamingState;

fn main() -> sluice::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!(
            "usage: recoverable_count <input-dir> <checkpoint-dir> <output-prefix> <batches> [--step]"
        );
        std::process::exit(1);
    }
    let (input, checkpoint, prefix) = (args[1].clone(), args[2].clone(), args[3].clone());
    let batches: u32 = args[4]
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::InvalidArgument(format!("bad batch count {}", args[4])))?;
    let mut conf = Conf::new()
        .set_master("local[2]")
        .set_app_name("RecoverableCount");
    if args.iter().any(|a| a == "--step") {
        conf = conf.set("sluice.streaming.clock", "step");
    }
    let ctx = Context::new(conf)?;
    let interval = seconds(1);
    let ssc = StreamingContext::get_or_create(&checkpoint, || {
        let ssc = StreamingContext::new(&ctx, interval)?;
        ssc.text_file_stream(&input)?
            .flat_map(|l: String| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .map(|w| (w, 1u64))
            .update_state_by_key(|new: &[u64], total: Option<&u64>| {
                Some(total.copied().unwrap_or(0) + new.iter().sum::<u64>())
            })
            .set_name("word counts")
            .checkpoint(seconds(2))?
            .save_as_text_files(&prefix, "")?;
        Ok(ssc)
    })?;
    // Exactly the batches up to the last one, counted from the first batch of the first run:
    // a restarted run generates those after its checkpoint, and no more (a graceful stop
    // would otherwise also run the batch generated while the last one completed).
    let to_run = match (ssc.recovered_from(), ssc.start_time()) {
        (Some(t), Some(first)) => {
            eprintln!("restarting after batch {t}");
            let last = first + interval * (batches - 1);
            let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
            u64::try_from((last - t) / interval_ms).unwrap_or(0)
        }
        _ => u64::from(batches),
    };
    if to_run == 0 {
        return Ok(());
    }
    ssc.limit_batches(to_run)?;
    ssc.start()?;
    // Batch times, not counts: the first batch is at the start time (on the wall clock, or 1 s
    // on the step clock), on the original times after a restart too.
    let first = ssc
        .start_time()
        .ok_or_else(|| Error::Internal("a started context has a start time".into()))?;
    let last = first + interval * (batches - 1);
    while !ssc.await_batch(last, Duration::from_secs(1))? {
        if ssc.state() == StreamingState::Stopped {
            break;
        }
    }
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(30),
    })?;
    match ssc.take_error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
