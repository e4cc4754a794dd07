#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests of `cogroup`, the joins, `subtract_by_key` and the set operations
//! (`distinct`, `subtract`, `intersection`) against sequential models: duplicate keys on both
//! sides, skewed key ranges, empty partitions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use proptest::prelude::*;

mod common;
use common::{config, input_with, sorted, Input};

/// This file's inputs: up to 50 records flat or 12 per partition, 1 in 4 partitions empty.
fn input<T: Clone + Debug + 'static>(
    elem: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Input<T>> {
    input_with(elem, 50, 12, 1)
}

type L = (u8, i32);
type R = (u8, char);

/// Two key-value inputs over the same key range (3, 12 or 100 keys).
fn two_sides() -> impl Strategy<Value = (Input<L>, Input<R>)> {
    prop_oneof![Just(3u8), Just(12u8), Just(100u8)].prop_flat_map(|k| {
        (
            input((0..k, -50i32..50)),
            input((0..k, prop::char::range('a', 'z'))),
        )
    })
}

/// Two inputs of plain records over the same range.
fn two_sets() -> impl Strategy<Value = (Input<u8>, Input<u8>)> {
    prop_oneof![Just(4u8), Just(30u8), Just(200u8)].prop_flat_map(|k| (input(0..k), input(0..k)))
}

fn matches(r: &[R], k: u8) -> Vec<char> {
    r.iter().filter(|x| x.0 == k).map(|x| x.1).collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cogroup_groups_both_sides_in_arrival_order((l, r) in two_sides()) {
        let (la, ra) = (l.all(), r.all());
        let mut model: BTreeMap<u8, (Vec<i32>, Vec<char>)> = BTreeMap::new();
        for (k, v) in &la {
            model.entry(*k).or_default().0.push(*v);
        }
        for (k, w) in &ra {
            model.entry(*k).or_default().1.push(*w);
        }
        let c = l.rdd().cogroup(&r.rdd());
        prop_assert_eq!(
            c.num_partitions(),
            l.rdd().num_partitions().max(r.rdd().num_partitions())
        );
        let got = c.collect().unwrap();
        let n = got.len();
        let got: BTreeMap<u8, (Vec<i32>, Vec<char>)> = got.into_iter().collect();
        prop_assert_eq!(got.len(), n, "a key occurs twice");
        prop_assert_eq!(got, model);
    }

    #[test]
    fn join_pairs_every_match((l, r) in two_sides(), n in 1usize..=8) {
        let (la, ra) = (l.all(), r.all());
        let mut model = Vec::new();
        for (k, v) in &la {
            for w in matches(&ra, *k) {
                model.push((*k, (*v, w)));
            }
        }
        let model = sorted(model);
        prop_assert_eq!(sorted(l.rdd().join(&r.rdd()).collect().unwrap()), model.clone());
        let j = l.rdd().join_into(&r.rdd(), n);
        prop_assert_eq!(j.num_partitions(), n);
        prop_assert_eq!(sorted(j.collect().unwrap()), model);
    }

    #[test]
    fn left_outer_join_keeps_every_left_value((l, r) in two_sides()) {
        let (la, ra) = (l.all(), r.all());
        let mut model = Vec::new();
        for (k, v) in &la {
            let ws = matches(&ra, *k);
            if ws.is_empty() {
                model.push((*k, (*v, None)));
            }
            for w in ws {
                model.push((*k, (*v, Some(w))));
            }
        }
        prop_assert_eq!(sorted(l.rdd().left_outer_join(&r.rdd()).collect().unwrap()), sorted(model));
    }

    #[test]
    fn right_outer_join_keeps_every_right_value((l, r) in two_sides()) {
        let (la, ra) = (l.all(), r.all());
        let mut model = Vec::new();
        for (k, w) in &ra {
            let vs: Vec<i32> = la.iter().filter(|x| x.0 == *k).map(|x| x.1).collect();
            if vs.is_empty() {
                model.push((*k, (None, *w)));
            }
            for v in vs {
                model.push((*k, (Some(v), *w)));
            }
        }
        prop_assert_eq!(sorted(l.rdd().right_outer_join(&r.rdd()).collect().unwrap()), sorted(model));
    }

    #[test]
    fn full_outer_join_keeps_both_sides((l, r) in two_sides()) {
        let (la, ra) = (l.all(), r.all());
        let mut model = Vec::new();
        for (k, v) in &la {
            let ws = matches(&ra, *k);
            if ws.is_empty() {
                model.push((*k, (Some(*v), None)));
            }
            for w in ws {
                model.push((*k, (Some(*v), Some(w))));
            }
        }
        let left_keys: BTreeSet<u8> = la.iter().map(|x| x.0).collect();
        for (k, w) in &ra {
            if !left_keys.contains(k) {
                model.push((*k, (None, Some(*w))));
            }
        }
        prop_assert_eq!(sorted(l.rdd().full_outer_join(&r.rdd()).collect().unwrap()), sorted(model));
    }

    #[test]
    fn subtract_by_key_keeps_unmatched_left_pairs((l, r) in two_sides()) {
        let (la, ra) = (l.all(), r.all());
        let right_keys: BTreeSet<u8> = ra.iter().map(|x| x.0).collect();
        let model: Vec<L> = la.into_iter().filter(|(k, _)| !right_keys.contains(k)).collect();
        prop_assert_eq!(sorted(l.rdd().subtract_by_key(&r.rdd()).collect().unwrap()), sorted(model));
    }

    #[test]
    fn distinct_matches_set((a, _b) in two_sets(), n in 1usize..=8) {
        let model: Vec<u8> = a.all().into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        let d = a.rdd().distinct();
        prop_assert_eq!(d.num_partitions(), a.rdd().num_partitions());
        prop_assert_eq!(sorted(d.collect().unwrap()), model.clone());
        let d = a.rdd().distinct_into(n);
        prop_assert_eq!(d.num_partitions(), n);
        prop_assert_eq!(sorted(d.collect().unwrap()), model);
    }

    #[test]
    fn subtract_keeps_left_duplicates((a, b) in two_sets()) {
        let bs: BTreeSet<u8> = b.all().into_iter().collect();
        let model: Vec<u8> = a.all().into_iter().filter(|x| !bs.contains(x)).collect();
        prop_assert_eq!(sorted(a.rdd().subtract(&b.rdd()).collect().unwrap()), sorted(model));
    }

    #[test]
    fn intersection_has_no_duplicates((a, b) in two_sets()) {
        let as_: BTreeSet<u8> = a.all().into_iter().collect();
        let bs: BTreeSet<u8> = b.all().into_iter().collect();
        let model: Vec<u8> = as_.intersection(&bs).copied().collect();
        prop_assert_eq!(sorted(a.rdd().intersection(&b.rdd()).collect().unwrap()), model);
    }

    #[test]
    fn self_join_of_a_cached_rdd((l, _r) in two_sides()) {
        // Both sides of the cogroup read the same (cached) RDD.
        let la = l.all();
        let rdd = l.rdd().cache();
        let mut model = Vec::new();
        for (k, v) in &la {
            for (k2, w) in &la {
                if k == k2 {
                    model.push((*k, (*v, *w)));
                }
            }
        }
        prop_assert_eq!(sorted(rdd.join(&rdd).collect().unwrap()), sorted(model));
    }
}
