#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Output operations (reference sections A and D): `print`'s exact text, `save_as_text_files`
//! directory naming and contents, `foreach_rdd` batch times, definition-order execution, and
//! failing output operations (reported, later batches still run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_core::Error;
use sluice_streaming::clock::ManualClock;
use sluice_streaming::dstream::output::{batch_file_name, format_print};
use sluice_streaming::testing::{run_stream_from_with, run_stream_with, TestConfig};
use sluice_streaming::time::Time;
use sluice_streaming::{RddQueue, StopMode, StreamingContext};

mod common;
use common::{local, manual_context, run_batch, t};

const DASHES: &str = "-------------------------------------------";

// ---------------------------------------------------------------------------------------------
// print

#[test]
fn print_text_with_more_records_than_shown() {
    // print(num) takes num + 1 records; the extra one only triggers "...".
    let text = format_print(t(1000), &[1, 2, 3], 2);
    assert_eq!(
        text,
        format!("{DASHES}\nTime: 1000 ms\n{DASHES}\n1\n2\n...\n\n")
    );
}

#[test]
fn print_text_with_exactly_num_records() {
    let text = format_print(t(2000), &["x", "y"], 2);
    assert_eq!(text, format!("{DASHES}\nTime: 2000 ms\n{DASHES}\nx\ny\n\n"));
}

#[test]
fn print_text_with_fewer_records_than_num() {
    let text = format_print(t(3000), &[7], 10);
    assert_eq!(text, format!("{DASHES}\nTime: 3000 ms\n{DASHES}\n7\n\n"));
}

#[test]
fn print_text_of_an_empty_batch() {
    let text = format_print::<i32>(t(4000), &[], 10);
    assert_eq!(text, format!("{DASHES}\nTime: 4000 ms\n{DASHES}\n\n"));
}

#[test]
fn print_text_uses_spark_record_forms() {
    let text = format_print(
        t(5000),
        &[
            ("a".to_string(), (1i64, Some(2.0f64))),
            ("b".to_string(), (2i64, None)),
        ],
        1,
    );
    assert_eq!(
        text,
        format!("{DASHES}\nTime: 5000 ms\n{DASHES}\n(a,(1,Some(2.0)))\n...\n\n")
    );
    // num = 0 shows only "..." when there is anything at all.
    assert_eq!(
        format_print(t(6000), &[1], 0),
        format!("{DASHES}\nTime: 6000 ms\n{DASHES}\n...\n\n")
    );
}

#[test]
fn print_runs_as_an_output_operation() {
    // print writes to stdout; here it must run every batch without failing the run, next to
    // another output operation.
    let out = run_stream_with(TestConfig::default(), vec![vec![1, 2, 3], vec![]], 3, |s| {
        s.print(2).unwrap();
        s.map(|x: i32| x + 1)
    })
    .unwrap();
    assert_eq!(out, vec![vec![2, 3, 4], vec![], vec![]]);
}

// ---------------------------------------------------------------------------------------------
// save_as_text_files

#[test]
fn batch_file_names_follow_spark() {
    assert_eq!(batch_file_name("out/p", "txt", t(1000)), "out/p-1000.txt");
    assert_eq!(batch_file_name("out/p", "", t(2000)), "out/p-2000");
    assert_eq!(batch_file_name("", "txt", t(3000)), "3000.txt");
    assert_eq!(batch_file_name("", "", t(4000)), "4000");
}

/// Names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The concatenated contents of a batch directory's part files, in part order.
fn read_parts(dir: &Path) -> String {
    let mut out = String::new();
    for n in names(dir) {
        if n.starts_with("part-") {
            out.push_str(&std::fs::read_to_string(dir.join(n)).unwrap());
        }
    }
    out
}

fn part_names(n: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..n).map(|i| format!("part-{i:05}")).collect();
    v.push("_SUCCESS".to_string());
    v.sort();
    v
}

#[test]
fn save_as_text_files_writes_one_directory_per_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("counts").to_string_lossy().into_owned();
    let config = TestConfig {
        input_partitions: 2,
        ..TestConfig::default()
    };
    let input = vec![
        vec![("a".to_string(), 1i64), ("b".to_string(), 22)],
        vec![],
        vec![("c".to_string(), -3)],
    ];
    let p = prefix.clone();
    run_stream_with(config, input, 4, move |s| {
        s.save_as_text_files(&p, "txt").unwrap();
        s
    })
    .unwrap();
    // One directory per batch, empty batches included, all named prefix-TIME.suffix.
    assert_eq!(
        names(tmp.path()),
        vec![
            "counts-1000.txt",
            "counts-2000.txt",
            "counts-3000.txt",
            "counts-4000.txt"
        ]
    );
    let dir = |ms: i64| PathBuf::from(format!("{prefix}-{ms}.txt"));
    for ms in [1000, 2000, 3000, 4000] {
        assert_eq!(names(&dir(ms)), part_names(2), "batch {ms}");
    }
    assert_eq!(read_parts(&dir(1000)), "(a,1)\n(b,22)\n");
    assert_eq!(read_parts(&dir(2000)), "");
    assert_eq!(read_parts(&dir(3000)), "(c,-3)\n");
    assert_eq!(read_parts(&dir(4000)), "");
    // Two records over two partitions: one per part file.
    assert_eq!(
        std::fs::read_to_string(dir(1000).join("part-00001")).unwrap(),
        "(b,22)\n"
    );
}

#[test]
fn save_as_text_files_without_suffix_and_with_empty_rdds() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("out").to_string_lossy().into_owned();
    let p = prefix.clone();
    run_stream_from_with(TestConfig::default(), 2, move |ssc| {
        let q = RddQueue::new();
        q.push(ssc.context().parallelize(vec![Some(1.5f64), None], 1));
        // Batch 2 finds the queue empty: an RDD with no partitions.
        let s = ssc.queue_stream(&q, true, None);
        s.save_as_text_files(&p, "").unwrap();
        s
    })
    .unwrap();
    assert_eq!(names(tmp.path()), vec!["out-1000", "out-2000"]);
    let d1 = PathBuf::from(format!("{prefix}-1000"));
    assert_eq!(names(&d1), part_names(1));
    assert_eq!(read_parts(&d1), "Some(1.5)\nNone\n");
    // Still a directory with _SUCCESS for the empty batch.
    let d2 = PathBuf::from(format!("{prefix}-2000"));
    assert!(names(&d2).contains(&"_SUCCESS".to_string()));
    assert_eq!(read_parts(&d2), "");
}

#[test]
fn save_as_text_files_creates_missing_parent_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp
        .path()
        .join("a")
        .join("b")
        .join("events")
        .to_string_lossy()
        .into_owned();
    let p = prefix.clone();
    run_stream_with(TestConfig::default(), vec![vec![(1, 'x')]], 1, move |s| {
        s.save_as_text_files(&p, "log").unwrap();
        s
    })
    .unwrap();
    let d = PathBuf::from(format!("{prefix}-1000.log"));
    assert_eq!(read_parts(&d), "(1,x)\n");
    assert_eq!(
        names(&tmp.path().join("a").join("b")),
        vec!["events-1000.log"]
    );
}

#[test]
fn save_as_text_files_rewriting_a_batch_replaces_it() {
    // Two output operations write the same batch directory: the second replaces the first
    // entirely (no part files of the first are left, no temporary files remain).
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("same").to_string_lossy().into_owned();
    let p = prefix.clone();
    let config = TestConfig {
        input_partitions: 3,
        ..TestConfig::default()
    };
    run_stream_with(config, vec![vec![1, 2, 3], vec![4]], 2, move |s| {
        s.save_as_text_files(&p, "out").unwrap();
        let second = s.map(|x: i32| x * 100).repartition(1);
        second.save_as_text_files(&p, "out").unwrap();
        second
    })
    .unwrap();
    assert_eq!(names(tmp.path()), vec!["same-1000.out", "same-2000.out"]);
    let d1 = PathBuf::from(format!("{prefix}-1000.out"));
    assert_eq!(names(&d1), part_names(1));
    let mut lines: Vec<String> = read_parts(&d1).lines().map(String::from).collect();
    lines.sort();
    assert_eq!(lines, vec!["100", "200", "300"]);
    let d2 = PathBuf::from(format!("{prefix}-2000.out"));
    assert_eq!(read_parts(&d2), "400\n");
}

#[test]
fn save_as_text_files_rerun_is_idempotent() {
    // Writing the same batch twice with the same data gives the same directory.
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("idem").to_string_lossy().into_owned();
    let p = prefix.clone();
    run_stream_with(TestConfig::default(), vec![vec!["x", "y"]], 1, move |s| {
        s.save_as_text_files(&p, "").unwrap();
        s.save_as_text_files(&p, "").unwrap();
        s
    })
    .unwrap();
    assert_eq!(names(tmp.path()), vec!["idem-1000"]);
    let d = PathBuf::from(format!("{prefix}-1000"));
    assert_eq!(names(&d), part_names(2));
    assert_eq!(read_parts(&d), "x\ny\n");
}

// ---------------------------------------------------------------------------------------------
// foreach_rdd and ordering

#[test]
fn foreach_rdd_receives_every_batch_time() {
    let (ssc, clock) = manual_context();
    let times: Arc<Mutex<Vec<i64>>> = Arc::default();
    let sink = Arc::clone(&times);
    ssc.rate_stream(1, None, |i| i)
        .foreach_rdd(move |_, time| {
            sink.lock().unwrap().push(time.millis());
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    for k in 1..=4 {
        run_batch(&ssc, &clock, k);
    }
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(*times.lock().unwrap(), vec![1000, 2000, 3000, 4000]);
}

#[test]
fn foreach_rdd_with_a_longer_interval() {
    let ctx = local();
    let clock = ManualClock::shared(0);
    let ssc =
        StreamingContext::with_clock(&ctx, Duration::from_millis(300), clock.clone()).unwrap();
    let times: Arc<Mutex<Vec<i64>>> = Arc::default();
    let sink = Arc::clone(&times);
    ssc.rate_stream(10, Some(1), |i| i)
        .foreach_rdd(move |rdd, time| {
            let n = rdd.count()?;
            sink.lock().unwrap().push(time.millis() * 1000 + n as i64);
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    assert_eq!(ssc.start_time(), Some(t(300)));
    for k in 1..=3 {
        clock.advance(Duration::from_millis(300));
        assert!(ssc
            .await_batch(t(k * 300), Duration::from_secs(30))
            .unwrap());
    }
    ssc.stop(StopMode::Immediate).unwrap();
    // 10 records per second: 3 per 300 ms batch.
    assert_eq!(*times.lock().unwrap(), vec![300_003, 600_003, 900_003]);
}

#[test]
fn output_operations_run_in_definition_order() {
    let (ssc, clock) = manual_context();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = ssc.rate_stream(2, Some(2), |i| i);
    for name in ["first", "second", "third"] {
        let l = Arc::clone(&log);
        s.foreach_rdd(move |rdd, time| {
            // An action inside, so that the operations really run jobs.
            let n = rdd.count()?;
            l.lock()
                .unwrap()
                .push(format!("{}:{name}:{n}", time.millis()));
            Ok(())
        })
        .unwrap();
    }
    ssc.start().unwrap();
    for k in 1..=3 {
        run_batch(&ssc, &clock, k);
    }
    ssc.stop(StopMode::Immediate).unwrap();
    let expected: Vec<String> = [1000, 2000, 3000]
        .iter()
        .flat_map(|ms| {
            ["first", "second", "third"]
                .iter()
                .map(move |n| format!("{ms}:{n}:2"))
        })
        .collect();
    assert_eq!(*log.lock().unwrap(), expected);
}

#[test]
fn output_operation_without_an_action_runs_nothing() {
    // "An output op without an RDD action inside executes nothing": the stream's map function
    // is never applied.
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let (ssc, clock) = manual_context();
    ssc.rate_stream(5, Some(1), |i| i)
        .map(move |x| {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            x
        })
        .foreach_rdd(|_, _| Ok(()))
        .unwrap();
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------------
// failures

#[test]
fn failing_output_operations_are_reported_and_later_batches_run() {
    let (ssc, clock) = manual_context();
    let s = ssc.rate_stream(1, Some(1), |i| i);
    let seen: Arc<Mutex<BTreeMap<&'static str, Vec<i64>>>> = Arc::default();
    let record = |seen: &Arc<Mutex<BTreeMap<&'static str, Vec<i64>>>>, op, ms| {
        seen.lock().unwrap().entry(op).or_default().push(ms);
    };
    {
        let seen = Arc::clone(&seen);
        s.foreach_rdd(move |_, time| {
            if time.millis() == 2000 {
                return Err(Error::User("op0 failed on purpose".into()));
            }
            record(&seen, "op0", time.millis());
            Ok(())
        })
        .unwrap();
    }
    {
        let seen = Arc::clone(&seen);
        s.foreach_rdd(move |_, time| {
            if time.millis() == 3000 {
                panic!("op1 panicked on purpose");
            }
            record(&seen, "op1", time.millis());
            Ok(())
        })
        .unwrap();
    }
    {
        let seen = Arc::clone(&seen);
        s.foreach_rdd(move |rdd, time| {
            rdd.count()?;
            record(&seen, "op2", time.millis());
            Ok(())
        })
        .unwrap();
    }
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    assert!(ssc.take_error().is_none());

    run_batch(&ssc, &clock, 2);
    let e = ssc.take_error().expect("batch 2 failed");
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            Error::BatchFailed {
                batch_time_ms: 2000,
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("op0 failed on purpose"), "{msg}");
    assert!(ssc.take_error().is_none(), "the error is taken once");

    run_batch(&ssc, &clock, 3);
    // await_termination reports the failure.
    let r = ssc.await_termination_timeout(Duration::from_secs(10));
    let e = r.expect_err("batch 3 failed");
    assert!(
        matches!(
            e,
            Error::BatchFailed {
                batch_time_ms: 3000,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("op1 panicked on purpose"), "{e}");

    run_batch(&ssc, &clock, 4);
    assert!(ssc.take_error().is_none());
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(ssc.batches_completed(), 4);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen["op0"], vec![1000, 3000, 4000]);
    assert_eq!(seen["op1"], vec![1000, 2000, 4000]);
    // A failure does not keep the batch's other operations from running.
    assert_eq!(seen["op2"], vec![1000, 2000, 3000, 4000]);
}

#[test]
fn a_panicking_task_inside_an_output_operation_fails_only_its_batch() {
    let (ssc, clock) = manual_context();
    let totals: Arc<Mutex<Vec<(i64, u64)>>> = Arc::default();
    let sink = Arc::clone(&totals);
    ssc.rate_stream(2, Some(2), |i| i)
        .map(|i| {
            assert!(i != 3, "record 3 is poison");
            i
        })
        .foreach_rdd(move |rdd, time| {
            let v = rdd.collect()?;
            sink.lock()
                .unwrap()
                .push((time.millis(), v.iter().sum::<u64>()));
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    for k in 1..=3 {
        run_batch(&ssc, &clock, k);
    }
    let e = ssc.take_error().expect("batch 2 (records 2 and 3) failed");
    assert!(
        matches!(
            e,
            Error::BatchFailed {
                batch_time_ms: 2000,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("record 3 is poison"), "{e}");
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(*totals.lock().unwrap(), vec![(1000, 1), (3000, 9)]);
}

#[test]
fn failing_harness_output_fails_the_run() {
    let err = run_stream_with(TestConfig::default(), vec![vec![1]], 2, |s| {
        s.foreach_rdd(|_, time| {
            if time.millis() == 2000 {
                Err(Error::User("second batch".into()))
            } else {
                Ok(())
            }
        })
        .unwrap();
        s
    })
    .unwrap_err();
    assert!(err.to_string().contains("second batch"), "{err}");
}

#[test]
fn a_job_generation_failure_treats_all_output_operations_alike() {
    let (ssc, clock) = manual_context();
    let s = ssc.rate_stream(1, Some(1), |i| i);
    let ran: Arc<Mutex<Vec<(usize, i64)>>> = Arc::default();
    let record = |op: usize| {
        let ran = Arc::clone(&ran);
        move |_: sluice_core::Rdd<u64>, time: Time| {
            ran.lock().unwrap().push((op, time.millis()));
            Ok(())
        }
    };
    s.foreach_rdd(record(0)).unwrap();
    s.transform(|rdd, time| {
        if time.millis() == 1000 {
            Err(Error::User("cannot plan op 1".into()))
        } else {
            Ok(rdd)
        }
    })
    .foreach_rdd(record(1))
    .unwrap();
    s.foreach_rdd(record(2)).unwrap();
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    let e = ssc
        .take_error()
        .expect("batch 1 reports the generation failure");
    assert!(e.to_string().contains("cannot plan op 1"), "{e}");
    run_batch(&ssc, &clock, 2);
    ssc.stop(StopMode::Immediate).unwrap();
    let ran = ran.lock().unwrap().clone();
    let op0 = ran.contains(&(0, 1000));
    let op2 = ran.contains(&(2, 1000));
    assert_eq!(
        op0, op2,
        "ops 0 and 2 of batch 1 treated differently: {ran:?}"
    );
    // Batch 2 is complete either way.
    for op in 0..3 {
        assert!(ran.contains(&(op, 2000)), "{ran:?}");
    }
}

#[test]
fn a_failed_batch_keeps_the_output_operations_error_as_its_source() {
    use std::error::Error as _;
    #[derive(Debug)]
    struct SinkDown;
    impl std::fmt::Display for SinkDown {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the sink is down")
        }
    }
    impl std::error::Error for SinkDown {}

    let (ssc, clock) = manual_context();
    ssc.rate_stream(10, None, |i| i)
        .foreach_rdd(|_, _| Err(Error::other(SinkDown)))
        .unwrap();
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();
    let e = ssc.take_error().expect("the batch failed");
    assert!(matches!(e, Error::BatchFailed { .. }), "{e:?}");
    assert!(e.to_string().contains("the sink is down"), "{e}");
    // The user's error is in the chain of causes, not only in the message.
    let mut found = false;
    let mut next = e.source();
    while let Some(c) = next {
        found |= c.downcast_ref::<SinkDown>().is_some();
        next = c.source();
    }
    assert!(found, "{e:?}");
}
