// The keyed-state cases, run on each store (included by `state_ops.rs` with a `config()`
// naming the store).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use sluice_core::{Data, Result};
use sluice_core::Context;
use sluice_streaming::dstream::DStream;
use sluice_streaming::state::{State, StateSpec, StateUpdate};
use sluice_streaming::testing::{run_stream_with, TestConfig};
use sluice_streaming::time::{seconds, Time};

use crate::common::sorted_batches;

/// The harness's `run_stream` with this store's configuration.
fn run_stream<T: Data, U: Data>(
    input: Vec<Vec<T>>,
    num_batches: usize,
    op: impl FnOnce(DStream<T>) -> DStream<U>,
) -> Result<Vec<Vec<U>>> {
    run_stream_with(config(), input, num_batches, op)
}

/// A running sum per key, emitting `(key, sum)` for every record and `(key, -1)` when a key
/// times out.
fn running_sum() -> StateSpec<char, i32, i32, (char, i32)> {
    StateSpec::function(|_t: Time, k: &char, v: Option<i32>, s: &mut State<i32>| {
        if s.is_timing_out() {
            return Some((*k, -1));
        }
        let sum = s.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
        s.update(sum).ok()?;
        Some((*k, sum))
    })
}

#[test]
fn map_with_state_is_called_once_per_record_in_order() {
    let input = vec![vec![('a', 1), ('a', 2), ('b', 5)], vec![], vec![('a', 3)]];
    let out = run_stream(input, 3, |s| s.map_with_state(running_sum()).stream()).unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![vec![('a', 1), ('a', 3), ('b', 5)], vec![], vec![('a', 6)]]
    );
}

#[test]
fn map_with_state_touches_only_keys_with_data() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let ctx = Context::local(2).unwrap();
    let initial = ctx.parallelize((0..10_000).map(|i| (i, 0u64)).collect::<Vec<_>>(), 4);
    let spec = StateSpec::function(
        move |_t: Time, _k: &i32, v: Option<u64>, s: &mut State<u64>| {
            c.fetch_add(1, Ordering::SeqCst);
            let n = s.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
            s.update(n).ok()?;
            Some(n)
        },
    )
    .initial_state(initial);
    let out = run_stream(vec![vec![(1, 1), (2, 1)], vec![(1, 1)]], 2, move |s| {
        s.map_with_state(spec).stream()
    })
    .unwrap();
    assert_eq!(sorted_batches(&out), vec![vec![1, 1], vec![2]]);
    // 3 records, 10,000 keys in the state: 3 calls.
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn timeout_fires_at_the_first_batch_past_the_idle_time() {
    // 'a' is updated at 1 s. With a 2 s timeout it times out when 1000 < t - 2000, i.e. at
    // 4 s (not at 3 s). 'b' is refreshed at 3 s, so it times out at 6 s.
    let input = vec![vec![('a', 1), ('b', 1)], vec![], vec![('b', 1)]];
    let out = run_stream(input, 7, |s| {
        s.map_with_state(running_sum().timeout(seconds(2))).stream()
    })
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![
            vec![('a', 1), ('b', 1)],
            vec![],
            vec![('b', 2)],
            vec![('a', -1)],
            vec![],
            vec![('b', -1)],
            vec![],
        ]
    );
}

#[test]
fn touching_a_key_without_updating_refreshes_its_timeout() {
    let spec = StateSpec::function(|_t: Time, k: &char, v: Option<i32>, s: &mut State<i32>| {
        if s.is_timing_out() {
            return Some((*k, -1));
        }
        if !s.exists() {
            s.update(v.unwrap_or(0)).ok()?;
        }
        None
    })
    .timeout(seconds(1));
    // Data at 1 s, 2 s (no update), then idle: times out at 4 s (2000 < 4000 - 1000).
    let out = run_stream(vec![vec![('a', 1)], vec![('a', 1)]], 4, move |s| {
        s.map_with_state(spec).stream()
    })
    .unwrap();
    assert_eq!(out, vec![vec![], vec![], vec![], vec![('a', -1)]]);
}

#[test]
fn state_snapshots_show_every_key_after_each_batch() {
    let out = run_stream(vec![vec![('a', 1), ('b', 2)], vec![('a', 3)]], 3, |s| {
        let m = s.map_with_state(running_sum());
        m.state_snapshots()
    })
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![
            vec![('a', 1), ('b', 2)],
            vec![('a', 4), ('b', 2)],
            vec![('a', 4), ('b', 2)],
        ]
    );
}

#[test]
fn a_snapshot_keeps_its_batch_state_when_read_again_after_later_batches() {
    let kept: Arc<parking_lot::Mutex<Vec<sluice_core::Rdd<(char, i32)>>>> = Arc::default();
    let k2 = Arc::clone(&kept);
    let out = run_stream(
        vec![vec![('a', 1), ('b', 2)], vec![('a', 3)]],
        3,
        move |s| {
            let snapshots = s.map_with_state(running_sum()).state_snapshots();
            let k3 = Arc::clone(&k2);
            snapshots
                .foreach_rdd(move |rdd, _| {
                    rdd.count()?;
                    k3.lock().push(rdd.clone());
                    Ok(())
                })
                .unwrap();
            snapshots
        },
    )
    .unwrap();
    let again: Vec<Vec<(char, i32)>> = kept.lock().iter().map(|r| r.collect().unwrap()).collect();
    let expected = vec![
        vec![('a', 1), ('b', 2)],
        vec![('a', 4), ('b', 2)],
        vec![('a', 4), ('b', 2)],
    ];
    assert_eq!(sorted_batches(&out), expected);
    assert_eq!(sorted_batches(&again), expected);
}

#[test]
fn removing_state_and_misusing_the_state_api() {
    let spec = StateSpec::function(|_t: Time, k: &char, v: Option<i32>, s: &mut State<i32>| {
        match v {
            Some(0) => {
                s.remove().ok()?;
                // Spark: update after remove, and a second remove, are errors.
                assert!(s.update(1).is_err());
                assert!(s.remove().is_err());
                Some((*k, 0))
            }
            Some(x) => {
                s.update(s.get_option().copied().unwrap_or(0) + x).ok()?;
                Some((*k, *s.get().ok()?))
            }
            None => None,
        }
    });
    let out = run_stream(
        vec![vec![('a', 2)], vec![('a', 0)], vec![('a', 5)]],
        3,
        move |s| s.map_with_state(spec).stream(),
    )
    .unwrap();
    assert_eq!(out, vec![vec![('a', 2)], vec![('a', 0)], vec![('a', 5)]]);
    let mut t = State::timing_out(3);
    assert!(t.update(4).is_err() && t.remove().is_err() && t.is_timing_out());
    assert!(State::<i32>::new(None).get().is_err());
}

#[test]
fn update_state_by_key_runs_for_every_key_every_batch() {
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let c = Arc::clone(&calls);
    let out = run_stream(
        vec![vec![('a', 1), ('b', 1), ('a', 1)], vec![], vec![('b', 1)]],
        4,
        move |s| {
            s.update_state_by_key_with_time(
                move |t: Time, k: &char, vals: &[i32], old: Option<&i32>| {
                    c.lock().unwrap().push((t.millis(), *k, vals.len()));
                    let n = old.copied().unwrap_or(0) + vals.iter().sum::<i32>();
                    // 'b' is removed once it reaches 2.
                    if *k == 'b' && n >= 2 {
                        None
                    } else {
                        Some(n)
                    }
                },
            )
        },
    )
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![
            vec![('a', 2), ('b', 1)],
            vec![('a', 2), ('b', 1)],
            vec![('a', 2)],
            vec![('a', 2)],
        ]
    );
    let mut calls = calls.lock().unwrap().clone();
    calls.sort();
    assert_eq!(
        calls,
        vec![
            (1000, 'a', 2),
            (1000, 'b', 1),
            (2000, 'a', 0),
            (2000, 'b', 0),
            (3000, 'a', 0),
            (3000, 'b', 1),
            (4000, 'a', 0),
        ]
    );
}

#[test]
fn update_state_by_key_with_initial_state_and_missing_rdds() {
    let ctx = Context::local(1).unwrap();
    let initial = ctx.parallelize(vec![('z', 10)], 1);
    let cfg = TestConfig {
        no_rdd_batches: vec![2],
        ..config()
    };
    let out = run_stream_with(
        cfg,
        vec![vec![('a', 1)], vec![('a', 100)], vec![('a', 1)]],
        3,
        move |s| {
            s.update_state_by_key_with(
                |_t, _k, vals: &[i32], old: Option<&i32>| {
                    Some(old.copied().unwrap_or(0) + vals.iter().sum::<i32>())
                },
                Some(3),
                Some(initial),
            )
        },
    )
    .unwrap();
    // Batch 2 has no RDD: the function still runs for every key (with no values).
    assert_eq!(
        sorted_batches(&out),
        vec![
            vec![('a', 1), ('z', 10)],
            vec![('a', 1), ('z', 10)],
            vec![('a', 2), ('z', 10)],
        ]
    );
}

#[test]
fn a_partition_update_is_one_call_per_key_group_with_keep_set_and_remove() {
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let c = Arc::clone(&calls);
    let out = run_stream(
        vec![
            vec![('a', 1), ('b', 1), ('c', 5), ('a', 2)],
            vec![('b', 1)],
            vec![],
        ],
        3,
        move |s| {
            s.update_state_by_key_partitions(
                move |t, updates| {
                    let mut keys: Vec<(char, Vec<i32>, Option<i32>)> = updates
                        .iter()
                        .map(|u| (*u.key, u.values.clone(), u.state.copied()))
                        .collect();
                    keys.sort();
                    c.lock().unwrap().push((t.millis(), keys));
                    Ok(updates
                        .into_iter()
                        .map(|u| {
                            let n = u.state.copied().unwrap_or(0) + u.values.iter().sum::<i32>();
                            match *u.key {
                                // 'c' never gets a state; 'b' goes at 2; 'a' is kept untouched.
                                'c' => StateUpdate::Remove,
                                'b' if n >= 2 => StateUpdate::Remove,
                                'a' if u.values.is_empty() => StateUpdate::Keep,
                                _ => StateUpdate::Set(n),
                            }
                        })
                        .collect())
                },
                Some(1),
                None,
            )
        },
    )
    .unwrap();
    assert_eq!(
        sorted_batches(&out),
        vec![vec![('a', 3), ('b', 1)], vec![('a', 3)], vec![('a', 3)]]
    );
    // One call per key group with keys (here each key is alone in its group), with every
    // key that has state or new values.
    let calls = calls.lock().unwrap().clone();
    let mut per_batch: BTreeMap<i64, Vec<(char, Vec<i32>, Option<i32>)>> = BTreeMap::new();
    for (t, keys) in &calls {
        per_batch
            .entry(*t)
            .or_default()
            .extend(keys.iter().cloned());
    }
    for keys in per_batch.values_mut() {
        keys.sort();
    }
    assert_eq!(
        per_batch.into_iter().collect::<Vec<_>>(),
        vec![
            (
                1000,
                vec![
                    ('a', vec![1, 2], None),
                    ('b', vec![1], None),
                    ('c', vec![5], None)
                ]
            ),
            (2000, vec![('a', vec![], Some(3)), ('b', vec![1], Some(1))]),
            (3000, vec![('a', vec![], Some(3))]),
        ]
    );
    assert!(calls.iter().all(|(_, keys)| !keys.is_empty()), "{calls:?}");
}

#[test]
fn a_partition_update_that_answers_for_the_wrong_number_of_keys_fails_the_batch() {
    let err = run_stream(vec![vec![('a', 1), ('b', 1)]], 1, |s| {
        s.update_state_by_key_partitions(
            |_, _updates: Vec<_>| Ok(Vec::<StateUpdate<i32>>::new()),
            Some(1),
            None,
        )
    })
    .unwrap_err();
    let chain = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(
        chain.contains("answered for 0 keys, but was given 1"),
        "{chain}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Counts that are removed once they reach 7 (and start again from new values), kept
    /// with update_state_by_key and with update_state_by_key_partitions, equal a sequential
    /// model for any batches, partitions and state partitions.
    #[test]
    fn partition_updates_match_a_sequential_model(
        input in prop::collection::vec(prop::collection::vec((0u16..20, 1u32..4), 0..12), 1..6),
        input_partitions in 1usize..4,
        state_partitions in 1usize..5,
    ) {
        let batches = input.len();
        let mut model: BTreeMap<u16, u32> = BTreeMap::new();
        let mut expected = Vec::new();
        for b in &input {
            let mut news: BTreeMap<u16, u32> = BTreeMap::new();
            for (k, v) in b {
                *news.entry(*k).or_insert(0) += v;
            }
            for (k, v) in news {
                let n = model.get(&k).copied().unwrap_or(0) + v;
                if n >= 7 { model.remove(&k); } else { model.insert(k, n); }
            }
            expected.push(model.clone().into_iter().collect::<Vec<_>>());
        }
        let cfg = TestConfig { input_partitions, ..config() };
        let out = run_stream_with(cfg.clone(), input.clone(), batches, move |s| {
            s.update_state_by_key_partitions(
                |_, updates| Ok(updates.into_iter().map(|u| {
                    if u.values.is_empty() {
                        return StateUpdate::Keep;
                    }
                    let n = u.state.copied().unwrap_or(0) + u.values.iter().sum::<u32>();
                    if n >= 7 { StateUpdate::Remove } else { StateUpdate::Set(n) }
                }).collect()),
                Some(state_partitions),
                None,
            )
        }).unwrap();
        prop_assert_eq!(sorted_batches(&out), expected.clone());
        let per_key = run_stream_with(cfg, input, batches, move |s| {
            s.update_state_by_key_with(
                |_t, _k, vals: &[u32], old: Option<&u32>| {
                    let n = old.copied().unwrap_or(0) + vals.iter().sum::<u32>();
                    (n < 7).then_some(n)
                },
                Some(state_partitions),
                None,
            )
        }).unwrap();
        prop_assert_eq!(sorted_batches(&per_key), expected);
    }

    /// Running counts with update_state_by_key and with map_with_state equal a sequential
    /// model, for any batches, partitions and state partitions.
    #[test]
    fn state_matches_a_sequential_model(
        input in prop::collection::vec(prop::collection::vec((0u16..20, 1u32..4), 0..12), 1..6),
        input_partitions in 1usize..4,
        state_partitions in 1usize..5,
    ) {
        let batches = input.len();
        let mut model: BTreeMap<u16, u32> = BTreeMap::new();
        let mut expected_states = Vec::new();
        for b in &input {
            for (k, v) in b {
                *model.entry(*k).or_insert(0) += v;
            }
            expected_states.push(model.clone().into_iter().collect::<Vec<_>>());
        }
        let cfg = TestConfig { input_partitions, ..config() };
        let out = run_stream_with(cfg.clone(), input.clone(), batches, move |s| {
            s.update_state_by_key_with(
                |_t, _k, vals: &[u32], old: Option<&u32>| Some(old.copied().unwrap_or(0) + vals.iter().sum::<u32>()),
                Some(state_partitions),
                None,
            )
        }).unwrap();
        prop_assert_eq!(sorted_batches(&out), expected_states.clone());

        let spec = StateSpec::function(|_t: Time, k: &u16, v: Option<u32>, s: &mut State<u32>| {
            let n = s.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
            s.update(n).ok()?;
            Some((*k, n))
        }).num_partitions(state_partitions);
        let snaps = run_stream_with(cfg, input, batches, move |s| {
            s.map_with_state(spec).state_snapshots()
        }).unwrap();
        prop_assert_eq!(sorted_batches(&snaps), expected_states);
    }
}
