#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A stream's Parquet output on the manual clock: Hive partitions, files rolled at the target
//! size, batches committed in Spark's file-sink log (across a compaction), replays skipped,
//! an uncommitted batch rewritten, bad records and a corrupt log as clear errors; a property
//! test of what is read back against the records written; and a stream of the table's newly
//! committed files.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use sluice_core::Context;
use sluice_streaming::clock::ManualClock;
use sluice_streaming::time::{seconds, Time};
use sluice_streaming::StreamingContext;
use sluice_tables::spark_log::{SinkLog, LOG_DIR};
use sluice_tables::ParquetSourceExt;
use sluice_tables::{Codec, Location, ParquetContextExt, ParquetOptions, ParquetStreamExt};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Event {
    day: String,
    device: u32,
    value: i64,
    note: Option<String>,
}

fn event(i: u64) -> Event {
    Event {
        day: format!("2026-12-0{}", i % 3 + 1),
        device: (i % 7) as u32,
        value: i as i64 * 10,
        note: i.is_multiple_of(4).then(|| format!("n{i}")),
    }
}

fn batches(n: usize, per: u64) -> Vec<Vec<Event>> {
    (0..n as u64)
        .map(|b| (b * per..(b + 1) * per).map(event).collect())
        .collect()
}

fn write(dir: &str, input: Vec<Vec<Event>>, options: ParquetOptions) -> sluice_core::Result<()> {
    common::run_with_sink(input, |s| s.save_as_parquet_files(dir, options))
}

fn read_back(dir: &str) -> Vec<Event> {
    let ctx = Context::local(2).unwrap();
    let mut v: Vec<Event> = ctx.read_parquet(dir).unwrap().collect().unwrap();
    v.sort();
    v
}

fn all(input: &[Vec<Event>]) -> Vec<Event> {
    let mut v: Vec<Event> = input.iter().flatten().cloned().collect();
    v.sort();
    v
}

/// The data files on disk, relative to `dir`.
fn files_on_disk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
            if rel.starts_with('_') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn batches_are_committed_in_spark_s_log_across_a_compaction() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let d = dir.to_str().unwrap();
    let input = batches(12, 40);
    write(
        d,
        input.clone(),
        ParquetOptions::new()
            .partition_by(["day"])
            .codec(Codec::Snappy),
    )
    .unwrap();
    // Batch ids 0..=11; the tenth (id 9) is a compaction holding batches 0..=9.
    let log = dir.join(LOG_DIR);
    assert!(log.join("9.compact").is_file());
    assert!(log.join("11").is_file() && !log.join("12").exists());
    let sink_log = SinkLog::new(Location::parse(d).unwrap());
    assert_eq!(sink_log.latest().unwrap(), Some(11));
    assert_eq!(sink_log.batch_time(11).unwrap(), Some(12_000));
    let committed: Vec<String> = sink_log
        .all_files()
        .unwrap()
        .iter()
        .map(|f| {
            let p = f.path.strip_prefix("file:").unwrap();
            let abs = std::path::Path::new(p);
            assert_eq!(f.size, std::fs::metadata(abs).unwrap().len());
            abs.strip_prefix(dir.canonicalize().unwrap())
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    let mut committed_sorted = committed.clone();
    committed_sorted.sort();
    assert_eq!(committed_sorted, files_on_disk(&dir));
    // Hive layout: the partition column is in the directory, not in the file.
    assert!(committed
        .iter()
        .all(|f| f.starts_with("day=2026-12-0") && f.ends_with(".snappy.parquet")));
    assert_eq!(read_back(d), all(&input));
}

#[test]
fn a_replayed_batch_is_skipped_and_an_uncommitted_one_is_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t");
    let d = dir.to_str().unwrap();
    let input = batches(4, 25);
    write(
        d,
        input.clone(),
        ParquetOptions::new().partition_by(["day"]),
    )
    .unwrap();
    let before = files_on_disk(&dir);
    // The same batch times again (a restart from an older checkpoint): nothing is added.
    write(
        d,
        input.clone(),
        ParquetOptions::new().partition_by(["day"]),
    )
    .unwrap();
    assert_eq!(read_back(d), all(&input));
    assert_eq!(files_on_disk(&dir), before);
    // A crash after batch 4's files but before its commit: its log entry is missing. The rerun
    // writes the same files again and commits them once.
    std::fs::remove_file(dir.join(LOG_DIR).join("3")).unwrap();
    assert_eq!(read_back(d).len(), 75);
    write(
        d,
        input.clone(),
        ParquetOptions::new().partition_by(["day"]),
    )
    .unwrap();
    assert_eq!(read_back(d), all(&input));
    assert_eq!(files_on_disk(&dir), before);
}

#[test]
fn files_roll_over_at_the_target_size() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    let d = dir.to_str().unwrap();
    // One batch of 200 000 events, no partitions, files of about 64 KiB.
    let input = vec![(0..200_000).map(event).collect::<Vec<_>>()];
    write(
        d,
        input.clone(),
        ParquetOptions::new()
            .codec(Codec::Uncompressed)
            .target_file_bytes(64 * 1024),
    )
    .unwrap();
    let files = files_on_disk(&dir);
    assert!(files.len() > 4, "{files:?}");
    assert!(files.iter().any(|f| f.contains(".c001.")));
    assert_eq!(read_back(d), all(&input));
}

#[test]
fn bad_settings_fail_before_the_first_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("x");
    let d = d.to_str().unwrap();
    let e = write(
        d,
        batches(1, 3),
        ParquetOptions::new().partition_by(["nope"]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("nope") && e.contains("day, device"), "{e}");
    let e = write(d, batches(1, 3), ParquetOptions::new().target_file_bytes(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("target file size"), "{e}");
    let e = write("ftp://host/x", batches(1, 3), ParquetOptions::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("unsupported scheme"), "{e}");
}

#[test]
fn a_record_that_does_not_fit_fails_its_batch_and_commits_nothing() {
    use arrow_schema::{DataType, Field};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("strict");
    let d = dir.to_str().unwrap();
    // `note` declared non-nullable: the batch with a None in it fails.
    let schema = sluice_tables::TableSchema::from_fields(vec![
        Arc::new(Field::new("day", DataType::Utf8, false)),
        Arc::new(Field::new("device", DataType::UInt32, false)),
        Arc::new(Field::new("value", DataType::Int64, false)),
        Arc::new(Field::new("note", DataType::Utf8, false)),
    ]);
    let mut input = batches(2, 3);
    for e in &mut input[0] {
        e.note = Some("ok".into());
    }
    let err = write(d, input, ParquetOptions::new().schema(schema))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("note") && err.contains("batch 2000 ms"),
        "{err}"
    );
    let log = SinkLog::new(Location::parse(d).unwrap());
    assert_eq!(log.latest().unwrap(), Some(0), "only batch 1 is committed");
    assert_eq!(read_back(d).len(), 3);
}

#[test]
fn a_corrupt_or_foreign_log_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    write(d, batches(3, 5), ParquetOptions::new()).unwrap();
    let ctx = Context::local(1).unwrap();
    // Truncated: the version line only half there.
    std::fs::write(dir.join(LOG_DIR).join("1"), "v").unwrap();
    let e = ctx.read_parquet::<Event>(d).unwrap_err().to_string();
    assert!(
        e.contains("_spark_metadata/1") && e.contains("not a file-sink log"),
        "{e}"
    );
    // Foreign: another version.
    std::fs::write(dir.join(LOG_DIR).join("1"), "v9\n{}").unwrap();
    let e = ctx.read_parquet::<Event>(d).unwrap_err().to_string();
    assert!(e.contains("v9"), "{e}");
    // A gap in the log.
    std::fs::remove_file(dir.join(LOG_DIR).join("1")).unwrap();
    let e = ctx.read_parquet::<Event>(d).unwrap_err().to_string();
    assert!(e.contains("gap"), "{e}");
    // A directory that does not exist.
    let missing = tmp.path().join("missing");
    let e = ctx
        .read_parquet::<Event>(missing.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing") && e.contains("no such directory"),
        "{e}"
    );
    assert!(!missing.exists(), "reading creates nothing");
    // A data file that is not Parquet.
    let tmp2 = tempfile::tempdir().unwrap();
    std::fs::write(tmp2.path().join("part-0.parquet"), b"not parquet").unwrap();
    let e = ctx
        .read_parquet::<Event>(tmp2.path().to_str().unwrap())
        .and_then(|r| r.collect())
        .unwrap_err()
        .to_string();
    assert!(e.contains("part-0.parquet"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn what_is_read_back_is_what_was_written(
        sizes in prop::collection::vec(0usize..60, 1..6),
        seed in 0u64..1000,
        partitioned in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("p");
        let d = d.to_str().unwrap();
        let mut i = seed * 1000;
        let input: Vec<Vec<Event>> = sizes.iter().map(|&n| {
            let b = (i..i + n as u64).map(event).collect();
            i += n as u64;
            b
        }).collect();
        let options = if partitioned {
            ParquetOptions::new().partition_by(["day", "device"])
        } else {
            ParquetOptions::new()
        };
        write(d, input.clone(), options).unwrap();
        prop_assert_eq!(read_back(d), all(&input));
        // One log entry per batch, empty batches included.
        let log = SinkLog::new(Location::parse(d).unwrap());
        prop_assert_eq!(log.latest().unwrap(), Some(sizes.len() as u64 - 1));
    }
}

/// Runs batches up to `t` ms on the manual clock and waits for them.
fn run_to(ssc: &StreamingContext, clock: &ManualClock, t: i64) {
    clock.set_time(t);
    assert!(ssc
        .await_batch(Time::from_millis(t), std::time::Duration::from_secs(60))
        .unwrap());
}

#[test]
fn a_table_stream_reads_each_newly_committed_file_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("t");
    let d = d.to_str().unwrap();
    let fresh = tmp.path().join("later");
    let fresh = fresh.to_str().unwrap();
    let opts = || ParquetOptions::new().partition_by(["day"]);
    let input = batches(14, 10);
    // Committed before the stream exists: not read (as text_file_stream's old files).
    write(d, input[..3].to_vec(), opts()).unwrap();

    let ctx = Context::local(2).unwrap();
    let clock = ManualClock::shared(0);
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    type Seen = Arc<Mutex<BTreeMap<(usize, i64), Vec<Event>>>>;
    let seen: Seen = Arc::default();
    for (i, url) in [d, fresh].into_iter().enumerate() {
        let s2 = Arc::clone(&seen);
        ssc.parquet_file_stream::<Event>(url)
            .unwrap()
            .foreach_rdd(move |rdd, t| {
                let mut v = rdd.collect()?;
                v.sort();
                s2.lock().insert((i, t.millis()), v);
                Ok(())
            })
            .unwrap();
    }
    ssc.start().unwrap();
    run_to(&ssc, &clock, 1000);
    // Three more batches; then eight more, across the log's compaction at batch 9; then a
    // first table under the path that had none.
    write(d, input[..6].to_vec(), opts()).unwrap();
    run_to(&ssc, &clock, 2000);
    write(d, input.clone(), opts()).unwrap();
    write(fresh, input[..2].to_vec(), opts()).unwrap();
    run_to(&ssc, &clock, 3000);
    run_to(&ssc, &clock, 4000);
    ssc.stop(sluice_streaming::StopMode::Immediate).unwrap();
    assert!(ssc.take_error().is_none());
    let seen = seen.lock();
    let got = |i: usize, t: i64| seen.get(&(i, t)).cloned().unwrap_or_default();
    assert_eq!(got(0, 1000), Vec::<Event>::new());
    assert_eq!(got(0, 2000), all(&input[3..6]));
    assert_eq!(got(0, 3000), all(&input[6..]));
    assert_eq!(got(0, 4000), Vec::<Event>::new());
    assert_eq!(got(1, 2000), Vec::<Event>::new());
    assert_eq!(got(1, 3000), all(&input[..2]));
    assert_eq!(got(1, 4000), Vec::<Event>::new());
}

/// A checkpointed job following a table: each committed file is read once across a restart.
#[test]
fn a_table_stream_restarted_from_its_checkpoint_reads_each_file_once() {
    let tmp = tempfile::tempdir().unwrap();
    let table = tmp.path().join("t");
    let table = table.to_str().unwrap();
    let ck = tmp.path().join("ck");
    let opts = || ParquetOptions::new().partition_by(["day"]);
    let input = batches(12, 10);
    write(table, input[..2].to_vec(), opts()).unwrap();
    let ctx = Context::new(
        sluice_core::Conf::new()
            .set_master("local[2]")
            .set("sluice.streaming.clock", "step"),
    )
    .unwrap();
    type Read = Arc<Mutex<BTreeMap<i64, Vec<Event>>>>;
    let read: Read = Arc::default();
    let build = |read: &Read| {
        let r2 = Arc::clone(read);
        let ssc = StreamingContext::new(&ctx, seconds(1))?;
        ssc.parquet_file_stream::<Event>(table)?
            .foreach_rdd(move |rdd, t| {
                r2.lock().insert(t.millis(), rdd.collect()?);
                Ok(())
            })?;
        Ok(ssc)
    };
    let run = |ssc: &StreamingContext, until: i64| {
        ssc.start().unwrap();
        assert!(ssc
            .await_batch(Time::from_millis(until), std::time::Duration::from_secs(60))
            .unwrap());
        ssc.stop(sluice_streaming::StopMode::Immediate).unwrap();
        assert!(ssc.take_error().is_none());
    };
    let ssc = StreamingContext::get_or_create(&ck, || build(&read)).unwrap();
    write(table, input[..6].to_vec(), opts()).unwrap();
    // A job without state checkpoints every 10 s (Spark's default interval).
    run(&ssc, 10_000);
    drop(ssc);
    write(table, input.clone(), opts()).unwrap();
    let ssc = StreamingContext::get_or_create(&ck, || build(&read)).unwrap();
    assert!(ssc.recovered_from().is_some());
    run(&ssc, 13_000);
    let mut got: Vec<Event> = read.lock().values().flatten().cloned().collect();
    got.sort();
    assert_eq!(got, all(&input[2..]));
    // The restored run read only what was committed while it was down.
    let mut later: Vec<Event> = read
        .lock()
        .range(11_000..)
        .flat_map(|(_, v)| v.clone())
        .collect();
    later.sort();
    assert_eq!(later, all(&input[6..]));
}
