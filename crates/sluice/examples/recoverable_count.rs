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

use std::time::Duration;

use sluice::prelude::*;
use sluice::Time;

fn main() -> sluice::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!(
            "usage: recoverable_count <input-dir> <checkpoint-dir> <output-prefix> <batches> [--step]"
        );
        std::process::exit(1);
    }
    let (input, checkpoint, prefix) = (args[1].clone(), args[2].clone(), args[3].clone());
    let batches: i64 = args[4]
        .parse()
        .map_err(|_| Error::InvalidArgument(format!("bad batch count {}", args[4])))?;
    let mut conf = Conf::new()
        .set_master("local[2]")
        .set_app_name("RecoverableCount");
    if args.iter().any(|a| a == "--step") {
        conf = conf.set("sluice.streaming.clock", "step");
    }
    let ctx = Context::new(conf)?;
    let ssc = StreamingContext::get_or_create(&checkpoint, || {
        let ssc = StreamingContext::new(&ctx, seconds(1))?;
        ssc.text_file_stream(&input)?
            .flat_map(|l: String| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .map(|w| (w, 1u64))
            .update_state_by_key(|new: &[u64], total: Option<&u64>| {
                Some(total.copied().unwrap_or(0) + new.iter().sum::<u64>())
            })
            .name("word counts")
            .checkpoint(seconds(2))?
            .save_as_text_files(&prefix, "")?;
        Ok(ssc)
    })?;
    if let Some(t) = ssc.recovered_from() {
        eprintln!("restarting after batch {t}");
    }
    ssc.start()?;
    let last = Time::from_millis(batches * 1000);
    while !ssc.await_batch(last, Duration::from_secs(1))? {}
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(30),
    })?;
    match ssc.take_error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
