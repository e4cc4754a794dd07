#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests of the key-value shuffles (`reduce_by_key`, `group_by_key`,
//! `combine_by_key`, `aggregate_by_key`, `fold_by_key`, `partition_by`, `repartition`,
//! `count_by_key`, `sort_by_key`, `sort_by`) against sequential models computed on the
//! collected input.
//!
//! Inputs come either from `parallelize(data, n)` or from `parallelize_partitions` with some
//! empty partitions; key ranges are small (heavily skewed) to large.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::Arc;

use proptest::prelude::*;
use sluice_core::{Data, HashPartitioner, Partitioner, Rdd};

mod common;
use common::{config, ctx, input, Input};

/// Key-value inputs with a key range chosen per case: 3 keys (very skewed), 20, or 400.
fn pairs() -> impl Strategy<Value = Input<(u16, i64)>> {
    prop_oneof![Just(3u16), Just(20u16), Just(400u16)]
        .prop_flat_map(|k| input((0..k, -1000i64..1000)))
}

/// Values of each key in arrival (collect) order.
fn grouped(data: &[(u16, i64)]) -> BTreeMap<u16, Vec<i64>> {
    let mut m: BTreeMap<u16, Vec<i64>> = BTreeMap::new();
    for (k, v) in data {
        m.entry(*k).or_default().push(*v);
    }
    m
}

fn sums(data: &[(u16, i64)]) -> BTreeMap<u16, i64> {
    grouped(data)
        .into_iter()
        .map(|(k, vs)| (k, vs.iter().sum()))
        .collect()
}

/// Collects a key-value RDD into a map, checking that every key occurs once.
fn to_unique_map<K: Ord + Debug + Data, V: Data>(rdd: &Rdd<(K, V)>) -> BTreeMap<K, V> {
    let out = rdd.collect().unwrap();
    let n = out.len();
    let m: BTreeMap<K, V> = out.into_iter().collect();
    assert_eq!(m.len(), n, "duplicate keys in the output");
    m
}

/// Checks that every record of every partition sits where `HashPartitioner::new(n)` puts it.
fn assert_hash_placed<K: Data + std::hash::Hash + Debug, V: Data>(rdd: &Rdd<(K, V)>, n: usize) {
    let p = HashPartitioner::new(n);
    let parts = rdd.collect_partitions().unwrap();
    assert_eq!(parts.len(), n);
    for (i, part) in parts.iter().enumerate() {
        for (k, _) in part {
            assert_eq!(p.partition(k), i, "key {k:?} in partition {i}");
        }
    }
}

/// For each key, the number of input partitions it occurs in (what a per-partition zero
/// value is applied to).
fn partitions_per_key(rdd: &Rdd<(u16, i64)>) -> BTreeMap<u16, i64> {
    let mut m = BTreeMap::new();
    for part in rdd.collect_partitions().unwrap() {
        let mut keys: Vec<u16> = part.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            *m.entry(k).or_insert(0) += 1;
        }
    }
    m
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reduce_by_key_matches_model(inp in pairs()) {
        let rdd = inp.rdd();
        let r = rdd.reduce_by_key(|a, b| a + b);
        prop_assert_eq!(r.num_partitions(), rdd.num_partitions());
        prop_assert_eq!(to_unique_map(&r), sums(&inp.all()));
    }

    #[test]
    fn reduce_by_key_into_places_keys_by_hash(inp in pairs(), n in 1usize..=8) {
        let r = inp.rdd().reduce_by_key_into(n, |a, b| a + b);
        prop_assert_eq!(r.num_partitions(), n);
        let fp = format!("hash:{n}");
        prop_assert_eq!(r.partitioner(), Some(fp.as_str()));
        assert_hash_placed(&r, n);
        prop_assert_eq!(to_unique_map(&r), sums(&inp.all()));
        // A non-commutative-looking but associative function still sees every value.
        let maxes = inp.rdd().reduce_by_key_into(n, |a: i64, b: i64| a.max(b));
        let model: BTreeMap<u16, i64> = grouped(&inp.all())
            .into_iter()
            .map(|(k, vs)| (k, vs.into_iter().max().unwrap()))
            .collect();
        prop_assert_eq!(to_unique_map(&maxes), model);
    }

    #[test]
    fn group_by_key_keeps_arrival_order(inp in pairs(), n in 1usize..=8) {
        let model = grouped(&inp.all());
        let g = inp.rdd().group_by_key();
        prop_assert_eq!(to_unique_map(&g), model.clone());
        let g = inp.rdd().group_by_key_into(n);
        prop_assert_eq!(g.num_partitions(), n);
        assert_hash_placed(&g, n);
        prop_assert_eq!(to_unique_map(&g), model);
    }

    #[test]
    fn combine_by_key_matches_model(inp in pairs(), n in 1usize..=8) {
        // (sum, count, min) per key.
        let create = |v: i64| (v, 1u64, v);
        let merge_value = |c: (i64, u64, i64), v: i64| (c.0 + v, c.1 + 1, c.2.min(v));
        let merge_combiners =
            |a: (i64, u64, i64), b: (i64, u64, i64)| (a.0 + b.0, a.1 + b.1, a.2.min(b.2));
        let model: BTreeMap<u16, (i64, u64, i64)> = grouped(&inp.all())
            .into_iter()
            .map(|(k, vs)| {
                (k, (vs.iter().sum(), vs.len() as u64, *vs.iter().min().unwrap()))
            })
            .collect();
        let c = inp.rdd().combine_by_key(create, merge_value, merge_combiners);
        prop_assert_eq!(to_unique_map(&c), model.clone());
        let c = inp.rdd().combine_by_key_into(n, create, merge_value, merge_combiners);
        prop_assert_eq!(c.num_partitions(), n);
        assert_hash_placed(&c, n);
        prop_assert_eq!(to_unique_map(&c), model.clone());
        // Without map-side combining.
        let c = inp.rdd().combine_by_key_with(
            Arc::new(HashPartitioner::new(n)),
            false,
            create,
            merge_value,
            merge_combiners,
        );
        prop_assert_eq!(to_unique_map(&c), model);
    }

    #[test]
    fn aggregate_by_key_applies_zero_once_per_key_and_partition(inp in pairs()) {
        let rdd = inp.rdd();
        // A neutral zero: plain sums.
        let a = rdd.aggregate_by_key(0i64, |u, v| u + v, |x, y| x + y);
        prop_assert_eq!(to_unique_map(&a), sums(&inp.all()));
        // A non-neutral zero is folded in once per key per map partition, as in Spark.
        let per = partitions_per_key(&rdd);
        let model: BTreeMap<u16, i64> = sums(&inp.all())
            .into_iter()
            .map(|(k, s)| (k, s + 100_000 * per[&k]))
            .collect();
        let a = rdd.aggregate_by_key(100_000i64, |u, v| u + v, |x, y| x + y);
        prop_assert_eq!(to_unique_map(&a), model);
        // A different result type: the list of values, which keeps arrival order.
        let a = rdd.aggregate_by_key(
            Vec::new(),
            |mut u: Vec<i64>, v| {
                u.push(v);
                u
            },
            |mut x, mut y| {
                x.append(&mut y);
                x
            },
        );
        prop_assert_eq!(to_unique_map(&a), grouped(&inp.all()));
    }

    #[test]
    fn fold_by_key_matches_model(inp in pairs()) {
        let rdd = inp.rdd();
        let f = rdd.fold_by_key(0, |a, b| a + b);
        prop_assert_eq!(to_unique_map(&f), sums(&inp.all()));
        let per = partitions_per_key(&rdd);
        let model: BTreeMap<u16, i64> = sums(&inp.all())
            .into_iter()
            .map(|(k, s)| (k, s + 7 * per[&k]))
            .collect();
        let f = rdd.fold_by_key(7, |a, b| a + b);
        prop_assert_eq!(to_unique_map(&f), model);
    }

    #[test]
    fn partition_by_places_records_in_arrival_order(inp in pairs(), n in 1usize..=8) {
        let all = inp.all();
        let p = HashPartitioner::new(n);
        let part = inp.rdd().partition_by(Arc::new(p));
        prop_assert_eq!(part.num_partitions(), n);
        let model: Vec<Vec<(u16, i64)>> = (0..n)
            .map(|i| all.iter().copied().filter(|(k, _)| p.partition(k) == i).collect())
            .collect();
        prop_assert_eq!(part.collect_partitions().unwrap(), model);
        // Partitioning again by an equal partitioner is a no-op.
        let again = part.partition_by(Arc::new(HashPartitioner::new(n)));
        prop_assert_eq!(again.id(), part.id());
        // Aggregations on the partitioned RDD run within partitions and keep the layout.
        let r = part.reduce_by_key(|a, b| a + b);
        prop_assert_eq!(r.num_partitions(), n);
        assert_hash_placed(&r, n);
        prop_assert_eq!(to_unique_map(&r), sums(&all));
        let g = part.map_values(|v| v * 2).group_by_key();
        let doubled: BTreeMap<u16, Vec<i64>> = grouped(&all)
            .into_iter()
            .map(|(k, vs)| (k, vs.into_iter().map(|v| v * 2).collect()))
            .collect();
        prop_assert_eq!(to_unique_map(&g), doubled);
    }

    #[test]
    fn repartition_keeps_the_multiset(inp in pairs(), n in 1usize..=8) {
        let r = inp.rdd().repartition(n);
        prop_assert_eq!(r.num_partitions(), n);
        let parts = r.collect_partitions().unwrap();
        prop_assert_eq!(parts.len(), n);
        let mut got: Vec<(u16, i64)> = parts.into_iter().flatten().collect();
        let mut want = inp.all();
        got.sort_unstable();
        want.sort_unstable();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn count_by_key_matches_model(inp in pairs()) {
        let model: HashMap<u16, u64> = grouped(&inp.all())
            .into_iter()
            .map(|(k, vs)| (k, vs.len() as u64))
            .collect();
        prop_assert_eq!(inp.rdd().count_by_key().unwrap(), model);
    }

    #[test]
    fn sort_by_key_is_a_stable_global_sort(inp in pairs(), n in 1usize..=8) {
        let all = inp.all();
        let mut asc = all.clone();
        asc.sort_by_key(|p| p.0);
        let mut desc = all.clone();
        desc.sort_by_key(|p| std::cmp::Reverse(p.0));
        let s = inp.rdd().sort_by_key(true);
        prop_assert_eq!(s.num_partitions(), inp.rdd().num_partitions());
        prop_assert_eq!(s.collect().unwrap(), asc.clone());
        prop_assert_eq!(inp.rdd().sort_by_key(false).collect().unwrap(), desc.clone());
        let s = inp.rdd().sort_by_key_into(true, n);
        prop_assert_eq!(s.num_partitions(), n);
        prop_assert_eq!(s.collect().unwrap(), asc);
        let s = inp.rdd().sort_by_key_into(false, n);
        prop_assert_eq!(s.num_partitions(), n);
        prop_assert_eq!(s.collect().unwrap(), desc);
    }

    #[test]
    fn sort_by_sorts_by_the_computed_key(inp in input(-500i64..500), n in 1usize..=8) {
        let all = inp.all();
        // Sort by absolute value: many ties between x and -x, resolved by arrival order.
        let mut asc = all.clone();
        asc.sort_by_key(|x| x.abs());
        let mut desc = all.clone();
        desc.sort_by_key(|x| std::cmp::Reverse(x.abs()));
        let s = inp.rdd().sort_by(|x| x.abs(), true, n);
        prop_assert_eq!(s.num_partitions(), n);
        prop_assert_eq!(s.collect().unwrap(), asc);
        prop_assert_eq!(inp.rdd().sort_by(|x| x.abs(), false, n).collect().unwrap(), desc);
    }

    #[test]
    fn string_keys_group_and_reduce(
        inp in input((prop::sample::select(vec!["a", "bb", "", "ccc", "a b"]), 0u32..10)),
    ) {
        let all: Vec<(String, u32)> =
            inp.all().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let rdd = inp.rdd().map(|(k, v)| (k.to_string(), v));
        let mut model: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (k, v) in &all {
            model.entry(k.clone()).or_default().push(*v);
        }
        prop_assert_eq!(to_unique_map(&rdd.group_by_key()), model.clone());
        let sums: BTreeMap<String, u32> =
            model.into_iter().map(|(k, vs)| (k, vs.iter().sum())).collect();
        prop_assert_eq!(to_unique_map(&rdd.reduce_by_key(|a, b| a + b)), sums);
    }
}

/// Places a key in partition `key % n`.
struct Modulo(usize);

impl Partitioner<u16> for Modulo {
    fn num_partitions(&self) -> usize {
        self.0
    }
    fn partition(&self, key: &u16) -> usize {
        usize::from(*key) % self.0
    }
}

#[test]
fn custom_and_range_partitioners() {
    let data: Vec<(u16, i64)> = (0..100)
        .map(|i| ((i * 7 % 23) as u16, i64::from(i)))
        .collect();
    let rdd = ctx().parallelize(data.clone(), 3);
    let by_mod = rdd.partition_by(Arc::new(Modulo(4)));
    assert_eq!(
        by_mod.partitioner(),
        None,
        "no fingerprint: equal to no other partitioner"
    );
    for (i, part) in by_mod.collect_partitions().unwrap().iter().enumerate() {
        assert!(part.iter().all(|(k, _)| usize::from(*k) % 4 == i));
    }
    // Aggregating with a custom partitioner.
    let summed = rdd.reduce_by_key_with(Arc::new(Modulo(5)), |a, b| a + b);
    assert_eq!(summed.num_partitions(), 5);
    assert_eq!(to_unique_map(&summed), sums(&data));
    let groups = rdd.group_by_key_with(Arc::new(Modulo(2)));
    assert_eq!(to_unique_map(&groups), grouped(&data));

    // Explicit range bounds: (..=5], (5..=15], (15..).
    let ranged = rdd.partition_by(Arc::new(sluice_core::RangePartitioner::with_bounds(
        vec![15u16, 5, 5],
        true,
    )));
    let parts = ranged.collect_partitions().unwrap();
    assert_eq!(parts.len(), 3);
    assert!(parts[0].iter().all(|(k, _)| *k <= 5));
    assert!(parts[1].iter().all(|(k, _)| *k > 5 && *k <= 15));
    assert!(parts[2].iter().all(|(k, _)| *k > 15));
    assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 100);
    let desc = rdd.partition_by(Arc::new(sluice_core::RangePartitioner::with_bounds(
        vec![5u16, 15],
        false,
    )));
    let parts = desc.collect_partitions().unwrap();
    assert!(parts[0].iter().all(|(k, _)| *k > 15));
    assert!(parts[2].iter().all(|(k, _)| *k <= 5));
}

#[test]
fn zero_partition_arguments_mean_one() {
    let rdd = ctx().parallelize(vec![(1u16, 1i64), (2, 2), (1, 3)], 2);
    assert_eq!(rdd.reduce_by_key_into(0, |a, b| a + b).num_partitions(), 1);
    assert_eq!(rdd.group_by_key_into(0).num_partitions(), 1);
    assert_eq!(rdd.join_into(&rdd, 0).num_partitions(), 1);
    assert_eq!(rdd.sort_by_key_into(true, 0).num_partitions(), 1);
    assert_eq!(rdd.repartition(0).num_partitions(), 1);
    assert_eq!(rdd.coalesce(0).num_partitions(), 1);
    assert_eq!(rdd.distinct_into(0).num_partitions(), 1);
    assert_eq!(
        rdd.sort_by_key_into(true, 0).collect().unwrap(),
        vec![(1, 1), (1, 3), (2, 2)]
    );
    assert_eq!(rdd.repartition(0).count().unwrap(), 3);
}

#[test]
fn a_long_lineage_of_narrow_and_wide_steps() {
    // 1000 fused maps, then 50 alternating shuffles.
    let mut r = ctx().parallelize((0..100i64).collect(), 4);
    for _ in 0..1000 {
        r = r.map(|x| x + 1);
    }
    assert_eq!(r.take(2).unwrap(), vec![1000, 1001]);
    assert!(r.to_debug_string().lines().count() > 1000);
    let mut p = r.map(|x| ((x % 10) as u16, 1i64));
    for i in 0..50 {
        // `map` forgets the partitioner, so every step shuffles.
        p = p
            .reduce_by_key_into(1 + i % 4, |a, b| a + b)
            .map(|(k, v)| (k, v));
    }
    let mut got = p.collect().unwrap();
    got.sort_unstable();
    assert_eq!(got, (0..10).map(|k| (k, 10)).collect::<Vec<_>>());
    assert_eq!(p.to_debug_string().matches("+-(").count(), 50);
}
