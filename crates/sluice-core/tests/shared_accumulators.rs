#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Accumulators (counted once per successful task attempt, including under retry) and
//! broadcast variables (visible in tasks, unusable through `try_value` once destroyed).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sluice_core::{Context, Error};

mod common;
use common::ctx;

#[test]
fn long_double_and_collection_accumulators() {
    let ctx = ctx();
    let evens = ctx.long_accumulator("evens");
    let total = ctx.double_accumulator("total");
    let seen = ctx.collection_accumulator::<i32>("seen");
    assert_eq!(evens.name(), "evens");
    let (e, t, s) = (evens.clone(), total.clone(), seen.clone());
    ctx.parallelize((1..=10).collect::<Vec<i32>>(), 3)
        .foreach(move |x| {
            if x % 2 == 0 {
                e.add(1);
            }
            t.add(f64::from(x) / 2.0);
            s.add(vec![x]);
        })
        .unwrap();
    assert_eq!(evens.value(), 5);
    assert_eq!(total.value(), 27.5);
    let mut got = seen.value();
    got.sort_unstable();
    assert_eq!(got, (1..=10).collect::<Vec<_>>());
    // Adding on the driver applies at once; reset goes back to zero.
    evens.add(10);
    assert_eq!(evens.value(), 15);
    evens.reset();
    assert_eq!(evens.value(), 0);
    // Debug shows the name and value.
    assert!(format!("{total:?}").contains("total"));
}

#[test]
fn custom_accumulator_with_its_own_merge() {
    let ctx = ctx();
    let max = ctx.accumulator("max", i64::MIN, |a: &mut i64, b| *a = (*a).max(b));
    let m = max.clone();
    ctx.range(-50, 50, 3, 4).foreach(move |x| m.add(x)).unwrap();
    assert_eq!(max.value(), 49);
}

#[test]
fn an_accumulator_counts_once_when_a_task_is_retried() {
    let ctx = Context::local(2).unwrap();
    let acc = ctx.long_accumulator("records");
    let fired = Arc::new(AtomicBool::new(false));
    let (a, f) = (acc.clone(), Arc::clone(&fired));
    // The first attempt of the partition holding 70 adds for its records up to 70 and then
    // panics; those additions must be discarded.
    ctx.parallelize((0..100).collect::<Vec<i32>>(), 4)
        .foreach(move |x| {
            a.add(1);
            if x == 70 && !f.swap(true, Ordering::SeqCst) {
                panic!("lost after adding");
            }
        })
        .unwrap();
    assert!(fired.load(Ordering::SeqCst));
    assert_eq!(acc.value(), 100);
    assert_eq!(ctx.metrics().tasks_failed, 1);
}

#[test]
fn an_accumulator_in_a_failed_job_keeps_only_successful_tasks() {
    let ctx = Context::local(2).unwrap();
    let acc = ctx.long_accumulator("records");
    let a = acc.clone();
    let res = ctx
        .parallelize((0..100).collect::<Vec<i32>>(), 4)
        .foreach(move |x| {
            a.add(1);
            if x == 99 {
                panic!("the last partition always fails");
            }
        });
    assert!(res.is_err());
    // The last partition (75..100) never succeeded; the others may or may not have run
    // before the job was aborted, but each counts at most once.
    let v = acc.value();
    assert!(v <= 75 && v % 25 == 0, "{v}");
}

#[test]
fn an_accumulator_in_a_map_stage_under_retry() {
    let ctx = Context::local(2).unwrap();
    let acc = ctx.long_accumulator("mapped");
    let fired = Arc::new(AtomicBool::new(false));
    let (a, f) = (acc.clone(), Arc::clone(&fired));
    let mut r = ctx
        .parallelize((0..60).collect::<Vec<u32>>(), 3)
        .map(move |x| {
            a.add(1);
            if x == 45 && !f.swap(true, Ordering::SeqCst) {
                panic!("map task dies once");
            }
            (x % 2, 1u32)
        })
        .reduce_by_key(|x, y| x + y)
        .collect()
        .unwrap();
    r.sort_unstable();
    assert_eq!(r, vec![(0, 30), (1, 30)]);
    assert_eq!(acc.value(), 60);
}

#[test]
fn an_accumulator_in_a_cached_transformation_counts_once_across_actions() {
    let ctx = Context::local(2).unwrap();
    let acc = ctx.long_accumulator("computed");
    let a = acc.clone();
    let rdd = ctx
        .parallelize((0..500).collect::<Vec<i32>>(), 5)
        .map(move |x| {
            a.add(1);
            x
        })
        .cache();
    assert_eq!(rdd.count().unwrap(), 500);
    assert_eq!(rdd.reduce(|x, y| x + y).unwrap(), Some(124_750));
    assert_eq!(acc.value(), 500);
}

#[test]
fn accumulators_in_run_job_respect_attempts() {
    let ctx = Context::local(2).unwrap();
    let acc = ctx.long_accumulator("attempts");
    let a = acc.clone();
    let res = ctx
        .parallelize(vec![1, 2, 3, 4], 2)
        .run_job(move |it, tc| {
            let mut n = 0;
            for c in it {
                n += c?.len() as i64;
            }
            a.add(n);
            if tc.partition == 0 && tc.attempt < 2 {
                return Err(Error::User("retry me".into()));
            }
            Ok(n)
        })
        .unwrap();
    assert_eq!(res, vec![2, 2]);
    assert_eq!(acc.value(), 4);
}

#[test]
fn broadcast_values_are_visible_in_tasks() {
    let ctx = ctx();
    let table = ctx.broadcast(
        [(1, "one"), (2, "two"), (3, "three")]
            .into_iter()
            .collect::<std::collections::HashMap<i32, &str>>(),
    );
    let t = table.clone();
    assert_eq!(t.id(), table.id());
    let named = ctx
        .parallelize(vec![3, 1, 4, 2], 2)
        .map(move |x| t.value().get(&x).copied().unwrap_or("?"))
        .collect()
        .unwrap();
    assert_eq!(named, vec!["three", "one", "?", "two"]);
    // Another broadcast has another id.
    assert_ne!(ctx.broadcast(0u8).id(), table.id());
    // Inside a shuffle's map side too.
    let t = table.clone();
    let mut grouped = ctx
        .parallelize(vec![1, 2, 3, 1], 2)
        .map(move |x| (t.value()[&x].len(), x))
        .group_by_key()
        .collect()
        .unwrap();
    grouped.sort_unstable();
    assert_eq!(grouped, vec![(3, vec![1, 2, 1]), (5, vec![3])]);
}

#[test]
fn destroyed_broadcast_fails_try_value() {
    let ctx = ctx();
    let b = ctx.broadcast(vec![1, 2, 3]);
    let inside = b.clone();
    assert_eq!(b.try_value().unwrap(), &vec![1, 2, 3]);
    assert!(!b.is_destroyed());
    b.destroy();
    assert!(b.is_destroyed());
    assert!(inside.is_destroyed(), "clones share the state");
    let err = b.try_value().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("destroyed"), "{text}");
    assert!(text.contains(&b.id().to_string()), "{text}");
    // Tasks see the destroyed state too.
    let flags = ctx
        .parallelize(vec![0, 1], 2)
        .map(move |_| inside.try_value().is_err())
        .collect()
        .unwrap();
    assert_eq!(flags, vec![true, true]);
    // A task that insists on the value fails the job with the broadcast's error.
    let again = b.clone();
    let err = ctx
        .parallelize(vec![0], 1)
        .map(move |_| {
            again
                .try_value()
                .map(Vec::len)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
        .unwrap_err();
    assert!(err.to_string().contains("destroyed"), "{err}");
}
