//! A recoverable job writing a table: counts the words of new files appearing in a directory,
//! batch by batch, and writes the counts as Parquet files partitioned by the word's first
//! letter (`initial=w/`), each batch committed in Spark's file-sink log. Killed at any moment
//! and restarted with the same arguments, it continues from its checkpoint, and the table ends
//! up holding every batch exactly once, as Spark reading the directory sees it.
//!
//! `cargo run --features tables --example recoverable_parquet -- <input-dir> <checkpoint-dir>
//! <table-dir> <batches> [--step] [--delta <table-url>]`
//!
//! `--step` runs the batches back to back on a step clock that starts at 0 (batch `k` at
//! `k` seconds, selecting files modified up to then), instead of on the wall clock. `--delta`
//! (with the `delta` feature) writes the same rows to a Delta table too, one commit per batch.
//! The checkpoint and the tables may be local paths or `s3://` URLs (with the `s3` feature;
//! endpoint and keys from the AWS environment).

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

/// The Delta table's URL, from `--delta <url>`.
fn delta_url() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .find(|w| w[0] == "--delta")
        .map(|w| w[1].clone())
}

/// Writes the rows to a Delta table as well, one commit per batch.
#[cfg(feature = "delta")]
fn save_as_delta(rows: &DStream<Count>, url: &str) -> sluice::Result<()> {
    use sluice::tables::DeltaStreamExt;
    rows.save_as_delta(
        url,
        "recoverable_parquet",
        ParquetOptions::new().partition_by(["initial"]),
    )
}

#[cfg(not(feature = "delta"))]
fn save_as_delta(_: &DStream<Count>, url: &str) -> sluice::Result<()> {
    Err(Error::InvalidArgument(format!(
        "--delta {url}: this example was built without the `delta` feature"
    )))
}

fn main() -> sluice::Result<()> {
    let (args, ctx) = common::setup("recoverable_parquet", "RecoverableParquet")?;
    let interval = seconds(1);
    let delta = delta_url();
    let ssc = StreamingContext::get_or_create(&args.checkpoint, || {
        let ssc = StreamingContext::new(&ctx, interval)?;
        let rows = ssc
            .text_file_stream(&args.input)?
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
            });
        rows.save_as_parquet_files(
            &args.prefix,
            ParquetOptions::new().partition_by(["initial"]),
        )?;
        if let Some(url) = &delta {
            save_as_delta(&rows, url)?;
        }
        Ok(ssc)
    })?;
    common::run(&ssc, interval, args.batches)
}
