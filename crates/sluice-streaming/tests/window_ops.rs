#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Window operations against hand-computed expectations (after Spark's WindowOperationsSuite),
//! and the incremental forms against the recomputed ones on random input.

use std::sync::Arc;

use proptest::prelude::*;
use sluice_streaming::dstream::reduced_window::WindowFilter;
use sluice_streaming::testing::{run_stream, run_stream_with, TestConfig};
use sluice_streaming::time::{milliseconds, seconds};

mod common;
use common::sorted_batches;

#[test]
fn window_partial_first_windows_and_slide() {
    let input = vec![vec![1], vec![2], vec![3], vec![4], vec![5]];
    let out = run_stream(input.clone(), 6, |s| {
        s.window(seconds(2), seconds(1)).unwrap()
    })
    .unwrap();
    assert_eq!(
        out,
        vec![
            vec![1],
            vec![1, 2],
            vec![2, 3],
            vec![3, 4],
            vec![4, 5],
            vec![5]
        ]
    );
    // Window 3 s sliding 2 s: RDDs only at 2 s, 4 s, 6 s.
    let out = run_stream(input, 6, |s| s.window(seconds(3), seconds(2)).unwrap()).unwrap();
    assert_eq!(
        out,
        vec![
            vec![],
            vec![1, 2],
            vec![],
            vec![2, 3, 4],
            vec![],
            vec![4, 5]
        ]
    );
}

#[test]
fn window_and_slide_must_be_multiples_of_the_batch_interval() {
    let out = run_stream(vec![vec![1]], 1, |s| {
        let e = s
            .window(milliseconds(1500), seconds(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("1500") && e.contains("1000"), "{e}");
        let e = s
            .window(seconds(2), milliseconds(500))
            .unwrap_err()
            .to_string();
        assert!(e.contains("500") && e.contains("slide"), "{e}");
        s
    })
    .unwrap();
    assert_eq!(out, vec![vec![1]]);
}

#[test]
fn reduce_by_key_and_window_plain_drops_keys_that_left() {
    let input = vec![
        vec![('a', 1), ('b', 1)],
        vec![('a', 1)],
        vec![],
        vec![('b', 2)],
    ];
    let out = run_stream(input, 5, |s| {
        s.reduce_by_key_and_window(|x, y| x + y, seconds(2), seconds(1))
            .unwrap()
    })
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![
            vec![('a', 1), ('b', 1)],
            vec![('a', 2), ('b', 1)],
            vec![('a', 1)],
            vec![('b', 2)],
            vec![('b', 2)],
        ]
    );
}

#[test]
fn incremental_form_keeps_zero_valued_keys_unless_filtered() {
    let input = vec![vec![('a', 1), ('b', 1)], vec![('a', 1)], vec![], vec![]];
    let out = run_stream(input.clone(), 4, |s| {
        s.reduce_by_key_and_window_inv(|x, y| x + y, |x, y| x - y, seconds(2), seconds(1))
            .unwrap()
    })
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![
            vec![('a', 1), ('b', 1)],
            vec![('a', 2), ('b', 1)],
            vec![('a', 1), ('b', 0)],
            vec![('a', 0), ('b', 0)],
        ]
    );
    let keep: WindowFilter<char, i32> = Arc::new(|kv: &(char, i32)| kv.1 != 0);
    let out = run_stream(input, 4, move |s| {
        s.reduce_by_key_and_window_inv_with(
            |x, y| x + y,
            |x, y| x - y,
            seconds(2),
            seconds(1),
            Some(3),
            Some(keep),
        )
        .unwrap()
    })
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![
            vec![('a', 1), ('b', 1)],
            vec![('a', 2), ('b', 1)],
            vec![('a', 1)],
            vec![],
        ]
    );
}

#[test]
fn count_by_window_emits_zero_once_data_left() {
    // Spark's WindowOperationsSuite "countByWindow".
    let input = vec![vec![1], vec![1], vec![1, 2], vec![0], vec![], vec![]];
    let out = run_stream(input, 6, |s| {
        s.count_by_window(seconds(2), seconds(1)).unwrap()
    })
    .unwrap();
    assert_eq!(
        out,
        vec![vec![1], vec![2], vec![3], vec![3], vec![1], vec![0]]
    );
    // Nothing ever seen: nothing emitted.
    let out = run_stream(Vec::<Vec<i32>>::new(), 2, |s| {
        s.count_by_window(seconds(2), seconds(1)).unwrap()
    })
    .unwrap();
    assert_eq!(out, vec![Vec::<u64>::new(), vec![]]);
}

#[test]
fn count_by_value_and_window_drops_zero_counts() {
    // Spark's WindowOperationsSuite "countByValueAndWindow".
    let input = vec![vec!['a'], vec!['b', 'b'], vec!['a', 'b']];
    let out = run_stream(input, 5, |s| {
        s.count_by_value_and_window(seconds(2), seconds(1), None)
            .unwrap()
    })
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![
            vec![('a', 1)],
            vec![('a', 1), ('b', 2)],
            vec![('a', 1), ('b', 3)],
            vec![('a', 1), ('b', 1)],
            vec![],
        ]
    );
}

#[test]
fn group_by_key_and_window_in_batch_order() {
    let input = vec![vec![('a', 1), ('b', 1)], vec![('a', 2)], vec![('a', 3)]];
    let out = run_stream(input, 3, |s| {
        s.group_by_key_and_window(seconds(2), seconds(1)).unwrap()
    })
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![
            vec![('a', vec![1]), ('b', vec![1])],
            vec![('a', vec![1, 2]), ('b', vec![1])],
            vec![('a', vec![2, 3])],
        ]
    );
}

#[test]
fn reduce_by_window_with_and_without_inverse() {
    let input = vec![vec![1, 2], vec![3], vec![], vec![]];
    let plain = run_stream(input.clone(), 4, |s| {
        s.reduce_by_window(|a, b| a + b, seconds(2), seconds(1))
            .unwrap()
    })
    .unwrap();
    assert_eq!(plain, vec![vec![3], vec![6], vec![3], vec![]]);
    let inc = run_stream(input, 4, |s| {
        s.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, seconds(2), seconds(1))
            .unwrap()
    })
    .unwrap();
    assert_eq!(inc, vec![vec![3], vec![6], vec![3], vec![0]]);
}

#[test]
fn windows_over_longer_slides_and_several_partitions() {
    let cfg = TestConfig {
        input_partitions: 3,
        ..TestConfig::default()
    };
    let input: Vec<Vec<(u32, u64)>> = (0..8).map(|b| vec![(b % 3, 1), (7, 1)]).collect();
    let out = run_stream_with(cfg, input, 8, |s| {
        s.reduce_by_key_and_window_inv_with(
            |a, b| a + b,
            |a, b| a - b,
            seconds(4),
            seconds(2),
            Some(2),
            None,
        )
        .unwrap()
    })
    .unwrap();
    // Times 2, 4, 6, 8 s hold windows of batches (≤2], (0,4], (2,6], (4,8].
    let expect = |batches: std::ops::RangeInclusive<u32>| {
        let mut m = std::collections::BTreeMap::new();
        for b in batches {
            *m.entry((b - 1) % 3).or_insert(0u64) += 1;
            *m.entry(7).or_insert(0) += 1;
        }
        m.into_iter().collect::<Vec<_>>()
    };
    let out = sorted_batches(&out);
    assert!(out[0].is_empty() && out[2].is_empty());
    assert_eq!(out[1], expect(1..=2));
    assert_eq!(out[3], expect(1..=4));
    // Keys that left keep a 0 in the incremental form.
    let with_zeros = |v: Vec<(u32, u64)>| {
        let mut m: std::collections::BTreeMap<u32, u64> = [(0, 0), (1, 0), (2, 0), (7, 0)].into();
        for (k, c) in v {
            m.insert(k, c);
        }
        m.into_iter().collect::<Vec<_>>()
    };
    assert_eq!(out[5], with_zeros(expect(3..=6)));
    assert_eq!(out[7], with_zeros(expect(5..=8)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The incremental window equals the recomputed window, key by key (ignoring keys the
    /// incremental form keeps at zero).
    #[test]
    fn incremental_equals_recomputed(
        input in prop::collection::vec(prop::collection::vec((0u8..6, 1i64..5), 0..8), 1..7),
        window in 1u64..4,
        partitions in 1usize..4,
    ) {
        let batches = input.len() + 2;
        let w = seconds(window);
        let recomputed = run_stream(input.clone(), batches, move |s| {
            s.reduce_by_key_and_window(|a, b| a + b, w, seconds(1)).unwrap()
        }).unwrap();
        let incremental = run_stream(input, batches, move |s| {
            s.reduce_by_key_and_window_inv_with(|a, b| a + b, |a, b| a - b, w, seconds(1), Some(partitions), None).unwrap()
        }).unwrap();
        let drop_zeros = |v: &Vec<Vec<(u8, i64)>>| -> Vec<Vec<(u8, i64)>> {
            sorted_batches(v).into_iter().map(|b| b.into_iter().filter(|kv| kv.1 != 0).collect()).collect()
        };
        prop_assert_eq!(drop_zeros(&incremental), sorted_batches(&recomputed));
    }
}
