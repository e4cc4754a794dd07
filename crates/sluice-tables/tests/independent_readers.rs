#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Parquet output read by independent readers: pyarrow (its dataset API, Hive partitions)
//! and Spark itself (`spark.read.parquet`, through the `_spark_metadata` log). Ignored unless
//! run with `--ignored`, with `SLUICE_PYTHON` (a python with pyarrow) and
//! `SLUICE_PYSPARK_PYTHON` (a python with pyspark, and a JVM); the test command installs both.

mod common;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sluice_tables::spark_log::LOG_DIR;
use sluice_tables::{ParquetOptions, ParquetStreamExt};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Event {
    day: String,
    device: u32,
    value: i64,
    note: Option<String>,
}

fn batches(n: u64, per: u64) -> Vec<Vec<Event>> {
    (0..n)
        .map(|b| {
            (b * per..(b + 1) * per)
                .map(|i| Event {
                    day: format!("2026-12-0{}", i % 3 + 1),
                    device: (i % 5) as u32,
                    value: i as i64,
                    note: i.is_multiple_of(4).then(|| format!("n/{i}")),
                })
                .collect()
        })
        .collect()
}

fn write(dir: &str, input: Vec<Vec<Event>>) {
    common::run_with_sink(input, |s| {
        s.save_as_parquet_files(dir, ParquetOptions::new().partition_by(["day", "device"]))
    })
    .unwrap();
}

/// The rows as the readers print them: sorted by their JSON text.
fn expected(input: &[Vec<Event>]) -> Vec<Value> {
    let mut rows: Vec<Value> = input
        .iter()
        .flatten()
        .map(|e| json!({"day": e.day, "device": e.device, "value": e.value, "note": e.note}))
        .collect();
    rows.sort_by_key(|r| serde_json::to_string(r).unwrap());
    rows
}

#[test]
#[ignore = "needs SLUICE_PYTHON with pyarrow"]
fn pyarrow_reads_the_table_and_its_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let d = dir.to_str().unwrap();
    let input = batches(3, 50);
    write(d, input.clone());
    let got = common::read_with("SLUICE_PYTHON", "read_pyarrow.py", &[d]);
    assert_eq!(got["rows"].as_array().unwrap(), &expected(&input));
    assert_eq!(got["schema"]["value"], "int64");
    assert_eq!(got["schema"]["note"], "string");
}

#[test]
#[ignore = "needs SLUICE_PYSPARK_PYTHON with pyspark and a JVM"]
fn spark_reads_exactly_the_committed_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("events");
    let d = dir.to_str().unwrap();
    // 12 batches: Spark reads the compaction of batches 0..=9, then 10 and 11.
    let input = batches(12, 20);
    write(d, input.clone());
    let got = common::read_with("SLUICE_PYSPARK_PYTHON", "read_pyspark.py", &[d]);
    assert_eq!(got["rows"].as_array().unwrap(), &expected(&input));
    // A crash between writing batch 12's files and committing it: its files are on disk but
    // not in the log, and Spark does not see them.
    std::fs::remove_file(dir.join(LOG_DIR).join("11")).unwrap();
    let got = common::read_with("SLUICE_PYSPARK_PYTHON", "read_pyspark.py", &[d]);
    assert_eq!(got["rows"].as_array().unwrap(), &expected(&input[..11]));
}
