#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Checkpoints: round trips, incremental writes, and every way a checkpoint can fail to fit
//! the job.

mod common;

use common::step_ctx;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sluice_core::{Conf, Context, Data, Error};
use sluice_streaming::state::StateUpdate;
use sluice_streaming::time::{seconds, Time};
use sluice_streaming::{DStream, StopMode, StreamingContext};

type Outputs = Arc<Mutex<BTreeMap<i64, Vec<(u64, u64)>>>>;

/// Counts records by `i % keys` from a replayable generator, checkpointing every 2 batches.
fn build(
    ctx: &Context,
    outputs: &Outputs,
    name: &str,
    keys: u64,
    interval: Duration,
) -> sluice_core::Result<StreamingContext> {
    build_with(ctx, outputs, name, keys, interval, |pairs| {
        pairs.update_state_by_key(|v: &[u64], s: Option<&u64>| {
            Some(s.copied().unwrap_or(0) + v.iter().sum::<u64>())
        })
    })
}

/// [`build`] with the update function called once per partition
/// (`update_state_by_key_partitions`), keys without new values kept as they are.
fn build_partitioned(
    ctx: &Context,
    outputs: &Outputs,
    name: &str,
    keys: u64,
    interval: Duration,
) -> sluice_core::Result<StreamingContext> {
    build_with(ctx, outputs, name, keys, interval, |pairs| {
        pairs.update_state_by_key_partitions(
            |_, updates| {
                Ok(updates
                    .into_iter()
                    .map(|u| match u.values.is_empty() {
                        true => StateUpdate::Keep,
                        false => StateUpdate::Set(
                            u.state.copied().unwrap_or(0) + u.values.iter().sum::<u64>(),
                        ),
                    })
                    .collect())
            },
            None,
            None,
        )
    })
}

/// The counting job, its state kept by `count`.
fn build_with(
    ctx: &Context,
    outputs: &Outputs,
    name: &str,
    keys: u64,
    interval: Duration,
    count: impl FnOnce(DStream<(u64, u64)>) -> DStream<(u64, u64)>,
) -> sluice_core::Result<StreamingContext> {
    let ssc = StreamingContext::new(ctx, interval)?;
    let pairs = ssc.rate_stream(20, Some(2), move |i| (i % keys, 1u64));
    let counts = count(pairs).set_name(name).checkpoint(interval * 2)?;
    record_sorted(&counts, outputs)?;
    Ok(ssc)
}

type Build = fn(&Context, &Outputs, &str, u64, Duration) -> sluice_core::Result<StreamingContext>;

/// Registers an output operation on `s` that stores each batch, sorted, into `outputs`.
fn record_sorted<T: Data + Ord>(
    s: &DStream<T>,
    outputs: &Arc<Mutex<BTreeMap<i64, Vec<T>>>>,
) -> sluice_core::Result<()> {
    let out = Arc::clone(outputs);
    s.foreach_rdd(move |rdd, t| {
        let mut v = rdd.collect()?;
        v.sort();
        out.lock().insert(t.millis(), v);
        Ok(())
    })
}

/// Runs until batch `until` (ms) has completed, then stops as `mode` says.
fn run_until(ssc: &StreamingContext, until: i64, mode: StopMode) {
    ssc.start().unwrap();
    assert!(ssc
        .await_batch(Time::from_millis(until), Duration::from_secs(60))
        .unwrap());
    ssc.stop(mode).unwrap();
    assert!(ssc.take_error().is_none());
}

#[test]
fn a_restored_job_continues_exactly_where_it_stopped() {
    restored_job_continues(build);
}

#[test]
fn restored_state_updated_per_partition_continues_exactly() {
    restored_job_continues(build_partitioned);
}

#[cfg(feature = "disk-state")]
#[test]
fn a_restored_job_on_the_disk_store_continues_exactly_where_it_stopped() {
    restored_job_continues_on(build, ["disk", "disk", "disk"]);
    restored_job_continues_on(build_partitioned, ["disk", "disk", "disk"]);
    // Caches far smaller than the state: restored into the tree, read back through it.
    restored_job_continues_on(build, ["disk-small", "disk-small", "disk-small"]);
}

/// The two stores write one checkpoint format: a job moves from one to the other at a restart.
#[cfg(feature = "disk-state")]
#[test]
fn a_checkpoint_of_one_store_restores_on_the_other() {
    restored_job_continues_on(build, ["memory", "disk", "memory"]);
    restored_job_continues_on(build, ["disk", "memory", "disk"]);
}

fn restored_job_continues(build: Build) {
    restored_job_continues_on(build, ["memory", "memory", "memory"]);
}

/// A reference run on the in-memory store against a run stopped at 5 s and restarted twice,
/// its three runs on the given stores.
fn restored_job_continues_on(build: Build, stores: [&str; 3]) {
    let ctx = step_ctx();
    // Failure-free reference: 10 batches.
    let reference: Outputs = Arc::default();
    let ssc = build(&ctx, &reference, "counts", 7, seconds(1)).unwrap();
    run_until(&ssc, 10_000, StopMode::Immediate);
    let ctx = common::step_ctx_with_store(stores[0]);

    let dir = tempfile::tempdir().unwrap();
    let outputs: Outputs = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(&ctx, &outputs, "counts", 7, seconds(1))
    })
    .unwrap();
    assert_eq!(ssc.recovered_from(), None);
    run_until(&ssc, 5_000, StopMode::Immediate);
    drop(ssc);

    // Restart (more than once) and finish.
    for (until, store) in [(7_000, stores[1]), (10_000, stores[2])] {
        let ctx = common::step_ctx_with_store(store);
        let ssc = StreamingContext::get_or_create(dir.path(), || {
            build(&ctx, &outputs, "counts", 7, seconds(1))
        })
        .unwrap();
        let from = ssc.recovered_from().expect("restored from a checkpoint");
        assert!(
            from.millis() >= 2_000 && from.millis() % 2_000 == 0,
            "{from}"
        );
        run_until(&ssc, until, StopMode::Immediate);
    }
    let reference = reference.lock();
    let outputs = outputs.lock();
    for t in (1..=10).map(|k| k * 1000) {
        assert_eq!(outputs.get(&t), reference.get(&t), "batch {t}");
    }
}

#[test]
fn graceful_stop_checkpoints_the_last_batch() {
    let ctx = step_ctx();
    let dir = tempfile::tempdir().unwrap();
    let outputs: Outputs = Arc::default();
    let ssc =
        StreamingContext::get_or_create(dir.path(), || build(&ctx, &outputs, "c", 3, seconds(1)))
            .unwrap();
    ssc.start().unwrap();
    assert!(ssc
        .await_batch(Time::from_millis(3_000), Duration::from_secs(60))
        .unwrap());
    ssc.stop(StopMode::Graceful {
        timeout: Duration::from_secs(10),
    })
    .unwrap();
    let last = ssc.last_completed_batch().unwrap();
    let again =
        StreamingContext::get_or_create(dir.path(), || build(&ctx, &outputs, "c", 3, seconds(1)))
            .unwrap();
    assert_eq!(again.recovered_from(), Some(last));
}

fn checkpointed_dir(ctx: &Context) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let outputs: Outputs = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(ctx, &outputs, "counts", 5, seconds(1))
    })
    .unwrap();
    run_until(&ssc, 4_000, StopMode::Immediate);
    dir
}

fn restore_err(dir: &Path, f: impl FnOnce() -> sluice_core::Result<StreamingContext>) -> String {
    match StreamingContext::get_or_create(dir, f) {
        Ok(_) => panic!("restoring should fail"),
        Err(e) => {
            assert!(
                matches!(e, Error::Checkpoint { .. } | Error::InvalidArgument(_)),
                "{e:?}"
            );
            e.to_string()
        }
    }
}

#[test]
fn incompatible_checkpoints_say_what_differs() {
    let ctx = step_ctx();
    let dir = checkpointed_dir(&ctx);
    let outputs: Outputs = Arc::default();

    let e = restore_err(dir.path(), || {
        build(&ctx, &outputs, "totals", 5, seconds(1))
    });
    assert!(e.contains("\"counts\"") && e.contains("renamed"), "{e}");

    let e = restore_err(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(2))
    });
    assert!(e.contains("1000 ms") && e.contains("2000 ms"), "{e}");

    // State type changed (u64 → i64).
    let e = restore_err(dir.path(), || {
        let ssc = StreamingContext::new(&ctx, seconds(1))?;
        ssc.rate_stream(20, Some(2), |i| (i % 5, 1i64))
            .update_state_by_key(|v: &[i64], s: Option<&i64>| {
                Some(s.copied().unwrap_or(0) + v.len() as i64)
            })
            .set_name("counts")
            .print(1)?;
        Ok(ssc)
    });
    assert!(
        e.contains("\"counts\"") && e.contains("state type") && e.contains("i64"),
        "{e}"
    );

    // An extra stateful operator.
    let e = restore_err(dir.path(), || {
        let ssc = build(&ctx, &outputs, "counts", 5, seconds(1))?;
        ssc.rate_stream(1, None, |i| (i, 1u64))
            .update_state_by_key(|v: &[u64], _s: Option<&u64>| Some(v.len() as u64))
            .set_name("extra")
            .print(1)?;
        Ok(ssc)
    });
    assert!(e.contains("\"extra\"") && e.contains("no state"), "{e}");
}

#[test]
fn stateful_operators_must_be_named_when_checkpointing() {
    let ctx = step_ctx();
    let dir = tempfile::tempdir().unwrap();
    let ssc = StreamingContext::new(&ctx, seconds(1)).unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    ssc.rate_stream(1, None, |i| (i, 1u64))
        .update_state_by_key(|v: &[u64], _s: Option<&u64>| Some(v.len() as u64))
        .print(1)
        .unwrap();
    let e = ssc.start().unwrap_err().to_string();
    assert!(e.contains("must be named"), "{e}");
}

#[test]
fn corrupt_and_truncated_files_are_reported_not_read_as_empty() {
    corrupt_and_truncated_files_are_reported(step_ctx());
}

#[cfg(feature = "disk-state")]
#[test]
fn corrupt_and_truncated_files_are_reported_on_the_disk_store_too() {
    corrupt_and_truncated_files_are_reported(common::step_ctx_with_store("disk"));
    corrupt_and_truncated_files_are_reported(common::step_ctx_with_store("disk-small"));
}

fn corrupt_and_truncated_files_are_reported(ctx: Context) {
    let outputs: Outputs = Arc::default();
    // A flipped bit in a state file.
    let dir = checkpointed_dir(&ctx);
    let state_file = walk(dir.path())
        .into_iter()
        .find(|p| p.to_string_lossy().contains("/state/"))
        .unwrap();
    let mut bytes = std::fs::read(&state_file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&state_file, bytes).unwrap();
    let e = restore_err(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(1))
    });
    assert!(
        e.contains("checksum") && e.contains(&*state_file.to_string_lossy()),
        "{e}"
    );

    // A truncated manifest.
    let dir = checkpointed_dir(&ctx);
    let manifest = latest_manifest(dir.path());
    let bytes = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, &bytes[..bytes.len() / 2]).unwrap();
    let e = restore_err(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(1))
    });
    assert!(e.contains("truncated"), "{e}");

    // A manifest from a future format version.
    let dir = checkpointed_dir(&ctx);
    let manifest = latest_manifest(dir.path());
    let mut bytes = std::fs::read(&manifest).unwrap();
    bytes[4..8].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&manifest, bytes).unwrap();
    let e = restore_err(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(1))
    });
    assert!(e.contains("format version 7"), "{e}");
}

#[test]
fn checkpoints_write_only_the_key_groups_that_changed() {
    let ctx = step_ctx();
    let dir = tempfile::tempdir().unwrap();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        let ssc = StreamingContext::new(&ctx, seconds(1))?;
        // Batch 1 touches 1000 keys, later batches only key 0.
        ssc.rate_stream(1000, Some(2), |i| if i < 1000 { (i, 1u64) } else { (0, 1) })
            .update_state_by_key(|v: &[u64], s: Option<&u64>| {
                if v.is_empty() {
                    s.copied() // unchanged keys keep their state without a change
                } else {
                    Some(s.copied().unwrap_or(0) + v.len() as u64)
                }
            })
            .set_name("sparse")
            .checkpoint(seconds(1))?
            .print(0)?;
        Ok(ssc)
    })
    .unwrap();
    run_until(&ssc, 3_000, StopMode::Immediate);
    let files = walk(&dir.path().join("state"));
    let of_seq = |seq: u32| {
        files
            .iter()
            .filter(|p| p.to_string_lossy().contains(&format!("-{seq}-")))
            .count()
    };
    // Checkpoint 1 (after batch 1) wrote every key group; the next ones only key 0's group.
    assert_eq!(of_seq(1), 128);
    assert_eq!(of_seq(2), 1);
}

/// The newest manifest file under `dir`.
fn latest_manifest(dir: &Path) -> std::path::PathBuf {
    walk(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("manifest-")
        })
        .max()
        .unwrap()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

type WindowOutputs = Arc<Mutex<BTreeMap<i64, Vec<(u64, i64)>>>>;

/// The smallest record index the generator was asked for.
type MinIndex = Arc<std::sync::atomic::AtomicU64>;

fn build_window(
    ctx: &Context,
    outputs: &WindowOutputs,
    min_index: &MinIndex,
) -> sluice_core::Result<StreamingContext> {
    let ssc = StreamingContext::new(ctx, seconds(1))?;
    let seen = Arc::clone(min_index);
    let sums = ssc
        .rate_stream(12, Some(2), move |i| {
            seen.fetch_min(i, std::sync::atomic::Ordering::SeqCst);
            (i % 4, (i % 5) as i64)
        })
        .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, seconds(4), seconds(2))?
        .set_name("windowed sums")
        .checkpoint(seconds(2))?;
    record_sorted(&sums, outputs)?;
    Ok(ssc)
}

#[test]
fn incremental_windows_survive_a_restart() {
    let ctx = step_ctx();
    let reference: WindowOutputs = Arc::default();
    let ssc = build_window(&ctx, &reference, &MinIndex::default()).unwrap();
    run_until(&ssc, 12_000, StopMode::Immediate);

    let dir = tempfile::tempdir().unwrap();
    let outputs: WindowOutputs = Arc::default();
    for until in [5_000, 9_000, 12_000] {
        let min_index = MinIndex::new(u64::MAX.into());
        let ssc = StreamingContext::get_or_create(dir.path(), || {
            build_window(&ctx, &outputs, &min_index)
        })
        .unwrap();
        let restored = ssc.recovered_from();
        run_until(&ssc, until, StopMode::Immediate);
        if let Some(t) = restored {
            // The window and the batches still inside it came from the checkpoint: no batch
            // up to the checkpoint was read again (batch k holds records 12(k-1)..12k).
            let first_new = 12 * (t.millis() as u64 / 1000);
            let seen = min_index.load(std::sync::atomic::Ordering::SeqCst);
            assert!(
                seen >= first_new,
                "re-read record {seen}, restored after {t}"
            );
        }
    }
    let (reference, outputs) = (reference.lock(), outputs.lock());
    for t in (1..=6).map(|k| k * 2000) {
        assert!(reference.contains_key(&t));
        assert_eq!(outputs.get(&t), reference.get(&t), "window at {t}");
    }
}

#[test]
fn a_directory_in_use_by_another_process_is_refused() {
    let ctx = step_ctx();
    let dir = checkpointed_dir(&ctx);
    // Another process holds the directory's lock (flock(1) takes the same OS lock).
    let mut holder = std::process::Command::new("flock")
        .args(["--nonblock", "--no-fork"])
        .arg(dir.path().join(".lock"))
        .args(["--command", "echo held; exec sleep 60"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("flock(1) is part of util-linux");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "held");
    let outputs: Outputs = Arc::default();
    let e = restore_err(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(1))
    });
    assert!(e.contains("in use by another process"), "{e}");
    // Once that process is gone, the job restores.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(1))
    })
    .unwrap();
    assert!(ssc.recovered_from().is_some());
}

#[test]
fn state_without_a_manifest_is_not_silently_discarded() {
    let ctx = step_ctx();
    let dir = checkpointed_dir(&ctx);
    for p in walk(dir.path()) {
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("manifest-")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let state_files = walk(&dir.path().join("state")).len();
    assert!(state_files > 0);
    let outputs: Outputs = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(1))
    })
    .unwrap();
    assert!(ssc.recovered_from().is_none());
    let e = ssc.start().unwrap_err().to_string();
    assert!(
        e.contains("manifests are gone") && e.contains("discardUnreferencedState"),
        "{e}"
    );
    drop(ssc);
    // Nothing was deleted.
    assert_eq!(walk(&dir.path().join("state")).len(), state_files);

    // With the explicit setting, the job starts over.
    let ctx = Context::new(
        Conf::new()
            .set_master("local[2]")
            .set("sluice.streaming.clock", "step")
            .set("sluice.checkpoint.discardUnreferencedState", "true"),
    )
    .unwrap();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(1))
    })
    .unwrap();
    run_until(&ssc, 2_000, StopMode::Immediate);
}

#[test]
fn a_crash_before_the_first_checkpoint_completed_starts_over() {
    // State files of an unfinished first checkpoint, and batch records, but no manifest was
    // ever written: nothing was committed, so the job starts from the beginning.
    let ctx = step_ctx();
    let dir = checkpointed_dir(&ctx);
    for p in walk(dir.path()) {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("manifest-") || name == "committed" {
            std::fs::remove_file(p).unwrap();
        }
    }
    assert!(!walk(&dir.path().join("state")).is_empty());
    let outputs: Outputs = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(1))
    })
    .unwrap();
    assert!(ssc.recovered_from().is_none());
    run_until(&ssc, 2_000, StopMode::Immediate);
}

#[test]
fn a_state_file_from_another_key_group_is_refused() {
    let ctx = step_ctx();
    let dir = checkpointed_dir(&ctx);
    let manifest: serde_json::Value = {
        let bytes = std::fs::read(latest_manifest(dir.path())).unwrap();
        serde_json::from_slice(&bytes[20..]).unwrap()
    };
    // Two key groups' latest files; copy one over the other.
    let groups = manifest["operators"]["counts"]["groups"]
        .as_object()
        .unwrap();
    let mut chains = groups.values().map(|c| c.as_array().unwrap());
    let a = chains.next().unwrap().last().unwrap().as_str().unwrap();
    let b = chains.next().unwrap().last().unwrap().as_str().unwrap();
    std::fs::copy(dir.path().join(a), dir.path().join(b)).unwrap();
    let outputs: Outputs = Arc::default();
    let e = restore_err(dir.path(), || {
        build(&ctx, &outputs, "counts", 5, seconds(1))
    });
    assert!(e.contains("key group") && e.contains("copied"), "{e}");
}
