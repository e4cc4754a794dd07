#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The receivers' write-ahead log (`sluice.streaming.receiver.writeAheadLog.enable`): records
//! stored by a receiver survive the loss of the process (here: a context dropped without a
//! graceful stop, and restarted with `get_or_create` on the same directory). Batches
//! generated but not checkpointed re-run on the same records, records not yet in a batch go
//! into the first batch after the restart, a torn tail is dropped, corruption is an error
//! naming the file, and checkpoints delete the segments they cover.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_core::{Conf, Context};
use sluice_streaming::clock::ManualClock;
use sluice_streaming::time::seconds;
use sluice_streaming::StreamingContext;

mod common;
use common::{collect_into, graceful, hand_over_named, run_batch, Collected, Handle};

const WAL: &str = "sluice.streaming.receiver.writeAheadLog.enable";

struct Job {
    ssc: StreamingContext,
    clock: Arc<ManualClock>,
    out: Collected<String>,
    rx: Handle<String>,
}

/// The job: a logging receiver stream whose batches are collected; from `dir`'s checkpoint
/// when there is one. The clock starts at 0 (batch `k` at `k` s).
fn job(dir: &Path) -> Job {
    let clock = ManualClock::shared(0);
    let mut parts = None;
    let ssc = StreamingContext::get_or_create(dir, || {
        let ctx = Context::new(Conf::new().set_master("local[2]").set(WAL, "true"))?;
        let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone())?;
        let (rx, h) = hand_over_named::<String>("logged");
        let out = collect_into(&ssc.receiver_stream_with_log(rx));
        parts = Some((out, h));
        Ok(ssc)
    })
    .unwrap();
    let (out, rx) = parts.unwrap();
    Job {
        ssc,
        clock,
        out,
        rx,
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn log_dir(dir: &Path) -> PathBuf {
    dir.join("receivedData").join("input-0")
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(log_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    v.sort();
    v
}

fn batches(out: &Collected<String>) -> Vec<(i64, Vec<String>)> {
    out.lock()
        .unwrap()
        .iter()
        .map(|(t, v)| (*t, v.clone()))
        .collect()
}

/// Run 1: batch 1 runs on a, b; c, d, e are stored but no batch takes them; the context is
/// dropped without stopping (no checkpoint covers batch 1).
fn crash_after_one_batch(dir: &Path) {
    let j = job(dir);
    assert!(j.ssc.recovered_from().is_none());
    j.ssc.start().unwrap();
    let ctx = j.rx.ctx();
    ctx.store("a".into()).unwrap();
    ctx.store("b".into()).unwrap();
    run_batch(&j.ssc, &j.clock, 1);
    ctx.store_batch(s(&["c", "d"])).unwrap();
    ctx.store("e".into()).unwrap();
    assert_eq!(batches(&j.out), vec![(1000, s(&["a", "b"]))]);
    drop(ctx);
    drop(j);
}

#[test]
fn stored_records_survive_a_crash_exactly_once_in_the_right_batches() {
    let dir = tempfile::tempdir().unwrap();
    crash_after_one_batch(dir.path());

    // Run 2: restored from the checkpoint taken at start (time 0).
    let j = job(dir.path());
    assert_eq!(j.ssc.recovered_from().map(|t| t.millis()), Some(0));
    j.ssc.start().unwrap();
    // Batch 1 re-runs on exactly its records, read back from the log.
    run_batch(&j.ssc, &j.clock, 1);
    // What was stored but not yet in a batch goes into the first new batch.
    run_batch(&j.ssc, &j.clock, 2);
    j.rx.ctx().store("f".into()).unwrap();
    run_batch(&j.ssc, &j.clock, 3);
    assert_eq!(
        batches(&j.out),
        vec![
            (1000, s(&["a", "b"])),
            (2000, s(&["c", "d", "e"])),
            (3000, s(&["f"])),
        ]
    );
    // A graceful stop checkpoints batch 3, which covers every record: the segments holding
    // only covered records go, the one being written stays.
    assert_eq!(segments(dir.path()).len(), 2);
    j.ssc.stop(graceful()).unwrap();
    let left = segments(dir.path());
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0].ends_with("log-00000000000000000005.wal"),
        "{left:?}"
    );
    drop(j);

    // Run 3: nothing to replay; sequence numbers continue.
    let j = job(dir.path());
    assert_eq!(j.ssc.recovered_from().map(|t| t.millis()), Some(3000));
    j.ssc.start().unwrap();
    j.rx.ctx().store("g".into()).unwrap();
    j.clock.advance(seconds(3));
    run_batch(&j.ssc, &j.clock, 4);
    assert_eq!(batches(&j.out), vec![(4000, s(&["g"]))]);
    j.ssc.stop(graceful()).unwrap();
    assert!(segments(dir.path())
        .last()
        .unwrap()
        .ends_with("log-00000000000000000006.wal"));
}

#[test]
fn concurrent_stores_are_logged_once_each_and_replayed_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let first_run;
    {
        let j = job(dir.path());
        j.ssc.start().unwrap();
        let ctx = j.rx.ctx();
        let threads: Vec<_> = (0..4)
            .map(|k| {
                let ctx = ctx.clone();
                std::thread::spawn(move || {
                    for i in 0..300 {
                        if i % 3 == 0 {
                            ctx.store_batch(vec![format!("{k}-{i}a"), format!("{k}-{i}b")])
                                .unwrap();
                        } else {
                            ctx.store(format!("{k}-{i}")).unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        run_batch(&j.ssc, &j.clock, 1);
        first_run = common::batch(&j.out, 1000);
        assert_eq!(first_run.len(), 4 * 400);
        let mut distinct = first_run.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), first_run.len());
    }
    let j = job(dir.path());
    j.ssc.start().unwrap();
    run_batch(&j.ssc, &j.clock, 1);
    assert_eq!(common::batch(&j.out, 1000), first_run);
    j.ssc.stop(graceful()).unwrap();
}

#[test]
fn a_torn_tail_is_dropped_and_the_rest_replayed() {
    let dir = tempfile::tempdir().unwrap();
    crash_after_one_batch(dir.path());
    // A write cut short by the crash: the beginning of an entry at the end of the segment.
    let seg = segments(dir.path()).pop().unwrap();
    let whole = std::fs::metadata(&seg).unwrap().len();
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    std::io::Write::write_all(&mut f, b"SLCP\x02\x00\x00\x00\x40\x00\x00").unwrap();
    drop(f);

    let j = job(dir.path());
    j.ssc.start().unwrap();
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), whole);
    let info = j.ssc.receivers();
    let err = info[0].last_error.clone().unwrap_or_default();
    assert!(err.contains("torn tail"), "{err}");
    run_batch(&j.ssc, &j.clock, 1);
    run_batch(&j.ssc, &j.clock, 2);
    assert_eq!(
        batches(&j.out),
        vec![(1000, s(&["a", "b"])), (2000, s(&["c", "d", "e"]))]
    );
    j.ssc.stop(graceful()).unwrap();
}

#[test]
fn a_corrupt_log_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    crash_after_one_batch(dir.path());
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    // A bit flipped inside the first entry (header of 20 bytes, then 16 bytes of sequence
    // numbers, then records).
    bytes[40] ^= 0x10;
    std::fs::write(&seg, &bytes).unwrap();

    let j = job(dir.path());
    let err = j.ssc.start().unwrap_err().to_string();
    assert!(
        err.contains("log-00000000000000000000.wal") && err.contains("checksum"),
        "{err}"
    );
}

#[test]
fn the_log_needs_a_checkpoint_directory_and_serialisable_records() {
    let ctx = Context::new(Conf::new().set_master("local[2]").set(WAL, "true")).unwrap();
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), ManualClock::shared(0)).unwrap();
    let (rx, _h) = hand_over_named::<String>("logged");
    collect_into(&ssc.receiver_stream_with_log(rx));
    let err = ssc.start().unwrap_err().to_string();
    assert!(err.contains(WAL) && err.contains("checkpoint"), "{err}");

    // A receiver stream without the serde bound cannot log: refused, not silently unlogged.
    let dir = tempfile::tempdir().unwrap();
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), ManualClock::shared(0)).unwrap();
    let (rx, _h) = hand_over_named::<String>("plain");
    collect_into(&ssc.receiver_stream(rx));
    ssc.checkpoint(dir.path()).unwrap();
    let err = ssc.start().unwrap_err().to_string();
    assert!(
        err.contains(WAL) && err.contains("receiver_stream_with_log"),
        "{err}"
    );
}

#[test]
fn with_the_log_off_receivers_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::new(Conf::new().set_master("local[2]")).unwrap();
    let clock = ManualClock::shared(0);
    let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
    let (rx, h) = hand_over_named::<String>("logged");
    let out = collect_into(&ssc.receiver_stream_with_log(rx));
    ssc.checkpoint(dir.path()).unwrap();
    ssc.start().unwrap();
    h.ctx().store("x".into()).unwrap();
    run_batch(&ssc, &clock, 1);
    assert_eq!(batches(&out), vec![(1000, s(&["x"]))]);
    assert!(!dir.path().join("receivedData").exists());
    ssc.stop(graceful()).unwrap();
}
