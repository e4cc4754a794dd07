#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Task failures: retried panics and errors, the `Error::TaskFailed` a job fails with when a
//! task keeps failing, the failure counters, `sluice.task.maxFailures`, and the context staying
//! usable afterwards.
//!
//! Every test builds its own context so that the counters it checks are its own.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use sluice_core::Error;

mod common;
use common::{context_with, local2};

#[test]
fn a_panic_on_the_first_attempt_is_retried() {
    let ctx = local2();
    let fired = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&fired);
    let rdd = ctx
        .parallelize((0..100).collect::<Vec<i32>>(), 4)
        .map(move |x| {
            if x == 57 && !f.swap(true, Ordering::SeqCst) {
                panic!("injected failure at {x}");
            }
            x * 2
        });
    let before = ctx.metrics();
    assert_eq!(
        rdd.collect().unwrap(),
        (0..100).map(|x| x * 2).collect::<Vec<_>>()
    );
    let after = ctx.metrics();
    assert!(fired.load(Ordering::SeqCst));
    assert_eq!(after.tasks_failed - before.tasks_failed, 1);
    assert_eq!(after.tasks_launched - before.tasks_launched, 5);
    assert_eq!(after.jobs - before.jobs, 1);
}

#[test]
fn a_panic_in_a_map_stage_is_retried() {
    let ctx = local2();
    let fired = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&fired);
    let counts = ctx
        .parallelize((0..200).map(|x| x % 7).collect::<Vec<u32>>(), 3)
        .map(move |x| {
            if x == 3 && !f.swap(true, Ordering::SeqCst) {
                panic!("map side failure");
            }
            (x, 1u32)
        })
        .reduce_by_key(|a, b| a + b);
    let mut got = counts.collect().unwrap();
    got.sort_unstable();
    let want: Vec<(u32, u32)> = (0..7).map(|k| (k, if k < 4 { 29 } else { 28 })).collect();
    assert_eq!(got, want);
    assert_eq!(ctx.metrics().tasks_failed, 1);
}

#[test]
fn tasks_see_their_attempt_number() {
    let ctx = local2();
    let rdd = ctx.parallelize((0..10).collect::<Vec<u8>>(), 2);
    let res = rdd
        .run_job(|it, tc| {
            if tc.partition == 1 && tc.attempt < 2 {
                return Err(Error::User(format!("flaky attempt {}", tc.attempt)));
            }
            let mut n = 0;
            for c in it {
                n += c?.len();
            }
            Ok((tc.attempt, n))
        })
        .unwrap();
    assert_eq!(res, vec![(0, 5), (2, 5)]);
    let m = ctx.metrics();
    assert_eq!(m.tasks_failed, 2);
    assert_eq!(m.tasks_launched, 4);
}

#[test]
fn a_task_that_always_panics_fails_the_job_with_details() {
    let ctx = local2();
    let rdd = ctx
        .parallelize((0..40).collect::<Vec<i32>>(), 4)
        .map(|x| {
            if x == 25 {
                panic!("record {x} is poisoned");
            }
            x
        })
        .set_name("fragile-map");
    let before = ctx.metrics();
    let err = rdd.collect().unwrap_err();
    let text = err.to_string();
    match &err {
        Error::TaskFailed {
            rdd: desc,
            partition,
            attempts,
            message,
            ..
        } => {
            assert_eq!(*partition, 2, "{text}");
            assert_eq!(*attempts, 4, "the default sluice.task.maxFailures");
            assert!(message.contains("record 25 is poisoned"), "{message}");
            assert!(desc.contains("fragile-map"), "{desc}");
            assert!(desc.contains(&format!("[{}]", rdd.id())), "{desc}");
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
    assert!(text.contains("record 25 is poisoned"), "{text}");
    assert!(text.contains("partition 2"), "{text}");
    assert!(text.contains("stage"), "{text}");
    assert!(text.contains("fragile-map"), "{text}");
    let after = ctx.metrics();
    assert!(after.tasks_failed - before.tasks_failed >= 4);

    // The context is still usable.
    assert_eq!(
        ctx.parallelize(vec![1, 2, 3], 2)
            .map(|x| x + 1)
            .collect()
            .unwrap(),
        vec![2, 3, 4]
    );
    let mut r = ctx
        .parallelize(vec![("a", 1), ("b", 2), ("a", 3)], 2)
        .reduce_by_key(|a, b| a + b)
        .collect()
        .unwrap();
    r.sort_unstable();
    assert_eq!(r, vec![("a", 4), ("b", 2)]);
}

#[test]
fn a_failing_map_stage_names_the_map_side_rdd() {
    let ctx = local2();
    let bad = ctx
        .parallelize(vec![1u8, 2, 3], 1)
        .map(|x| -> (u8, u8) { panic!("cannot key {x}") })
        .set_name("keying");
    let err = bad.group_by_key().count().unwrap_err();
    match &err {
        Error::TaskFailed {
            rdd,
            partition,
            message,
            ..
        } => {
            assert!(rdd.contains("keying"), "{rdd}");
            assert_eq!(*partition, 0);
            assert!(message.contains("cannot key 1"), "{message}");
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
}

#[test]
fn max_failures_sets_the_number_of_attempts() {
    let ctx = context_with("local[2]", &[("sluice.task.maxFailures", "2")]);
    assert_eq!(ctx.settings().task_max_failures, 2);
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = Arc::clone(&attempts);
    let rdd = ctx.parallelize(vec![1], 1).map(move |x: i32| -> i32 {
        a.fetch_add(1, Ordering::SeqCst);
        panic!("always fails ({x})")
    });
    let err = rdd.count().unwrap_err();
    assert!(
        matches!(err, Error::TaskFailed { attempts: 2, .. }),
        "{err:?}"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    let m = ctx.metrics();
    assert_eq!(m.tasks_failed, 2);
    assert_eq!(m.tasks_launched, 2);
    // A single failure is still survived with two attempts.
    let fired = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&fired);
    let ok = ctx.parallelize(vec![1, 2], 1).map(move |x: i32| {
        if !f.swap(true, Ordering::SeqCst) {
            panic!("once");
        }
        x
    });
    assert_eq!(ok.collect().unwrap(), vec![1, 2]);
    assert_eq!(ctx.metrics().tasks_failed, 3);
}

#[test]
fn one_attempt_means_no_retry() {
    let ctx = context_with("local[1]", &[("sluice.task.maxFailures", "1")]);
    let fired = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&fired);
    let rdd = ctx.parallelize(vec![1, 2], 1).map(move |x: i32| {
        if !f.swap(true, Ordering::SeqCst) {
            panic!("first attempt");
        }
        x
    });
    assert!(matches!(
        rdd.collect().unwrap_err(),
        Error::TaskFailed { attempts: 1, .. }
    ));
    // The next job recomputes and succeeds.
    assert_eq!(rdd.collect().unwrap(), vec![1, 2]);
}

#[test]
fn a_task_error_fails_the_job_with_the_error() {
    let ctx = local2();
    let err = ctx
        .parallelize(vec![1, 2, 3], 3)
        .run_job(|_, tc| {
            if tc.partition == 1 {
                Err(Error::User("partition one refuses".into()))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    match &err {
        Error::TaskFailed {
            partition,
            message,
            attempts,
            ..
        } => {
            assert_eq!(*partition, 1);
            assert_eq!(*attempts, 4);
            assert_eq!(message, "partition one refuses");
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
    assert_eq!(ctx.metrics().tasks_failed, 4);
}

#[test]
fn reading_a_deleted_input_file_fails_clearly() {
    let ctx = local2();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.txt");
    std::fs::write(&path, "a\nb\n").unwrap();
    let lines = ctx.text_file(path.to_str().unwrap(), 1).unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = lines.count().unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::TaskFailed { .. }), "{err:?}");
    assert!(text.contains("gone.txt"), "{text}");
    assert!(text.contains("text_file"), "the RDD is described: {text}");
    // A later job on the same context is unaffected.
    assert_eq!(ctx.range(0, 10, 1, 2).count().unwrap(), 10);
}

#[test]
fn a_failed_job_keeps_completed_shuffle_outputs() {
    // The map stage succeeds, the result stage fails once (on the driver's first job only);
    // the second job reuses the shuffle output instead of running the map stage again.
    let ctx = local2();
    let fail = Arc::new(AtomicBool::new(true));
    let f = Arc::clone(&fail);
    let summed = ctx
        .parallelize((0..30).map(|x| (x % 3, x)).collect::<Vec<(i32, i32)>>(), 3)
        .reduce_by_key(|a, b| a + b)
        .map(move |p| {
            if f.load(Ordering::SeqCst) {
                panic!("result stage is down");
            }
            p
        });
    assert!(summed.collect().is_err());
    let m1 = ctx.metrics();
    fail.store(false, Ordering::SeqCst);
    let mut got = summed.collect().unwrap();
    got.sort_unstable();
    assert_eq!(got, vec![(0, 135), (1, 145), (2, 155)]);
    let m2 = ctx.metrics();
    assert_eq!(m2.stages_skipped - m1.stages_skipped, 1);
    assert_eq!(m2.stages - m1.stages, 1);
}

#[test]
fn concurrent_jobs_on_one_context() {
    let ctx = local2();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                let n = 1000 * (i + 1);
                let r = ctx
                    .range(0, n, 1, 3)
                    .map(|x| (x % 10, 1u64))
                    .reduce_by_key(|a, b| a + b)
                    .collect()
                    .unwrap();
                r.into_iter().map(|p| p.1).sum::<u64>()
            })
        })
        .collect();
    let totals: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(totals, vec![1000, 2000, 3000, 4000]);
}
