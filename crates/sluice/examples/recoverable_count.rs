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

mod common;

use sluice::prelude::*;

fn main() -> sluice::Result<()> {
    let (args, ctx) = common::setup("recoverable_count", "RecoverableCount")?;
    let interval = seconds(1);
    let ssc = StreamingContext::get_or_create(&args.checkpoint, || {
        let ssc = StreamingContext::new(&ctx, interval)?;
        ssc.text_file_stream(&args.input)?
            .flat_map(|l: String| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .map(|w| (w, 1u64))
            .update_state_by_key(|new: &[u64], total: Option<&u64>| {
                Some(total.copied().unwrap_or(0) + new.iter().sum::<u64>())
            })
            .set_name("word counts")
            .checkpoint(seconds(2))?
            .save_as_text_files(&args.prefix, "")?;
        Ok(ssc)
    })?;
    common::run(&ssc, interval, args.batches)
}
