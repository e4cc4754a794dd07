#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Stage planning as seen through the counters: a shuffle's map stage runs once for several
//! actions, co-partitioned aggregations need no extra shuffle, shuffle outputs are released
//! when their RDDs are dropped; and `to_debug_string` shows the stages.
//!
//! Every test builds its own context, so the counters it checks are its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sluice_core::{HashPartitioner, StorageLevel};

mod common;
use common::{context_with, local2};

#[test]
fn a_reduced_rdd_used_twice_runs_its_map_stage_once() {
    let ctx = local2();
    let computed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&computed);
    let reduced = ctx
        .range(0, 100, 1, 4)
        .map(move |x| {
            c.fetch_add(1, Ordering::SeqCst);
            (x % 5, 1u32)
        })
        .reduce_by_key(|a, b| a + b);
    let m0 = ctx.metrics();
    assert_eq!(reduced.count().unwrap(), 5);
    let m1 = ctx.metrics();
    assert_eq!(m1.stages - m0.stages, 2, "map stage and result stage");
    assert_eq!(m1.stages_skipped - m0.stages_skipped, 0);
    assert_eq!(m1.jobs - m0.jobs, 1);
    let mut got = reduced.collect().unwrap();
    got.sort_unstable();
    assert_eq!(got, (0..5).map(|k| (k, 20)).collect::<Vec<_>>());
    let m2 = ctx.metrics();
    assert_eq!(m2.stages - m1.stages, 1, "only the result stage");
    assert_eq!(m2.stages_skipped - m1.stages_skipped, 1);
    assert_eq!(
        computed.load(Ordering::SeqCst),
        100,
        "the map side ran once"
    );
    // A downstream RDD reuses it too.
    assert_eq!(
        reduced
            .map_values(|v| v * 2)
            .values()
            .reduce(|a, b| a + b)
            .unwrap(),
        Some(200)
    );
    assert_eq!(ctx.metrics().stages_skipped - m2.stages_skipped, 1);
    assert_eq!(computed.load(Ordering::SeqCst), 100);
}

#[test]
fn tasks_launched_count_partitions() {
    let ctx = local2();
    let m0 = ctx.metrics();
    let r = ctx
        .parallelize((0..50).map(|x| (x % 4, x)).collect::<Vec<(i32, i32)>>(), 5)
        .reduce_by_key_into(3, |a, b| a + b);
    assert_eq!(r.count().unwrap(), 4);
    let m1 = ctx.metrics();
    assert_eq!(m1.tasks_launched - m0.tasks_launched, 5 + 3);
    assert_eq!(m1.tasks_failed, m0.tasks_failed);
}

#[test]
fn live_shuffles_are_released_when_rdds_are_dropped() {
    let ctx = local2();
    assert_eq!(ctx.live_shuffles(), 0);
    let pairs = ctx.parallelize((0..40).map(|x| (x % 6, x)).collect::<Vec<(i32, i32)>>(), 3);
    let reduced = pairs.reduce_by_key(|a, b| a + b);
    assert_eq!(ctx.live_shuffles(), 0, "nothing runs before an action");
    reduced.count().unwrap();
    assert_eq!(ctx.live_shuffles(), 1);
    reduced.collect().unwrap();
    assert_eq!(ctx.live_shuffles(), 1);
    let sorted = reduced.sort_by_key(true);
    let joined = reduced.join(&pairs);
    sorted.collect().unwrap();
    joined.collect().unwrap();
    assert_eq!(ctx.live_shuffles(), 3);
    drop(joined);
    assert_eq!(ctx.live_shuffles(), 2);
    // `sorted` still needs the reduce shuffle: dropping `reduced` alone frees nothing.
    drop(reduced);
    assert_eq!(ctx.live_shuffles(), 2);
    assert_eq!(sorted.count().unwrap(), 6);
    drop(sorted);
    assert_eq!(ctx.live_shuffles(), 0);
    // The parent is untouched and still usable.
    assert_eq!(pairs.count().unwrap(), 40);
}

#[test]
fn co_partitioned_aggregation_needs_no_second_shuffle() {
    let ctx = local2();
    let part = ctx
        .parallelize(
            (0..60).map(|x| (x % 7, 1u32)).collect::<Vec<(i32, u32)>>(),
            4,
        )
        .partition_by(Arc::new(HashPartitioner::new(3)));
    let counts = part.reduce_by_key(|a, b| a + b);
    assert_eq!(counts.partitioner(), Some("hash:3"));
    let m0 = ctx.metrics();
    assert_eq!(counts.count().unwrap(), 7);
    let m1 = ctx.metrics();
    assert_eq!(
        m1.stages - m0.stages,
        2,
        "one shuffle (partition_by), then the result"
    );
    assert_eq!(ctx.live_shuffles(), 1);
    // The same with an explicit equal partitioner, and for group_by_key.
    let g = part.group_by_key_into(3);
    let m1 = ctx.metrics();
    assert_eq!(g.count().unwrap(), 7);
    let m2 = ctx.metrics();
    assert_eq!(m2.stages - m1.stages, 1);
    assert_eq!(m2.stages_skipped - m1.stages_skipped, 1);
    // A different number of partitions does shuffle.
    let other = part.reduce_by_key_into(2, |a, b| a + b);
    assert_eq!(other.count().unwrap(), 7);
    assert_eq!(ctx.metrics().stages - m2.stages, 2);
}

#[test]
fn explicit_default_parallelism_sets_shuffle_partitions() {
    let ctx = context_with("local[2]", &[("sluice.default.parallelism", "5")]);
    assert_eq!(ctx.default_parallelism(), 5);
    let pairs = ctx.parallelize(vec![(1, 1), (2, 2), (1, 3)], 2);
    assert_eq!(pairs.num_partitions(), 2);
    let r = pairs.reduce_by_key(|a, b| a + b);
    assert_eq!(r.num_partitions(), 5);
    assert_eq!(pairs.group_by_key().num_partitions(), 5);
    assert_eq!(pairs.join(&pairs).num_partitions(), 5);
    let mut got = r.collect().unwrap();
    got.sort_unstable();
    assert_eq!(got, vec![(1, 4), (2, 2)]);
    // Without the setting, a shuffle keeps the parent's partition count.
    let plain = local2();
    assert_eq!(
        plain
            .parallelize(vec![(1, 1)], 3)
            .reduce_by_key(|a, b| a + b)
            .num_partitions(),
        3
    );
    assert_eq!(plain.default_parallelism(), 2);
    assert_eq!(plain.worker_threads(), 2);
}

#[test]
fn sort_runs_a_sampling_job_then_the_shuffle() {
    let ctx = local2();
    let data = ctx.parallelize(
        (0..200).rev().map(|x| (x, ())).collect::<Vec<(i32, ())>>(),
        4,
    );
    let sorted = data.sort_by_key(true);
    let m0 = ctx.metrics();
    let keys = sorted.keys().collect().unwrap();
    assert_eq!(keys, (0..200).collect::<Vec<_>>());
    let m1 = ctx.metrics();
    assert_eq!(m1.jobs - m0.jobs, 2, "the sampling job and the collect");
    // A second action reuses both the sample and the shuffle.
    assert_eq!(sorted.count().unwrap(), 200);
    let m2 = ctx.metrics();
    assert_eq!(m2.jobs - m1.jobs, 1);
    assert_eq!(m2.stages_skipped - m1.stages_skipped, 1);
    // Partitions hold consecutive ranges and are roughly balanced.
    let sizes: Vec<usize> = sorted
        .collect_partitions()
        .unwrap()
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(sizes.len(), 4);
    assert!(sizes.iter().all(|&n| n > 0), "{sizes:?}");
}

#[test]
fn debug_string_shows_stages_and_kinds() {
    let ctx = local2();
    let words = ctx
        .parallelize(vec!["a b".to_string(), "b".to_string()], 2)
        .flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>())
        .map(|w| (w, 1u32))
        .cache();
    let counts = words.reduce_by_key(|a, b| a + b);
    let s = counts.to_debug_string();
    assert!(s.starts_with("(2) ShuffledRDD["), "{s}");
    assert!(s.contains("reduce_by_key"), "{s}");
    assert!(s.contains(" +-(2) MapPartitionsRDD["), "{s}");
    assert!(s.contains("[MemoryOnly]"), "{s}");
    assert!(s.contains("flat_map"), "{s}");
    assert!(s.contains("|  ParallelCollectionRDD["), "{s}");
    assert_eq!(s.matches("+-(").count(), 1, "{s}");
    assert_eq!(s.lines().count(), 4, "{s}");

    // Two shuffles: two boundaries, the deeper one further indented.
    let sorted = counts.map(|(w, n)| (n, w)).sort_by_key(false);
    let s = sorted.to_debug_string();
    assert_eq!(s.matches("+-(").count(), 2, "{s}");
    let indents: Vec<usize> = s.lines().filter_map(|l| l.find("+-(")).collect();
    assert_eq!(indents.len(), 2, "{s}");
    assert!(indents[1] > indents[0], "{s}");

    // A narrow lineage has no boundary; other kinds are named.
    let narrow = ctx.parallelize(vec![1, 2], 2).map(|x| x + 1);
    assert!(!narrow.to_debug_string().contains("+-("));
    let u = narrow.union(&ctx.empty()).coalesce(1).zip_with_index();
    let s = u.to_debug_string();
    for kind in [
        "ZippedWithIndexRDD",
        "CoalescedRDD",
        "UnionRDD",
        "EmptyRDD",
        "MapPartitionsRDD",
        "ParallelCollectionRDD",
    ] {
        assert!(s.contains(kind), "{kind} missing from\n{s}");
    }
    let c = narrow.cartesian(&narrow).persist(StorageLevel::DiskOnly);
    let s = c.to_debug_string();
    assert!(
        s.contains("CartesianRDD") && s.contains("[DiskOnly]"),
        "{s}"
    );
    // A user-given name shows.
    let named = narrow.set_name("my numbers");
    assert!(named.to_debug_string().contains("at my numbers"));
    // The join's lineage shows its cogroup.
    let j = words.join(&words).to_debug_string();
    assert!(j.contains("UnionRDD") && j.contains("+-("), "{j}");
}
