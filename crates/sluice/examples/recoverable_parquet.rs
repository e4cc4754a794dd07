//! A recoverable job writing a table: counts the words of new files appearing in a directory,
//! batch by batch, and writes the counts as Parquet files partitioned by the word's first
//! letter (`initial=w/`), each batch committed in Spark's file-sink log. Killed at any moment
//! and restarted with the same arguments, it continues from its checkpoint, and the table ends
//! up holding every batch exactly once, as Spark reading the directory sees it.
//!
//! `cargo run --features tables --example recoverable_parquet -- <input-dir> <checkpoint-dir>
//! <table-dir> <batches> [--step]`
//!
//! `--step` runs the batches back to back on a step clock that starts at 0 (batch `k` at
//! `k` seconds, selecting files modified up to then), instead of on the wall clock.

mod common;

use serde::{Deserialize, Serialize};
use sluice::prelude::*;
use sluice::tables::{ParquetOptions, ParquetStreamExt};

/// One row of the table: a word's count in one batch.
#[derive(Clone, Serialize, Deserialize)]
struct Count {
    batch_ms: i64,
    initial: String,
    word: String,
    count: u64,
}

fn main() -> sluice::Result<()> {
    let (args, ctx) = common::setup("recoverable_parquet", "RecoverableParquet")?;
    let interval = seconds(1);
    let ssc = StreamingContext::get_or_create(&args.checkpoint, || {
        let ssc = StreamingContext::new(&ctx, interval)?;
        ssc.text_file_stream(&args.input)?
            .flat_map(|l: String| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .map(|w| (w, 1u64))
            .reduce_by_key(|a, b| a + b)
            .transform(|rdd, time| {
                Ok(rdd.map(move |(word, count)| Count {
                    batch_ms: time.millis(),
                    initial: word.chars().next().map(String::from).unwrap_or_default(),
                    word,
                    count,
                }))
            })
            .save_as_parquet_files(
                &args.prefix,
                ParquetOptions::new().partition_by(["initial"]),
            )?;
        Ok(ssc)
    })?;
    common::run(&ssc, interval, args.batches)
}
