#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Key-value operations on `DStream<(K, V)>` (reference section C), batch by batch:
//! `group_by_key`, `reduce_by_key`, `reduce_by_key_into`, `combine_by_key`, `map_values`,
//! `flat_map_values`, `cogroup` and the four joins. Joins only meet records of the same batch.
//! Outputs whose order Spark leaves unspecified are sorted before comparing.

use sluice_streaming::testing::{run_stream2_with, run_stream_with};

mod common;
use common::{cfg, cfg_no_rdd, sorted, sorted_batches};

/// Three batches of pairs: one with repeated keys, an empty one, one with a single key.
fn pairs() -> Vec<Vec<(&'static str, i32)>> {
    vec![
        vec![("a", 1), ("b", 2), ("a", 3), ("c", 4), ("a", 5)],
        vec![],
        vec![("b", 10), ("b", 20)],
    ]
}

#[test]
fn group_by_key_per_batch() {
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), pairs(), 4, |s| s.group_by_key()).unwrap();
        let out: Vec<Vec<(&str, Vec<i32>)>> = out
            .into_iter()
            .map(|b| sorted(b.into_iter().map(|(k, v)| (k, sorted(v))).collect()))
            .collect();
        assert_eq!(
            out,
            vec![
                vec![("a", vec![1, 3, 5]), ("b", vec![2]), ("c", vec![4])],
                vec![],
                vec![("b", vec![10, 20])],
                vec![]
            ],
            "partitions {p}"
        );
    }
    let out = run_stream_with(cfg_no_rdd(2, vec![1]), pairs(), 1, |s| s.group_by_key()).unwrap();
    assert_eq!(out, vec![Vec::<(&str, Vec<i32>)>::new()]);
    // The default partition count is the context's default parallelism (local[2] → 2).
    let out = run_stream_with(cfg(3), pairs(), 1, |s| s.group_by_key().glom()).unwrap();
    assert_eq!(out[0].len(), 2);
    let out = run_stream_with(cfg(3), pairs(), 1, |s| s.group_by_key_into(5).glom()).unwrap();
    assert_eq!(out[0].len(), 5);
}

#[test]
fn reduce_by_key_per_batch() {
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), pairs(), 4, |s| s.reduce_by_key(|a, b| a + b)).unwrap();
        assert_eq!(
            sorted_batches(&out),
            vec![
                vec![("a", 9), ("b", 2), ("c", 4)],
                vec![],
                vec![("b", 30)],
                vec![]
            ],
            "partitions {p}"
        );
    }
    let out = run_stream_with(cfg_no_rdd(2, vec![3]), pairs(), 3, |s| {
        s.reduce_by_key(|a, b| a.max(b))
    })
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![vec![("a", 5), ("b", 2), ("c", 4)], vec![], vec![]]
    );
}

#[test]
fn reduce_by_key_into_n_partitions() {
    for n in [1, 3, 4] {
        let out = run_stream_with(cfg(2), pairs(), 3, move |s| {
            s.reduce_by_key_into(n, |a, b| a + b).glom()
        })
        .unwrap();
        for batch in &out {
            assert_eq!(batch.len(), n, "every batch has {n} partitions");
        }
        let flat: Vec<Vec<(&str, i32)>> = out
            .into_iter()
            .map(|b| sorted(b.into_iter().flatten().collect()))
            .collect();
        assert_eq!(
            flat,
            vec![vec![("a", 9), ("b", 2), ("c", 4)], vec![], vec![("b", 30)]]
        );
    }
    // Each key lives in exactly one partition.
    let out = run_stream_with(cfg(3), pairs(), 1, |s| {
        s.reduce_by_key_into(3, |a, b| a + b).glom()
    })
    .unwrap();
    let mut keys: Vec<&str> = out[0].iter().flatten().map(|(k, _)| *k).collect();
    keys.sort();
    assert_eq!(keys, vec!["a", "b", "c"]);
}

#[test]
fn combine_by_key_builds_per_key_combiners() {
    // (sum, count) per key: Spark's average example.
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), pairs(), 4, |s| {
            s.combine_by_key(
                |v| (v, 1u32),
                |(s, c), v| (s + v, c + 1),
                |(s1, c1), (s2, c2)| (s1 + s2, c1 + c2),
            )
        })
        .unwrap();
        assert_eq!(
            sorted_batches(&out),
            vec![
                vec![("a", (9, 3)), ("b", (2, 1)), ("c", (4, 1))],
                vec![],
                vec![("b", (30, 2))],
                vec![]
            ],
            "partitions {p}"
        );
    }
    // Combiners of a different type than the values.
    let out = run_stream_with(cfg(2), pairs(), 1, |s| {
        s.combine_by_key(
            |v: i32| vec![v],
            |mut c: Vec<i32>, v| {
                c.push(v);
                c
            },
            |mut a, b| {
                a.extend(b);
                a
            },
        )
        .map_values(sorted)
    })
    .unwrap();
    assert_eq!(
        sorted(out[0].clone()),
        vec![("a", vec![1, 3, 5]), ("b", vec![2]), ("c", vec![4])]
    );
}

#[test]
fn map_values_and_flat_map_values_keep_keys_and_order() {
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), pairs(), 4, |s| s.map_values(|v| v * 10)).unwrap();
        assert_eq!(
            out,
            vec![
                vec![("a", 10), ("b", 20), ("a", 30), ("c", 40), ("a", 50)],
                vec![],
                vec![("b", 100), ("b", 200)],
                vec![]
            ]
        );
        let out = run_stream_with(cfg(p), pairs(), 3, |s| {
            s.flat_map_values(|v| (0..v % 3).map(move |i| v * 100 + i))
        })
        .unwrap();
        // 1 % 3 = 1 value, 2 → 2, 3 → 0, 4 → 1, 5 → 2; 10 → 1, 20 → 2.
        assert_eq!(
            out,
            vec![
                vec![
                    ("a", 100),
                    ("b", 200),
                    ("b", 201),
                    ("c", 400),
                    ("a", 500),
                    ("a", 501)
                ],
                vec![],
                vec![("b", 1000), ("b", 2000), ("b", 2001)]
            ]
        );
    }
    let out = run_stream_with(cfg_no_rdd(1, vec![1]), pairs(), 1, |s| {
        s.map_values(|v| v + 1)
    })
    .unwrap();
    assert_eq!(out, vec![Vec::<(&str, i32)>::new()]);
}

/// Left side: batch 1 has a, b, a; batch 2 has c; batch 3 is empty.
fn left() -> Vec<Vec<(&'static str, i32)>> {
    vec![vec![("a", 1), ("b", 2), ("a", 3)], vec![("c", 5)], vec![]]
}

/// Right side: batch 1 has a, c; batch 2 has b; batch 3 has a.
fn right() -> Vec<Vec<(&'static str, char)>> {
    vec![
        vec![("a", 'x'), ("c", 'y')],
        vec![("b", 'z')],
        vec![("a", 'w')],
    ]
}

#[test]
fn cogroup_per_batch() {
    for p in [1, 3] {
        let out = run_stream2_with(cfg(p), left(), right(), 4, |a, b| a.cogroup(&b)).unwrap();
        let out: Vec<Vec<(&str, (Vec<i32>, Vec<char>))>> = out
            .into_iter()
            .map(|b| {
                sorted(
                    b.into_iter()
                        .map(|(k, (v, w))| (k, (sorted(v), sorted(w))))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            out,
            vec![
                vec![
                    ("a", (vec![1, 3], vec!['x'])),
                    ("b", (vec![2], vec![])),
                    ("c", (vec![], vec!['y']))
                ],
                vec![("b", (vec![], vec!['z'])), ("c", (vec![5], vec![]))],
                vec![("a", (vec![], vec!['w']))],
                vec![]
            ],
            "partitions {p}"
        );
    }
}

#[test]
fn join_only_meets_records_of_the_same_batch() {
    for p in [1, 3] {
        let out = run_stream2_with(cfg(p), left(), right(), 4, |a, b| a.join(&b)).unwrap();
        assert_eq!(
            sorted_batches(&out),
            vec![
                vec![("a", (1, 'x')), ("a", (3, 'x'))],
                // c is on the left in batch 2, b on the right: no match.
                vec![],
                // a on the right in batch 3, but the left's a's were in batch 1.
                vec![],
                vec![]
            ],
            "partitions {p}"
        );
    }
}

#[test]
fn left_outer_join_per_batch() {
    for p in [1, 3] {
        let out =
            run_stream2_with(cfg(p), left(), right(), 4, |a, b| a.left_outer_join(&b)).unwrap();
        assert_eq!(
            sorted_batches(&out),
            vec![
                vec![
                    ("a", (1, Some('x'))),
                    ("a", (3, Some('x'))),
                    ("b", (2, None))
                ],
                vec![("c", (5, None))],
                vec![],
                vec![]
            ],
            "partitions {p}"
        );
    }
}

#[test]
fn right_outer_join_per_batch() {
    for p in [1, 3] {
        let out =
            run_stream2_with(cfg(p), left(), right(), 4, |a, b| a.right_outer_join(&b)).unwrap();
        assert_eq!(
            sorted_batches(&out),
            vec![
                vec![
                    ("a", (Some(1), 'x')),
                    ("a", (Some(3), 'x')),
                    ("c", (None, 'y'))
                ],
                vec![("b", (None, 'z'))],
                vec![("a", (None, 'w'))],
                vec![]
            ],
            "partitions {p}"
        );
    }
}

#[test]
fn full_outer_join_per_batch() {
    for p in [1, 3] {
        let out =
            run_stream2_with(cfg(p), left(), right(), 4, |a, b| a.full_outer_join(&b)).unwrap();
        assert_eq!(
            sorted_batches(&out),
            vec![
                vec![
                    ("a", (Some(1), Some('x'))),
                    ("a", (Some(3), Some('x'))),
                    ("b", (Some(2), None)),
                    ("c", (None, Some('y')))
                ],
                vec![("b", (None, Some('z'))), ("c", (Some(5), None))],
                vec![("a", (None, Some('w')))],
                vec![]
            ],
            "partitions {p}"
        );
    }
}

#[test]
fn joins_fail_a_batch_when_a_side_has_no_rdd() {
    // Both harness inputs lack an RDD in batch 2; a two-parent stream cannot be computed.
    let err = run_stream2_with(cfg_no_rdd(2, vec![2]), left(), right(), 2, |a, b| {
        a.join(&b)
    })
    .unwrap_err();
    assert!(err.to_string().contains("2000"), "{err}");
}

#[test]
fn word_count_pipeline() {
    let lines = vec![
        vec!["a b a".to_string(), "c b a".to_string()],
        vec![],
        vec!["z".to_string()],
    ];
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), lines.clone(), 3, |s| {
            s.flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>())
                .map(|w| (w, 1u64))
                .reduce_by_key(|a, b| a + b)
        })
        .unwrap();
        let s = |x: &str| x.to_string();
        assert_eq!(
            sorted_batches(&out),
            vec![
                vec![(s("a"), 3), (s("b"), 2), (s("c"), 1)],
                vec![],
                vec![(s("z"), 1)]
            ]
        );
    }
}
