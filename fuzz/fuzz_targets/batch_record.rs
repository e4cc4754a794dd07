//! The batch records of a checkpoint directory (what the sources read for a generated batch),
//! as `CheckpointDir::batch_records_after` reads them after a restart.
//!
//! Each input is read twice: as a whole file in a real checkpoint directory, and as a payload
//! framed here so that the JSON decoding behind the checksum sees the mutations too.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_streaming::checkpoint::format::{frame, unframe};
use sluice_streaming::checkpoint::store::{BatchRecord, CheckpointDir};

/// One checkpoint directory for the whole run (opening one per input would dominate).
fn dir() -> &'static (tempfile::TempDir, CheckpointDir, PathBuf) {
    static DIR: OnceLock<(tempfile::TempDir, CheckpointDir, PathBuf)> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let dir = CheckpointDir::open(tmp.path()).expect("a checkpoint directory");
        let batches = tmp.path().join("batches");
        std::fs::create_dir_all(&batches).expect("the batches directory");
        (tmp, dir, batches.join("2000.ckpt"))
    })
}

fuzz_target!(|data: &[u8]| {
    let (_tmp, dir, file) = dir();
    std::fs::write(file, data).expect("writing the batch record");
    match dir.batch_records_after(1000) {
        Ok(records) => {
            let payload = unframe(data, file).expect("a record that was read is framed");
            assert_eq!(records.len(), 1);
            check(payload, &records[&2000]);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("2000.ckpt"), "the error names the file: {msg}");
        }
    }
    // Nothing after the record's time.
    assert!(dir
        .batch_records_after(2000)
        .map(|r| r.is_empty())
        .unwrap_or(true));

    // The payload, framed.
    let framed = frame(data);
    let payload = unframe(&framed, Path::new("x")).expect("a framed payload reads back");
    if let Ok(rec) = serde_json::from_slice::<BatchRecord>(payload) {
        check(payload, &rec);
    }
});

/// A record read back is written as the writer writes it, and reads back the same.
fn check(payload: &[u8], rec: &BatchRecord) {
    let parsed: BatchRecord = serde_json::from_slice(payload).expect("the record parses again");
    assert_eq!(&parsed, rec);
    let json = serde_json::to_vec(rec).expect("a batch record serialises");
    let back: BatchRecord = serde_json::from_slice(&json).expect("a written record reads back");
    assert_eq!(back.len(), rec.len());
}
