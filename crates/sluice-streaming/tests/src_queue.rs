#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `queue_stream` (reference section E, Spark's `QueueInputDStream`): one RDD per batch or the
//! union of all queued RDDs, the default RDD when the queue is empty, RDDs pushed between
//! batches.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sluice_streaming::testing::{run_stream_from_with, TestConfig};
use sluice_streaming::{DStream, RddQueue, StopMode};

mod common;
use common::{manual_context, run_batch};

type Collected = Arc<Mutex<BTreeMap<i64, (usize, Vec<i32>)>>>;

/// Records each batch's partition count and records.
fn collect_into(s: &DStream<i32>) -> Collected {
    let out: Collected = Arc::default();
    let sink = Arc::clone(&out);
    s.foreach_rdd(move |rdd, time| {
        let v = rdd.collect()?;
        sink.lock()
            .unwrap()
            .insert(time.millis(), (rdd.num_partitions(), v));
        Ok(())
    })
    .unwrap();
    out
}

fn records(c: &Collected) -> Vec<Vec<i32>> {
    c.lock().unwrap().values().map(|(_, v)| v.clone()).collect()
}

#[test]
fn one_at_a_time_takes_one_rdd_per_batch() {
    let (ssc, clock) = manual_context();
    let q = RddQueue::new();
    q.push(ssc.context().parallelize(vec![1, 2], 2));
    q.push(ssc.context().parallelize(vec![3], 1));
    let out = collect_into(&ssc.queue_stream(&q, true, None));
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    assert_eq!(q.len(), 1);
    run_batch(&ssc, &clock, 2);
    assert!(q.is_empty());
    run_batch(&ssc, &clock, 3);
    // Pushed between batches: taken by the next one.
    q.push(ssc.context().parallelize(vec![4, 5, 6], 3));
    q.push(ssc.context().parallelize(vec![7], 1));
    run_batch(&ssc, &clock, 4);
    run_batch(&ssc, &clock, 5);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(
        records(&out),
        vec![vec![1, 2], vec![3], vec![], vec![4, 5, 6], vec![7]]
    );
    let parts: Vec<usize> = out.lock().unwrap().values().map(|(p, _)| *p).collect();
    // The queued RDDs themselves, their partitions unchanged; an empty RDD when empty.
    assert_eq!(parts, vec![2, 1, 0, 3, 1]);
}

#[test]
fn all_at_once_takes_the_union_of_the_queue() {
    let (ssc, clock) = manual_context();
    let q = RddQueue::new();
    q.push(ssc.context().parallelize(vec![1, 2], 2));
    q.push(ssc.context().parallelize(vec![3], 1));
    q.push(ssc.context().parallelize(Vec::<i32>::new(), 1));
    let out = collect_into(&ssc.queue_stream(&q, false, None));
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    assert!(q.is_empty());
    run_batch(&ssc, &clock, 2);
    q.push(ssc.context().parallelize(vec![10], 1));
    run_batch(&ssc, &clock, 3);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(records(&out), vec![vec![1, 2, 3], vec![], vec![10]]);
    let parts: Vec<usize> = out.lock().unwrap().values().map(|(p, _)| *p).collect();
    assert_eq!(parts, vec![4, 0, 1]);
}

#[test]
fn default_rdd_fills_batches_that_find_the_queue_empty() {
    for one_at_a_time in [true, false] {
        let (ssc, clock) = manual_context();
        let q = RddQueue::new();
        q.push(ssc.context().parallelize(vec![1], 1));
        let default = ssc.context().parallelize(vec![-1, -2], 2);
        let out = collect_into(&ssc.queue_stream(&q, one_at_a_time, Some(default)));
        ssc.start().unwrap();
        run_batch(&ssc, &clock, 1);
        run_batch(&ssc, &clock, 2);
        q.push(ssc.context().parallelize(vec![2], 1));
        run_batch(&ssc, &clock, 3);
        run_batch(&ssc, &clock, 4);
        ssc.stop(StopMode::Immediate).unwrap();
        assert_eq!(
            records(&out),
            vec![vec![1], vec![-1, -2], vec![2], vec![-1, -2]],
            "one_at_a_time = {one_at_a_time}"
        );
    }
}

#[test]
fn queue_stream_through_the_harness() {
    let out = run_stream_from_with(TestConfig::default(), 4, |ssc| {
        let q = RddQueue::new();
        for b in [vec!["a", "b"], vec![], vec!["c"]] {
            q.push(ssc.context().parallelize(b, 2));
        }
        ssc.queue_stream(&q, true, None)
            .map(|s: &str| s.to_uppercase())
    })
    .unwrap();
    assert_eq!(
        out,
        vec![
            vec!["A".to_string(), "B".to_string()],
            vec![],
            vec!["C".to_string()],
            vec![]
        ]
    );
}

#[test]
fn a_queue_shared_by_clones() {
    // Cloned handles push into the same queue.
    let (ssc, clock) = manual_context();
    let q = RddQueue::new();
    let q2 = q.clone();
    let out = collect_into(&ssc.queue_stream(&q, false, None));
    ssc.start().unwrap();
    q2.push(ssc.context().parallelize(vec![1], 1));
    q.push(ssc.context().parallelize(vec![2], 1));
    assert_eq!(q.len(), 2);
    run_batch(&ssc, &clock, 1);
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(records(&out), vec![vec![1, 2]]);
}
