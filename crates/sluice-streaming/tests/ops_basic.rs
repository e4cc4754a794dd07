#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Per-batch transformations of `DStream<T>` against hand-computed expectations (Spark
//! semantics, reference sections A and B): `map`, `flat_map`, `filter`, `glom`,
//! `map_partitions`, `repartition`, `union`, `StreamingContext::union`, `count`, `reduce`,
//! `count_by_value`, `transform`, `transform_with`, `slice`, `name`, and memoisation.
//!
//! Every operation is run with empty batches, batches past the end of the input, batches for
//! which the source has no RDD (`no_rdd_batches`), and with 1 and 3 input partitions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_core::Error;
use sluice_streaming::testing::{
    run_stream, run_stream2_with, run_stream_from_with, run_stream_with, TestConfig,
};
use sluice_streaming::time::seconds;
use sluice_streaming::{RddQueue, StopMode};

mod common;
use common::{cfg, cfg_no_rdd, collect_into, manual_context, run_batch, sorted, t};

/// Input of three batches: a full one, a single record, an empty one.
fn input() -> Vec<Vec<i32>> {
    vec![vec![1, 2, 3, 4, 5], vec![6], vec![]]
}

// ---------------------------------------------------------------------------------------------
// map / flat_map / filter

#[test]
fn map_over_batches_partitions_and_missing_rdds() {
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), input(), 4, |s| s.map(|x: i32| x * 10)).unwrap();
        assert_eq!(
            out,
            vec![vec![10, 20, 30, 40, 50], vec![60], vec![], vec![]],
            "partitions {p}"
        );
        let out = run_stream_with(cfg_no_rdd(p, vec![2]), input(), 4, |s| {
            s.map(|x: i32| x * 10)
        })
        .unwrap();
        assert_eq!(out, vec![vec![10, 20, 30, 40, 50], vec![], vec![], vec![]]);
    }
}

#[test]
fn map_changes_the_record_type() {
    let out = run_stream(vec![vec![1, 22], vec![333]], 2, |s| {
        s.map(|x: i32| x.to_string())
    })
    .unwrap();
    assert_eq!(
        out,
        vec![
            vec!["1".to_string(), "22".to_string()],
            vec!["333".to_string()]
        ]
    );
}

#[test]
fn flat_map_emits_zero_to_many_records() {
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), vec![vec![0, 1, 2, 3], vec![0], vec![]], 4, |s| {
            s.flat_map(|x: i32| vec![x; x as usize])
        })
        .unwrap();
        assert_eq!(out, vec![vec![1, 2, 2, 3, 3, 3], vec![], vec![], vec![]]);
    }
    let out = run_stream_with(cfg_no_rdd(2, vec![1]), vec![vec![2], vec![3]], 2, |s| {
        s.flat_map(|x: i32| vec![x, -x])
    })
    .unwrap();
    assert_eq!(out, vec![vec![], vec![3, -3]]);
}

#[test]
fn filter_keeps_matching_records_in_order() {
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), input(), 4, |s| s.filter(|x: &i32| x % 2 == 1)).unwrap();
        assert_eq!(out, vec![vec![1, 3, 5], vec![], vec![], vec![]]);
    }
    let out = run_stream_with(cfg_no_rdd(3, vec![1]), input(), 2, |s| {
        s.filter(|x: &i32| *x > 0)
    })
    .unwrap();
    assert_eq!(out, vec![vec![], vec![6]]);
}

// ---------------------------------------------------------------------------------------------
// glom / map_partitions / repartition

#[test]
fn glom_shows_contiguous_input_slices() {
    let out = run_stream_with(cfg(3), input(), 4, |s| s.glom()).unwrap();
    assert_eq!(
        out,
        vec![
            // 5 records in 3 slices: [0,1), [1,3), [3,5)
            vec![vec![1], vec![2, 3], vec![4, 5]],
            // 1 record in 3 slices: [0,0), [0,0), [0,1)
            vec![vec![], vec![], vec![6]],
            vec![vec![], vec![], vec![]],
            vec![vec![], vec![], vec![]],
        ]
    );
    let out = run_stream_with(cfg(1), input(), 4, |s| s.glom()).unwrap();
    assert_eq!(
        out,
        vec![
            vec![vec![1, 2, 3, 4, 5]],
            vec![vec![6]],
            vec![vec![]],
            vec![vec![]]
        ]
    );
    // No RDD for batch 2: no partitions at all, not one empty partition.
    let out = run_stream_with(cfg_no_rdd(3, vec![2]), input(), 3, |s| s.glom()).unwrap();
    assert_eq!(
        out,
        vec![
            vec![vec![1], vec![2, 3], vec![4, 5]],
            vec![],
            vec![vec![], vec![], vec![]]
        ]
    );
}

#[test]
fn map_partitions_runs_once_per_partition() {
    let sum = |it: Box<dyn Iterator<Item = i32> + Send>| std::iter::once(it.sum::<i32>());
    let out = run_stream_with(cfg(3), input(), 4, move |s| s.map_partitions(sum)).unwrap();
    assert_eq!(
        out,
        vec![vec![1, 5, 9], vec![0, 0, 6], vec![0, 0, 0], vec![0, 0, 0]]
    );
    let out = run_stream_with(cfg(1), input(), 3, move |s| s.map_partitions(sum)).unwrap();
    assert_eq!(out, vec![vec![15], vec![6], vec![0]]);
    let out = run_stream_with(cfg_no_rdd(1, vec![1]), input(), 2, move |s| {
        s.map_partitions(sum)
    })
    .unwrap();
    assert_eq!(out, vec![vec![], vec![6]]);
    // Several records per partition, and a changed record type.
    let out = run_stream_with(cfg(2), vec![vec![1, 2, 3, 4]], 1, |s| {
        s.map_partitions(|it: Box<dyn Iterator<Item = i32> + Send>| {
            let v: Vec<i32> = it.collect();
            vec![format!("{v:?}"), format!("n={}", v.len())]
        })
    })
    .unwrap();
    assert_eq!(out, vec![vec!["[1, 2]", "n=2", "[3, 4]", "n=2"]]);
}

#[test]
fn repartition_gives_exactly_n_partitions_with_the_same_records() {
    for p in [1, 3] {
        for n in [1, 4] {
            let data: Vec<Vec<i32>> = vec![(1..=20).collect(), vec![7], vec![]];
            let out =
                run_stream_with(cfg(p), data.clone(), 4, move |s| s.repartition(n).glom()).unwrap();
            for (k, batch) in out.iter().enumerate() {
                assert_eq!(batch.len(), n, "batch {} partitions ({p} -> {n})", k + 1);
                let flat: Vec<i32> = sorted(batch.iter().flatten().copied().collect());
                assert_eq!(flat, data.get(k).cloned().unwrap_or_default());
            }
        }
    }
    // 20 records over 4 partitions are spread, not all in one.
    let out = run_stream_with(cfg(1), vec![(1..=20).collect::<Vec<i32>>()], 1, |s| {
        s.repartition(4).glom()
    })
    .unwrap();
    assert!(out[0].iter().filter(|p| !p.is_empty()).count() > 1);
    let out = run_stream_with(cfg_no_rdd(2, vec![1]), input(), 2, |s| {
        s.repartition(3).glom()
    })
    .unwrap();
    assert!(out[0].is_empty());
    assert_eq!(out[1].len(), 3);
}

// ---------------------------------------------------------------------------------------------
// union

#[test]
fn union_is_this_then_that() {
    for p in [1, 3] {
        let out = run_stream2_with(
            cfg(p),
            vec![vec![1, 2], vec![3], vec![]],
            vec![vec![10], vec![20, 30], vec![40]],
            4,
            |a, b| a.union(&b),
        )
        .unwrap();
        assert_eq!(
            out,
            vec![vec![1, 2, 10], vec![3, 20, 30], vec![40], vec![]],
            "partitions {p}"
        );
    }
    // The union keeps both sides' partitions: 2 + 2.
    let out = run_stream2_with(cfg(2), vec![vec![1, 2]], vec![vec![3, 4]], 1, |a, b| {
        a.union(&b).glom()
    })
    .unwrap();
    assert_eq!(out, vec![vec![vec![1], vec![2], vec![3], vec![4]]]);
}

#[test]
fn union_with_itself_repeats_the_batch() {
    // Both sides are the same memoised RDD.
    let out = run_stream_with(cfg(2), vec![vec![1, 2], vec![]], 2, |s| s.union(&s)).unwrap();
    assert_eq!(out, vec![vec![1, 2, 1, 2], vec![]]);
}

#[test]
fn union_fails_a_batch_when_a_parent_has_no_rdd() {
    // Spark's UnionDStream: "Could not generate RDD from a parent for unifying at time".
    let err = run_stream2_with(
        cfg_no_rdd(2, vec![2]),
        vec![vec![1], vec![2]],
        vec![vec![3], vec![4]],
        2,
        |a, b| a.union(&b),
    )
    .unwrap_err();
    assert!(err.to_string().contains("2000"), "{err}");
}

#[test]
fn context_union_of_three_streams_in_order() {
    let out = run_stream_from_with(TestConfig::default(), 3, |ssc| {
        let mk = |batches: Vec<Vec<i32>>| {
            let q = RddQueue::new();
            for b in batches {
                q.push(ssc.context().parallelize(b, 2));
            }
            ssc.queue_stream(&q, true, None)
        };
        let a = mk(vec![vec![1, 2], vec![3]]);
        let b = mk(vec![vec![10], vec![]]);
        let c = mk(vec![vec![100, 200], vec![300]]);
        ssc.union(&[a, b, c]).unwrap()
    })
    .unwrap();
    assert_eq!(out, vec![vec![1, 2, 10, 100, 200], vec![3, 300], vec![]]);
}

#[test]
fn context_union_of_no_streams_is_an_error() {
    let (ssc, _clock) = manual_context();
    let r = ssc.union::<i32>(&[]);
    assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// count / reduce / count_by_value

#[test]
fn count_yields_zero_for_empty_batches_and_nothing_without_an_rdd() {
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), input(), 4, |s| s.count()).unwrap();
        assert_eq!(
            out,
            vec![vec![5], vec![1], vec![0], vec![0]],
            "partitions {p}"
        );
        let out = run_stream_with(cfg_no_rdd(p, vec![2]), input(), 4, |s| s.count()).unwrap();
        assert_eq!(out, vec![vec![5], vec![], vec![0], vec![0]]);
    }
    // One partition per batch.
    let out = run_stream_with(cfg(3), input(), 2, |s| s.count().glom()).unwrap();
    assert_eq!(out, vec![vec![vec![5]], vec![vec![1]]]);
}

#[test]
fn reduce_yields_nothing_for_empty_batches() {
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), input(), 4, |s| s.reduce(|a, b| a + b)).unwrap();
        assert_eq!(
            out,
            vec![vec![15], vec![6], vec![], vec![]],
            "partitions {p}"
        );
        let out = run_stream_with(cfg_no_rdd(p, vec![1]), input(), 2, |s| {
            s.reduce(|a: i32, b| a.max(b))
        })
        .unwrap();
        assert_eq!(out, vec![vec![], vec![6]]);
    }
}

#[test]
fn count_by_value_counts_each_distinct_record() {
    let data = vec![vec!["a", "b", "a", "c", "a"], vec![], vec!["z"]];
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), data.clone(), 4, |s| s.count_by_value(None)).unwrap();
        let out: Vec<_> = out.into_iter().map(sorted).collect();
        assert_eq!(
            out,
            vec![
                vec![("a", 3), ("b", 1), ("c", 1)],
                vec![],
                vec![("z", 1)],
                vec![]
            ]
        );
    }
    let out = run_stream_with(cfg_no_rdd(2, vec![1]), data.clone(), 1, |s| {
        s.count_by_value(None)
    })
    .unwrap();
    assert_eq!(out, vec![Vec::<(&str, u64)>::new()]);
    // Explicit partition count.
    let out = run_stream_with(cfg(1), data, 1, |s| s.count_by_value(Some(3)).glom()).unwrap();
    assert_eq!(out[0].len(), 3);
}

// ---------------------------------------------------------------------------------------------
// transform / transform_with

#[test]
fn transform_sees_the_batch_time() {
    for p in [1, 3] {
        let out = run_stream_with(cfg(p), vec![vec![1, 2], vec![3], vec![]], 4, |s| {
            s.transform(|rdd, time| Ok(rdd.map(move |x: i32| (time.millis(), x))))
        })
        .unwrap();
        assert_eq!(
            out,
            vec![vec![(1000, 1), (1000, 2)], vec![(2000, 3)], vec![], vec![]]
        );
    }
    // No RDD from the parent: the function is not called, the stream has no RDD.
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let out = run_stream_with(
        cfg_no_rdd(2, vec![2]),
        vec![vec![1], vec![2], vec![3]],
        3,
        |s| {
            s.transform(move |rdd, _| {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(rdd)
            })
        },
    )
    .unwrap();
    assert_eq!(out, vec![vec![1], vec![], vec![3]]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn transform_may_return_any_rdd() {
    // The function runs on the driver each batch and can replace the data entirely.
    let out = run_stream(vec![vec![1, 2, 3], vec![]], 2, |s| {
        s.transform(|rdd, time| {
            let n = rdd.count()?;
            Ok(rdd
                .context()
                .parallelize(vec![format!("{}:{n}", time.millis())], 1))
        })
    })
    .unwrap();
    assert_eq!(
        out,
        vec![vec!["1000:3".to_string()], vec!["2000:0".to_string()]]
    );
}

#[test]
fn transform_returning_an_error_fails_the_run() {
    let err = run_stream(vec![vec![1], vec![2], vec![3]], 3, |s| {
        s.transform(|rdd, time| {
            if time.millis() == 2000 {
                Err(Error::User("transform refused batch 2".into()))
            } else {
                Ok(rdd)
            }
        })
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("transform refused batch 2"), "{msg}");
    assert!(msg.contains("2000"), "{msg}");
}

#[test]
fn a_failed_transform_does_not_stop_later_batches() {
    let (ssc, clock) = manual_context();
    let q = RddQueue::new();
    for b in [vec![1], vec![2], vec![3]] {
        q.push(ssc.context().parallelize(b, 1));
    }
    let s = ssc.queue_stream(&q, true, None).transform(|rdd, time| {
        if time.millis() == 2000 {
            Err(Error::User("bad batch".into()))
        } else {
            Ok(rdd.map(|x: i32| x * 100))
        }
    });
    let out = collect_into(&s);
    ssc.start().unwrap();
    run_batch(&ssc, &clock, 1);
    assert!(ssc.take_error().is_none());
    run_batch(&ssc, &clock, 2);
    let e = ssc.take_error().expect("batch 2 reports its failure");
    assert!(e.to_string().contains("bad batch"), "{e}");
    run_batch(&ssc, &clock, 3);
    assert!(ssc.take_error().is_none());
    ssc.stop(StopMode::Immediate).unwrap();
    let out = out.lock().unwrap().clone();
    assert_eq!(out.get(&1000), Some(&vec![100]));
    assert_eq!(out.get(&2000), None);
    assert_eq!(out.get(&3000), Some(&vec![300]));
    assert_eq!(ssc.batches_completed(), 3);
}

#[test]
fn transform_with_combines_two_streams_per_batch() {
    for p in [1, 3] {
        let out = run_stream2_with(
            cfg(p),
            vec![vec![1, 2], vec![3], vec![]],
            vec![vec!["x"], vec![], vec!["y", "z"]],
            4,
            |a, b| {
                a.transform_with(&b, |ra, rb, time| {
                    let ms = time.millis();
                    Ok(ra
                        .map(move |x: i32| format!("{ms}:a{x}"))
                        .union(&rb.map(move |y: &str| format!("{ms}:b{y}"))))
                })
            },
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                vec!["1000:a1", "1000:a2", "1000:bx"],
                vec!["2000:a3"],
                vec!["3000:by", "3000:bz"],
                vec![]
            ]
        );
    }
}

#[test]
fn transform_with_error_fails_the_run() {
    let err = run_stream2_with(cfg(1), vec![vec![1]], vec![vec![2]], 1, |a, b| {
        a.transform_with(
            &b,
            |_, _, _| -> sluice_core::Result<sluice_core::Rdd<i32>> {
                Err(Error::User("no pairing".into()))
            },
        )
    })
    .unwrap_err();
    assert!(err.to_string().contains("no pairing"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// slice

#[test]
fn slice_before_start_is_an_error() {
    let (ssc, _clock) = manual_context();
    let s = ssc.rate_stream(1, Some(1), |i| i);
    let r = s.slice(t(0), t(1000));
    assert!(matches!(r, Err(Error::IllegalState(_))), "{r:?}");
}

#[test]
fn slice_returns_the_rdds_between_two_times_inclusive() {
    // Spark's BasicOperationsSuite "slice": one record per batch; batch k holds record k - 1.
    let (ssc, clock) = manual_context();
    let s = ssc.rate_stream(1, Some(1), |i| i);
    s.foreach_rdd(|_, _| Ok(())).unwrap();
    ssc.start().unwrap();
    for k in 1..=4 {
        run_batch(&ssc, &clock, k);
    }
    let slice = |from: i64, to: i64| -> Vec<u64> {
        let rdds = s.slice(t(from), t(to)).unwrap();
        rdds.iter().flat_map(|r| r.collect().unwrap()).collect()
    };
    assert_eq!(slice(0, 1000), vec![0]);
    assert_eq!(slice(0, 2000), vec![0, 1]);
    assert_eq!(slice(1000, 2000), vec![0, 1]);
    assert_eq!(slice(2000, 4000), vec![1, 2, 3]);
    // Endpoints are floored to batch times.
    assert_eq!(slice(1500, 2999), vec![0, 1]);
    assert_eq!(slice(2000, 2000), vec![1]);
    // An empty range.
    assert!(s.slice(t(3000), t(2000)).unwrap().is_empty());
    ssc.stop(StopMode::Immediate).unwrap();
}

#[test]
fn slice_returns_remembered_rdds_without_recomputing() {
    // A queue stream cannot recompute a batch; with `remember` its RDDs are still held.
    let (ssc, clock) = manual_context();
    ssc.remember(seconds(10)).unwrap();
    let q = RddQueue::new();
    for b in [vec![1, 2], vec![3], vec![4, 5, 6]] {
        q.push(ssc.context().parallelize(b, 2));
    }
    let s = ssc.queue_stream(&q, true, None);
    s.foreach_rdd(|_, _| Ok(())).unwrap();
    ssc.start().unwrap();
    for k in 1..=3 {
        run_batch(&ssc, &clock, k);
    }
    let rdds = s.slice(t(1000), t(3000)).unwrap();
    let data: Vec<Vec<i32>> = rdds.iter().map(|r| r.collect().unwrap()).collect();
    assert_eq!(data, vec![vec![1, 2], vec![3], vec![4, 5, 6]]);
    ssc.stop(StopMode::Immediate).unwrap();
}

// ---------------------------------------------------------------------------------------------
// names and memoisation

#[test]
fn streams_have_operation_names_and_can_be_renamed() {
    let (ssc, _clock) = manual_context();
    let s = ssc.rate_stream(1, None, |i| i as i64);
    assert_eq!(s.name(), "rate_stream");
    assert_eq!(s.map(|x| x + 1).name(), "map");
    assert_eq!(s.filter(|_| true).name(), "filter");
    assert_eq!(s.count().name(), "count");
    let named = s.map(|x| x * 2).set_name("doubled");
    assert_eq!(named.name(), "doubled");
    // `name` returns a handle to the same stream.
    let again = named.clone().set_name("twice");
    assert_eq!(named.name(), "twice");
    assert_eq!(again.id(), named.id());
    assert_eq!(s.map(|x| (x, x)).join(&s.map(|x| (x, 1))).name(), "join");
}

#[test]
fn a_stream_computes_each_batch_once_for_all_consumers() {
    let (ssc, clock) = manual_context();
    let calls: Arc<Mutex<Vec<i64>>> = Arc::default();
    let c = Arc::clone(&calls);
    let q = RddQueue::new();
    for b in [vec![1], vec![2], vec![3]] {
        q.push(ssc.context().parallelize(b, 1));
    }
    let s = ssc
        .queue_stream(&q, true, None)
        .transform(move |rdd, time| {
            c.lock().unwrap().push(time.millis());
            Ok(rdd)
        });
    let a = collect_into(&s);
    let b = collect_into(&s.map(|x: i32| x + 1));
    ssc.start().unwrap();
    for k in 1..=3 {
        run_batch(&ssc, &clock, k);
    }
    ssc.stop(StopMode::Immediate).unwrap();
    assert_eq!(*calls.lock().unwrap(), vec![1000, 2000, 3000]);
    let a: Vec<Vec<i32>> = a.lock().unwrap().values().cloned().collect();
    let b: Vec<Vec<i32>> = b.lock().unwrap().values().cloned().collect();
    assert_eq!(a, vec![vec![1], vec![2], vec![3]]);
    assert_eq!(b, vec![vec![2], vec![3], vec![4]]);
}

#[test]
fn harness_with_longer_batches_uses_multiples_of_the_interval() {
    let config = TestConfig {
        batch_interval: Duration::from_millis(250),
        ..TestConfig::default()
    };
    let out = run_stream_with(config, vec![vec![1], vec![2]], 3, |s| {
        s.transform(|rdd, time| Ok(rdd.map(move |x: i32| (time.millis(), x))))
    })
    .unwrap();
    assert_eq!(out, vec![vec![(250, 1)], vec![(500, 2)], vec![]]);
}
