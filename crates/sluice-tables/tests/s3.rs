#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Parquet tables on S3-compatible storage: a stream's partitioned output written to and read
//! back from a real S3 server (moto's, started here on 127.0.0.1), committed in Spark's log
//! with a conditional put, read by pyarrow's own S3 client, and an unreachable endpoint failing
//! the batch with the URL named. Ignored unless run with `--ignored` and `SLUICE_S3_SERVER`
//! (moto's `moto_server`; `scripts/install-s3-server.sh` installs it) and `SLUICE_PYTHON` (a
//! python with pyarrow). One test, because the AWS settings are the process's environment.

mod common;

use std::time::{Duration, Instant};

use common::s3_server::{free_port, http, start_server, use_server};

use serde::{Deserialize, Serialize};
use sluice_core::Context;
use sluice_tables::spark_log::{SinkFileStatus, SinkLog};
use sluice_tables::{Location, ParquetContextExt, ParquetOptions, ParquetStreamExt};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Event {
    day: String,
    device: u32,
    value: i64,
}

fn batches(n: u64, per: u64) -> Vec<Vec<Event>> {
    (0..n)
        .map(|b| {
            (b * per..(b + 1) * per)
                .map(|i| Event {
                    day: format!("d{}", i % 3),
                    device: (i % 4) as u32,
                    value: i as i64,
                })
                .collect()
        })
        .collect()
}

fn write(url: &str, input: Vec<Vec<Event>>, options: ParquetOptions) -> sluice_core::Result<()> {
    common::run_with_sink(input, |s| s.save_as_parquet_files(url, options))
}

#[test]
#[ignore = "needs SLUICE_S3_SERVER (moto_server) and SLUICE_PYTHON with pyarrow"]
fn parquet_tables_on_s3() {
    let (_server, port) = start_server();
    assert_eq!(
        http(port, "PUT", "/tables"),
        Some(200),
        "creating the bucket"
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    use_server(port);

    // A stream's output, across a compaction of the log.
    let input = batches(11, 30);
    write(
        "s3://tables/events",
        input.clone(),
        ParquetOptions::new().partition_by(["day"]),
    )
    .unwrap();
    let loc = Location::parse("s3://tables/events").unwrap();
    let log = SinkLog::new(loc.clone());
    assert_eq!(log.latest().unwrap(), Some(10));
    let files = log.all_files().unwrap();
    assert!(files
        .iter()
        .all(|f| f.path.starts_with("s3a://tables/events/day=d")));
    let ctx = Context::local(2).unwrap();
    let mut back: Vec<Event> = ctx
        .read_parquet("s3://tables/events")
        .unwrap()
        .collect()
        .unwrap();
    back.sort();
    let mut want: Vec<Event> = input.iter().flatten().cloned().collect();
    want.sort();
    assert_eq!(back, want);
    let e = ctx
        .read_parquet::<Event>("s3://tables/nothing-here")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no Parquet files"), "{e}");

    // Replayed batches are skipped; a second commit of the same batch id is refused by the
    // store's conditional put, and the log keeps the first.
    write(
        "s3://tables/events",
        input.clone(),
        ParquetOptions::new().partition_by(["day"]),
    )
    .unwrap();
    assert_eq!(log.all_files().unwrap().len(), files.len());
    let intruder = SinkFileStatus::added("s3a://tables/events/x.parquet".into(), 1, 0);
    assert!(!log.commit(10, 11_000, &[intruder]).unwrap());
    assert_eq!(log.all_files().unwrap(), files);

    // An independent client reads the table: pyarrow's own S3 filesystem.
    let got = common::read_with(
        "SLUICE_PYTHON",
        "read_pyarrow.py",
        &["tables/events", "--s3-endpoint", &endpoint],
    );
    let mut rows: Vec<Event> = got["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_value(r.clone()).unwrap())
        .collect();
    rows.sort();
    assert_eq!(rows, want);

    // A Delta table on S3: one commit per batch, read back by delta-rs's Python reader.
    #[cfg(feature = "delta")]
    {
        use sluice_tables::DeltaStreamExt;
        let n = input.len();
        common::run_with_sink(input.clone(), |s| {
            s.save_as_delta(
                "s3://tables/delta-events",
                "events",
                ParquetOptions::new().partition_by(["day"]),
            )
        })
        .unwrap();
        let got = common::read_with(
            "SLUICE_PYTHON",
            "read_delta.py",
            &["s3://tables/delta-events", "events"],
        );
        let mut rows: Vec<Event> = got["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_value(r.clone()).unwrap())
            .collect();
        rows.sort();
        assert_eq!(rows, want);
        assert_eq!(got["version"], n as i64);
        assert_eq!(got["txn"], n as i64 * 1000);
    }

    // An endpoint nobody listens on: the batch fails, naming the URL, after its retries.
    let closed = free_port();
    std::env::set_var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"));
    let started = Instant::now();
    let e = write(
        "s3://tables/elsewhere",
        batches(1, 3),
        ParquetOptions::new().storage_retries(1),
    )
    .unwrap_err();
    let text = format!("{e} {:?}", std::error::Error::source(&e));
    assert!(text.contains("s3a://tables/elsewhere"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(60));
}
