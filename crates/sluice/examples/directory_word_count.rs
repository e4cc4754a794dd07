//! Counts words in new text files appearing in a directory (Spark's `HdfsWordCount`). Files
//! must be moved into the directory atomically (write elsewhere, then rename).
//!
//! `cargo run --example directory_word_count -- <dir> [interval_ms] [batches]`

use std::time::Duration;

use sluice::prelude::*;

fn main() -> sluice::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: directory_word_count <dir> [interval_ms] [batches]");
        std::process::exit(1);
    };
    let interval = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let batches: Option<u64> = args.get(3).and_then(|s| s.parse().ok());

    let ctx = Context::new(
        Conf::new()
            .set_master("local[2]")
            .set_app_name("HdfsWordCount"),
    )?;
    let ssc = StreamingContext::new(&ctx, Duration::from_millis(interval))?;
    let lines = ssc.text_file_stream(dir)?;
    let counts = lines
        .flat_map(|l: String| sluice::text::split_small(l, ' '))
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .transform(|rdd, _| Ok(rdd.sort_by_key(true)));
    counts.print(10)?;
    ssc.start()?;
    match batches {
        Some(n) => {
            while ssc.batches_completed() < n {
                ssc.await_termination_timeout(Duration::from_millis(20))?;
            }
            ssc.stop(StopMode::Graceful {
                timeout: Duration::from_secs(10),
            })
        }
        None => ssc.await_termination(),
    }
}
