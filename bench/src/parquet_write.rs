//! The Parquet benchmark: writing records as zstd Parquet files, by Sluice (`save_as_parquet`
//! on an RDD, and `save_as_parquet_files` on a stream: records → Arrow through serde → Parquet,
//! plus the file-sink log's commit) against arrow-rs driven by hand (typed Arrow builders
//! filled field by field, then the same `ArrowWriter`), on the same records, the same number of
//! threads and files, the same codec. Reports the median over the rounds of each, records/s and
//! MB/s of Parquet written, and Sluice's time over arrow-rs's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, UInt32Builder};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use sluice::prelude::*;
use sluice::tables::{ParquetOptions, ParquetRddExt, ParquetStreamExt, TableSchema};

use crate::side_by_side::step_context;
use crate::state::{median_ms, Collect};

/// Options of the Parquet benchmark.
#[derive(clap::Args)]
pub struct ParquetArgs {
    /// Records written per round.
    #[arg(long, default_value_t = 2_000_000)]
    records: usize,
    /// Worker threads (and files).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Rounds (each writes with both, alternating).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Records per batch of the streaming run.
    #[arg(long, default_value_t = 200_000)]
    batch: usize,
    /// Batches of the commit-cost runs (Delta against the file-sink log), at each of
    /// `--commit-sizes` records per batch.
    #[arg(long, default_value_t = 30)]
    commit_batches: usize,
    /// Records per batch of the commit-cost runs.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 10_000, 100_000])]
    commit_sizes: Vec<usize>,
}

/// A trade: the kind of record a stream lands in a table.
#[derive(Clone, Serialize, Deserialize)]
struct Trade {
    account: String,
    ts: i64,
    amount: f64,
    qty: u32,
}

/// Trade `i` (63-bit hash, so that `bench/pyspark/parquet_bench.py` computes the same trades
/// with the JVM's signed longs).
fn trade(i: usize) -> Trade {
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1;
    Trade {
        account: format!("acct-{:05}", h % 10_000),
        ts: 1_700_000_000_000 + i as i64,
        amount: (h % 100_000) as f64 / 100.0,
        qty: (h % 500) as u32,
    }
}

/// The records of one thread into one file, converted to Arrow through serde (Sluice's
/// `TableSchema`) instead of typed builders: the conversion's share, without the engine.
fn serde_write(schema: &TableSchema, records: &[Trade], path: &std::path::Path) -> Result<u64> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), Arc::clone(schema.arrow()), Some(props))
        .map_err(Error::other)?;
    for chunk in records.chunks(65_536) {
        writer
            .write(&schema.to_batch(chunk)?)
            .map_err(Error::other)?;
    }
    let bytes = writer.into_inner().map_err(Error::other)?;
    std::fs::write(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// arrow-rs by hand: the records of one thread into one file.
fn hand_write(records: &[Trade], path: &std::path::Path) -> std::io::Result<u64> {
    let mut account = StringBuilder::new();
    let mut ts = Int64Builder::new();
    let mut amount = Float64Builder::new();
    let mut qty = UInt32Builder::new();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer: Option<ArrowWriter<Vec<u8>>> = None;
    for chunk in records.chunks(65_536) {
        for r in chunk {
            account.append_value(&r.account);
            ts.append_value(r.ts);
            amount.append_value(r.amount);
            qty.append_value(r.qty);
        }
        let batch = RecordBatch::try_from_iter(vec![
            ("account", Arc::new(account.finish()) as ArrayRef),
            ("ts", Arc::new(ts.finish()) as ArrayRef),
            ("amount", Arc::new(amount.finish()) as ArrayRef),
            ("qty", Arc::new(qty.finish()) as ArrayRef),
        ])
        .map_err(std::io::Error::other)?;
        let w = match &mut writer {
            Some(w) => w,
            None => writer.insert(
                ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props.clone()))
                    .map_err(std::io::Error::other)?,
            ),
        };
        w.write(&batch).map_err(std::io::Error::other)?;
    }
    let bytes = match writer {
        Some(w) => w.into_inner().map_err(std::io::Error::other)?,
        None => Vec::new(),
    };
    std::fs::write(path, &bytes)?;
    Ok(bytes.len() as u64)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                if !name.starts_with('_') {
                    stack.push(p);
                }
            } else if name.ends_with(".parquet") {
                total += e.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}

/// The streaming run: `records` in batches of `batch`, through `save_as_parquet_files`; the
/// summed processing time of the batches.
fn stream_run(a: &ParquetArgs, data: &Arc<Vec<Trade>>, dir: &std::path::Path) -> Result<Duration> {
    let (ctx, ssc) = step_context(a.threads)?;
    let queue = RddQueue::new();
    let batches = a.records.div_ceil(a.batch);
    for b in 0..batches {
        let part = data[b * a.batch..((b + 1) * a.batch).min(data.len())].to_vec();
        queue.push(ctx.parallelize(part, a.threads));
    }
    ssc.queue_stream(&queue, true, None)
        .save_as_parquet_files(dir.to_str().unwrap_or_default(), ParquetOptions::new())?;
    let collect = Arc::new(Collect::default());
    ssc.add_listener(collect.clone());
    ssc.start()?;
    let last = Time::from_millis(batches as i64 * 1000);
    while !ssc.await_batch(last, Duration::from_secs(5))? {}
    ssc.stop(StopMode::Immediate)?;
    if let Some(e) = ssc.take_error() {
        return Err(e);
    }
    let total = collect
        .0
        .lock()
        .iter()
        .take(batches)
        .filter_map(|b| b.processing_delay)
        .sum();
    Ok(total)
}

/// Which sink a commit-cost run uses.
#[derive(Clone, Copy, PartialEq)]
enum Sink {
    FileLog,
    Delta,
}

/// The median processing time per batch (the first 3 left out) of `batches` batches of `size`
/// records through `sink`.
fn commit_run(a: &ParquetArgs, sink: Sink, size: usize, dir: &std::path::Path) -> Result<f64> {
    use sluice::tables::DeltaStreamExt;
    let (ctx, ssc) = step_context(a.threads)?;
    let queue = RddQueue::new();
    for b in 0..a.commit_batches {
        let part: Vec<Trade> = (b * size..(b + 1) * size).map(trade).collect();
        queue.push(ctx.parallelize(part, a.threads));
    }
    let stream = ssc.queue_stream(&queue, true, None);
    let url = dir.to_str().unwrap_or_default();
    match sink {
        Sink::FileLog => stream.save_as_parquet_files(url, ParquetOptions::new())?,
        Sink::Delta => stream.save_as_delta(url, "bench", ParquetOptions::new())?,
    }
    let collect = Arc::new(Collect::default());
    ssc.add_listener(collect.clone());
    ssc.start()?;
    let last = Time::from_millis(a.commit_batches as i64 * 1000);
    while !ssc.await_batch(last, Duration::from_secs(5))? {}
    ssc.stop(StopMode::Immediate)?;
    if let Some(e) = ssc.take_error() {
        return Err(e);
    }
    let delays: Vec<f64> = collect
        .0
        .lock()
        .iter()
        .take(a.commit_batches)
        .skip(3)
        .filter_map(|b| b.processing_delay.map(|d| d.as_secs_f64() * 1e3))
        .collect();
    Ok(median_ms(delays))
}

/// Runs the benchmark and prints a Markdown table.
pub fn run(a: ParquetArgs) -> Result<()> {
    let data: Arc<Vec<Trade>> = Arc::new((0..a.records).map(trade).collect());
    let ctx = Context::new(Conf::new().set_master(format!("local[{}]", a.threads)))?;
    let schema = TableSchema::of::<Trade>()?;
    let tmp = std::env::temp_dir().join(format!("sluice-bench-parquet-{}", std::process::id()));
    let (mut hand, mut rdd, mut stream, mut serde) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut hand_bytes, mut sluice_bytes) = (0, 0);
    let per = a.records.div_ceil(a.threads);
    for round in 0..a.rounds {
        eprintln!("round {} ...", round + 1);
        // arrow-rs by hand, one thread per file.
        let dir = tmp.join(format!("hand-{round}"));
        std::fs::create_dir_all(&dir)?;
        let t = Instant::now();
        let sizes: Vec<std::io::Result<u64>> = std::thread::scope(|s| {
            let hs: Vec<_> = data
                .chunks(per)
                .enumerate()
                .map(|(i, c)| {
                    let p = dir.join(format!("part-{i}.parquet"));
                    s.spawn(move || hand_write(c, &p))
                })
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("panicked")))
                })
                .collect()
        });
        hand.push(t.elapsed().as_secs_f64() * 1e3);
        hand_bytes = sizes.into_iter().sum::<std::io::Result<u64>>()?;
        // The same threads, through serde_arrow.
        let dir = tmp.join(format!("serde-{round}"));
        std::fs::create_dir_all(&dir)?;
        let t = Instant::now();
        let sizes: Vec<Result<u64>> = std::thread::scope(|s| {
            let hs: Vec<_> = data
                .chunks(per)
                .enumerate()
                .map(|(i, c)| {
                    let p = dir.join(format!("part-{i}.parquet"));
                    let schema = &schema;
                    s.spawn(move || serde_write(schema, c, &p))
                })
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Internal("panicked".into())))
                })
                .collect()
        });
        serde.push(t.elapsed().as_secs_f64() * 1e3);
        sizes.into_iter().sum::<Result<u64>>()?;
        let _ = std::fs::remove_dir_all(&dir);
        // Sluice: an RDD of the same records in as many partitions.
        let dir = tmp.join(format!("rdd-{round}"));
        let input = ctx.parallelize(data.to_vec(), a.threads);
        let t = Instant::now();
        input.save_as_parquet(dir.to_str().unwrap_or_default(), ParquetOptions::new())?;
        rdd.push(t.elapsed().as_secs_f64() * 1e3);
        sluice_bytes = dir_bytes(&dir);
        // Sluice: a stream.
        let dir = tmp.join(format!("stream-{round}"));
        stream.push(stream_run(&a, &data, &dir)?.as_secs_f64() * 1e3);
        let _ = std::fs::remove_dir_all(tmp.join(format!("hand-{round}")));
        let _ = std::fs::remove_dir_all(tmp.join(format!("rdd-{round}")));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let (h, r, s, c) = (
        median_ms(hand),
        median_ms(rdd),
        median_ms(stream),
        median_ms(serde),
    );
    let n = a.records as f64;
    println!(
        "{} records of 4 columns (a string, an i64, an f64, a u32), zstd, {} threads and files, median of {} rounds\n",
        a.records, a.threads, a.rounds
    );
    println!("| writer | time | records/s | MB/s of Parquet | time / arrow-rs |");
    println!("|---|---:|---:|---:|---:|");
    let row = |name: &str, ms: f64, bytes: u64| {
        println!(
            "| {name} | {ms:.0} ms | {:.2} M | {:.0} | {:.2} |",
            n / ms / 1e3,
            bytes as f64 / ms / 1e3,
            ms / h
        );
    };
    row(
        "arrow-rs by hand (typed builders, ArrowWriter)",
        h,
        hand_bytes,
    );
    row(
        "serde_arrow by hand (Sluice's `TableSchema::to_batch`, ArrowWriter; no engine)",
        c,
        hand_bytes,
    );
    row("Sluice `save_as_parquet` (RDD)", r, sluice_bytes);
    row(
        &format!(
            "Sluice `save_as_parquet_files` (stream, batches of {}, summed processing time)",
            a.batch
        ),
        s,
        sluice_bytes,
    );
    let qty: u64 = data.iter().map(|t| u64::from(t.qty)).sum();
    let ts: i64 = data.iter().map(|t| t.ts).sum();
    println!(
        "\nRESULT engine=sluice records={} hand_ms={h:.1} serde_ms={c:.1} rdd_ms={r:.1} stream_ms={s:.1} check=[{},{qty},{ts}]",
        a.records, a.records
    );
    println!(
        "\nThe cost of a commit: median processing time per batch of {} batches (the first 3 left out), Parquet with Spark's file-sink log against a Delta table (`save_as_delta`), on the local disk\n",
        a.commit_batches
    );
    println!("| records per batch | file-sink log | Delta | Delta − file-sink log | interval at which Delta's batch is 10 % |");
    println!("|---:|---:|---:|---:|---:|");
    for &size in &a.commit_sizes {
        let f = commit_run(&a, Sink::FileLog, size, &tmp.join(format!("log-{size}")))?;
        let d = commit_run(&a, Sink::Delta, size, &tmp.join(format!("delta-{size}")))?;
        let _ = std::fs::remove_dir_all(&tmp);
        println!(
            "| {size} | {f:.1} ms | {d:.1} ms | {:.1} ms | {:.2} s |",
            d - f,
            d * 10.0 / 1e3
        );
    }
    Ok(())
}
