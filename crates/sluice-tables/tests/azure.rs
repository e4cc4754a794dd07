#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Azure Blob Storage (`az://`), on Azurite, Microsoft's emulator (started here, in memory):
//! a stream's partitioned Parquet output written there and read back by Sluice and by
//! Microsoft's own client (azure-storage-blob, through the file-sink log, decoded by pyarrow);
//! a checkpointed job stopped and restarted from a checkpoint there; text written and read
//! back. Ignored unless run with `--ignored`, `SLUICE_AZURITE` (the `azurite-blob` command) and
//! `SLUICE_AZURE_PYTHON` (a python with azure-storage-blob and pyarrow);
//! `scripts/install-azurite.sh` installs both. One test: the settings are the process's
//! environment.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sluice_core::Context;
use sluice_tables::{ParquetContextExt, ParquetOptions, ParquetStreamExt};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Event {
    day: String,
    device: u32,
    value: i64,
}

struct Emulator(Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_emulator() -> (Emulator, u16) {
    let bin = std::env::var("SLUICE_AZURITE").expect("SLUICE_AZURITE must name azurite-blob");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .args(["--inMemoryPersistence", "--silent", "--skipApiVersionCheck"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let emulator = Emulator(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "Azurite did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (emulator, port)
}

/// Runs `azure_blob.py` with `args`; returns the JSON object it printed last.
fn azure(args: &[&str]) -> serde_json::Value {
    common::read_with("SLUICE_AZURE_PYTHON", "azure_blob.py", args)
}

#[test]
#[ignore = "needs SLUICE_AZURITE (azurite-blob) and SLUICE_AZURE_PYTHON (azure-storage-blob)"]
fn tables_checkpoints_and_text_in_azure() {
    let (_emulator, port) = start_emulator();
    let endpoint = format!("http://127.0.0.1:{port}/devstoreaccount1");
    azure(&["create", &endpoint, "tables"]);
    std::env::set_var("AZURE_STORAGE_USE_EMULATOR", "true");
    std::env::set_var(
        "AZURITE_BLOB_STORAGE_URL",
        format!("http://127.0.0.1:{port}"),
    );

    // A stream's partitioned Parquet output, across a compaction of the log.
    let input: Vec<Vec<Event>> = (0..11u64)
        .map(|b| {
            (b * 20..(b + 1) * 20)
                .map(|i| Event {
                    day: format!("d{}", i % 3),
                    device: (i % 5) as u32,
                    value: i as i64,
                })
                .collect()
        })
        .collect();
    common::run_with_sink(input.clone(), |s| {
        s.save_as_parquet_files(
            "az://tables/events",
            ParquetOptions::new().partition_by(["day"]),
        )
    })
    .unwrap();
    let mut want: Vec<Event> = input.iter().flatten().cloned().collect();
    want.sort();
    let ctx = Context::local(2).unwrap();
    let mut back: Vec<Event> = ctx
        .read_parquet("az://tables/events")
        .unwrap()
        .collect()
        .unwrap();
    back.sort();
    assert_eq!(back, want);
    let got = azure(&["read", &endpoint, "tables", "events"]);
    let mut rows: Vec<Event> = got["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_value(r.clone()).unwrap())
        .collect();
    rows.sort();
    assert_eq!(rows, want);

    // A checkpoint in Azure: restarts continue exactly.
    common::checkpointed::restarts_continue_exactly("az://tables/jobs/counts");

    // Text out and back.
    ctx.parallelize(vec!["a".to_string(), "b".into()], 2)
        .save_as_text_file("az://tables/text")
        .unwrap();
    let lines = ctx.text_file("az://tables/text", 1).unwrap();
    assert_eq!(lines.collect().unwrap(), ["a", "b"]);
}
