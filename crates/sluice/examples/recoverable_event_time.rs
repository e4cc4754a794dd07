//! A recoverable event-time job: reads lines `<key> <event time ms>` from new files in a
//! directory, counts the records per key over sliding event-time windows (10 s every 5 s)
//! with a watermark delay of 3 s in append mode, and writes each batch's closed windows with
//! `save_as_text_files`. Killed at any moment and restarted with the same arguments, it
//! continues from its checkpoint — windows, watermark and the sources' positions — and its
//! output ends up the same as if it had never stopped.
//!
//! `cargo run --example recoverable_event_time -- <input-dir> <checkpoint-dir> <output-prefix>
//! <batches> [--step]` (the arguments of `recoverable_count`).

mod common;

use std::time::Duration;

use sluice::prelude::*;
use sluice::streaming::event_time::{EventWindow, OutputMode};

fn parse(line: &str) -> Option<(String, i64)> {
    let mut it = line.split_whitespace();
    let key = it.next()?.to_string();
    let ts = it.next()?.parse().ok()?;
    Some((key, ts))
}

fn main() -> sluice::Result<()> {
    let (args, ctx) = common::setup("recoverable_event_time", "RecoverableEventTime")?;
    let interval = seconds(1);
    let ssc = StreamingContext::get_or_create(&args.checkpoint, || {
        let ssc = StreamingContext::new(&ctx, interval)?;
        ssc.text_file_stream(&args.input)?
            .flat_map(|l: String| parse(&l))
            .with_watermark(|r: &(String, i64)| r.1, Duration::from_secs(3))
            .count_by_window(EventWindow::sliding(10_000, 5_000)?, OutputMode::Append)?
            .set_name("windows")
            .stream()
            .checkpoint(seconds(2))?
            .map(|((k, w), n)| format!("{k} [{}, {}) {n}", w.start, w.end))
            .save_as_text_files(&args.prefix, "")?;
        Ok(ssc)
    })?;
    common::run(&ssc, interval, args.batches)
}
