#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `rate_stream`: the contents of each batch depend only on its time. Batch `t` holds the
//! records with indices `rate × (t − interval − zero) / 1000 .. rate × (t − zero) / 1000`.

use std::time::Duration;

use sluice_streaming::testing::{run_stream_from, run_stream_from_with, TestConfig};

fn interval(ms: u64) -> TestConfig {
    TestConfig {
        batch_interval: Duration::from_millis(ms),
        ..TestConfig::default()
    }
}

#[test]
fn one_second_batches() {
    let out = run_stream_from(3, |ssc| ssc.rate_stream(3, None, |i| i)).unwrap();
    assert_eq!(out, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8]]);
}

#[test]
fn fractional_records_per_batch() {
    // 3 records per second, 500 ms batches: floor(3 × t / 1000) = 0, 1, 3, 4, 6.
    let out =
        run_stream_from_with(interval(500), 4, |ssc| ssc.rate_stream(3, None, |i| i)).unwrap();
    assert_eq!(out, vec![vec![0], vec![1, 2], vec![3], vec![4, 5]]);
    // 1 record per second, 400 ms batches: cumulative floor(t / 1000) at t = 400, 800, 1200,
    // 1600, 2000 is 0, 0, 1, 1, 2.
    let out =
        run_stream_from_with(interval(400), 5, |ssc| ssc.rate_stream(1, None, |i| i)).unwrap();
    assert_eq!(out, vec![vec![], vec![], vec![0], vec![], vec![1]]);
}

#[test]
fn records_are_made_by_the_function() {
    let out = run_stream_from(2, |ssc| ssc.rate_stream(2, None, |i| format!("event-{i}"))).unwrap();
    assert_eq!(
        out,
        vec![
            vec!["event-0".to_string(), "event-1".to_string()],
            vec!["event-2".to_string(), "event-3".to_string()]
        ]
    );
}

#[test]
fn partitions_are_contiguous_index_ranges() {
    let out = run_stream_from(2, |ssc| ssc.rate_stream(6, Some(3), |i| i).glom()).unwrap();
    assert_eq!(
        out,
        vec![
            vec![vec![0, 1], vec![2, 3], vec![4, 5]],
            vec![vec![6, 7], vec![8, 9], vec![10, 11]]
        ]
    );
    // Default: the context's default parallelism (local[2] → 2).
    let out = run_stream_from(1, |ssc| ssc.rate_stream(4, None, |i| i).glom()).unwrap();
    assert_eq!(out, vec![vec![vec![0, 1], vec![2, 3]]]);
}

#[test]
fn zero_rate_gives_empty_batches() {
    let out = run_stream_from(3, |ssc| ssc.rate_stream(0, Some(1), |i| i).count()).unwrap();
    assert_eq!(out, vec![vec![0], vec![0], vec![0]]);
}

#[test]
fn rate_stream_with_transformations() {
    let out = run_stream_from(2, |ssc| {
        ssc.rate_stream(4, Some(2), |i| (i % 2, i))
            .reduce_by_key(|a, b| a + b)
    })
    .unwrap();
    let out: Vec<Vec<(u64, u64)>> = out
        .into_iter()
        .map(|mut b| {
            b.sort();
            b
        })
        .collect();
    // Batch 1: 0..4 → evens 0 + 2, odds 1 + 3; batch 2: 4..8 → 4 + 6, 5 + 7.
    assert_eq!(out, vec![vec![(0, 2), (1, 4)], vec![(0, 10), (1, 12)]]);
}
