#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Actions: property tests of `take`, `take_ordered`, `top`, `reduce`, `fold`, `aggregate`,
//! `count`, `count_by_value`, `first` and `is_empty` against the collected input, and
//! hand-written cases for the remaining actions and for empty RDDs.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use sluice_core::{Context, Rdd};

mod common;
use common::{config, ctx, input_with, Input};

/// This file's inputs: up to 80 records flat or 20 per partition, 2 in 5 partitions empty.
fn input<T: Clone + Debug + 'static>(
    elem: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Input<T>> {
    input_with(elem, 80, 20, 2)
}

fn ints() -> impl Strategy<Value = Input<i64>> {
    prop_oneof![Just(5i64), Just(1000i64)].prop_flat_map(|r| input(-r..r))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn take_is_a_prefix_of_collect(inp in ints(), extra in 0usize..4) {
        let rdd = inp.rdd();
        let all = inp.all();
        prop_assert_eq!(rdd.collect().unwrap(), all.clone());
        for n in (0..=all.len() + extra).step_by(1 + all.len() / 10) {
            let want = all[..n.min(all.len())].to_vec();
            prop_assert_eq!(rdd.take(n).unwrap(), want, "take({})", n);
        }
        prop_assert_eq!(rdd.take(all.len() + extra).unwrap(), all.clone());
        prop_assert_eq!(rdd.first().unwrap(), all.first().copied());
        prop_assert_eq!(rdd.is_empty().unwrap(), all.is_empty());
        prop_assert_eq!(rdd.count().unwrap(), all.len() as u64);
    }

    #[test]
    fn take_ordered_and_top(inp in ints(), n in 0usize..30) {
        let mut asc = inp.all();
        asc.sort_unstable();
        let mut desc = asc.clone();
        desc.reverse();
        let k = n.min(asc.len());
        prop_assert_eq!(inp.rdd().take_ordered(n).unwrap(), asc[..k].to_vec());
        prop_assert_eq!(inp.rdd().top(n).unwrap(), desc[..k].to_vec());
        // By a custom order: by absolute value, then value.
        let mut by_abs = inp.all();
        by_abs.sort_by_key(|x| (x.abs(), *x));
        prop_assert_eq!(
            inp.rdd().take_ordered_by(n, |a, b| (a.abs(), *a).cmp(&(b.abs(), *b))).unwrap(),
            by_abs[..k].to_vec()
        );
    }

    #[test]
    fn reduce_fold_aggregate(inp in ints()) {
        let all = inp.all();
        let rdd = inp.rdd();
        let sum: i64 = all.iter().sum();
        let want = if all.is_empty() { None } else { Some(sum) };
        prop_assert_eq!(rdd.reduce(|a, b| a + b).unwrap(), want);
        prop_assert_eq!(rdd.reduce(|a, b| a.max(b)).unwrap(), all.iter().copied().max());
        prop_assert_eq!(rdd.fold(0, |a, b| a + b).unwrap(), sum);
        // A non-neutral zero is folded once per partition and once more on the driver.
        let parts = rdd.num_partitions() as i64;
        prop_assert_eq!(rdd.fold(1, |a, b| a + b).unwrap(), sum + parts + 1);
        let (s, c) = rdd
            .aggregate((0i64, 0u64), |(s, c), x| (s + x, c + 1), |a, b| (a.0 + b.0, a.1 + b.1))
            .unwrap();
        prop_assert_eq!((s, c), (sum, all.len() as u64));
        // A result type different from the records: the records themselves, in order of
        // partition (the driver combines partition results in partition order).
        let v = rdd
            .aggregate(
                Vec::new(),
                |mut v: Vec<i64>, x| {
                    v.push(x);
                    v
                },
                |mut a, mut b| {
                    a.append(&mut b);
                    a
                },
            )
            .unwrap();
        prop_assert_eq!(v, all);
    }

    #[test]
    fn count_by_value_matches_model(inp in ints()) {
        let mut model: HashMap<i64, u64> = HashMap::new();
        for x in inp.all() {
            *model.entry(x).or_insert(0) += 1;
        }
        prop_assert_eq!(inp.rdd().count_by_value().unwrap(), model);
    }

    #[test]
    fn lookup_and_collect_as_map(inp in input((0u8..6, any::<i32>()))) {
        let all = inp.all();
        let rdd = inp.rdd();
        for k in 0u8..7 {
            let want: Vec<i32> = all.iter().filter(|p| p.0 == k).map(|p| p.1).collect();
            prop_assert_eq!(rdd.lookup(k).unwrap(), want);
        }
        // One value per key: the last one seen in collect order.
        let want: HashMap<u8, i32> = all.iter().copied().collect();
        prop_assert_eq!(rdd.collect_as_map().unwrap(), want);
    }
}

#[test]
fn actions_on_empty_rdds() {
    let ctx = ctx();
    let empty: Rdd<i32> = ctx.empty();
    assert_eq!(empty.num_partitions(), 0);
    assert_eq!(empty.collect().unwrap(), Vec::<i32>::new());
    assert_eq!(empty.count().unwrap(), 0);
    assert_eq!(empty.first().unwrap(), None);
    assert!(empty.is_empty().unwrap());
    assert_eq!(empty.reduce(|a, b| a + b).unwrap(), None);
    assert_eq!(empty.fold(0, |a, b| a + b).unwrap(), 0);
    assert_eq!(empty.take(3).unwrap(), Vec::<i32>::new());
    assert_eq!(empty.top(3).unwrap(), Vec::<i32>::new());
    assert!(empty.count_by_value().unwrap().is_empty());

    // Partitions, but no records.
    let hollow: Rdd<i32> = ctx.parallelize_partitions(vec![vec![], vec![], vec![]]);
    assert_eq!(hollow.num_partitions(), 3);
    assert_eq!(hollow.first().unwrap(), None);
    assert!(hollow.is_empty().unwrap());
    assert_eq!(hollow.reduce(|a, b| a + b).unwrap(), None);
    assert_eq!(hollow.take_ordered(2).unwrap(), Vec::<i32>::new());

    let filtered = ctx.parallelize(vec![1, 3, 5], 2).filter(|x| x % 2 == 0);
    assert_eq!(filtered.first().unwrap(), None);
    assert!(filtered.is_empty().unwrap());
    assert_eq!(filtered.reduce(|a, b| a + b).unwrap(), None);

    // Shuffles of empty RDDs.
    let pairs: Rdd<(u8, i32)> = ctx.empty();
    assert!(pairs
        .reduce_by_key(|a, b| a + b)
        .collect()
        .unwrap()
        .is_empty());
    assert!(pairs.group_by_key().collect().unwrap().is_empty());
    assert!(pairs.sort_by_key(true).collect().unwrap().is_empty());
    assert!(pairs.join(&pairs).collect().unwrap().is_empty());
    assert!(pairs.count_by_key().unwrap().is_empty());
    assert_eq!(empty.distinct().count().unwrap(), 0);
    assert_eq!(empty.repartition(3).num_partitions(), 3);
    assert_eq!(empty.repartition(3).count().unwrap(), 0);
    assert_eq!(empty.zip_with_index().count().unwrap(), 0);
    assert_eq!(empty.cartesian(&hollow).count().unwrap(), 0);
    assert_eq!(hollow.cartesian(&empty).count().unwrap(), 0);
}

#[test]
fn take_stops_early_and_scans_more_partitions_when_needed() {
    let ctx = Context::local(2).unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&computed);
    let rdd = ctx
        .parallelize((0..1000).collect::<Vec<i32>>(), 10)
        .map_partitions(move |it| {
            c.fetch_add(1, Ordering::SeqCst);
            it
        });
    // The first partition holds 100 records: one partition is enough.
    assert_eq!(rdd.take(5).unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    // More than one partition's worth.
    assert_eq!(rdd.take(250).unwrap(), (0..250).collect::<Vec<_>>());
    // Records beyond the first empty partitions.
    let sparse =
        ctx.parallelize_partitions(vec![vec![], vec![], vec![], vec![], vec![], vec![7, 8]]);
    assert_eq!(sparse.take(1).unwrap(), vec![7]);
    assert_eq!(sparse.take(5).unwrap(), vec![7, 8]);
}

#[test]
fn take_across_chunk_boundaries() {
    // More records per partition than a chunk holds.
    let ctx = ctx();
    let rdd = ctx.parallelize((0..10_000).collect::<Vec<u32>>(), 3);
    assert_eq!(rdd.take(3000).unwrap(), (0..3000).collect::<Vec<_>>());
    assert_eq!(rdd.take(5000).unwrap(), (0..5000).collect::<Vec<_>>());
    assert_eq!(rdd.count().unwrap(), 10_000);
    assert_eq!(rdd.top(2).unwrap(), vec![9999, 9998]);
}

#[test]
fn foreach_and_foreach_partition_see_every_record() {
    let ctx = ctx();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    ctx.parallelize((0..100).collect::<Vec<i32>>(), 4)
        .foreach(move |x| s.lock().unwrap().push(x))
        .unwrap();
    let mut got = seen.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(got, (0..100).collect::<Vec<_>>());

    let sizes = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&sizes);
    ctx.parallelize_partitions(vec![vec![1, 2], vec![], vec![3, 4, 5]])
        .foreach_partition(move |it| s.lock().unwrap().push(it.count()))
        .unwrap();
    let mut got = sizes.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(got, vec![0, 2, 3]);
}

#[test]
fn run_job_returns_one_result_per_partition_in_order() {
    let ctx = ctx();
    let rdd = ctx.parallelize((1..=10).collect::<Vec<i32>>(), 4);
    let res = rdd
        .run_job(|it, tc| {
            let mut n = 0;
            for c in it {
                n += c?.len();
            }
            Ok((tc.partition, n))
        })
        .unwrap();
    assert_eq!(res, vec![(0, 2), (1, 3), (2, 2), (3, 3)]);
}

#[test]
fn run_job_on_runs_the_given_partitions_in_the_given_order_and_rejects_missing_ones() {
    let ctx = ctx();
    let rdd = ctx.parallelize((1..=10).collect::<Vec<i32>>(), 4);
    let ran = Arc::new(AtomicUsize::new(0));
    let r2 = Arc::clone(&ran);
    let res = rdd
        .run_job_on(&[3, 0], move |it, tc| {
            r2.fetch_add(1, Ordering::Relaxed);
            let mut sum = 0;
            for c in it {
                sum += c?.iter().sum::<i32>();
            }
            Ok((tc.partition, sum))
        })
        .unwrap();
    assert_eq!(res, vec![(3, 8 + 9 + 10), (0, 1 + 2)]);
    assert_eq!(ran.load(Ordering::Relaxed), 2);
    let err = rdd.run_job_on(&[4], |_, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("partition 4"), "{err}");
}
